/* SPDX-License-Identifier: MIT */
/*
 * The engine thread: sole issuer of its ring.  Callers push requests on a
 * lock-free queue and wake the engine only when it sleeps; the engine turns
 * requests into SQEs, submits them in one batch, reaps CQEs in batches and
 * wakes the callers parked on futex words.  No timer tick anywhere: an idle
 * engine sleeps in io_uring_enter until a CQE or its wake eventfd fires.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"

#define URNET__DEFAULT_ENTRIES	256
#define URNET__CQ_FACTOR	8
#define URNET__SPARE_OPS	1024

/* The engine whose thread this is; NULL on every other thread. */
static _Thread_local urnet_engine *engine_self;

static inline uint64_t tagged(const void *p, uint64_t tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

static inline void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---------------------------------------------------------------- queue */

static void engine_wake(urnet_engine *e)
{
	if (!atomic_load_explicit(&e->sleeping, memory_order_seq_cst))
		return;
	if (!atomic_exchange_explicit(&e->sleeping, 0, memory_order_seq_cst))
		return;
	stat_add(&e->stats.engine_wakeups, 1);
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
static int engine_push(urnet_engine *e, struct urnet__qnode *n, bool while_stopping)
{
	int ret = 0;

	atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&e->exited, memory_order_seq_cst) ||
	    (!while_stopping && atomic_load_explicit(&e->stopping, memory_order_seq_cst))) {
		ret = -ESHUTDOWN;
	} else {
		urnet__queue_push(&e->queue, n);
		engine_wake(e);
	}
	atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
	return ret;
}

int urnet__engine_push(urnet_engine *e, struct urnet__qnode *n)
{
	return engine_push(e, n, n->kind == URNET__Q_CANCEL || n->kind == URNET__Q_RETIRE);
}

/* ---------------------------------------------------------------- ring */

static void engine_reap(urnet_engine *e);

/* Make the prepared SQEs visible to the kernel; how many it has not taken. */
static unsigned sq_publish(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - IO_URING_READ_ONCE(*sq->khead);
}

/*
 * Hand the kernel every prepared SQE and nothing else.  liburing's submit
 * also asks for completions whenever the ring flags pending task work
 * (IORING_SQ_TASKRUN, idle_poll.c), which would run that work in the
 * middle of a turn and cut the engine's batches short under load.
 */
static int ring_submit(struct io_uring *ring)
{
	unsigned n;

	if (ring->flags & IORING_SETUP_SQPOLL)
		return io_uring_submit(ring);
	n = sq_publish(ring);
	return n ? io_uring_enter((unsigned)ring->ring_fd, n, 0, 0, NULL) : 0;
}

/*
 * The same, and the kernel runs the task work it holds, without waiting
 * (only when it says it holds some, where the ring can say so).
 */
static int ring_submit_collect(struct io_uring *ring)
{
	unsigned n, flags = IORING_ENTER_GETEVENTS;
	int ret;

	if (ring->flags & IORING_SETUP_SQPOLL) {
		ret = io_uring_submit(ring);
		io_uring_get_events(ring);
		return ret;
	}
	n = sq_publish(ring);
	if ((ring->flags & IORING_SETUP_TASKRUN_FLAG) &&
	    !(IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN))
		flags = 0;
	if (!n && !flags)
		return 0;
	return io_uring_enter((unsigned)ring->ring_fd, n, 0, flags, NULL);
}

static void engine_flush(urnet_engine *e)
{
	int ret;

	while (io_uring_sq_ready(&e->ring)) {
		ret = ring_submit(&e->ring);
		if (ret >= 0) {
			stat_add(&e->stats.submitted, (uint64_t)ret);
			/* An SQPOLL thread may not have taken them yet. */
			if (ret == 0)
				break;
			continue;
		}
		if (ret == -EINTR)
			continue;
		if (ret == -EBUSY || ret == -EAGAIN) {
			/* CQ backlog or no memory for requests: make room first. */
			engine_reap(e);
			io_uring_get_events(&e->ring);
			engine_reap(e);
			continue;
		}
		/* Nothing the engine can recover from: the ring itself broke. */
		abort();
	}
}

void urnet__engine_submit_pending(urnet_engine *e)
{
	engine_flush(e);
}

