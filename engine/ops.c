/* SPDX-License-Identifier: MIT */
/*
 * Generic operations (go-uring's Reactor): any io_uring operation a user
 * prepares, submitted with a completion callback run on the engine thread
 * (urnet_engine_submit) or as a blocking call with a deadline
 * (urnet_engine_call), and their life on the engine thread: started into
 * the ring, completed from CQEs, cancelled, recycled.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "futex.h"

#define URNET__SPARE_OPS	1024

/* ---------------------------------------------------------------- engine thread */

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
	urnet__list_add(&e->spare_ops, &op->live);
	e->spare_count++;
}

static struct urnet__op *op_reuse(urnet_engine *e)
{
	struct urnet__op *op;

	if (urnet__list_empty(&e->spare_ops))
		return calloc(1, sizeof(*op));
	op = urnet__list_entry(e->spare_ops.next, struct urnet__op, live);
	urnet__list_del(&op->live);
	e->spare_count--;
	memset(op, 0, sizeof(*op));
	return op;
}

void urnet__spare_ops_free(urnet_engine *e)
{
	while (!urnet__list_empty(&e->spare_ops)) {
		struct urnet__op *op = urnet__list_entry(e->spare_ops.next, struct urnet__op, live);

		urnet__list_del(&op->live);
		free(op);
	}
	e->spare_count = 0;
}

void urnet__op_finish(urnet_engine *e, struct urnet__op *op, int res, unsigned flags)
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

void urnet__op_cqe(urnet_engine *e, struct urnet__op *op, int res, unsigned flags)
{
	if (flags & IORING_CQE_F_MORE) {
		if (op->done) {
			op->done(res, flags, op->arg);
		} else if (!op->multishot_cut) {
			/* A blocking call returns once: keep the first result, stop the rest. */
			op->multishot_cut = true;
			op->res = res;
			op->cqe_flags = flags;
			urnet__engine_cancel(e, urnet__tagged(op, URNET__TAG_OP));
		}
		return;
	}
	urnet__list_del(&op->live);
	if (!op->done && op->multishot_cut)
		urnet__op_finish(e, op, op->res, op->cqe_flags & ~IORING_CQE_F_MORE);
	else
		urnet__op_finish(e, op, res, flags);
}

void urnet__op_start(urnet_engine *e, struct urnet__op *op)
{
	struct io_uring_sqe *sqe = urnet__engine_sqe(e);

	op->prep(sqe, op->arg);
	/* One SQE per operation, and its CQE is how the caller learns the end. */
	sqe->flags &= (uint8_t)~(IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS);
	io_uring_sqe_set_data64(sqe, urnet__tagged(op, URNET__TAG_OP));
	urnet__list_add(&e->live_ops, &op->live);
}

void urnet__op_cancel_node(urnet_engine *e, struct urnet__op *op)
{
	op->cancel_consumed = true;
	if (op->cqe_seen) {
		atomic_store_explicit(&op->state, URNET__OP_DONE, memory_order_release);
		urnet__futex_wake(&op->state, 1);
		return;
	}
	urnet__engine_cancel(e, urnet__tagged(op, URNET__TAG_OP));
}

/* ---------------------------------------------------------------- the API */

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
	direct = urnet__engine_on_thread(e) && !e->syscall_backend &&
		 io_uring_sq_space_left(&e->ring);
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
		urnet__op_start(e, op);
		return 0;
	}
	ret = urnet__engine_push(e, &op->node);
	if (ret)
		free(op);
	return ret;
}

int urnet_engine_call(urnet_engine *e, urnet_prep_fn prep, void *arg, int64_t deadline_ns)
{
	struct urnet__op op;
	bool timed_out = false, parked = false;
	int ret;

	if (!e || !prep || deadline_ns < 0)
		return -EINVAL;
	if (urnet__engine_on_thread(e))
		return -EDEADLK;
	if (deadline_ns > 0 && urnet_now_ns() >= deadline_ns)
		return -ETIMEDOUT;
	if (atomic_load_explicit(&e->stopping, memory_order_acquire))
		return -ESHUTDOWN;
	if (e->syscall_backend) {
		struct io_uring_sqe sqe;

		memset(&sqe, 0, sizeof(sqe));
		prep(&sqe, arg);
		/* The caller runs the operation and may block in it: listed as parked. */
		urnet__waits_park(sqe.fd, URNET__WK_ENGINE_OP, deadline_ns);
		ret = urnet__syscall_run(e, &sqe, deadline_ns);
		urnet__waits_unpark();
		return ret;
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
			/* The SQE is the engine's to fill: the fd is not known here. */
			if (!parked)
				urnet__waits_park(-1, URNET__WK_ENGINE_OP, deadline_ns);
			parked = true;
		}
		ret = urnet__futex_wait(&op.state, s, s == URNET__OP_SLEEPING ? deadline_ns : 0);
		if (s != URNET__OP_SLEEPING || ret != -ETIMEDOUT)
			continue;
		/* Counted as a pusher before the state says a cancel is coming. */
		atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
		if (atomic_compare_exchange_strong_explicit(&op.state, &s, URNET__OP_CANCELLING,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			timed_out = true;
			if (urnet__engine_push(e, &op.cancel_node) < 0) {
				/* Exited: it saw the CQE and will not touch op again. */
				atomic_store_explicit(&op.state, URNET__OP_DONE, memory_order_release);
			}
		}
		atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
	}
	if (parked)
		urnet__waits_unpark();
	if (timed_out && op.res == -ECANCELED)
		return -ETIMEDOUT;
	return op.res;
}
