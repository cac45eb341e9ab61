/* SPDX-License-Identifier: MIT */
/*
 * The io_uring engine's loop.  Callers push requests on a lock-free queue
 * and wake the engine only when it sleeps; the engine turns requests into
 * SQEs, submits them in one batch, reaps CQEs in batches and dispatches
 * them to operations (ops.c) and readiness polls (polls.c).  No timer tick
 * anywhere: an idle engine sleeps in io_uring_enter until a CQE or its
 * wake eventfd fires.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"

/* ---------------------------------------------------------------- queue */

void urnet__engine_wake(urnet_engine *e)
{
	if (!atomic_load_explicit(&e->sleeping, memory_order_seq_cst))
		return;
	if (!atomic_exchange_explicit(&e->sleeping, 0, memory_order_seq_cst))
		return;
	urnet__stat_add(&e->stats.engine_wakeups, 1);
	if (e->syscall_backend) {
		urnet__futex_wake(&e->sleeping, 1);
	} else {
		uint64_t one = 1;
		ssize_t ret;

		do {
			/* Raw: inside the preload module write() is the interposer's. */
			ret = (ssize_t)syscall(SYS_write, e->wake_fd, &one, sizeof(one));
		} while (ret < 0 && errno == EINTR);
	}
}

/*
 * Nodes that complete something already in the engine (cancels, retires)
 * must get through while it stops; only an engine that has exited refuses
 * them, and it exits only with nothing left in flight.
 */
int urnet__engine_push(urnet_engine *e, struct urnet__qnode *n)
{
	bool while_stopping = n->kind == URNET__Q_CANCEL || n->kind == URNET__Q_RETIRE;
	int ret = 0;

	atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&e->exited, memory_order_seq_cst) ||
	    (!while_stopping && atomic_load_explicit(&e->stopping, memory_order_seq_cst))) {
		ret = -ESHUTDOWN;
	} else {
		urnet__queue_push(&e->queue, n);
		urnet__engine_wake(e);
	}
	atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
	return ret;
}

static void engine_dispatch(urnet_engine *e, struct urnet__qnode *n)
{
	bool stopping = atomic_load_explicit(&e->stopping, memory_order_acquire);
	struct urnet__op *op;
	struct urnet__ready *r;

	switch (n->kind) {
	case URNET__Q_USER:
		op = urnet__container_of(n, struct urnet__op, node);
		if (stopping)
			urnet__op_finish(e, op, -ECANCELED, 0);
		else
			urnet__op_start(e, op);
		break;
	case URNET__Q_CANCEL:
		urnet__op_cancel_node(e, urnet__container_of(n, struct urnet__op, cancel_node));
		break;
	case URNET__Q_ARM_READ:
		r = urnet__container_of(n, struct urnet__ready, arm_node[URNET__READ]);
		urnet__poll_arm(e, r, URNET__READ);
		break;
	case URNET__Q_ARM_WRITE:
		r = urnet__container_of(n, struct urnet__ready, arm_node[URNET__WRITE]);
		urnet__poll_arm(e, r, URNET__WRITE);
		break;
	case URNET__Q_RETIRE:
		urnet__poll_retire(e, urnet__container_of(n, struct urnet__ready, retire_node));
		break;
	}
}

static void engine_drain_queue(urnet_engine *e)
{
	struct urnet__qnode *n = urnet__queue_take_all(&e->queue);

	while (n) {
		/* Dispatch may complete and free the node's owner. */
		struct urnet__qnode *next = n->next;

		engine_dispatch(e, n);
		n = next;
	}
}

/* ---------------------------------------------------------------- reap */

#define URNET__REAP_BATCH 64

/*
 * CQEs are copied out and the ring advanced before any is dispatched:
 * dispatching may need an SQE, a full SQ means submitting, and submitting
 * may reap again; each CQE must still be seen exactly once.
 */
void urnet__engine_reap(urnet_engine *e)
{
	struct { uint64_t ud; int res; unsigned flags; } got[URNET__REAP_BATCH];
	/*
	 * Only what is there now: the callbacks' operations that complete at
	 * once (a send, mostly) wait for the next turn, behind the task work
	 * the kernel runs when the engine asks for completions.
	 */
	unsigned budget = io_uring_cq_ready(&e->ring);
	struct io_uring_cqe *cqe;
	unsigned head, n, i;

	if (!budget)
		return;
	do {
		/*
		 * Not io_uring_peek_batch_cqe(): it enters the kernel for pending
		 * task work whenever the queue is empty, a second system call per
		 * turn; the engine's sleep runs that work anyway.
		 */
		n = 0;
		io_uring_for_each_cqe(&e->ring, head, cqe) {
			got[n].ud = io_uring_cqe_get_data64(cqe);
			got[n].res = cqe->res;
			got[n].flags = cqe->flags;
			if (++n == URNET__REAP_BATCH || n == budget)
				break;
		}
		if (!n)
			return;
		budget -= n;
		io_uring_cq_advance(&e->ring, n);
		/* Counted first: a woken caller may read the stats at once. */
		urnet__stat_add(&e->stats.completed, n);
		urnet__stat_add(&e->stats.batches, 1);
		for (i = 0; i < n; i++) {
			void *p = (void *)(uintptr_t)(got[i].ud & ~URNET__TAG_MASK);

			switch (got[i].ud & URNET__TAG_MASK) {
			case URNET__TAG_OP:
				urnet__idle_poll_note(e, got[i].ud);
				urnet__op_cqe(e, p, got[i].res, got[i].flags);
				break;
			case URNET__TAG_READ:
				urnet__idle_poll_note(e, got[i].ud);
				urnet__poll_cqe(e, p, URNET__READ, got[i].res, got[i].flags);
				break;
			case URNET__TAG_WRITE:
				urnet__idle_poll_note(e, got[i].ud);
				urnet__poll_cqe(e, p, URNET__WRITE, got[i].res, got[i].flags);
				break;
			case URNET__TAG_WAKE:
				e->wake_armed = false;
				if (!e->wake_retired)
					urnet__engine_arm_wake(e);
				break;
			default:
				break;
			}
		}
	} while (budget);
}

