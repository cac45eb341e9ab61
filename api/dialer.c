/* SPDX-License-Identifier: MIT */
/*
 * The public dial calls: the network and address checked, the options
 * loaded, the deadline fixed, then one numeric address dialed (dial.c).
 */
#include "config.h"

#include <errno.h>

#include "dial.h"

static urnet_conn *dial_with(const struct urnet_options *user, urnet_engine *e,
			     const char *network, const char *address, int64_t timeout_ns)
{
	struct urnet__sockaddr sa;
	struct urnet__opts o;
	enum urnet__net net;
	int64_t deadline;
	int ret;

	ret = urnet__parse_network(network, &net);
	if (!ret)
		ret = urnet__dial_deadline(timeout_ns, &deadline);
	if (!ret)
		ret = urnet__opts_load(user, e, net, false, &o);
	if (!ret)
		ret = urnet__parse_address(net, address, false, &sa);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return urnet__dial_addr(&o, net, &sa, deadline);
}

urnet_conn *urnet_dial_with(const struct urnet_options *o, const char *network,
			    const char *address, int64_t timeout_ns)
{
	return dial_with(o, NULL, network, address, timeout_ns);
}

urnet_conn *urnet_dial_on(urnet_engine *e, const char *network, const char *address,
			  int64_t timeout_ns)
{
	return dial_with(NULL, e, network, address, timeout_ns);
}

urnet_conn *urnet_dial(const char *network, const char *address, int64_t timeout_ns)
{
	return dial_with(NULL, NULL, network, address, timeout_ns);
}
