/* SPDX-License-Identifier: MIT */
/*
 * Thin futex wrappers, the only ones: the parker of every caller thread,
 * the engine's own waits, and compat's fd table.  Raw syscalls, so that
 * nothing here reaches an interposer.
 */
#ifndef URNET_ENGINE_FUTEX_H
#define URNET_ENGINE_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Sleep while *word == expected, until the absolute CLOCK_MONOTONIC deadline
 * (0 = none).  Returns 0 (woken, or the value already differed), -ETIMEDOUT
 * or -EINTR.  An untimed wait that a SA_RESTART handler interrupts is
 * restarted by the kernel; a timed one always reports -EINTR.
 */
static inline int urnet__futex_wait(_Atomic uint32_t *word, uint32_t expected,
				    int64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;
	long ret;

	if (deadline_ns > 0) {
		ts.tv_sec = deadline_ns / 1000000000;
		ts.tv_nsec = deadline_ns % 1000000000;
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout. */
	ret = syscall(SYS_futex, (uint32_t *)word,
		      FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
		      NULL, FUTEX_BITSET_MATCH_ANY);
	if (ret == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default:
		return -errno;
	}
}

static inline void urnet__futex_wake(_Atomic uint32_t *word, int nr)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, nr,
		NULL, NULL, 0);
}

static inline void urnet__futex_wake_all(_Atomic uint32_t *word)
{
	urnet__futex_wake(word, INT_MAX);
}

#endif