static struct io_uring_sqe *engine_sqe(urnet_engine *e)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&e->ring)))
		engine_flush(e);
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

static void arm_wake_read(urnet_engine *e)
{
	struct io_uring_sqe *sqe = engine_sqe(e);

	io_uring_prep_read(sqe, e->wake_fd, &e->wake_buf, sizeof(e->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, tagged(NULL, URNET__TAG_WAKE));
	e->wake_armed = true;
}

/*
 * IORING_OP_FUTEX_WAKE (Linux 6.7) is newer than the liburing this builds
 * against; its SQE is filled by hand: fd holds the futex2 flags.
 */
#define URNET__OP_FUTEX_WAKE	52
#define URNET__FUTEX2_SIZE_U32	0x02
#define URNET__FUTEX2_PRIVATE	128

/*
 * Wake every waiter on a futex word from the engine thread.  Through the
 * ring the wakes of a whole batch of completions cost one io_uring_enter,
 * and the engine is preempted by the woken threads once per batch instead
 * of once per wake.  A word freed before the SQE runs is harmless: futex
 * waiters all tolerate spurious wakes, and an unmapped address only fails.
 */
static void engine_futex_wake_all(urnet_engine *e, _Atomic uint32_t *word)
{
	struct io_uring_sqe *sqe;

	if (!e->ring_futex) {
		urnet__futex_wake_all(word);
		return;
	}
	sqe = engine_sqe(e);
	sqe->opcode = URNET__OP_FUTEX_WAKE;
	sqe->fd = URNET__FUTEX2_SIZE_U32 | URNET__FUTEX2_PRIVATE;
	sqe->addr = (uint64_t)(uintptr_t)word;
	sqe->addr2 = INT_MAX;
	sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, URNET__TAG_IGNORE);
}

static void engine_ready_signal(urnet_engine *e, struct urnet__ready *r, int dir)
{
	atomic_fetch_add_explicit(&r->seq[dir], 1, memory_order_seq_cst);
	if (atomic_load_explicit(&r->waiters[dir], memory_order_seq_cst))
		engine_futex_wake_all(e, &r->seq[dir]);
}

static void cancel_user_data(urnet_engine *e, uint64_t user_data)
{
	struct io_uring_sqe *sqe = engine_sqe(e);

	io_uring_prep_cancel64(sqe, user_data, 0);
	io_uring_sqe_set_data64(sqe, URNET__TAG_IGNORE);
}

/* ---------------------------------------------------------------- ops */

static void live_add(urnet_engine *e, struct urnet__op *op)
{
	op->live_prev = NULL;
	op->live_next = e->live_ops;
	if (e->live_ops)
		e->live_ops->live_prev = op;
	e->live_ops = op;
}

static void live_del(urnet_engine *e, struct urnet__op *op)
{
	if (op->live_prev)
		op->live_prev->live_next = op->live_next;
	else
		e->live_ops = op->live_next;
	if (op->live_next)
		op->live_next->live_prev = op->live_prev;
	op->live_prev = op->live_next = NULL;
}

