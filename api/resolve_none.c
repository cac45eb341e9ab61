/* SPDX-License-Identifier: MIT */
/*
 * Lookups in a build without c-ares, and in the preload module, which
 * never dials by name: a program run under urnet-run should not find
 * libcares loaded into it for nothing.  Numeric hosts and localhost need
 * no lookup and never come here.
 */
#include "config.h"

#include <errno.h>

#include "conn_internal.h"
#include "resolve.h"

int urnet__resolve(urnet_engine *e, enum urnet__net net, const char *name, in_port_t port,
		   int64_t deadline, struct urnet__sockaddr *out, int max)
{
	(void)e, (void)net, (void)port, (void)deadline, (void)out, (void)max;
	urnet__resolve_message("cannot look up %s: urnet was built without c-ares", name);
	return -ENOSYS;
}
