/* SPDX-License-Identifier: MIT */
/*
 * urnet engine: the NetReactor.  One io_uring ring, one engine thread that is
 * the ring's only issuer, and a queue through which any thread hands it work.
 *
 * Most programs never touch this header: the listener/conn API (urnet.h) and
 * the BSD compat layer use a process-wide default engine started lazily on
 * first use.  It is public for two reasons: to run io_uring operations of
 * your own through the engine (go-uring's generic Reactor), and to start
 * engines with non-default ring options.
 *
 * Errors: functions returning int return 0 or a negative errno value, the
 * liburing way.  Constructors return NULL and set errno.
 */
#ifndef URNET_ENGINE_H
#define URNET_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define URNET_API __attribute__((visibility("default")))
#else
#define URNET_API
#endif

struct io_uring_sqe;

typedef struct urnet_engine urnet_engine;

enum urnet_backend {
	URNET_BACKEND_AUTO = 0,	/* io_uring, or syscall if it cannot be set up */
	URNET_BACKEND_IO_URING,	/* io_uring or fail */
	URNET_BACKEND_SYSCALL,	/* plain blocking syscalls, no ring */
};

/*
 * An engine's options.  Zero in any field means its default, so a config
 * that is all zeros is the default engine; urnet_engine_config_init() fills
 * one in from the environment variable named at each field (README lists
 * them).  reserved: zeroed by urnet_engine_config_init(), leave it zero;
 * fields to come take its place, so the struct keeps its size.
 */
struct urnet_engine_config {
	unsigned ring_entries;	/* SQ size, up to 32768; 0 = 256.  CQ is 8x, never
				 * overflows silently (URNET_RING_ENTRIES) */
	int sqpoll;		/* nonzero: IORING_SETUP_SQPOLL kernel submit thread
				 * (URNET_SQPOLL) */
	unsigned sqpoll_idle_ms;/* SQPOLL thread idle time before it sleeps; 0 = 1000
				 * (URNET_SQPOLL=ms) */
	enum urnet_backend backend;	/* (URNET_BACKEND) */
	int poll_us;		/* longest spin before the engine sleeps, in us, up to
				 * 10000; 0 = 50, -1 = never spin (URNET_ENGINE_POLL_US) */
	int slice_us;		/* scheduler slice the engine thread asks for, in us, up
				 * to 100000; 0 = 100, -1 = the kernel's default
				 * (URNET_ENGINE_SLICE_US) */
	int no_ring_futex;	/* nonzero: wake parked threads with a futex syscall
				 * each, never with IORING_OP_FUTEX_WAKE through the
				 * ring (URNET_NO_RING_FUTEX) */
	unsigned long reserved[8];
};

/* Defaults, then the URNET_* environment variables (see README). */
URNET_API void urnet_engine_config_init(struct urnet_engine_config *cfg);

/*
 * Start an engine and its thread (named "urnet-engine"); cfg NULL: from
 * urnet_engine_config_init().  NULL + errno (EINVAL: a field out of range).
 */
URNET_API urnet_engine *urnet_engine_new(const struct urnet_engine_config *cfg);

/*
 * Stop an engine: every operation not yet completed fails with -ECANCELED
 * (callbacks still run, blocked callers return), the thread is joined and
 * all memory is released.  Submissions after this started fail -ESHUTDOWN.
 * The caller must not use the engine pointer once this returns.  Returns 0,
 * or -EINVAL when called on a default engine or from the engine thread.
 */
URNET_API int urnet_engine_close(urnet_engine *e);

/*
 * The process-wide engines.  URNET_ENGINES=n (default 1) shards the process
 * over n engines; urnet_default_engine() returns shard 0, urnet_engine_pick()
 * spreads keys (fds, conn counters) over all shards.  Started on first use;
 * NULL + errno only if not even the syscall backend can start.
 */
URNET_API urnet_engine *urnet_default_engine(void);
URNET_API urnet_engine *urnet_engine_pick(unsigned key);
URNET_API unsigned urnet_engine_count(void);

/* "io_uring", "syscall", or "none" for NULL. */
URNET_API const char *urnet_engine_backend(const urnet_engine *e);

/* Fill one SQE.  Do not set user_data: the engine owns it. */
typedef void (*urnet_prep_fn)(struct io_uring_sqe *sqe, void *arg);
/* Runs on the engine thread; must not block. */
typedef void (*urnet_complete_fn)(int res, unsigned cqe_flags, void *arg);

