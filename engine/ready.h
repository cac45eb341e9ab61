/* SPDX-License-Identifier: MIT */
/*
 * The readiness interface: what api/ and compat/ use of the engine to wait
 * for an fd.  Not installed.
 *
 * The network path is readiness-based: a caller first tries the plain
 * non-blocking syscall; on EAGAIN it sleeps on a per-fd, per-direction
 * sequence counter that the engine bumps when the kernel reports readiness
 * (a multishot poll for reads, a one-shot poll for writes, both armed
 * lazily).  The kernel never holds a caller's buffer, so a waiter may leave
 * at any time (deadline, close) without cancelling anything.
 */
#ifndef URNET_ENGINE_READY_H
#define URNET_ENGINE_READY_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "urnet_engine.h"
#include "list.h"
#include "queue.h"
#include "visibility.h"
#include "waits.h"

enum urnet__dir { URNET__READ = 0, URNET__WRITE = 1 };

/* What a read waits for; POLLPRI also tells that a read may stop at an urgent mark. */
#define URNET__POLL_READ	(POLLIN | POLLRDHUP | POLLPRI)

/* Read reports in a row that nobody waits for before the poll leaves the ring. */
#define URNET__POLL_UNUSED_MAX	4

/* urnet__ready_wait() flags */
#define URNET__WAIT_EINTR	(1u << 0)	/* return -EINTR when a signal handler ran */
#define URNET__WAIT_CANCELPOINT	(1u << 1)	/* the sleep is a pthread cancellation point */
#define URNET__WAIT_ANY_SIGNAL	(1u << 2)	/* -EINTR after any handler, SA_RESTART too */
/*
 * What the waiting call is, for the list of parked calls (waits.h): an
 * enum urnet__wait_kind in the flags' second byte; none says read or
 * write from the direction.
 */
#define URNET__WAIT_KIND(k)	((unsigned)(k) << 8)
#define URNET__WAIT_KIND_OF(f)	(((f) >> 8) & 0xffu)

struct urnet__ready {
	urnet_engine *engine;
	int fd;
	_Atomic uint32_t seq[2];	/* futex words: bumped on readiness and kicks */
	_Atomic uint32_t waiters[2];
	_Atomic uint32_t armed[2];	/* a poll for this direction is (being) put in the ring */
	_Atomic uint32_t closing;
	_Atomic uint32_t retired;	/* futex word for urnet__ready_destroy() */
	/*
	 * A short read proves the queue empty: TCP only (a unix socket's read
	 * also stops after a message that carried descriptors, or at another
	 * writer's), and only until a poll reported EOF, hang-up, error or
	 * urgent data (a TCP read stops at the urgent mark).
	 */
	_Atomic uint32_t short_read_drains;
	/* A read poll reported hang-up or error (datagram read shutdowns: ready_io.h). */
	_Atomic uint32_t hup_seen;
	_Atomic uint64_t drained;	/* 1 << 32 | snapshot: see urnet__ready_take_drained */
	_Atomic uint32_t sweep_wanted;	/* urnet__ready_watch_identity was called */
	_Atomic uint32_t swept;		/* bumped each time the file was found changed */
	_Atomic uint64_t watch_dev, watch_ino;	/* the file fd should name */
	int kick_fd;			/* syscall backend only: EFD_SEMAPHORE eventfd */
	struct urnet__qnode arm_node[2];
	struct urnet__qnode retire_node;
	/* Engine thread only. */
	uint32_t in_ring;		/* bit per direction: a poll is live in the ring */
	bool retire_pending;
	bool unarming;			/* the read poll is being taken out (polls.c) */
	uint8_t unused_cqes;		/* read reports in a row that nobody waited for */
	struct urnet__list polled_link;	/* in the engine's polled list while in_ring */
	uint32_t sweep_seq[2];		/* sweep.c: seq at the last tick */
	uint8_t sweep_quiet, sweep_every;	/* quiet ticks so far, and needed */
	bool sweep_had_waiters;
	/* In the engine's list of bound objects, under its bound_lock. */
	struct urnet__list bound_link;
	/*
	 * Waits on several objects at once (poll, select: ready_group.h):
	 * their members, linked under members_lock, and how many of them
	 * wait in each direction.
	 */
	_Atomic uint32_t grouped[2];
	_Atomic uint32_t members_lock;
	struct urnet__list members;
};

/*
 * Bind r to fd on engine e.  The fd is not modified.  Returns 0 or -errno
 * (-EMFILE/-ENFILE from the syscall backend's eventfd).
 */
URNET__HIDDEN int urnet__ready_init(struct urnet__ready *r, urnet_engine *e, int fd);

/* Take before the syscall that may return EAGAIN. */
static inline uint32_t urnet__ready_snapshot(struct urnet__ready *r, int dir)
{
	return atomic_load_explicit(&r->seq[dir], memory_order_acquire);
}

/*
 * A read that came back short has drained the socket, so the next read may
 * go straight to sleep on the snapshot taken before it, saving the syscall
 * that would say EAGAIN: every later arrival bumps the counter.  Not so
 * where a short read does not prove it (short_read_drains), nor once a
 * poll reported the end of the stream or an error: those are reported once
 * and stay, so the next read must try.  Any reader may use the note of
 * another: an older snapshot only wakes it sooner.
 */