/* ---------------------------------------------------------------- stop */

/*
 * Stopping: cancel everything in the ring; their CQEs finish the callers.
 * A cancel needs an SQE, a full SQ is submitted, and a CQ backlog makes
 * that reap, which takes finished ops and polls out of their lists and may
 * free them.  So each is moved to a list of the visited before its cancel
 * (a reap takes it out of that one just as well), and what is left goes
 * back afterwards.  Nothing is added meanwhile: a stopping engine starts
 * nothing new.
 */
static void engine_cancel_all(urnet_engine *e)
{
	struct urnet__list seen;

	urnet__list_init(&seen);
	while (!urnet__list_empty(&e->live_ops)) {
		struct urnet__op *op = urnet__list_entry(e->live_ops.next, struct urnet__op, live);

		urnet__list_move_tail(&seen, &op->live);
		urnet__engine_cancel(e, urnet__tagged(op, URNET__TAG_OP));
	}
	urnet__list_splice_tail(&e->live_ops, &seen);
	while (!urnet__list_empty(&e->polled)) {
		struct urnet__ready *r = urnet__list_entry(e->polled.next, struct urnet__ready,
							   polled_link);

		urnet__list_move_tail(&seen, &r->polled_link);
		urnet__poll_cancel(e, r);
	}
	urnet__list_splice_tail(&e->polled, &seen);
	e->cancel_sent = true;
}

static bool engine_idle(urnet_engine *e)
{
	return urnet__list_empty(&e->live_ops) && !e->live_polls &&
	       !atomic_load_explicit(&e->pushers, memory_order_seq_cst) &&
	       urnet__queue_empty(&e->queue);
}

bool urnet__engine_try_exit(urnet_engine *e)
{
	if (!engine_idle(e))
		return false;
	atomic_store_explicit(&e->exited, 1, memory_order_seq_cst);
	if (engine_idle(e))
		return true;
	atomic_store_explicit(&e->exited, 0, memory_order_seq_cst);
	return false;
}

/* ---------------------------------------------------------------- loop */

static void engine_sleep(urnet_engine *e)
{
	int ret;

	if (atomic_load_explicit(&e->stopping, memory_order_acquire) &&
	    urnet__list_empty(&e->live_ops) && !e->live_polls) {
		/* Only a pusher's last instructions stand between us and exit. */
		urnet__engine_flush(e);
		sched_yield();
		return;
	}
	/* Callers need not wake an engine that is still polling (idle_poll.c). */
	if (urnet__idle_poll(e))
		return;
	atomic_store_explicit(&e->sleeping, 1, memory_order_seq_cst);
	if (!urnet__queue_empty(&e->queue)) {
		atomic_store_explicit(&e->sleeping, 0, memory_order_relaxed);
		/*
		 * More requests: hand the kernel what we have, then take them.
		 * The kernel runs deferred task work only when asked for
		 * completions, so ask, without waiting: otherwise operations that
		 * complete at once (a send, a recv with data there) keep the turns
		 * going while those a poll wake-up completes (a recv whose data
		 * came later) wait for a quiet moment, seconds under load.
		 */
		ret = urnet__ring_submit_collect(&e->ring);
		if (ret > 0)
			urnet__stat_add(&e->stats.submitted, (uint64_t)ret);
		urnet__engine_flush(e);	/* whatever that did not take */
		return;
	}
	ret = io_uring_submit_and_wait(&e->ring, 1);
	if (ret > 0)
		urnet__stat_add(&e->stats.submitted, (uint64_t)ret);
	atomic_store_explicit(&e->sleeping, 0, memory_order_relaxed);
	urnet__idle_poll_slept(e);
}

void urnet__engine_loop(urnet_engine *e)
{
	urnet__engine_arm_wake(e);
	/*
	 * One io_uring_enter per turn: it submits what the queue and the last
	 * batch of completions prepared (wake-ups included) and waits for the
	 * next completion, returning at once if one is already there.
	 */
	for (;;) {
		engine_drain_queue(e);
		if (atomic_load_explicit(&e->stopping, memory_order_acquire)) {
			if (!e->cancel_sent)
				engine_cancel_all(e);
			if (urnet__engine_try_exit(e)) {
				/* Wake-ups queued by the last completions go in now. */
				urnet__engine_flush(e);
				break;
			}
		}
		urnet__engine_reap(e);
		engine_sleep(e);
	}

	/* The wake read points into e: take it out of the ring before leaving. */
	if (e->wake_armed) {
		e->wake_retired = true;
		urnet__engine_cancel(e, urnet__tagged(NULL, URNET__TAG_WAKE));
		urnet__engine_flush(e);
		while (e->wake_armed) {
			io_uring_submit_and_wait(&e->ring, 1);
			urnet__engine_reap(e);
		}
	}
}
