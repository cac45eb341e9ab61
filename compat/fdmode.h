/* SPDX-License-Identifier: MIT */
/*
 * What a wait needs to know of a file besides readiness: O_NONBLOCK and
 * SO_RCVTIMEO/SO_SNDTIMEO.  Asking the kernel costs three system calls per
 * wait, so the preload module, which sees every fcntl(F_SETFL),
 * ioctl(FIONBIO) and setsockopt() the program makes, caches them.  Each of
 * those calls starts a new generation; a cached value is good only in the
 * generation it was learnt in.  Outside the preload module (the compat API
 * linked into a program that calls libc's fcntl itself) nothing is cached.
 *
 * A cache word holds the generation in its high half and the value in the
 * low half, so a value and the generation it belongs to are read together.
 */
#ifndef URNET_COMPAT_FDMODE_H
#define URNET_COMPAT_FDMODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ready.h"

/*
 * The preload module's fcntl/fcntl64 (large), ioctl and setsockopt: the C
 * library's, then a new generation when the call may have changed a mode.
 */
URNET__HIDDEN int urnet__fcntl(int fd, int cmd, void *arg, bool large);
URNET__HIDDEN int urnet__ioctl(int fd, unsigned long req, void *arg);
URNET__HIDDEN int urnet__setsockopt(int fd, int level, int name, const void *val,
				    socklen_t len);

/* Turn caching on (the preload module, once). */
URNET__HIDDEN void urnet__fd_mode_cache_enable(void);

/* A mode may have changed: every cached value is stale from now on. */
URNET__HIDDEN void urnet__fd_mode_changed(void);

/* The current generation; 0 when caching is off.  Read before asking the kernel. */
URNET__HIDDEN uint32_t urnet__fd_mode_gen(void);

/* The value cached in word, if it is of the current generation. */
static inline bool urnet__fd_mode_get(_Atomic uint64_t *word, uint32_t *val)
{
	uint32_t gen = urnet__fd_mode_gen();
	uint64_t w = atomic_load_explicit(word, memory_order_acquire);

	if (!gen || (uint32_t)(w >> 32) != gen)
		return false;
	*val = (uint32_t)w;
	return true;
}

/* Cache val as learnt in generation gen (from urnet__fd_mode_gen()). */
static inline void urnet__fd_mode_put(_Atomic uint64_t *word, uint32_t gen, uint32_t val)
{
	if (gen)
		atomic_store_explicit(word, (uint64_t)gen << 32 | val, memory_order_release);
}

#endif
