/* SPDX-License-Identifier: MIT */
/*
 * Time limits for programs that set none: URNET_IO_TIMEOUT and
 * URNET_CONNECT_TIMEOUT (urnet-run --io-timeout, --connect-timeout) for
 * every blocking socket wait without an SO_RCVTIMEO/SO_SNDTIMEO of its
 * own, and the calling thread's deadline (urnet_thread_set_io_deadline)
 * for every blocking socket call.  A wait they end says what an
 * SO_*TIMEO expiry says: EAGAIN, or EINPROGRESS for a connect.
 */
#ifndef URNET_COMPAT_IOTIMEOUT_H
#define URNET_COMPAT_IOTIMEOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "visibility.h"

enum urnet__limit { URNET__LIMIT_IO, URNET__LIMIT_CONNECT };

/*
 * The deadline of a wait about to start (absolute CLOCK_MONOTONIC ns, 0:
 * none), given own, the one its socket's SO_*TIMEO sets (0: none).
 * *limited: the deadline is urnet's, not the socket's.
 */
URNET__HIDDEN int64_t urnet__io_limit_deadline(enum urnet__limit kind, int64_t own,
					       bool *limited);

/*
 * The preload module: a program linked with liburnet sets its threads'
 * deadlines there; read them from there.  Called once at load.
 */
URNET__HIDDEN void urnet__io_deadline_share(void);

#endif
