/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: host names looked up on the engine (resolve.c).  Not
 * installed.
 */
#ifndef URNET_API_RESOLVE_H
#define URNET_API_RESOLVE_H

#include "addr.h"
#include "urnet.h"

/* Most addresses one lookup hands back: more are dropped. */
#define URNET__RESOLVE_MAX 32

/*
 * Look up name (already known not to be numeric) for net, waiting on
 * engine e (NULL: any) until deadline (0 = the resolver's own retries).
 * Stores up to max addresses with port (network order), IPv6 first, and
 * returns how many, or -errno: -ENOENT, -EAGAIN, -EINVAL, -ETIMEDOUT,
 * -ESHUTDOWN, -ENOMEM, -ENOSYS (no c-ares).  The message of a failure is
 * kept for urnet_resolve_error().
 */
URNET__HIDDEN int urnet__resolve(urnet_engine *e, enum urnet__net net, const char *name,
				 in_port_t port, int64_t deadline, struct urnet__sockaddr *out,
				 int max);

/* Keep a message for urnet_resolve_error() (printf format). */
URNET__HIDDEN void urnet__resolve_message(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
