/* SPDX-License-Identifier: MIT */
/*
 * Private to engine/: the engine object, its requests, and what the
 * engine's files share.  The engine thread's work is spread by concept:
 *   engine.c       start and stop: the object, its thread, references
 *   ring.c         the ring: setup, SQEs, submitting, the wake eventfd
 *   loop.c         the loop: the request queue, reaping, dispatch, sleep
 *   ops.c          generic operations: submit, call, their life cycle
 *   polls.c        readiness polls on the engine thread (ready.c: callers)
 *   stats.c        the counters
 *   syscall_backend.c  the loop and the operations without a ring
 *   config.c       configuration and the whole URNET_* environment
 */
#ifndef URNET_ENGINE_ENGINE_H
#define URNET_ENGINE_ENGINE_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "queue.h"
#include "ready.h"

/* What a queue node stands for. */
enum urnet__qkind {
	URNET__Q_USER,		/* struct urnet__op.node: a generic operation */
	URNET__Q_CANCEL,	/* struct urnet__op.cancel_node: cancel that operation */
	URNET__Q_ARM_READ,	/* struct urnet__ready.arm_node[READ] */
	URNET__Q_ARM_WRITE,	/* struct urnet__ready.arm_node[WRITE] */
	URNET__Q_RETIRE,	/* struct urnet__ready.retire_node */
};

/* A blocking caller's view of its operation: the futex word. */
enum urnet__op_state {
	URNET__OP_PENDING,	/* in the engine; the caller is not asleep */
	URNET__OP_SLEEPING,	/* the caller sleeps on state */
	URNET__OP_CANCELLING,	/* the caller queued a cancel and sleeps */
	URNET__OP_DONE,		/* res and cqe_flags are final */
};

struct urnet__op {
	struct urnet__qnode node;
	struct urnet__qnode cancel_node;
	urnet_prep_fn prep;
	urnet_complete_fn done;	/* NULL for a blocking call */
	void *arg;
	int res;
	unsigned cqe_flags;
	_Atomic uint32_t state;
	/* Engine thread only. */
	bool cqe_seen;		/* the final CQE arrived while a cancel was queued */
	bool cancel_consumed;
	bool multishot_cut;	/* blocking call on a multishot op: first CQE kept */
	struct urnet__list live;	/* in live_ops while in the ring, then in spare_ops */
};

#define URNET__CACHELINE	64
#define URNET__POLL_RECENT	8
#define URNET__PARKED_SLOTS	8

/*
 * Every wait counts a park, from whichever CPU the caller runs on: one
 * shared counter would move its cache line between CPUs on every request.
 * Each slot has a line of its own, picked by CPU.
 */
struct urnet__count_slot {
	_Atomic uint64_t n;
} __attribute__((aligned(URNET__CACHELINE)));

struct urnet__totals {
	/* Engine thread. */
	_Atomic uint64_t submitted;
	_Atomic uint64_t completed;
	_Atomic uint64_t batches;
	_Atomic uint64_t readiness;
	/* Callers, off the hot path. */
	_Atomic uint64_t engine_wakeups;
	_Atomic uint64_t syscall_ops;
	struct urnet__count_slot parked[URNET__PARKED_SLOTS];
};

struct urnet_engine {
	/* What callers write: the queue, and pushers when they push. */
	struct urnet__queue queue;
	_Atomic uint32_t sleeping;	/* the engine is (about to be) in io_uring_enter */
	_Atomic uint32_t stopping;	/* no new work; pending work fails */
	_Atomic uint32_t refs;		/* owner + bound urnet__ready objects */
	_Atomic uint32_t pushers;	/* threads inside engine_push() */
	_Atomic uint32_t exited;	/* the engine will never read its queue again */
	_Atomic uint32_t started;	/* futex: start_result is set */
	int start_result;
	/* Written by the engine on every turn: lines of their own. */
	struct urnet__totals stats __attribute__((aligned(URNET__CACHELINE)));
	bool syscall_backend;
	bool is_default;
	struct urnet_engine_config cfg;
	/* sweep.c's timeout is in flight: read by waiters, written once a second. */
	_Atomic uint32_t sweep_armed;
	pthread_mutex_t bound_lock;	/* guards bound */
	struct urnet__list bound;	/* every urnet__ready on this engine (bound_link) */
	pthread_t thread;