static void blocking_done(struct urnet__op *op)
{
	uint32_t s = atomic_load_explicit(&op->state, memory_order_acquire);

	for (;;) {
		if (s == URNET__OP_CANCELLING && !op->cancel_consumed) {
			/* The caller's cancel is still queued and points at op. */
			op->cqe_seen = true;
			return;
		}
		if (atomic_compare_exchange_weak_explicit(&op->state, &s, URNET__OP_DONE,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	/* From here op may be gone; the futex address is only a number. */
	if (s != URNET__OP_PENDING)
		urnet__futex_wake(&op->state, 1);
}

/*
 * An event loop on the engine submits its next step from every completion:
 * keeping the finished operations spares malloc and free a pair per step.
 */
static void op_recycle(urnet_engine *e, struct urnet__op *op)
{
	/* The syscall backend's submits all come from other threads. */
	if (e->syscall_backend || e->spare_count >= URNET__SPARE_OPS) {
		free(op);
		return;
	}
	op->live_next = e->spare_ops;
	e->spare_ops = op;
	e->spare_count++;
}

static struct urnet__op *op_reuse(urnet_engine *e)
{
	struct urnet__op *op = e->spare_ops;

	if (!op)
		return calloc(1, sizeof(*op));
	e->spare_ops = op->live_next;
	e->spare_count--;
	memset(op, 0, sizeof(*op));
	return op;
}

static void spare_ops_free(urnet_engine *e)
{
	struct urnet__op *op;

	while ((op = e->spare_ops)) {
		e->spare_ops = op->live_next;
		free(op);
	}
	e->spare_count = 0;
}

/* Final result of an operation, from a CQE or from the engine itself. */
static void op_finish(urnet_engine *e, struct urnet__op *op, int res, unsigned flags)
{
	op->res = res;
	op->cqe_flags = flags;
	if (op->done) {
		op->done(res, flags, op->arg);
		op_recycle(e, op);
	} else {
		blocking_done(op);
	}
}

static void op_cqe(urnet_engine *e, struct urnet__op *op, int res, unsigned flags)
{
	if (flags & IORING_CQE_F_MORE) {
		if (op->done) {
			op->done(res, flags, op->arg);
		} else if (!op->multishot_cut) {
			/* A blocking call returns once: keep the first result, stop the rest. */
			op->multishot_cut = true;
			op->res = res;
			op->cqe_flags = flags;
			cancel_user_data(e, tagged(op, URNET__TAG_OP));
		}
		return;
	}
	live_del(e, op);
	if (!op->done && op->multishot_cut)
		op_finish(e, op, op->res, op->cqe_flags & ~IORING_CQE_F_MORE);
	else
		op_finish(e, op, res, flags);
}

static void op_start(urnet_engine *e, struct urnet__op *op)
{
	struct io_uring_sqe *sqe = engine_sqe(e);

	op->prep(sqe, op->arg);
	/* One SQE per operation, and its CQE is how the caller learns the end. */
	sqe->flags &= (uint8_t)~(IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS);
	io_uring_sqe_set_data64(sqe, tagged(op, URNET__TAG_OP));
	live_add(e, op);
}

static void op_cancel_node(urnet_engine *e, struct urnet__op *op)
{
	op->cancel_consumed = true;
	if (op->cqe_seen) {
		atomic_store_explicit(&op->state, URNET__OP_DONE, memory_order_release);
		urnet__futex_wake(&op->state, 1);
		return;
	}
	cancel_user_data(e, tagged(op, URNET__TAG_OP));
}

/* ---------------------------------------------------------------- readiness */

static void polled_add(urnet_engine *e, struct urnet__ready *r)
{
	r->polled_prev = NULL;
	r->polled_next = e->polled;
	if (e->polled)
		e->polled->polled_prev = r;
	e->polled = r;
}

static void polled_del(urnet_engine *e, struct urnet__ready *r)
{
	if (r->polled_prev)
		r->polled_prev->polled_next = r->polled_next;
	else
		e->polled = r->polled_next;
	if (r->polled_next)
		r->polled_next->polled_prev = r->polled_prev;
	r->polled_prev = r->polled_next = NULL;
}

static void ready_arm(urnet_engine *e, struct urnet__ready *r, int dir)
{
	uint32_t bit = 1u << dir;
	struct io_uring_sqe *sqe;

	if (r->in_ring & bit)
		return;
	if (atomic_load_explicit(&e->stopping, memory_order_relaxed) ||
	    atomic_load_explicit(&r->closing, memory_order_acquire)) {
		atomic_store_explicit(&r->armed[dir], 0, memory_order_release);
		engine_ready_signal(e, r, dir);
		return;
	}
	sqe = engine_sqe(e);
	if (dir == URNET__READ && !e->no_multishot_poll)
		io_uring_prep_poll_multishot(sqe, r->fd, URNET__POLL_READ);
	else
		io_uring_prep_poll_add(sqe, r->fd, dir == URNET__READ ? URNET__POLL_READ : POLLOUT);
	io_uring_sqe_set_data64(sqe, tagged(r, dir == URNET__READ ? URNET__TAG_READ : URNET__TAG_WRITE));
	if (!r->in_ring)
		polled_add(e, r);
	r->in_ring |= bit;
	e->live_polls++;
}

static void ready_retired(struct urnet__ready *r)
{
	atomic_store_explicit(&r->retired, 1, memory_order_release);
	urnet__futex_wake(&r->retired, 1);
}

static void ready_cqe(urnet_engine *e, struct urnet__ready *r, int dir, int res,
		      unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE)) {
		r->in_ring &= ~(1u << dir);
		e->live_polls--;
		if (!r->in_ring)
			polled_del(e, r);
		if (res == -EINVAL && dir == URNET__READ && !e->no_multishot_poll)
			e->no_multishot_poll = true;	/* pre-5.13 kernel */
		atomic_store_explicit(&r->armed[dir], 0, memory_order_release);
	}
	/* Before the signal: a reader that sees the bump must see the flag. */
	if (dir == URNET__READ && res > 0 && (res & (POLLRDHUP | POLLHUP | POLLERR | POLLPRI)))
		atomic_store_explicit(&r->short_read_drains, 0, memory_order_seq_cst);
	stat_add(&e->stats.readiness, 1);
	engine_ready_signal(e, r, dir);
	if (!r->in_ring && r->retire_pending)
		ready_retired(r);	/* r may be freed from here on */
}

static void ready_retire(urnet_engine *e, struct urnet__ready *r)
{
	if (!r->in_ring) {
		ready_retired(r);
		return;
	}
	r->retire_pending = true;
	if (r->in_ring & (1u << URNET__READ))
		cancel_user_data(e, tagged(r, URNET__TAG_READ));
	if (r->in_ring & (1u << URNET__WRITE))
		cancel_user_data(e, tagged(r, URNET__TAG_WRITE));
}

/* ---------------------------------------------------------------- loop */

static void engine_dispatch(urnet_engine *e, struct urnet__qnode *n)
{
	bool stopping = atomic_load_explicit(&e->stopping, memory_order_acquire);
	struct urnet__op *op;
	struct urnet__ready *r;

	switch (n->kind) {
	case URNET__Q_USER:
		op = urnet__container_of(n, struct urnet__op, node);
		if (stopping)
			op_finish(e, op, -ECANCELED, 0);
		else
			op_start(e, op);
		break;
	case URNET__Q_CANCEL:
		op_cancel_node(e, urnet__container_of(n, struct urnet__op, cancel_node));
		break;
	case URNET__Q_ARM_READ:
		r = urnet__container_of(n, struct urnet__ready, arm_node[URNET__READ]);
		ready_arm(e, r, URNET__READ);
		break;
	case URNET__Q_ARM_WRITE:
		r = urnet__container_of(n, struct urnet__ready, arm_node[URNET__WRITE]);
		ready_arm(e, r, URNET__WRITE);
		break;
	case URNET__Q_RETIRE:
		ready_retire(e, urnet__container_of(n, struct urnet__ready, retire_node));
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

#define URNET__REAP_BATCH 64

/*
 * CQEs are copied out and the ring advanced before any is dispatched:
 * dispatching may need an SQE, a full SQ means submitting, and submitting
 * may reap again; each CQE must still be seen exactly once.
 */
static void engine_reap(urnet_engine *e)
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
		stat_add(&e->stats.completed, n);
		stat_add(&e->stats.batches, 1);
		for (i = 0; i < n; i++) {
			void *p = (void *)(uintptr_t)(got[i].ud & ~URNET__TAG_MASK);

			switch (got[i].ud & URNET__TAG_MASK) {
			case URNET__TAG_OP:
				urnet__idle_poll_note(e, got[i].ud);
				op_cqe(e, p, got[i].res, got[i].flags);
				break;
			case URNET__TAG_READ:
				urnet__idle_poll_note(e, got[i].ud);
				ready_cqe(e, p, URNET__READ, got[i].res, got[i].flags);
				break;
			case URNET__TAG_WRITE:
				urnet__idle_poll_note(e, got[i].ud);
				ready_cqe(e, p, URNET__WRITE, got[i].res, got[i].flags);
				break;
			case URNET__TAG_WAKE:
				e->wake_armed = false;
				if (!e->wake_retired)
					arm_wake_read(e);
				break;
			default:
				break;
			}
		}
	} while (budget);
}

/* Stopping: cancel everything in the ring; their CQEs finish the callers. */
static void engine_cancel_all(urnet_engine *e)
{
	struct urnet__op *op;
	struct urnet__ready *r;

	for (op = e->live_ops; op; op = op->live_next)
		cancel_user_data(e, tagged(op, URNET__TAG_OP));
	for (r = e->polled; r; r = r->polled_next) {
		if (r->in_ring & (1u << URNET__READ))
			cancel_user_data(e, tagged(r, URNET__TAG_READ));
		if (r->in_ring & (1u << URNET__WRITE))
			cancel_user_data(e, tagged(r, URNET__TAG_WRITE));
	}
	e->cancel_sent = true;
}

static bool engine_idle(urnet_engine *e)
{
	return !e->live_ops && !e->live_polls &&
	       !atomic_load_explicit(&e->pushers, memory_order_seq_cst) &&
	       urnet__queue_empty(&e->queue);
}

/* True when the engine may exit: nothing in flight and no pusher can add. */
static bool engine_try_exit(urnet_engine *e)
{
	if (!engine_idle(e))
		return false;
	atomic_store_explicit(&e->exited, 1, memory_order_seq_cst);
	if (engine_idle(e))
		return true;
	atomic_store_explicit(&e->exited, 0, memory_order_seq_cst);
	return false;
}

static void engine_sleep(urnet_engine *e)
{
	int ret;

	if (atomic_load_explicit(&e->stopping, memory_order_acquire) &&
	    !e->live_ops && !e->live_polls) {
		/* Only a pusher's last instructions stand between us and exit. */
		engine_flush(e);
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
		ret = ring_submit_collect(&e->ring);
		if (ret > 0)
			stat_add(&e->stats.submitted, (uint64_t)ret);
		engine_flush(e);	/* whatever that did not take */
		return;
	}
	ret = io_uring_submit_and_wait(&e->ring, 1);
	if (ret > 0)
		stat_add(&e->stats.submitted, (uint64_t)ret);
	atomic_store_explicit(&e->sleeping, 0, memory_order_relaxed);
	urnet__idle_poll_slept(e);
}

static void engine_loop(urnet_engine *e)
{
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
			if (engine_try_exit(e)) {
				/* Wake-ups queued by the last completions go in now. */
				engine_flush(e);
				break;
			}
		}
		engine_reap(e);
		engine_sleep(e);
	}

	/* The wake read points into e: take it out of the ring before leaving. */
	if (e->wake_armed) {
		e->wake_retired = true;
		cancel_user_data(e, tagged(NULL, URNET__TAG_WAKE));
		engine_flush(e);
		while (e->wake_armed) {
			io_uring_submit_and_wait(&e->ring, 1);
			engine_reap(e);
		}
	}
}