static inline void urnet__ready_note_drained(struct urnet__ready *r, uint32_t snap)
{
	if (atomic_load_explicit(&r->short_read_drains, memory_order_relaxed))
		atomic_store_explicit(&r->drained, 1ull << 32 | snap, memory_order_relaxed);
}

/* The snapshot a read may sleep on without trying first, if any (used up). */
static inline bool urnet__ready_take_drained(struct urnet__ready *r, uint32_t *snap)
{
	uint64_t d = atomic_exchange_explicit(&r->drained, 0, memory_order_relaxed);

	if (!(d >> 32) || !atomic_load_explicit(&r->short_read_drains, memory_order_seq_cst))
		return false;
	*snap = (uint32_t)d;
	return true;
}

/*
 * Sleep until readiness in dir may have changed since snap, a kick, or the
 * absolute CLOCK_MONOTONIC deadline (0 = none).  Returns 0 (retry the
 * syscall; may be spurious), -ETIMEDOUT, -ECANCELED (urnet__ready_close was
 * called), -EINTR (only with URNET__WAIT_EINTR, a signal handler ran; an
 * untimed wait is restarted by the kernel when the handler has SA_RESTART,
 * unless URNET__WAIT_ANY_SIGNAL is given too).
 * With URNET__WAIT_CANCELPOINT, pthread_cancel() ends the sleep: the thread
 * is cancelled with r's bookkeeping undone (only the sleep itself runs with
 * asynchronous cancellation; arming the engine's poll never does).
 */
URNET__HIDDEN int urnet__ready_wait(struct urnet__ready *r, int dir, uint32_t snap,
				    int64_t deadline_ns, unsigned flags);

/*
 * Have the engine's poll for dir in the ring (armed lazily, on the first
 * wait).  0, or -errno when the engine is gone.  Nothing on the syscall
 * backend.
 */
URNET__HIDDEN int urnet__ready_arm(struct urnet__ready *r, int dir);

/*
 * Around the sleeping syscall alone of a wait that is a cancellation point
 * (cancelpoint): asynchronous cancellation, so that a cancel can never cut
 * the arming push or the bookkeeping around the sleep short.  begin
 * returns the type to restore, or -1 when nothing changed.
 */
URNET__HIDDEN int urnet__cancel_async_begin(bool cancelpoint);
URNET__HIDDEN void urnet__cancel_async_end(int old);

/* Wake every waiter so it re-evaluates (deadline moved, state changed). */
URNET__HIDDEN void urnet__ready_kick(struct urnet__ready *r);

/*
 * From now on, while waits on r sleep long without readiness, the engine
 * checks that r's fd still names the file (dev, ino): after 1-2 s, then
 * after doubling quiet intervals up to 64 s.  When it does not,
 * urnet__ready_swept(r) changes and the waiters return 0; otherwise they
 * sleep on undisturbed.  For callers whose fd numbers may be replaced
 * unseen; io_uring backend only (the syscall backend's waits poll the
 * number itself).
 */
URNET__HIDDEN void urnet__ready_watch_identity(struct urnet__ready *r, uint64_t dev,
					       uint64_t ino);

static inline uint32_t urnet__ready_swept(struct urnet__ready *r)
{
	return atomic_load_explicit(&r->swept, memory_order_acquire);
}

/* From now on every wait returns -ECANCELED; wakes current waiters. */
URNET__HIDDEN void urnet__ready_close(struct urnet__ready *r);

/*
 * Once no thread can wait on r any more: remove its polls from the ring and
 * wait until the engine has forgotten r.  Afterwards the fd may be closed and
 * r freed.  Never fails.
 */
URNET__HIDDEN void urnet__ready_destroy(struct urnet__ready *r);

/*
 * fd is one of urnet's own descriptors (engine/ownfd.c), which the
 * program's close() and close_range() must leave alone.
 */
URNET__HIDDEN bool urnet__own_fd_is(int fd);

/* Close one of them (a raw close: never the preload module's). */
URNET__HIDDEN void urnet__own_fd_close(int fd);

/*
 * fn(from, to, arg) for each stretch of [first, last] without urnet's own
 * descriptors; stops at and returns the first negative result, else the
 * last one's.
 */
URNET__HIDDEN int urnet__own_fd_spare(unsigned first, unsigned last,
				      int (*fn)(unsigned, unsigned, void *), void *arg);

/* Stats that api/ and compat/ account for the engine. */
URNET__HIDDEN void urnet__engine_count_syscall_op(urnet_engine *e);

/*
 * A duration from the environment ("500ms", "5s", "2m"): in ns, 0 when
 * unset, -EINVAL when malformed.
 */
URNET__HIDDEN int64_t urnet__env_duration_ns(const char *name);

/* A wait ended by a time limit of urnet's own (compat/iotimeout.c), and their count. */
URNET__HIDDEN void urnet__count_io_limit(void);
URNET__HIDDEN uint64_t urnet__io_limit_count(void);

/*
 * Waits the compat calls left to the kernel's own blocking call (the exit
 * stats line's kernel_waits), and URNET_KERNEL_WAIT_US in ns: a wait that
 * ended within it makes the next on the same fd and direction one of
 * those (0: never).
 */
URNET__HIDDEN void urnet__count_kernel_wait(void);
URNET__HIDDEN uint64_t urnet__kernel_wait_count(void);
URNET__HIDDEN int64_t urnet__env_kernel_wait_ns(void);

/* True when e runs without a ring. */
URNET__HIDDEN bool urnet__engine_is_syscall(const urnet_engine *e);

#endif
