/* SPDX-License-Identifier: MIT */
/*
 * Waits on several readiness objects at once: a group's members, linked
 * into their objects so that a report or a kick on any of them wakes the
 * one call (poll, select).  See ready_group.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"
#include "waits.h"
#include "ready_group.h"

/* How long a wait without a deadline sleeps at a time: see group_wait_futex. */
#define SLICE_NS	(3600 * 1000000000LL)

uint8_t urnet__ready_group_dirs(short events)
{
	uint8_t dirs = 0;

	if (events & (POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND))
		dirs |= 1u << URNET__READ;
	if (events & (POLLOUT | POLLWRNORM | POLLWRBAND))
		dirs |= 1u << URNET__WRITE;
	/* Nothing asked: errors and hang-ups still end the wait; the read poll reports them. */
	return dirs ? dirs : 1u << URNET__READ;
}

/* Held by the engine thread's reports and by joins and leaves: all short. */
static void members_lock(struct urnet__ready *r)
{
	while (atomic_exchange_explicit(&r->members_lock, 1, memory_order_acquire))
		sched_yield();
}

static void members_unlock(struct urnet__ready *r)
{
	atomic_store_explicit(&r->members_lock, 0, memory_order_release);
}

/* ---------------------------------------------------------------- the thread's eventfd */

static pthread_key_t wake_key;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static URNET__TLS int wake_fd = -1;

static void wake_fd_drop(void *arg)
{
	(void)arg;
	urnet__own_fd_close(wake_fd);
	wake_fd = -1;
}

static void wake_key_make(void)
{
	if (pthread_key_create(&wake_key, wake_fd_drop) != 0) {
		/* Without a destructor a thread's eventfd outlives it: still correct. */
	}
}

static int wake_fd_open(void *arg)
{
	(void)arg;
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* One per thread that ever waits with a mask, closed when it exits. */
static int thread_wake_fd(void)
{
	if (wake_fd >= 0)
		return wake_fd;
	pthread_once(&wake_once, wake_key_make);
	wake_fd = urnet__own_fd(wake_fd_open, NULL);
	if (wake_fd < 0)
		return -errno;
	pthread_setspecific(wake_key, &wake_fd);
	return wake_fd;
}

/* ---------------------------------------------------------------- members */

static void group_bump(struct urnet__ready_group *g, urnet_engine *ring)
{
	uint64_t one = 1;

	atomic_fetch_add_explicit(&g->seq, 1, memory_order_seq_cst);
	if (!atomic_load_explicit(&g->sleeping, memory_order_seq_cst))
		return;
	if (g->wake_fd >= 0) {
		/* Raw, as every call on urnet's own descriptors. */
		if (syscall(SYS_write, g->wake_fd, &one, sizeof(one)) < 0) {
			/* Counter full: the waiter is awake already. */
		}
	} else if (ring) {
		urnet__engine_futex_wake_all(ring, &g->seq);
	} else {
		urnet__futex_wake_all(&g->seq);
	}
}

void urnet__ready_group_signal(struct urnet__ready *r, int dir, urnet_engine *ring)
{
	struct urnet__list *n;

	members_lock(r);
	urnet__list_for_each(n, &r->members) {
		struct urnet__ready_member *m =
			urnet__list_entry(n, struct urnet__ready_member, link);

		if (m->dirs & (1u << dir))
			group_bump(m->g, ring);
	}
	members_unlock(r);
}

int urnet__ready_group_join(struct urnet__ready_group *g, struct urnet__ready_member *m,
			    size_t n, bool with_mask, struct pollfd *scratch)
{
	atomic_init(&g->seq, 0);
	atomic_init(&g->sleeping, 0);
	g->wake_fd = -1;
	g->m = m;
	g->n = n;
	g->scratch = scratch;
	for (size_t i = 0; i < n; i++)
		m[i].joined = 0;
	if (with_mask && n && !m[0].r->engine->syscall_backend) {
		int fd = thread_wake_fd();

		if (fd < 0)
			return fd;
		g->wake_fd = fd;
	}
	for (size_t i = 0; i < n; i++) {
		struct urnet__ready *r = m[i].r;

		m[i].g = g;
		/* Linked before counted: a report that sees the count finds the member. */
		members_lock(r);
		urnet__list_add(&r->members, &m[i].link);
		members_unlock(r);
		m[i].joined = 1;
		for (int dir = 0; dir < 2; dir++)
			if (m[i].dirs & (1u << dir))
				atomic_fetch_add_explicit(&r->grouped[dir], 1, memory_order_seq_cst);
	}
	return 0;
}

void urnet__ready_group_leave(struct urnet__ready_group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct urnet__ready_member *m = &g->m[i];

		if (!m->joined)
			continue;
		for (int dir = 0; dir < 2; dir++)
			if (m->dirs & (1u << dir))
				atomic_fetch_sub_explicit(&m->r->grouped[dir], 1,
							  memory_order_seq_cst);
		members_lock(m->r);
		urnet__list_del(&m->link);
		members_unlock(m->r);
		m->joined = 0;
	}
}

/* ---------------------------------------------------------------- waiting */

static void sleeping_end(void *arg)
{
	atomic_store_explicit(&((struct urnet__ready_group *)arg)->sleeping, 0,
			      memory_order_relaxed);
}