/* ---------------------------------------------------------------- syscall backend */

static void syscall_loop(urnet_engine *e)
{
	for (;;) {
		struct urnet__qnode *n = urnet__queue_take_all(&e->queue);

		while (n) {
			struct urnet__qnode *next = n->next;
			struct urnet__op *op = urnet__container_of(n, struct urnet__op, node);

			/* Only async operations come here; blocking calls run inline. */
			if (n->kind == URNET__Q_USER) {
				struct io_uring_sqe sqe;
				int res = -ECANCELED;

				if (!atomic_load_explicit(&e->stopping, memory_order_acquire)) {
					memset(&sqe, 0, sizeof(sqe));
					op->prep(&sqe, op->arg);
					res = urnet__syscall_run(e, &sqe, 0, 0);
				}
				op_finish(e, op, res, 0);
			}
			n = next;
		}
		if (atomic_load_explicit(&e->stopping, memory_order_acquire) && engine_try_exit(e))
			break;
		if (atomic_load_explicit(&e->stopping, memory_order_acquire)) {
			sched_yield();
			continue;
		}
		atomic_store_explicit(&e->sleeping, 1, memory_order_seq_cst);
		/*
		 * A stop between the check above and the store has spent its
		 * wake already (a futex wake is not kept, unlike the ring's
		 * eventfd): look at the flag again.
		 */
		if (!urnet__queue_empty(&e->queue) ||
		    atomic_load_explicit(&e->stopping, memory_order_seq_cst)) {
			atomic_store_explicit(&e->sleeping, 0, memory_order_relaxed);
			continue;
		}
		urnet__futex_wait(&e->sleeping, 1, 0);
	}
}

