/* SPDX-License-Identifier: MIT */
/*
 * A short wait's first part, slept in the kernel on the fd (kernel_wait.c).
 * Used by urnet__ready_wait() for waits that ask for it
 * (URNET__WAIT_KERNEL_FIRST: the interposer's calls).
 */
#ifndef URNET_ENGINE_KERNEL_WAIT_H
#define URNET_ENGINE_KERNEL_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ready.h"

/*
 * The window a wait on r in dir may sleep in the kernel first (ns), or 0:
 * the syscall backend (its waits are all in the kernel), the window turned
 * off, or the last wait on r in dir outlasted it.
 */
URNET__HIDDEN int64_t urnet__kernel_wait_window(const struct urnet__ready *r, int dir);

/*
 * Sleep in ppoll on r's fd for at most window ns from start, or until the
 * absolute deadline_ns (0 = none).  0: the fd is ready (retry the call);
 * 1: the window passed, wait on the engine; -ETIMEDOUT: the deadline
 * passed; -EINTR: a signal handler ran and the call must end (the flags'
 * and the handlers' rules, as urnet__ready_wait() documents them).
 */
URNET__HIDDEN int urnet__kernel_wait(struct urnet__ready *r, int dir, int64_t start,
				     int64_t window, int64_t deadline_ns, unsigned flags);

/*
 * Whether every installed signal handler has SA_RESTART: a ppoll, which
 * the kernel never restarts, stands for a wait that it would restart
 * after one.  Without knowing which signal ran, only if all ask for it.
 */
URNET__HIDDEN bool urnet__handlers_all_restart(void);

#endif
