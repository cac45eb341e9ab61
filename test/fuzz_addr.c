/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the address parser (`make fuzz`, needs clang).
 * Input: a byte choosing the network and listen/dial, then the address
 * string (cut at its first NUL, as a C caller's would be).  The host-name
 * path of a dial (split into host and port, then the name check) runs on
 * every input as well.  Every input
 * must parse or fail with EINVAL/EAFNOSUPPORT; whatever parses must format
 * to text that parses back to the same socket address.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct urnet__sockaddr sa, back;
	char text[URNET__ADDRSTRLEN];
	enum urnet__net net;
	bool listen;
	char *s;
	int ret;

	if (size < 1)
		return 0;
	net = (enum urnet__net)(data[0] % 4);
	listen = data[0] & 4;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	/* The host-name path of a dial: split, then the name check. */
	{
		char host[URNET__HOST_MAX];
		in_port_t port;

		if (!urnet__split_hostport(s, host, sizeof(host), &port)) {
			if (strlen(host) >= sizeof(host))
				abort();
			ret = urnet__check_hostname(host);
			if (ret && ret != -EINVAL)
				abort();
			if (!ret && strlen(host) > URNET__NAME_MAX + 1)
				abort();
		}
	}
	ret = urnet__parse_address(net, s, listen, &sa);
	if (ret && ret != -EINVAL && ret != -EAFNOSUPPORT)
		abort();
	if (!ret) {
		if (sa.len > sizeof(sa.u))
			abort();
		urnet__format_sockaddr(&sa.u.sa, sa.len, text, sizeof(text));
		if (strlen(text) >= sizeof(text))
			abort();
		/* v4-mapped addresses print as IPv4 by design: no round trip. */
		if (net != URNET__NET_UNIX && !sa.wildcard &&
		    !(sa.u.sa.sa_family == AF_INET6 &&
		      IN6_IS_ADDR_V4MAPPED(&sa.u.in6.sin6_addr))) {
			if (urnet__parse_address(net, text, false, &back) || back.len != sa.len)
				abort();
			if (sa.u.sa.sa_family == AF_INET6 &&
			    memcmp(&back.u.in6.sin6_addr, &sa.u.in6.sin6_addr, 16))
				abort();
			if (back.u.in4.sin_port != sa.u.in4.sin_port)
				abort();
		}
	}
	free(s);
	return 0;
}