static int ns_to_ts(int64_t deadline_ns, struct timespec *ts)
{
	int64_t left = deadline_ns - urnet_now_ns();

	if (left <= 0)
		return -ETIMEDOUT;
	ts->tv_sec = left / 1000000000;
	ts->tv_nsec = left % 1000000000;
	return 0;
}

/*
 * A futex wait with a timeout is never restarted after a signal handler,
 * which is the rule of poll and select: an untimed one sleeps in slices.
 */
static int group_wait_futex(struct urnet__ready_group *g, uint32_t snap, int64_t deadline_ns)
{
	int64_t until = deadline_ns ? deadline_ns : urnet_now_ns() + SLICE_NS;
	int ret, cancel;

	cancel = urnet__cancel_async_begin(true);
	ret = urnet__futex_wait(&g->seq, snap, until);
	urnet__cancel_async_end(cancel);
	if (ret == -ETIMEDOUT && !deadline_ns)
		ret = 0;
	return ret;
}

/* ppoll on fds with the mask swapped in, as the kernel's ppoll does it. */
static int group_ppoll(struct pollfd *fds, size_t n, int64_t deadline_ns,
		       const sigset_t *mask)
{
	struct timespec ts, *tsp = NULL;
	int ret, cancel;

	if (deadline_ns) {
		ret = ns_to_ts(deadline_ns, &ts);
		if (ret < 0)
			return ret;
		tsp = &ts;
	}
	cancel = urnet__cancel_async_begin(true);
	ret = (int)syscall(SYS_ppoll, fds, n, tsp, mask, mask ? _NSIG / 8 : 0);
	urnet__cancel_async_end(cancel);
	if (ret < 0)
		return -errno;
	return ret == 0 && deadline_ns ? -ETIMEDOUT : 0;
}

static int group_wait_eventfd(struct urnet__ready_group *g, int64_t deadline_ns,
			      const sigset_t *mask)
{
	struct pollfd p = { .fd = g->wake_fd, .events = POLLIN };
	uint64_t token;
	int ret = group_ppoll(&p, 1, deadline_ns, mask);

	if (ret == 0 && syscall(SYS_read, g->wake_fd, &token, sizeof(token)) < 0) {
		/* Nothing there: the wake came from the timeout. */
	}
	return ret;
}

static int group_wait_poll(struct urnet__ready_group *g, int64_t deadline_ns,
			   const sigset_t *mask)
{
	struct pollfd *p = g->scratch;
	size_t n = g->n;
	uint64_t token;
	int ret;

	for (size_t i = 0; i < n; i++) {
		p[i] = (struct pollfd){ .fd = g->m[i].r->fd, .events = g->m[i].events };
		p[n + i] = (struct pollfd){ .fd = g->m[i].r->kick_fd, .events = POLLIN };
	}
	ret = group_ppoll(p, 2 * n, deadline_ns, mask);
	for (size_t i = 0; ret == 0 && i < n; i++)
		if ((p[n + i].revents & POLLIN) &&
		    syscall(SYS_read, p[n + i].fd, &token, sizeof(token)) < 0) {
			/* Another waiter took the token: nothing lost. */
		}
	return ret;
}

/* Out of the list of parked calls, however the wait ends (cancellation too). */
static void unpark(void *arg)
{
	(void)arg;
	urnet__waits_unpark();
}

int urnet__ready_group_wait(struct urnet__ready_group *g, uint32_t snap,
			    int64_t deadline_ns, const sigset_t *mask)
{
	urnet_engine *e;
	int ret;

	if (!g->n)
		return -EINVAL;
	for (size_t i = 0; i < g->n; i++)
		if (atomic_load_explicit(&g->m[i].r->closing, memory_order_acquire))
			return -ECANCELED;
	if (deadline_ns < 0 || (deadline_ns > 0 && urnet_now_ns() >= deadline_ns))
		return -ETIMEDOUT;
	e = g->m[0].r->engine;
	if (atomic_load_explicit(&e->stopping, memory_order_acquire))
		return -ESHUTDOWN;
	/*
	 * A write poll is one-shot (a read one too before Linux 5.13): the
	 * report that woke the last sleep used it up.  Armed after the
	 * caller's look at the kernel, it reports what is ready already.
	 */
	for (size_t i = 0; i < g->n; i++)
		for (int dir = 0; dir < 2; dir++) {
			if (!(g->m[i].dirs & (1u << dir)))
				continue;
			ret = urnet__ready_arm(g->m[i].r, dir);
			if (ret < 0)
				return ret;
		}
	urnet__engine_count_parked(e);
	/* Listed as a poll, by the first fd of its set. */
	urnet__waits_park(g->m[0].r->fd, URNET__WK_POLL, deadline_ns);
	pthread_cleanup_push(unpark, NULL);
	if (e->syscall_backend) {
		ret = group_wait_poll(g, deadline_ns, mask);
	} else {
		atomic_store_explicit(&g->sleeping, 1, memory_order_seq_cst);
		pthread_cleanup_push(sleeping_end, g);
		if (atomic_load_explicit(&g->seq, memory_order_seq_cst) != snap)
			ret = 0;
		else if (g->wake_fd >= 0)
			ret = group_wait_eventfd(g, deadline_ns, mask);
		else
			ret = group_wait_futex(g, snap, deadline_ns);
		pthread_cleanup_pop(1);
	}
	pthread_cleanup_pop(1);
	return ret;
}