/* ---------------------------------------------------------------- start/stop */

static bool setup_error_means_no_uring(int err)
{
	/* seccomp, io_uring_disabled, old kernels, locked-memory limits */
	return err == -EPERM || err == -ENOSYS || err == -EACCES || err == -ENOMEM ||
	       err == -EOPNOTSUPP;
}

void urnet__ring_exit(struct io_uring *ring)
{
	urnet__own_fd_forget(ring->ring_fd);
	io_uring_queue_exit(ring);
}

struct ring_open {
	urnet_engine *e;
	struct io_uring_params p;
};

/* urnet__own_fd()'s open_fn: the ring with the best flags the kernel takes. */
static int ring_open(void *arg)
{
	/* TASKRUN_FLAG: pending task work shows in the SQ flags (idle_poll.c). */
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	struct ring_open *o = arg;
	urnet_engine *e = o->e;
	unsigned entries = e->cfg.ring_entries ? e->cfg.ring_entries : URNET__DEFAULT_ENTRIES;
	int ret = -EINVAL;
	size_t i;

	for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		memset(&o->p, 0, sizeof(o->p));
		o->p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
		o->p.cq_entries = entries * URNET__CQ_FACTOR;
		if (e->cfg.sqpoll) {
			/* The kernel thread issues: no DEFER_TASKRUN with it. */
			if (flag_sets[i] & IORING_SETUP_DEFER_TASKRUN)
				continue;
			o->p.flags |= IORING_SETUP_SQPOLL;
			o->p.sq_thread_idle = e->cfg.sqpoll_idle_ms ? e->cfg.sqpoll_idle_ms : 1000;
		}
		o->p.flags |= flag_sets[i];
		ret = io_uring_queue_init_params(entries, &e->ring, &o->p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return e->ring.ring_fd;
}

static int ring_setup(urnet_engine *e)
{
	struct ring_open o = { .e = e };
	struct io_uring_probe *probe;
	int fd = urnet__own_fd(ring_open, &o);

	if (fd < 0)
		return -errno;
	/* liburing enters and registers through these; its mappings stay. */
	e->ring.ring_fd = e->ring.enter_ring_fd = fd;
	e->ring_flags = o.p.flags;
	probe = io_uring_get_probe_ring(&e->ring);
	if (probe) {
		e->ring_futex = probe->last_op >= URNET__OP_FUTEX_WAKE &&
				(probe->ops[URNET__OP_FUTEX_WAKE].flags & IO_URING_OP_SUPPORTED) &&
				(o.p.features & IORING_FEAT_CQE_SKIP) &&
				!urnet__env_ulong("URNET_NO_RING_FUTEX", 0, 1, 0);
		io_uring_free_probe(probe);
	}
	return 0;
}

/* struct sched_attr from the kernel's uapi; glibc has no wrapper. */
struct urnet__sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/*
 * The engine hands work to every parked thread, so it must not queue behind
 * them: among a thousand runnable connection threads a fair scheduler gives
 * it a thousandth of a core.  EEVDF (Linux 6.12+) takes sched_runtime as the
 * requested slice of a normal task; a short slice means an early virtual
 * deadline, so the engine runs soon after it wakes, without any privilege
 * and without taking more than its fair share.  Older kernels refuse the
 * value or ignore it; nothing else depends on it.
 */
static void engine_request_short_slice(void)
{
	struct urnet__sched_attr attr;
	unsigned long us = urnet__env_ulong("URNET_ENGINE_SLICE_US", 0, 100000, 100);

	if (!us)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = SCHED_OTHER;
	attr.sched_runtime = (uint64_t)us * 1000;
	syscall(SYS_sched_setattr, 0, &attr, 0);
}

static int wake_fd_open(void *arg)
{
	(void)arg;
	return eventfd(0, EFD_CLOEXEC);
}

static void *engine_main(void *arg)
{
	urnet_engine *e = arg;
	int ret = 0;

	pthread_setname_np(pthread_self(), "urnet-engine");
	engine_self = e;
	engine_request_short_slice();
	if (!e->syscall_backend) {
		/* Created here so that this thread is the ring's single issuer. */
		ret = ring_setup(e);
		if (ret == 0) {
			urnet__idle_poll_init(e);
			e->wake_fd = urnet__own_fd(wake_fd_open, NULL);
			if (e->wake_fd < 0) {
				ret = -errno;
				urnet__ring_exit(&e->ring);
			}
		}
		if (ret < 0 && e->cfg.backend == URNET_BACKEND_AUTO &&
		    setup_error_means_no_uring(ret)) {
			e->syscall_backend = true;
			ret = 0;
		}
	}
	e->start_result = ret;
	atomic_store_explicit(&e->started, 1, memory_order_release);
	urnet__futex_wake(&e->started, 1);
	if (ret < 0)
		return NULL;

	if (e->syscall_backend) {
		syscall_loop(e);
	} else {
		arm_wake_read(e);
		engine_loop(e);
		urnet__ring_exit(&e->ring);
	}
	spare_ops_free(e);
	return NULL;
}

urnet_engine *urnet_engine_new(const struct urnet_engine_config *cfg)
{
	struct urnet_engine_config defaults;
	sigset_t all, old;
	urnet_engine *e;
	int ret;

	if (!cfg) {
		urnet_engine_config_init(&defaults);
		cfg = &defaults;
	}
	if (cfg->backend < URNET_BACKEND_AUTO || cfg->backend > URNET_BACKEND_SYSCALL ||
	    cfg->ring_entries > 32768) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->wake_fd = -1;
	e->syscall_backend = cfg->backend == URNET_BACKEND_SYSCALL;
	atomic_init(&e->refs, 1);
	pthread_mutex_init(&e->bound_lock, NULL);

	/* Signal handlers belong to the program's threads, never the engine. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		free(e);
		errno = ret;
		return NULL;
	}
	while (!atomic_load_explicit(&e->started, memory_order_acquire))
		urnet__futex_wait(&e->started, 0, 0);
	if (e->start_result < 0) {
		ret = -e->start_result;
		pthread_join(e->thread, NULL);
		free(e);
		errno = ret;
		return NULL;
	}
	urnet__registry_add(e);
	return e;
}

int urnet__engine_stop(urnet_engine *e)
{
	if (engine_self == e)
		return -EINVAL;
	/* As a pusher, so that the engine cannot exit under the wake. */
	atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
	atomic_store_explicit(&e->stopping, 1, memory_order_seq_cst);
	/* Force a wake even if the engine is between checks. */
	atomic_store_explicit(&e->sleeping, 1, memory_order_seq_cst);
	engine_wake(e);
	atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
	pthread_join(e->thread, NULL);
	urnet__own_fd_close(e->wake_fd);
	e->wake_fd = -1;
	urnet__ready_wake_bound(e);
	urnet__registry_remove(e);
	return 0;
}

int urnet_engine_close(urnet_engine *e)
{
	int ret;

	if (!e || e->is_default)
		return -EINVAL;
	ret = urnet__engine_stop(e);
	if (ret)
		return ret;
	urnet__engine_put(e);
	return 0;
}

void urnet__engine_get(urnet_engine *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void urnet__engine_put(urnet_engine *e)
{
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		free(e);
}

bool urnet__engine_on_thread(const urnet_engine *e)
{
	return engine_self == e;
}

struct io_uring *urnet__engine_ring(urnet_engine *e)
{
	return e->syscall_backend ? NULL : &e->ring;
}

const char *urnet_engine_backend(const urnet_engine *e)
{
	if (!e)
		return "none";
	return e->syscall_backend ? "syscall" : "io_uring";
}

bool urnet__engine_is_syscall(const urnet_engine *e)
{
	return e->syscall_backend;
}

void urnet__engine_count_syscall_op(urnet_engine *e)
{
	stat_add(&e->stats.syscall_ops, 1);
}

void urnet__totals_add_parked(struct urnet__totals *t, uint64_t n)
{
	int cpu = sched_getcpu();

	stat_add(&t->parked[(unsigned)(cpu < 0 ? 0 : cpu) % URNET__PARKED_SLOTS].n, n);
}

void urnet__engine_count_parked(urnet_engine *e)
{
	urnet__totals_add_parked(&e->stats, 1);
}

void urnet_engine_get_stats(const urnet_engine *e, struct urnet_engine_stats *out)
{
	urnet__totals_read(&e->stats, out);
}

/* ---------------------------------------------------------------- generic API */

int urnet_engine_submit(urnet_engine *e, urnet_prep_fn prep, urnet_complete_fn done,
			void *arg)
{
	struct urnet__op *op;
	bool direct;
	int ret;

	if (!e || !prep || !done)
		return -EINVAL;
	/*
	 * From a completion callback: straight into the SQ, submitted with the
	 * rest of the turn, without the queue's atomics.  Not into a full SQ:
	 * submitting there, in the middle of a reap, would complete sends at
	 * once and keep the reap going.
	 */
	direct = engine_self == e && !e->syscall_backend && io_uring_sq_space_left(&e->ring);
	if (direct && atomic_load_explicit(&e->stopping, memory_order_acquire))
		return -ESHUTDOWN;
	op = direct ? op_reuse(e) : calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->node.kind = URNET__Q_USER;
	op->prep = prep;
	op->done = done;
	op->arg = arg;
	if (direct) {
		op_start(e, op);
		return 0;
	}
	ret = urnet__engine_push(e, &op->node);
	if (ret)
		free(op);
	return ret;
}

int urnet__engine_call(urnet_engine *e, urnet_prep_fn prep, void *arg,
		       int64_t deadline_ns, unsigned flags)
{
	struct urnet__op op;
	bool timed_out = false, interrupted = false;
	int ret;

	if (!e || !prep || deadline_ns < 0)
		return -EINVAL;
	if (engine_self == e)
		return -EDEADLK;
	if (deadline_ns > 0 && urnet_now_ns() >= deadline_ns)
		return -ETIMEDOUT;
	if (atomic_load_explicit(&e->stopping, memory_order_acquire))
		return -ESHUTDOWN;
	if (e->syscall_backend) {
		struct io_uring_sqe sqe;

		memset(&sqe, 0, sizeof(sqe));
		prep(&sqe, arg);
		return urnet__syscall_run(e, &sqe, deadline_ns, flags);
	}

	memset(&op, 0, sizeof(op));
	op.node.kind = URNET__Q_USER;
	op.cancel_node.kind = URNET__Q_CANCEL;
	op.prep = prep;
	op.arg = arg;
	atomic_init(&op.state, URNET__OP_PENDING);
	ret = urnet__engine_push(e, &op.node);
	if (ret)
		return ret;

	for (;;) {
		uint32_t s = atomic_load_explicit(&op.state, memory_order_acquire);

		if (s == URNET__OP_DONE)
			break;
		if (s == URNET__OP_PENDING) {
			/* Counted before the CAS: once DONE, e may already be gone. */
			urnet__engine_count_parked(e);
			if (!atomic_compare_exchange_strong_explicit(&op.state, &s, URNET__OP_SLEEPING,
								     memory_order_acq_rel,
								     memory_order_acquire))
				continue;
			s = URNET__OP_SLEEPING;
		}
		ret = urnet__futex_wait(&op.state, s, s == URNET__OP_SLEEPING ? deadline_ns : 0);
		if (s != URNET__OP_SLEEPING)
			continue;
		if (ret == -ETIMEDOUT || (ret == -EINTR && (flags & URNET__WAIT_EINTR))) {
			/* Counted as a pusher before the state says a cancel is coming. */
			atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
			if (atomic_compare_exchange_strong_explicit(&op.state, &s, URNET__OP_CANCELLING,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				timed_out = ret == -ETIMEDOUT;
				interrupted = !timed_out;
				if (engine_push(e, &op.cancel_node, true) < 0) {
					/* Exited: it saw the CQE and will not touch op again. */
					atomic_store_explicit(&op.state, URNET__OP_DONE, memory_order_release);
				}
			}
			atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
		}
	}
	if (timed_out && op.res == -ECANCELED)
		return -ETIMEDOUT;
	if (interrupted && op.res == -ECANCELED)
		return -EINTR;
	return op.res;
}

int urnet_engine_call(urnet_engine *e, urnet_prep_fn prep, void *arg, int64_t deadline_ns)
{
	return urnet__engine_call(e, prep, arg, deadline_ns, 0);
}
