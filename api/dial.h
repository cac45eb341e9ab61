/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: dialing one address (dial.c), used by the public dial
 * calls and the dial by name (dialer.c).  Not installed.
 */
#ifndef URNET_API_DIAL_H
#define URNET_API_DIAL_H

#include "conn_internal.h"
#include "sockopts.h"

/* Relative timeout (0 = none) to absolute deadline (0 = none); -EINVAL if negative. */
URNET__HIDDEN int urnet__dial_deadline(int64_t timeout_ns, int64_t *deadline);

/* A new socket for sa with o applied, connected by deadline: a conn, or NULL + errno. */
URNET__HIDDEN urnet_conn *urnet__dial_addr(const struct urnet__opts *o, enum urnet__net net,
					   const struct urnet__sockaddr *sa, int64_t deadline);

/* 1: still connecting, 0: connected, -errno: failed. */
URNET__HIDDEN int urnet__connect_state(int fd);

#endif
