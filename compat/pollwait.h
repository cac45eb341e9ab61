/* SPDX-License-Identifier: MIT */
/*
 * The wait that poll, ppoll, select and pselect share (compat/pollwait.c).
 *
 * Every answer is the kernel's: the call asks the kernel with a zero
 * timeout (poll or select itself), and only when nothing is ready does it
 * sleep, on the engine, until one of its fds reports readiness, one of
 * them is being closed, a signal handler runs or the timeout passes; then
 * it asks the kernel again.  While it sleeps it holds every number in the
 * fd table, so a close() from another thread wakes it and waits for it to
 * leave before the number can be reused.
 */
#ifndef URNET_COMPAT_POLLWAIT_H
#define URNET_COMPAT_POLLWAIT_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visibility.h"

struct urnet__pollcall {
	/* The kernel's answer with a zero timeout, written to the caller's arrays. */
	int (*ask)(struct urnet__pollcall *pc, const sigset_t *mask);
	/* The kernel's own blocking call until deadline_ns (0: none). */
	int (*block)(struct urnet__pollcall *pc, int64_t deadline_ns, const sigset_t *mask);
	/* closing[i]: fds[i] is being closed by another thread.  The call's result. */
	int (*closed)(struct urnet__pollcall *pc, const uint8_t *closing);
	/* What to wait for: negative fds are skipped, as poll does. */
	const struct pollfd *fds;
	size_t n;
	bool zero;		/* a zero timeout: the kernel's answer at once */
	int64_t deadline_ns;	/* CLOCK_MONOTONIC; 0: none */
	const sigset_t *mask;	/* ppoll, pselect: the mask during the wait */
};

/*
 * From now on every wait is the kernel's (the answers always are): for
 * the preload module of a ThreadSanitizer build, whose runtime, loaded in
 * front of the module, intercepts poll and select itself as blocking
 * calls and models no atomic operation inside them, so that every
 * handoff to the engine would look like a race.  test/compat_poll runs
 * the engine's path instrumented, without that interceptor in front.
 */
URNET__HIDDEN void urnet__pollcall_kernel_only(void);

/* The call's result: a count, or -errno. */
URNET__HIDDEN int urnet__pollcall_run(struct urnet__pollcall *pc);

/* A relative timeout in ns (negative: none) as a deadline for pc. */
URNET__HIDDEN void urnet__pollcall_timeout(struct urnet__pollcall *pc, int64_t ns);

/* A ppoll/pselect timeout: -EINVAL if malformed, else its length in ns (-1: none). */
URNET__HIDDEN int64_t urnet__timespec_ns(const struct timespec *ts);

/* What is left until deadline_ns as a timespec (never negative). */
URNET__HIDDEN void urnet__deadline_left(int64_t deadline_ns, struct timespec *ts);

#endif
