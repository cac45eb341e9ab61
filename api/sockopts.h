/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: the dial and listen options (struct urnet_options)
 * checked and applied to a new socket (sockopts.c).  Not installed.
 */
#ifndef URNET_API_SOCKOPTS_H
#define URNET_API_SOCKOPTS_H

#include <stdbool.h>

#include "addr.h"
#include "urnet.h"

struct urnet__opts {
	struct urnet_options o;		/* every field set: the caller's or a default */
	bool has_local;
	struct urnet__sockaddr local;	/* o.local_addr parsed */
};

/*
 * Check user (NULL: every default) for net and fill out; engine e (NULL
 * allowed) is used when the options name none.  0 or -EINVAL, -EAFNOSUPPORT.
 */
URNET__HIDDEN int urnet__opts_load(const struct urnet_options *user, urnet_engine *e,
				   enum urnet__net net, bool for_listen, struct urnet__opts *out);

/*
 * Apply the options to fd, a new socket for sa (the address to bind for a
 * listener, to connect to for a dial), then call the control callback and,
 * when dialing from a local address, bind.  0 or -errno.
 */
URNET__HIDDEN int urnet__opts_apply(const struct urnet__opts *o, int fd, enum urnet__net net,
				    const struct urnet__sockaddr *sa, bool for_listen);

/*
 * A new non-blocking, close-on-exec stream socket for address sa, with
 * urnet's defaults and the options applied, the control callback called
 * and, when dialing with a local address, bound.  The fd, or -errno.
 */
URNET__HIDDEN int urnet__opts_socket(const struct urnet__opts *o, enum urnet__net net,
				     const struct urnet__sockaddr *sa, bool for_listen);

#endif
