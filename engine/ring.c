/* SPDX-License-Identifier: MIT */
/*
 * The ring: its setup with the best flags the kernel takes, SQEs, and
 * submitting them.  The engine thread is the ring's only issuer, and it
 * submits by hand rather than through liburing's submit (see ring_submit),
 * so that a turn's SQEs go to the kernel in one io_uring_enter.  Also the
 * SQEs the engine makes for itself: the read of its wake eventfd, cancels,
 * and futex wakes batched through the ring.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "futex.h"

#define URNET__DEFAULT_ENTRIES	256
#define URNET__CQ_FACTOR	8

/*
 * IORING_OP_FUTEX_WAKE (Linux 6.7) is newer than the liburing this builds
 * against; its SQE is filled by hand: fd holds the futex2 flags.
 */
#define URNET__OP_FUTEX_WAKE	52
#define URNET__FUTEX2_SIZE_U32	0x02
#define URNET__FUTEX2_PRIVATE	128

/* ---------------------------------------------------------------- setup */

bool urnet__ring_error_means_none(int err)
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

int urnet__ring_setup(urnet_engine *e)
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
				!e->cfg.no_ring_futex;
		io_uring_free_probe(probe);
	}
	return 0;
}

/* ---------------------------------------------------------------- submit */

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
int urnet__ring_submit_collect(struct io_uring *ring)
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

void urnet__engine_flush(urnet_engine *e)
{
	int ret;

	while (io_uring_sq_ready(&e->ring)) {
		ret = ring_submit(&e->ring);
		if (ret >= 0) {
			urnet__stat_add(&e->stats.submitted, (uint64_t)ret);
			/* An SQPOLL thread may not have taken them yet. */
			if (ret == 0)
				break;
			continue;
		}
		if (ret == -EINTR)
			continue;
		if (ret == -EBUSY || ret == -EAGAIN) {
			/* CQ backlog or no memory for requests: make room first. */
			urnet__engine_reap(e);
			io_uring_get_events(&e->ring);
			urnet__engine_reap(e);
			continue;
		}
		/* Nothing the engine can recover from: the ring itself broke. */
		abort();
	}
}

struct io_uring_sqe *urnet__engine_sqe(urnet_engine *e)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&e->ring)))
		urnet__engine_flush(e);
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/* ---------------------------------------------------------------- the engine's own SQEs */

void urnet__engine_arm_wake(urnet_engine *e)
{
	struct io_uring_sqe *sqe = urnet__engine_sqe(e);

	io_uring_prep_read(sqe, e->wake_fd, &e->wake_buf, sizeof(e->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, urnet__tagged(NULL, URNET__TAG_WAKE));
	e->wake_armed = true;
}

void urnet__engine_cancel(urnet_engine *e, uint64_t user_data)
{
	struct io_uring_sqe *sqe = urnet__engine_sqe(e);

	io_uring_prep_cancel64(sqe, user_data, 0);
	io_uring_sqe_set_data64(sqe, URNET__TAG_IGNORE);
}

/*
 * Through the ring the wakes of a whole batch of completions cost one
 * io_uring_enter, and the engine is preempted by the woken threads once
 * per batch instead of once per wake.  A word freed before the SQE runs is
 * harmless: futex waiters all tolerate spurious wakes, and an unmapped
 * address only fails.
 */
void urnet__engine_futex_wake_all(urnet_engine *e, _Atomic uint32_t *word)
{
	struct io_uring_sqe *sqe;

	if (!e->ring_futex) {
		urnet__futex_wake_all(word);
		return;
	}
	sqe = urnet__engine_sqe(e);
	sqe->opcode = URNET__OP_FUTEX_WAKE;
	sqe->fd = URNET__FUTEX2_SIZE_U32 | URNET__FUTEX2_PRIVATE;
	sqe->addr = (uint64_t)(uintptr_t)word;
	sqe->addr2 = INT_MAX;
	sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, URNET__TAG_IGNORE);
}
