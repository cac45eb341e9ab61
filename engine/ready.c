/* SPDX-License-Identifier: MIT */
/*
 * Readiness waiting: how a caller thread parks until its fd can make
 * progress.  With io_uring the engine keeps one multishot POLLIN armed per
 * fd once a read first had to wait, and a one-shot POLLOUT while a write
 * waits; each CQE bumps a sequence counter the callers sleep on (futex).
 * With the syscall backend the caller itself sleeps in ppoll(), next to an
 * eventfd that close and deadline changes use to interrupt it.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"
#include "libc.h"
#include "ready_group.h"

/* See short_read_drains. */
static bool tcp_socket(int fd)
{
	int proto = 0, saved = errno;
	socklen_t len = sizeof(proto);
	bool tcp = getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
		   proto == IPPROTO_TCP;

	errno = saved;
	return tcp;
}

static int kick_fd_open(void *arg)
{
	(void)arg;
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
}

int urnet__ready_init(struct urnet__ready *r, urnet_engine *e, int fd)
{
	if (!e || fd < 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	urnet__list_init(&r->members);
	r->engine = e;
	r->fd = fd;
	atomic_store_explicit(&r->short_read_drains, tcp_socket(fd), memory_order_relaxed);
	r->kick_fd = -1;
	r->arm_node[URNET__READ].kind = URNET__Q_ARM_READ;
	r->arm_node[URNET__WRITE].kind = URNET__Q_ARM_WRITE;
	r->retire_node.kind = URNET__Q_RETIRE;
	if (e->syscall_backend) {
		r->kick_fd = urnet__own_fd(kick_fd_open, NULL);
		if (r->kick_fd < 0)
			return -errno;
	}
	urnet__engine_get(e);
	pthread_mutex_lock(&e->bound_lock);
	urnet__list_add(&e->bound, &r->bound_link);
	pthread_mutex_unlock(&e->bound_lock);
	if (!e->syscall_backend)
		urnet__futex_hash_add(1);
	return 0;
}

static void unbind(urnet_engine *e, struct urnet__ready *r)
{
	pthread_mutex_lock(&e->bound_lock);
	urnet__list_del(&r->bound_link);
	pthread_mutex_unlock(&e->bound_lock);
	if (!e->syscall_backend)
		urnet__futex_hash_add(-1);
}

void urnet__ready_wake_bound(urnet_engine *e)
{
	struct urnet__list *n;

	/* Each wakes, retries, and finds the engine gone (-ESHUTDOWN). */
	pthread_mutex_lock(&e->bound_lock);
	urnet__list_for_each(n, &e->bound)
		urnet__ready_kick(urnet__list_entry(n, struct urnet__ready, bound_link));
	pthread_mutex_unlock(&e->bound_lock);
}

/*
 * Waiters count themselves before they look at seq, and the bump comes
 * before the look at waiters (both seq_cst): either the waiter sees the
 * new seq or the signal sees the waiter.
 */
void urnet__ready_signal(struct urnet__ready *r, int dir, urnet_engine *ring)
{
	atomic_fetch_add_explicit(&r->seq[dir], 1, memory_order_seq_cst);
	if (atomic_load_explicit(&r->grouped[dir], memory_order_seq_cst))
		urnet__ready_group_signal(r, dir, ring);
	if (!atomic_load_explicit(&r->waiters[dir], memory_order_seq_cst))
		return;
	if (ring)
		urnet__engine_futex_wake_all(ring, &r->seq[dir]);
	else
		urnet__futex_wake_all(&r->seq[dir]);
}

/* 0: readiness changed, -ECANCELED: closing, 1: keep waiting. */
static int wait_over(struct urnet__ready *r, int dir, uint32_t snap)
{
	if (atomic_load_explicit(&r->closing, memory_order_acquire))
		return -ECANCELED;
	if (atomic_load_explicit(&r->seq[dir], memory_order_seq_cst) != snap)
		return 0;
	return 1;
}

struct waiter {
	struct urnet__ready *r;
	int dir;
};

static void waiter_leave(void *arg)
{
	struct waiter *w = arg;

	atomic_fetch_sub_explicit(&w->r->waiters[w->dir], 1, memory_order_seq_cst);
	urnet__waits_unpark();
}

/* The caller parks: into the list of parked calls, out again in waiter_leave. */
static void waiter_enter(struct urnet__ready *r, int dir, int64_t deadline_ns, unsigned flags)
{
	unsigned kind = URNET__WAIT_KIND_OF(flags);

	if (!kind)
		kind = dir == URNET__READ ? URNET__WK_READ : URNET__WK_WRITE;
	urnet__waits_park(r->fd, kind, deadline_ns);
}

int urnet__cancel_async_begin(bool cancelpoint)
{
	int old;

	if (!cancelpoint)
		return -1;
	pthread_testcancel();
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	return old;
}

void urnet__cancel_async_end(int old)
{
	if (old >= 0)
		pthread_setcanceltype(old, NULL);
}

/* How long an URNET__WAIT_ANY_SIGNAL wait without a deadline sleeps at a time. */
#define ANY_SIGNAL_SLICE_NS	(3600 * 1000000000LL)

int urnet__ready_arm(struct urnet__ready *r, int dir)
{
	uint32_t zero = 0;
	int ret;

	if (r->engine->syscall_backend)
		return 0;
	if (!atomic_load_explicit(&r->armed[dir], memory_order_acquire) &&
	    atomic_compare_exchange_strong_explicit(&r->armed[dir], &zero, 1,
						    memory_order_acq_rel,
						    memory_order_relaxed)) {
		ret = urnet__engine_push(r->engine, &r->arm_node[dir]);
		if (ret) {
			/*
			 * The engine is gone.  Others who saw our armed flag went
			 * to sleep counting on the poll: wake them to find out.
			 */
			atomic_store_explicit(&r->armed[dir], 0, memory_order_release);
			urnet__ready_signal(r, dir, NULL);
			return ret;
		}
	}
	return 0;
}

static int wait_futex(struct urnet__ready *r, int dir, uint32_t snap,
		      int64_t deadline_ns, unsigned flags)
{
	urnet_engine *e = r->engine;
	int ret, cancel;

	ret = urnet__ready_arm(r, dir);
	if (ret)
		return ret;

	urnet__engine_count_parked(e);
	atomic_fetch_add_explicit(&r->waiters[dir], 1, memory_order_seq_cst);
	if (atomic_load_explicit(&r->sweep_wanted, memory_order_relaxed))
		urnet__sweep_ensure(e);
	waiter_enter(r, dir, deadline_ns, flags);
	pthread_cleanup_push(waiter_leave, (&(struct waiter){ r, dir }));
	for (;;) {
		int64_t until = deadline_ns;

		ret = wait_over(r, dir, snap);
		if (ret <= 0)
			break;
		/* A timed futex wait is never restarted after a handler. */
		if (!until && (flags & URNET__WAIT_ANY_SIGNAL))
			until = urnet_now_ns() + ANY_SIGNAL_SLICE_NS;
		cancel = urnet__cancel_async_begin(flags & URNET__WAIT_CANCELPOINT);
		ret = urnet__futex_wait(&r->seq[dir], snap, until);
		urnet__cancel_async_end(cancel);
		if (ret == -ETIMEDOUT && deadline_ns)
			break;
		if (ret == -EINTR && (flags & URNET__WAIT_EINTR))
			break;
	}
	pthread_cleanup_pop(1);
	return ret;
}

static int wait_poll(struct urnet__ready *r, int dir, uint32_t snap,
		     int64_t deadline_ns, unsigned flags)
{
	struct pollfd p[2] = {
		{ .fd = r->fd, .events = dir == URNET__READ ? POLLIN | POLLRDHUP : POLLOUT },
		{ .fd = r->kick_fd, .events = POLLIN },
	};
	int ret, cancel;

	urnet__engine_count_parked(r->engine);
	atomic_fetch_add_explicit(&r->waiters[dir], 1, memory_order_seq_cst);
	waiter_enter(r, dir, deadline_ns, flags);
	pthread_cleanup_push(waiter_leave, (&(struct waiter){ r, dir }));
	for (;;) {
		struct timespec ts, *tsp = NULL;
		uint64_t token;

		ret = wait_over(r, dir, snap);
		if (ret <= 0)
			break;
		if (atomic_load_explicit(&r->engine->stopping, memory_order_acquire)) {
			ret = -ESHUTDOWN;
			break;
		}
		if (deadline_ns > 0) {
			int64_t left = deadline_ns - urnet_now_ns();

			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		cancel = urnet__cancel_async_begin(flags & URNET__WAIT_CANCELPOINT);
		ret = urnet__libc()->ppoll(p, 2, tsp, NULL);
		urnet__cancel_async_end(cancel);
		if (ret < 0) {
			ret = -errno;
			if (ret == -EINTR && !(flags & URNET__WAIT_EINTR))
				continue;
			break;
		}
		if (ret == 0)
			continue;	/* the deadline check above decides */
		if (p[1].revents & POLLIN) {
			/* A kick: the checks above say what changed. */
			if (syscall(SYS_read, r->kick_fd, &token, sizeof(token)) < 0) {
				/* Another waiter took the token: nothing lost. */
			}
			continue;
		}
		ret = 0;
		break;
	}
	pthread_cleanup_pop(1);
	return ret;
}

int urnet__ready_wait(struct urnet__ready *r, int dir, uint32_t snap,
		      int64_t deadline_ns, unsigned flags)
{
	if (dir != URNET__READ && dir != URNET__WRITE)
		return -EINVAL;
	if (atomic_load_explicit(&r->closing, memory_order_acquire))
		return -ECANCELED;
	if (deadline_ns < 0 || (deadline_ns > 0 && urnet_now_ns() >= deadline_ns))
		return -ETIMEDOUT;
	if (r->engine->syscall_backend)
		return wait_poll(r, dir, snap, deadline_ns, flags);
	return wait_futex(r, dir, snap, deadline_ns, flags);
}

void urnet__ready_kick(struct urnet__ready *r)
{
	urnet__ready_signal(r, URNET__READ, NULL);
	urnet__ready_signal(r, URNET__WRITE, NULL);
	if (r->kick_fd >= 0) {
		uint64_t n = atomic_load_explicit(&r->waiters[URNET__READ], memory_order_seq_cst) +
			     atomic_load_explicit(&r->waiters[URNET__WRITE], memory_order_seq_cst) +
			     atomic_load_explicit(&r->grouped[URNET__READ], memory_order_seq_cst) +
			     atomic_load_explicit(&r->grouped[URNET__WRITE], memory_order_seq_cst);

		/* One token per sleeping waiter; a stray token costs one retry. */
		/* Raw, as every call on urnet's own descriptors (ownfd.c). */
		if (n && syscall(SYS_write, r->kick_fd, &n, sizeof(n)) < 0) {
			/* Counter full: waiters are awake already. */
		}
	}
}

void urnet__ready_close(struct urnet__ready *r)
{
	atomic_store_explicit(&r->closing, 1, memory_order_seq_cst);
	urnet__ready_kick(r);
}

void urnet__ready_destroy(struct urnet__ready *r)
{
	urnet_engine *e = r->engine;

	if (!e)
		return;
	atomic_store_explicit(&r->closing, 1, memory_order_seq_cst);
	if (!e->syscall_backend && urnet__engine_push(e, &r->retire_node) == 0) {
		while (!atomic_load_explicit(&r->retired, memory_order_acquire))
			urnet__futex_wait(&r->retired, 0, 0);
	}
	unbind(e, r);
	urnet__own_fd_close(r->kick_fd);
	r->kick_fd = -1;
	r->engine = NULL;
	urnet__engine_put(e);
}