/*
 * Asynchronous submission: prep fills the SQE on the engine thread, done
 * runs there with the CQE's result and flags.  Multishot operations call
 * done once per CQE, the last one without IORING_CQE_F_MORE.  Returns 0, or
 * -EINVAL, -ENOMEM, -ESHUTDOWN (engine stopping).  prep must fill exactly one
 * SQE; link and skip-success flags are cleared.
 *
 * On the syscall backend the operation runs as plain syscalls on the engine
 * thread, one after another; opcodes without an emulation complete with
 * -EOPNOTSUPP (supported: NOP, TIMEOUT, READ, WRITE, READV, WRITEV, RECV,
 * SEND, RECVMSG, SENDMSG, ACCEPT, CONNECT, POLL_ADD, CLOSE, FSYNC).
 */
URNET_API int urnet_engine_submit(urnet_engine *e, urnet_prep_fn prep,
				  urnet_complete_fn done, void *arg);

/*
 * Blocking submission: returns the CQE's result (-EDEADLK on the engine's
 * own thread, where nothing could complete it).  deadline_ns is absolute
 * CLOCK_MONOTONIC (urnet_now_ns() + n), 0 for none.  At the deadline the
 * operation is cancelled and the call returns -ETIMEDOUT, but only after the
 * kernel has let go of the operation, so buffers on the stack are safe.  If
 * the operation completed before its cancel took effect, its result wins.
 * A deadline already past returns -ETIMEDOUT without submitting anything.
 * A multishot operation returns its first result; the rest is cancelled.
 */
URNET_API int urnet_engine_call(urnet_engine *e, urnet_prep_fn prep, void *arg,
				int64_t deadline_ns);

/*
 * Provided buffers (a buffer ring, Linux 5.19): count buffers of size bytes
 * each, registered on e's ring as buffer group bgid and all handed to the
 * kernel.  An operation picks one when it runs (IOSQE_BUFFER_SELECT with
 * sqe->buf_group = bgid), so a multishot recv can stay armed on a
 * connection without holding memory while it is idle.  Its completion
 * carries IORING_CQE_F_BUFFER and the buffer id in
 * cqe_flags >> IORING_CQE_BUFFER_SHIFT; once out of buffers a multishot
 * recv ends with -ENOBUFS.  count is a power of two up to 32768.  NULL and
 * errno: EINVAL, EEXIST (bgid in use on e), ENOMEM, EOPNOTSUPP (syscall
 * backend), ESHUTDOWN, or what the kernel says (EINVAL before 5.19).
 */
typedef struct urnet_buf_ring urnet_buf_ring;

URNET_API urnet_buf_ring *urnet_buf_ring_new(urnet_engine *e, unsigned short bgid,
					     unsigned count, size_t size);
/* Buffer bid's memory, NULL for an id out of range. */
URNET_API void *urnet_buf_ring_buf(const urnet_buf_ring *br, unsigned bid);
/*
 * Give buffer bid back to the kernel, once its data is consumed.  Only on
 * the engine thread, from completion callbacks (the ring has one
 * producer): -EPERM on any other thread, -EINVAL for an id out of range.
 * Each buffer a completion delivered goes back once.
 */
URNET_API int urnet_buf_ring_put(urnet_buf_ring *br, unsigned bid);
/*
 * Unregister the group and free its memory.  Only once no operation that
 * selects from the group is left in the ring.  0 or -errno.
 */
URNET_API int urnet_buf_ring_free(urnet_buf_ring *br);

struct urnet_engine_stats {
	uint64_t submitted;	/* SQEs handed to the kernel */
	uint64_t completed;	/* CQEs reaped */
	uint64_t batches;	/* non-empty reaps of the completion queue */
	uint64_t engine_wakeups;/* times a caller had to wake the sleeping engine */
	uint64_t parked;	/* times a caller thread went to sleep waiting */
	uint64_t readiness;	/* readiness events delivered to fd waiters */
	uint64_t syscall_ops;	/* operations run as plain syscalls */
};

/* Counters are read without stopping the engine; each is exact on its own. */
URNET_API void urnet_engine_get_stats(const urnet_engine *e,
				      struct urnet_engine_stats *out);

/* CLOCK_MONOTONIC in nanoseconds: the clock of every deadline. */
URNET_API int64_t urnet_now_ns(void);

/*
 * The calls parked in this process right now, longest wait first (thread,
 * fd, socket kind, addresses, call, time waited, deadline), the engine
 * counters, and a histogram of wait times per kind of call since start:
 * what urnet-top(1) shows of another process.  0, -EINVAL (f NULL),
 * -ENOMEM, -EIO (writing f failed).
 */
URNET_API int urnet_dump_waits(FILE *f);

#ifdef __cplusplus
}
#endif

#endif
