/* SPDX-License-Identifier: MIT */
/*
 * Readiness on the engine thread: the polls it keeps in the ring for the
 * readiness objects that callers wait on (ready.c is the callers' side).
 * A read arms one multishot poll that stays; a write arms a one-shot poll
 * while it waits.  Each poll CQE bumps the object's sequence counter and
 * wakes its waiters.  Retiring an object cancels its polls and tells the
 * caller once the ring has let go of it.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>

#include "engine.h"
#include "futex.h"

void urnet__poll_arm(urnet_engine *e, struct urnet__ready *r, int dir)
{
	uint32_t bit = 1u << dir;
	struct io_uring_sqe *sqe;

	if (r->in_ring & bit)
		return;
	if (atomic_load_explicit(&e->stopping, memory_order_relaxed) ||
	    atomic_load_explicit(&r->closing, memory_order_acquire)) {
		atomic_store_explicit(&r->armed[dir], 0, memory_order_release);
		urnet__ready_signal(r, dir, e);
		return;
	}
	sqe = urnet__engine_sqe(e);
	if (dir == URNET__READ && !e->no_multishot_poll)
		io_uring_prep_poll_multishot(sqe, r->fd, URNET__POLL_READ);
	else
		io_uring_prep_poll_add(sqe, r->fd, dir == URNET__READ ? URNET__POLL_READ : POLLOUT);
	io_uring_sqe_set_data64(sqe, urnet__tagged(r, dir == URNET__READ ? URNET__TAG_READ
									   : URNET__TAG_WRITE));
	if (!r->in_ring)
		urnet__list_add(&e->polled, &r->polled_link);
	r->in_ring |= bit;
	e->live_polls++;
}

static void retired(struct urnet__ready *r)
{
	atomic_store_explicit(&r->retired, 1, memory_order_release);
	urnet__futex_wake(&r->retired, 1);
}

/*
 * A multishot read poll reports every arrival, also while nobody waits: a
 * reader that keeps up (a bulk transfer), or one whose reads the kernel
 * makes after a short wait (compat/call.c), costs the engine a
 * completion per arrival for nothing.  After a few such reports in a row
 * the poll is taken out of the ring; the next wait puts it back, and the
 * new poll reports at once what arrived in between.
 */
static void unused_poll(urnet_engine *e, struct urnet__ready *r, int dir)
{
	if (dir != URNET__READ || r->unarming)
		return;
	if (atomic_load_explicit(&r->waiters[dir], memory_order_seq_cst) ||
	    atomic_load_explicit(&r->grouped[dir], memory_order_seq_cst)) {
		r->unused_cqes = 0;
		return;
	}
	if (++r->unused_cqes < URNET__POLL_UNUSED_MAX)
		return;
	r->unarming = true;
	urnet__engine_cancel(e, urnet__tagged(r, URNET__TAG_READ));
}

void urnet__poll_cqe(urnet_engine *e, struct urnet__ready *r, int dir, int res,
		     unsigned flags)
{
	if (flags & IORING_CQE_F_MORE) {
		unused_poll(e, r, dir);
	} else {
		r->in_ring &= ~(1u << dir);
		r->unused_cqes = 0;
		r->unarming = false;
		e->live_polls--;
		if (!r->in_ring)
			urnet__list_del(&r->polled_link);
		if (res == -EINVAL && dir == URNET__READ && !e->no_multishot_poll)
			e->no_multishot_poll = true;	/* pre-5.13 kernel */
		atomic_store_explicit(&r->armed[dir], 0, memory_order_release);
	}
	/* Before the signal: a reader that sees the bump must see the flag. */
	if (dir == URNET__READ && res > 0 && (res & (POLLRDHUP | POLLHUP | POLLERR | POLLPRI))) {
		atomic_store_explicit(&r->short_read_drains, 0, memory_order_seq_cst);
		atomic_store_explicit(&r->hup_seen, 1, memory_order_seq_cst);
	}
	urnet__stat_add(&e->stats.readiness, 1);
	urnet__ready_signal(r, dir, e);
	if (!r->in_ring && r->retire_pending)
		retired(r);	/* r may be freed from here on */
}

void urnet__poll_cancel(urnet_engine *e, struct urnet__ready *r)
{
	if (r->in_ring & (1u << URNET__READ))
		urnet__engine_cancel(e, urnet__tagged(r, URNET__TAG_READ));
	if (r->in_ring & (1u << URNET__WRITE))
		urnet__engine_cancel(e, urnet__tagged(r, URNET__TAG_WRITE));
}

void urnet__poll_retire(urnet_engine *e, struct urnet__ready *r)
{
	if (!r->in_ring) {
		retired(r);
		return;
	}
	r->retire_pending = true;
	urnet__poll_cancel(e, r);
}