	/* Engine thread only. */
	struct io_uring ring;
	int wake_fd;
	uint64_t wake_buf;
	bool wake_armed;
	bool wake_retired;
	bool no_multishot_poll;
	bool ring_futex;	/* IORING_OP_FUTEX_WAKE: wakes go through the ring */
	unsigned ring_flags;
	unsigned live_polls;
	struct urnet__list live_ops;	/* ops in the ring: cancelled at shutdown */
	struct urnet__list spare_ops;	/* finished async ops, for the next submit */
	unsigned spare_count;
	struct urnet__list polled;	/* readies with a poll in the ring (polled_link) */
	bool cancel_sent;
	int64_t poll_max_ns;		/* idle_poll.c: 0 = never poll */
	int64_t poll_window_ns;
	int64_t poll_idle_since;
	bool poll_contended;
	uint64_t poll_recent[URNET__POLL_RECENT];	/* user_data of the last CQEs */
	unsigned poll_recent_next;

	/* In the process registry (default.c), under its lock. */
	struct urnet__list reg_link;
};

/* user_data tags in the low bits of the aligned pointers. */
#define URNET__TAG_OP		0ull
#define URNET__TAG_READ		1ull
#define URNET__TAG_WRITE	2ull
#define URNET__TAG_WAKE		3ull
#define URNET__TAG_IGNORE	4ull
#define URNET__TAG_MASK		7ull

