/* SPDX-License-Identifier: MIT */
/*
 * Host names, looked up with c-ares the way the system does for its files
 * (the hosts file first, then DNS with the servers, search list, ndots,
 * timeout and attempts of resolv.conf), with every wait on the engine:
 * c-ares's sockets go into a waitset, so a lookup parks like any urnet
 * call, ends at the caller's deadline rather than after the resolver's
 * own retries, and is woken when its engine closes.
 *
 * URNET_RESOLV_CONF names a resolv.conf to read instead of
 * /etc/resolv.conf, and its nameserver lines may carry a port
 * ("127.0.0.1:5353", "[::1]:5353"), which c-ares does not read from a
 * file: those lines are read here and handed to c-ares as its server list.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "resolve.h"

/* Room for a 253-byte name and the resolver's words. */
static _Thread_local char last_error[512];

void urnet__resolve_message(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *urnet_resolve_error(void)
{
	return last_error[0] ? last_error : "no lookup failed";
}

int urnet_resolve(const char *network, const char *host, int64_t deadline_ns,
		  struct sockaddr_storage *addrs, int max)
{
	struct urnet__sockaddr found[URNET__RESOLVE_MAX];
	char buf[URNET__HOST_MAX];
	enum urnet__net net;
	int n, ret;

	last_error[0] = '\0';
	ret = urnet__parse_network(network, &net);
	if (!ret && urnet__net_is_unix(net))
		ret = -EAFNOSUPPORT;
	if (!ret && (!host || !host[0] || strlen(host) >= sizeof(buf) || deadline_ns < 0 ||
		     max < 0 || (max > 0 && !addrs)))
		ret = -EINVAL;
	if (ret) {
		urnet__resolve_message("%s", strerror(-ret));
		errno = -ret;
		return -1;
	}
	strcpy(buf, host);
	/* Numeric addresses and localhost need no lookup. */
	ret = urnet__parse_host(net, buf, &found[0]);
	if (!ret)
		n = 1;
	else if (ret == -EINVAL)
		n = urnet__resolve(NULL, net, host, 0, deadline_ns, found, URNET__RESOLVE_MAX);
	else
		n = ret;
	if (n < 0) {
		if (ret != -EINVAL)
			urnet__resolve_message("%s: %s", host, strerror(-n));
		errno = -n;
		return -1;
	}
	for (int i = 0; i < n && i < max; i++) {
		memset(&addrs[i], 0, sizeof(addrs[i]));
		memcpy(&addrs[i], &found[i].u, found[i].len);
	}
	return n < max ? n : max;
}
