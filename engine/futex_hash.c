/* SPDX-License-Identifier: MIT */
/*
 * Sizing the process's private futex hash to the threads that may sleep on
 * readiness counters.  Since Linux 6.16 a process hashes its private futexes
 * in a table of its own, sized for min(threads, CPUs): 16 buckets on a
 * 2-CPU machine.  That suits mutexes, but with a thousand threads parked on
 * per-connection counters every wake walks a chain of ~60 sleepers, in the
 * engine thread.  So the table grows (never shrinks) to twice the number
 * of readiness objects in use.  On older kernels, or when the process uses
 * the global hash, there is nothing to size.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "engine.h"

#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH			78
#define PR_FUTEX_HASH_SET_SLOTS		1
#define PR_FUTEX_HASH_GET_SLOTS		2
#endif

#define MAX_SLOTS	(1L << 16)

static _Atomic long objects;
static _Atomic long slots = -1;		/* -1: not asked yet, 0: not ours to size */
static pthread_mutex_t resize_lock = PTHREAD_MUTEX_INITIALIZER;

static void grow(long want_objects)
{
	long have, want;

	pthread_mutex_lock(&resize_lock);
	have = atomic_load(&slots);
	if (have < 0) {
		have = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0);
		if (have < 0)
			have = 0;
	}
	want = have;
	while (want && want < 2 * want_objects && want < MAX_SLOTS)
		want *= 2;
	if (want > have)
		have = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, want, 0, 0) == 0 ? want : 0;
	atomic_store(&slots, have);
	pthread_mutex_unlock(&resize_lock);
}

void urnet__futex_hash_add(long n)
{
	long now = atomic_fetch_add_explicit(&objects, n, memory_order_relaxed) + n;
	long have = atomic_load_explicit(&slots, memory_order_relaxed);

	if (n > 0 && have && (have < 0 || (2 * now > have && have < MAX_SLOTS)))
		grow(now);
}