static inline uint64_t urnet__tagged(const void *p, uint64_t tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

/* The engine whose thread this is; NULL on every other thread (engine.c). */
URNET__HIDDEN extern URNET__TLS urnet_engine *urnet__engine_self;

/* True on e's own thread (completion callbacks run there). */
static inline bool urnet__engine_on_thread(const urnet_engine *e)
{
	return urnet__engine_self == e;
}

/* ---- engine.c: start and stop */

/* e's ring, NULL on the syscall backend; touch it on the engine thread only. */
URNET__HIDDEN struct io_uring *urnet__engine_ring(urnet_engine *e);

/* Stop the thread and take e out of the registry; memory stays. */
URNET__HIDDEN int urnet__engine_stop(urnet_engine *e);

/* Take a reference that keeps the engine's memory (not its thread) alive. */
URNET__HIDDEN void urnet__engine_get(urnet_engine *e);
/* Drop a reference; the last one frees the engine's memory. */
URNET__HIDDEN void urnet__engine_put(urnet_engine *e);

/* ---- ring.c: the ring (engine thread only, but for setup and exit) */

/* Set up e's ring with the best flags the kernel takes: 0 or -errno. */
URNET__HIDDEN int urnet__ring_setup(urnet_engine *e);

/* The setup error says io_uring is not to be had here (seccomp, limits...). */
URNET__HIDDEN bool urnet__ring_error_means_none(int err);

/* io_uring_queue_exit() of a ring whose descriptor is urnet's own. */
URNET__HIDDEN void urnet__ring_exit(struct io_uring *ring);

/* Submit every prepared SQE, and the kernel's pending task work; how many. */
URNET__HIDDEN int urnet__ring_submit_collect(struct io_uring *ring);

/* Submit every prepared SQE, reaping to make room if the kernel asks. */
URNET__HIDDEN void urnet__engine_flush(urnet_engine *e);

/* A zeroed SQE, submitting what is prepared if the SQ is full. */
URNET__HIDDEN struct io_uring_sqe *urnet__engine_sqe(urnet_engine *e);

/* Cancel what user_data stands for in the ring; its CQE says when. */
URNET__HIDDEN void urnet__engine_cancel(urnet_engine *e, uint64_t user_data);

/* Put the read of the wake eventfd (engine_wake's target) in the ring. */
URNET__HIDDEN void urnet__engine_arm_wake(urnet_engine *e);

/* Wake every waiter on a futex word: through the ring where it can. */
URNET__HIDDEN void urnet__engine_futex_wake_all(urnet_engine *e, _Atomic uint32_t *word);

/* ---- loop.c: the loop */

/* Queue a node and wake the engine if it sleeps; -ESHUTDOWN once stopping. */
URNET__HIDDEN int urnet__engine_push(urnet_engine *e, struct urnet__qnode *n);

/* Wake the engine if it sleeps (or is about to). */
URNET__HIDDEN void urnet__engine_wake(urnet_engine *e);

/* The io_uring engine's thread from its ring's setup to its exit. */
URNET__HIDDEN void urnet__engine_loop(urnet_engine *e);

/* Dispatch the completions in the CQ now. */
URNET__HIDDEN void urnet__engine_reap(urnet_engine *e);

/* Stopping: true once the engine may exit (nothing in flight, no pusher). */
URNET__HIDDEN bool urnet__engine_try_exit(urnet_engine *e);

/* ---- ops.c: generic operations, on the engine thread */

URNET__HIDDEN void urnet__op_start(urnet_engine *e, struct urnet__op *op);
/* A CQE of op's. */
URNET__HIDDEN void urnet__op_cqe(urnet_engine *e, struct urnet__op *op, int res, unsigned flags);
/* Final result of an operation, from a CQE or from the engine itself. */
URNET__HIDDEN void urnet__op_finish(urnet_engine *e, struct urnet__op *op, int res,
				    unsigned flags);
/* A blocking caller queued a cancel of op. */
URNET__HIDDEN void urnet__op_cancel_node(urnet_engine *e, struct urnet__op *op);
/* Free the recycled operations (the engine thread exits). */
URNET__HIDDEN void urnet__spare_ops_free(urnet_engine *e);

/* ---- polls.c: readiness polls, on the engine thread */

URNET__HIDDEN void urnet__poll_arm(urnet_engine *e, struct urnet__ready *r, int dir);
URNET__HIDDEN void urnet__poll_cqe(urnet_engine *e, struct urnet__ready *r, int dir, int res,
				   unsigned flags);
/* urnet__ready_destroy() asked: take r's polls out, then tell it. */
URNET__HIDDEN void urnet__poll_retire(urnet_engine *e, struct urnet__ready *r);
/* Cancel r's polls in the ring. */
URNET__HIDDEN void urnet__poll_cancel(urnet_engine *e, struct urnet__ready *r);

/* ---- ready.c: readiness, callers' side */

/*
 * Bump a readiness sequence and wake its waiters.  ring: the engine whose
 * thread this is, to put the wake in its ring with the rest of the turn's;
 * NULL on any other thread, for a futex syscall.
 */
URNET__HIDDEN void urnet__ready_signal(struct urnet__ready *r, int dir, urnet_engine *ring);

/* After the engine stopped: wake everything waiting on its objects. */
URNET__HIDDEN void urnet__ready_wake_bound(urnet_engine *e);

/* ---- stats.c: the counters */

static inline void urnet__stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

URNET__HIDDEN void urnet__totals_read(const struct urnet__totals *t,
				      struct urnet_engine_stats *out);
/* Add the counters of t to sum, and those of s to t. */
URNET__HIDDEN void urnet__totals_sum(struct urnet_engine_stats *sum,
				     const struct urnet__totals *t);
URNET__HIDDEN void urnet__totals_add(struct urnet__totals *t,
				     const struct urnet_engine_stats *s);
URNET__HIDDEN void urnet__totals_add_parked(struct urnet__totals *t, uint64_t n);
URNET__HIDDEN void urnet__engine_count_parked(urnet_engine *e);


/* ---- syscall_backend.c: the engine without a ring */

/* The syscall backend's engine thread: runs async operations in turn. */
URNET__HIDDEN void urnet__syscall_loop(urnet_engine *e);
/* Run an operation described by an SQE as plain syscalls. */
URNET__HIDDEN int urnet__syscall_run(urnet_engine *e, const struct io_uring_sqe *sqe,
				     int64_t deadline_ns);
/* Opcodes urnet__syscall_run knows. */
URNET__HIDDEN bool urnet__syscall_supports(uint8_t opcode);

/* ---- config.c: the configuration and the environment */

/* Checks what urnet_engine_new() is given: 0 or -EINVAL. */
URNET__HIDDEN int urnet__config_check(const struct urnet_engine_config *cfg);
/* The longest idle spin (ns, 0 = none) and scheduler slice (us, 0 = none) of cfg. */
URNET__HIDDEN int64_t urnet__config_poll_ns(const struct urnet_engine_config *cfg);
URNET__HIDDEN unsigned long urnet__config_slice_us(const struct urnet_engine_config *cfg);
/* URNET_ENGINES: how many default engines; URNET_STATS: the exit line. */
URNET__HIDDEN unsigned urnet__env_engines(unsigned max);
URNET__HIDDEN bool urnet__env_stats(void);

/* URNET_WAITS=0: no channel for urnet-top (waits_serve.c). */
URNET__HIDDEN bool urnet__env_waits_channel(void);

/* ---- idle_poll.c */

/*
 * Polling before sleeping, engine thread only: init once the ring is set
 * up; poll returns true when work came while spinning (do not sleep);
 * slept is called after every sleep to adapt the window.
 */
URNET__HIDDEN void urnet__idle_poll_init(urnet_engine *e);
URNET__HIDDEN bool urnet__idle_poll(urnet_engine *e);
URNET__HIDDEN void urnet__idle_poll_slept(urnet_engine *e);

/* At most two distinct values among recent[0..count): polling may pay. */
URNET__HIDDEN bool urnet__idle_poll_few_sources(const uint64_t *recent, unsigned count);

/* A completion for this user_data (an operation or a readiness object) came. */
static inline void urnet__idle_poll_note(urnet_engine *e, uint64_t user_data)
{
	e->poll_recent[e->poll_recent_next++ % URNET__POLL_RECENT] = user_data;
}
/*
 * The policy: the next window after a sleep that ended idle ns after the
 * engine ran dry, with the window it had and the largest allowed; a spin
 * cut short because the CPU was wanted counts as contended.
 */
URNET__HIDDEN int64_t urnet__idle_poll_next_window(int64_t window, int64_t max, int64_t idle,
						   bool contended);

/* ---- ownfd.c */

/*
 * A descriptor of urnet's own: open_fn(arg) opens it (fd, or -1 with
 * errno) and it is given a number outside the program's range.
 * Returns the fd, or -1 with errno.
 */
URNET__HIDDEN int urnet__own_fd(int (*open_fn)(void *), void *arg);

/* It is closed already, or about to be by liburing (io_uring_queue_exit). */
URNET__HIDDEN void urnet__own_fd_forget(int fd);

/* ---- sweep.c */

/*
 * A waiter on an object that wants long waits woken arms the engine's
 * once-a-second sweep, unless it runs; after counting itself.
 */
URNET__HIDDEN void urnet__sweep_ensure(urnet_engine *e);

/* ---- futex_hash.c */

/*
 * n readiness objects whose waiters sleep on futexes came (n > 0) or went:
 * grows the process's private futex hash to match.
 */
URNET__HIDDEN void urnet__futex_hash_add(long n);

/* ---- default.c: registry of live engines, for the exit stats line and fork */

URNET__HIDDEN void urnet__registry_add(urnet_engine *e);
URNET__HIDDEN void urnet__registry_remove(urnet_engine *e);
/* The counters of every engine so far, the backend of the last; how many run. */
URNET__HIDDEN unsigned urnet__registry_stats(struct urnet_engine_stats *sum,
					     const char **backend);

#endif
