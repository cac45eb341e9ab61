/* SPDX-License-Identifier: MIT */
/*
 * Checking, for waits that have slept long without readiness, that the fd
 * number still names the file the engine polls (the interposer: a raw
 * system call may have closed or replaced it unseen).  One engine timeout
 * a second walks the readiness objects that asked for it, instead of a
 * timer armed and cancelled around every wait: on this kind of machine
 * that timer costs a fair part of a microsecond per request.
 *
 * An object's file is checked (fstat, on the engine thread) once its waits
 * have lasted a whole quiet interval (no readiness, waiters at both ends
 * of it): after 1-2 s, then after doubling intervals up to 64 s.
 * Readiness starts the count over.  Only a file found changed wakes the
 * waiters: a wait woken for nothing could lose a signal that lands while
 * it is awake, where the kernel's own wait would have returned EINTR.
 * The timeout runs only while some such object has waiters.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

#define SWEEP_EVERY_MAX	64	/* seconds */

static struct __kernel_timespec one_second = { .tv_sec = 1 };

static void prep_tick(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_timeout(sqe, &one_second, 0, 0);
}

static void count_reset(struct urnet__ready *r)
{
	r->sweep_quiet = 0;
	r->sweep_every = 1;
}

/*
 * A raw fstat: a sanitizer's interceptor would take this look at a number
 * the program may be closing for a use of the fd, though the object is
 * unbound (under bound_lock, held here) before any close reaches the kernel.
 */
static bool names_watched_file(struct urnet__ready *r)
{
	struct stat st;

	return syscall(SYS_newfstatat, r->fd, "", &st, AT_EMPTY_PATH) == 0 &&
	       (uint64_t)st.st_dev == atomic_load(&r->watch_dev) &&
	       (uint64_t)st.st_ino == atomic_load(&r->watch_ino);
}

/* Engine thread, under bound_lock.  True while r has waiters. */
static bool sweep_one(struct urnet__ready *r)
{
	uint32_t n = atomic_load(&r->waiters[URNET__READ]) + atomic_load(&r->waiters[URNET__WRITE]);
	bool quiet = n && r->sweep_had_waiters &&
		     atomic_load(&r->seq[URNET__READ]) == r->sweep_seq[URNET__READ] &&
		     atomic_load(&r->seq[URNET__WRITE]) == r->sweep_seq[URNET__WRITE];

	if (!quiet) {
		count_reset(r);
	} else if (++r->sweep_quiet >= r->sweep_every) {
		if (!names_watched_file(r)) {
			atomic_fetch_add(&r->swept, 1);
			urnet__ready_kick(r);
		}
		r->sweep_quiet = 0;
		if (r->sweep_every < SWEEP_EVERY_MAX)
			r->sweep_every *= 2;
	}
	/* After the kick: its own bump is no readiness. */
	r->sweep_seq[URNET__READ] = atomic_load(&r->seq[URNET__READ]);
	r->sweep_seq[URNET__WRITE] = atomic_load(&r->seq[URNET__WRITE]);
	r->sweep_had_waiters = n > 0;
	return n > 0;
}

static void tick_done(int res, unsigned cqe_flags, void *arg)
{
	urnet_engine *e = arg;
	struct urnet__list *n;
	bool waiting = false;

	(void)cqe_flags;
	/* Before looking at the waiters: one that comes later re-arms (ensure). */
	atomic_store(&e->sweep_armed, 0);
	if (res != -ETIME)
		return;		/* cancelled: the engine is stopping */
	pthread_mutex_lock(&e->bound_lock);
	urnet__list_for_each(n, &e->bound) {
		struct urnet__ready *r = urnet__list_entry(n, struct urnet__ready, bound_link);

		if (atomic_load(&r->sweep_wanted))
			waiting |= sweep_one(r);
	}
	pthread_mutex_unlock(&e->bound_lock);
	if (waiting)
		urnet__sweep_ensure(e);
}

void urnet__sweep_ensure(urnet_engine *e)
{
	uint32_t zero = 0;

	if (atomic_load(&e->sweep_armed) ||
	    !atomic_compare_exchange_strong(&e->sweep_armed, &zero, 1))
		return;
	if (urnet_engine_submit(e, prep_tick, tick_done, e))
		atomic_store(&e->sweep_armed, 0);	/* stopping, or no memory: the next wait tries */
}

void urnet__ready_watch_identity(struct urnet__ready *r, uint64_t dev, uint64_t ino)
{
	if (atomic_load_explicit(&r->sweep_wanted, memory_order_relaxed))
		return;
	atomic_store(&r->watch_dev, dev);
	atomic_store(&r->watch_ino, ino);
	/*
	 * Ordered before the waiter's count, which comes before its look at
	 * sweep_armed: a tick that disarms before that look sees both.
	 */
	atomic_store(&r->sweep_wanted, 1);
}
