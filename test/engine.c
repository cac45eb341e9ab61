/* SPDX-License-Identifier: MIT */
/*
 * The engine's generic API: nop, timeout, read and write submitted
 * asynchronously and as blocking calls, deadlines, cancel, shutdown with
 * operations pending, concurrency, the lazily started default engine, and
 * the readiness waiting the network layers build on.  The same program runs
 * with URNET_BACKEND=syscall (test/engine-syscall.sh).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "ready.h"
#include "testutil.h"
#include "urnet_engine.h"

#define SEC 1000000000LL

static urnet_engine *engine;
static int fds_before;

static void setup(void)
{
	fds_before = test_count_fds();
	engine = urnet_engine_new(NULL);
	ck_assert_ptr_nonnull(engine);
}

static void teardown(void)
{
	ck_assert_int_eq(urnet_engine_close(engine), 0);
	ck_assert_int_eq(test_count_fds(), fds_before);
}

static bool is_syscall(void)
{
	const char *want = getenv("URNET_BACKEND");

	return want && !strcmp(want, "syscall");
}

/* ---------------------------------------------------------------- helpers */

static void prep_nop(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_nop(sqe);
}

/* Completion collected by an async callback, waited for by the test. */
struct done {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	int res;
	unsigned flags;
	pthread_t thread;
};

struct counter {
	_Atomic int n;
	_Atomic int bad;
};

/* One operation: what prep reads and what the completion writes. */
struct job {
	int fd;
	void *buf;
	unsigned len;
	struct __kernel_timespec ts;
	struct done d;
	struct counter *c;
};

#define JOB_INIT { .d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 } }

static void prep_read(struct io_uring_sqe *sqe, void *arg)
{
	struct job *j = arg;

	io_uring_prep_read(sqe, j->fd, j->buf, j->len, (__u64)-1);
}

static void prep_write(struct io_uring_sqe *sqe, void *arg)
{
	struct job *j = arg;

	io_uring_prep_write(sqe, j->fd, j->buf, j->len, (__u64)-1);
}

static void prep_timeout(struct io_uring_sqe *sqe, void *arg)
{
	struct job *j = arg;

	io_uring_prep_timeout(sqe, &j->ts, 0, 0);
}

static void on_done(int res, unsigned flags, void *arg)
{
	struct done *d = &((struct job *)arg)->d;

	pthread_mutex_lock(&d->lock);
	d->res = res;
	d->flags = flags;
	d->thread = pthread_self();
	d->count++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void wait_done(struct job *j, int count)
{
	struct done *d = &j->d;

	pthread_mutex_lock(&d->lock);
	while (d->count < count)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

/* ---------------------------------------------------------------- generic ops */

START_TEST(nop_blocking)
{
	struct urnet_engine_stats st;

	ck_assert_int_eq(urnet_engine_call(engine, prep_nop, NULL, 0), 0);
	urnet_engine_get_stats(engine, &st);
	if (is_syscall()) {
		ck_assert_uint_ge(st.syscall_ops, 1);
	} else {
		ck_assert_uint_ge(st.submitted, 1);
		ck_assert_uint_ge(st.completed, 1);
	}
}
END_TEST

START_TEST(nop_async_runs_on_engine_thread)
{
	struct job j = JOB_INIT;

	ck_assert_int_eq(urnet_engine_submit(engine, prep_nop, on_done, &j), 0);
	wait_done(&j, 1);
	ck_assert_int_eq(j.d.res, 0);
	ck_assert(!pthread_equal(j.d.thread, pthread_self()));
}
END_TEST

START_TEST(read_write_pipe_blocking)
{
	char out[] = "hello engine", in[sizeof(out)] = { 0 };
	struct job w = JOB_INIT, r = JOB_INIT;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	w.fd = p[1], w.buf = out, w.len = sizeof(out);
	r.fd = p[0], r.buf = in, r.len = sizeof(in);
	ck_assert_int_eq(urnet_engine_call(engine, prep_write, &w, 0), (int)sizeof(out));
	ck_assert_int_eq(urnet_engine_call(engine, prep_read, &r, 0), (int)sizeof(out));
	ck_assert_str_eq(in, out);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(read_write_pipe_async)
{
	char out[] = "async data", in[sizeof(out)] = { 0 };
	struct job w = JOB_INIT, r = JOB_INIT;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	w.fd = p[1], w.buf = out, w.len = sizeof(out);
	r.fd = p[0], r.buf = in, r.len = sizeof(in);
	/* The write first, so the syscall backend (serial) cannot block on the read. */
	ck_assert_int_eq(urnet_engine_submit(engine, prep_write, on_done, &w), 0);
	ck_assert_int_eq(urnet_engine_submit(engine, prep_read, on_done, &r), 0);
	wait_done(&w, 1);
	wait_done(&r, 1);
	ck_assert_int_eq(w.d.res, (int)sizeof(out));
	ck_assert_int_eq(r.d.res, (int)sizeof(out));
	ck_assert_str_eq(in, out);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(timeout_blocking_expires)
{
	struct job t = JOB_INIT;
	int64_t start = urnet_now_ns();

	t.ts.tv_nsec = 20 * 1000 * 1000;
	ck_assert_int_eq(urnet_engine_call(engine, prep_timeout, &t, 0), -ETIME);
	ck_assert_int_ge(urnet_now_ns() - start, 20 * 1000 * 1000);
}
END_TEST

START_TEST(timeout_async_expires)
{
	struct job t = JOB_INIT;

	t.ts.tv_nsec = 10 * 1000 * 1000;
	ck_assert_int_eq(urnet_engine_submit(engine, prep_timeout, on_done, &t), 0);
	wait_done(&t, 1);
	ck_assert_int_eq(t.d.res, -ETIME);
}
END_TEST

START_TEST(bad_arguments)
{
	struct urnet_engine_config cfg;

	ck_assert_int_eq(urnet_engine_call(engine, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(urnet_engine_call(engine, prep_nop, NULL, -5), -EINVAL);
	ck_assert_int_eq(urnet_engine_submit(engine, prep_nop, NULL, NULL), -EINVAL);
	ck_assert_int_eq(urnet_engine_submit(NULL, prep_nop, on_done, NULL), -EINVAL);
	ck_assert_int_eq(urnet_engine_close(NULL), -EINVAL);
	urnet_engine_config_init(&cfg);
	cfg.backend = 42;
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- deadlines */

START_TEST(deadline_expires_blocked_read)
{
	char buf[8];
	struct job r = JOB_INIT;
	int p[2];
	int64_t start = urnet_now_ns();

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	r.fd = p[0], r.buf = buf, r.len = sizeof(buf);
	ck_assert_int_eq(urnet_engine_call(engine, prep_read, &r, start + 30 * 1000 * 1000),
			 -ETIMEDOUT);
	ck_assert_int_ge(urnet_now_ns() - start, 30 * 1000 * 1000);
	/* The cancelled read let go of buf: data written now stays in the pipe. */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(deadline_in_past_submits_nothing)
{
	struct urnet_engine_stats before, after;

	urnet_engine_get_stats(engine, &before);
	ck_assert_int_eq(urnet_engine_call(engine, prep_nop, NULL, urnet_now_ns() - SEC), -ETIMEDOUT);
	ck_assert_int_eq(urnet_engine_call(engine, prep_nop, NULL, 1), -ETIMEDOUT);
	urnet_engine_get_stats(engine, &after);
	ck_assert_uint_eq(after.submitted, before.submitted);
	ck_assert_uint_eq(after.syscall_ops, before.syscall_ops);
}
END_TEST

START_TEST(deadline_far_future_completes)
{
	char out[] = "ok", in[3] = { 0 };
	struct job w = JOB_INIT, r = JOB_INIT;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	w.fd = p[1], w.buf = out, w.len = sizeof(out);
	r.fd = p[0], r.buf = in, r.len = sizeof(in);
	ck_assert_int_eq(urnet_engine_call(engine, prep_write, &w, urnet_now_ns() + 3600 * SEC), 3);
	ck_assert_int_eq(urnet_engine_call(engine, prep_read, &r, urnet_now_ns() + 3600 * SEC), 3);
	ck_assert_str_eq(in, "ok");
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(deadline_zero_means_none)
{
	struct job t = JOB_INIT;

	t.ts.tv_nsec = 5 * 1000 * 1000;
	ck_assert_int_eq(urnet_engine_call(engine, prep_timeout, &t, 0), -ETIME);
}
END_TEST

/* A deadline on a long timeout cancels it: the kernel's -ECANCELED reads -ETIMEDOUT. */
START_TEST(deadline_cancels_timeout_op)
{
	struct job t = JOB_INIT;
	int64_t start = urnet_now_ns();

	t.ts.tv_sec = 3600;
	ck_assert_int_eq(urnet_engine_call(engine, prep_timeout, &t, start + 20 * 1000 * 1000),
			 -ETIMEDOUT);
	ck_assert_int_lt(urnet_now_ns() - start, 10 * SEC);
}
END_TEST

/* ---------------------------------------------------------------- concurrency */

#define HAMMER_THREADS 64
#define HAMMER_ROUNDS 200

struct hammer {
	int id;
	int errors;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	int p[2], i;

	if (pipe2(p, O_CLOEXEC)) {
		h->errors++;
		return NULL;
	}
	for (i = 0; i < HAMMER_ROUNDS; i++) {
		unsigned char out[16], in[16];
		struct job w = { .fd = p[1], .buf = out, .len = sizeof(out) };
		struct job r = { .fd = p[0], .buf = in, .len = sizeof(in) };

		memset(out, (h->id * 31 + i) & 0xff, sizeof(out));
		memset(in, 0, sizeof(in));
		if (urnet_engine_call(engine, prep_write, &w, 0) != (int)sizeof(out) ||
		    urnet_engine_call(engine, prep_read, &r, 0) != (int)sizeof(in) ||
		    memcmp(in, out, sizeof(in)) || urnet_engine_call(engine, prep_nop, NULL, 0) != 0)
			h->errors++;
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

/* HAMMER_THREADS threads of blocking calls on the engine at once, all right. */
static void run_hammers(void)
{
	pthread_t t[HAMMER_THREADS];
	struct hammer h[HAMMER_THREADS];
	int i;

	for (i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ i, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(h[i].errors, 0);
	}
}

START_TEST(many_threads_one_engine)
{
	run_hammers();
}
END_TEST

static void count_done(int res, unsigned flags, void *arg)
{
	struct counter *c = ((struct job *)arg)->c;

	(void)flags;
	if (res != 0)
		atomic_fetch_add(&c->bad, 1);
	atomic_fetch_add(&c->n, 1);
}

/* More async operations in flight than the ring has entries. */
START_TEST(async_burst_beyond_ring_size)
{
	struct urnet_engine_config cfg;
	struct counter c = { 0, 0 };
	struct job j = { .c = &c };
	urnet_engine *small;
	int i;

	urnet_engine_config_init(&cfg);
	cfg.ring_entries = 8;
	small = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(small);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(urnet_engine_submit(small, prep_nop, count_done, &j), 0);
	while (atomic_load(&c.n) < 1000)
		sched_yield();
	ck_assert_int_eq(atomic_load(&c.bad), 0);
	ck_assert_int_eq(urnet_engine_close(small), 0);
}
END_TEST

/*
 * An event loop submits its next steps from its callbacks.  Each
 * completion here submits two more until a tree of TREE_OPS operations has
 * run; on an 8-entry ring the callbacks of one batch fill the SQ, so
 * submits from a callback must also work when the SQ is full.
 */
#define TREE_DEPTH	10
#define TREE_OPS	((1 << (TREE_DEPTH + 1)) - 1)

struct tree {
	urnet_engine *e;
	_Atomic int done;
	_Atomic int bad;	/* a failed submit, an error, a foreign thread */
	pthread_t engine_thread;
	_Atomic int engine_thread_known;
	struct tree_node { struct tree *t; int depth; } nodes[TREE_OPS];
	_Atomic int next;
};

static void tree_done(int res, unsigned flags, void *arg);

static void tree_submit(struct tree *t, int depth)
{
	int i = atomic_fetch_add(&t->next, 1);

	t->nodes[i] = (struct tree_node){ t, depth };
	if (urnet_engine_submit(t->e, prep_nop, tree_done, &t->nodes[i]) != 0)
		atomic_fetch_add(&t->bad, 1);
}

static void tree_done(int res, unsigned flags, void *arg)
{
	struct tree_node *n = arg;
	struct tree *t = n->t;

	(void)flags;
	if (!atomic_exchange(&t->engine_thread_known, 1))
		t->engine_thread = pthread_self();
	else if (!pthread_equal(t->engine_thread, pthread_self()))
		atomic_fetch_add(&t->bad, 1);
	if (res != 0)
		atomic_fetch_add(&t->bad, 1);
	if (n->depth < TREE_DEPTH) {
		tree_submit(t, n->depth + 1);
		tree_submit(t, n->depth + 1);
	}
	atomic_fetch_add(&t->done, 1);
}

START_TEST(submit_from_callbacks_beyond_ring_size)
{
	struct urnet_engine_config cfg;
	struct tree *t = calloc(1, sizeof(*t));
	int i;

	ck_assert_ptr_nonnull(t);
	urnet_engine_config_init(&cfg);
	cfg.ring_entries = 8;
	t->e = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(t->e);
	tree_submit(t, 0);
	for (i = 0; i < 20000 && atomic_load(&t->done) < TREE_OPS; i++)
		usleep(500);
	ck_assert_int_eq(atomic_load(&t->done), TREE_OPS);
	ck_assert_int_eq(atomic_load(&t->bad), 0);
	ck_assert_int_eq(urnet_engine_close(t->e), 0);
	ck_assert_int_eq(atomic_load(&t->next), TREE_OPS);
	free(t);
}
END_TEST

/* ---------------------------------------------------------------- buffer rings */

#define BR_COUNT	4
#define BR_SIZE		64
#define BR_GROUP	7

/* What a multishot recv selecting from a buffer ring delivered. */
struct br_recv {
	urnet_buf_ring *br;
	int fd;
	_Atomic bool give_back;	/* put each buffer back from the callback */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	int res[16];
	unsigned flags[16];
	char data[16][BR_SIZE + 1];
	int put_res[16];
};

static void br_recv_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct br_recv *r = arg;

	io_uring_prep_recv_multishot(sqe, r->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BR_GROUP;
}

static void br_recv_done(int res, unsigned flags, void *arg)
{
	struct br_recv *r = arg;
	int i;

	pthread_mutex_lock(&r->lock);
	i = r->count < 16 ? r->count : 15;
	r->res[i] = res;
	r->flags[i] = flags;
	r->put_res[i] = 1;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		memcpy(r->data[i], urnet_buf_ring_buf(r->br, bid), (size_t)res);
		if (atomic_load(&r->give_back))
			r->put_res[i] = urnet_buf_ring_put(r->br, bid);
	}
	r->count++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static bool br_wait(struct br_recv *r, int count)
{
	struct timespec until;
	bool got;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&r->lock);
	while (r->count < count && ret == 0)
		ret = pthread_cond_timedwait(&r->cond, &r->lock, &until);
	got = r->count >= count;
	pthread_mutex_unlock(&r->lock);
	return got;
}

/*
 * One multishot recv, armed once, reads message after message into
 * buffers it picks from the ring; the buffers the callback puts back are
 * picked again.  Without them the recv ends with -ENOBUFS.
 */
START_TEST(buf_ring_feeds_multishot_recv)
{
	static const char *msgs[] = { "one", "two", "three", "four", "five", "six" };
	struct br_recv *r = calloc(1, sizeof(*r));
	unsigned seen_bids = 0;
	int sv[2], i, n;

	ck_assert_ptr_nonnull(r);
	errno = 0;
	r->br = urnet_buf_ring_new(engine, BR_GROUP, BR_COUNT, BR_SIZE);
	if (is_syscall()) {
		ck_assert_ptr_null(r->br);
		ck_assert_int_eq(errno, EOPNOTSUPP);
		free(r);
		return;
	}
	ck_assert_msg(r->br, "urnet_buf_ring_new: %s", strerror(errno));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->fd = sv[0];
	atomic_store(&r->give_back, true);
	ck_assert_int_eq(urnet_engine_submit(engine, br_recv_prep, br_recv_done, r), 0);

	/* More messages than buffers: they come back and are used again. */
	n = 6;
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(write(sv[1], msgs[i], strlen(msgs[i])), (ssize_t)strlen(msgs[i]));
		ck_assert(br_wait(r, i + 1));
		ck_assert_int_eq(r->res[i], (int)strlen(msgs[i]));
		ck_assert(r->flags[i] & IORING_CQE_F_MORE);
		ck_assert(r->flags[i] & IORING_CQE_F_BUFFER);
		ck_assert_uint_lt(r->flags[i] >> IORING_CQE_BUFFER_SHIFT, BR_COUNT);
		seen_bids |= 1u << (r->flags[i] >> IORING_CQE_BUFFER_SHIFT);
		ck_assert_str_eq(r->data[i], msgs[i]);
		ck_assert_int_eq(r->put_res[i], 0);
	}
	ck_assert_uint_eq(seen_bids, (1u << BR_COUNT) - 1);

	/* Keep them: four more messages fill every buffer, the fifth has none. */
	atomic_store(&r->give_back, false);
	for (i = 0; i < BR_COUNT + 1; i++) {
		ck_assert_int_eq(write(sv[1], "x", 1), 1);
		ck_assert(br_wait(r, n + i + 1));
		if (i < BR_COUNT) {
			ck_assert_int_eq(r->res[n + i], 1);
			ck_assert(r->flags[n + i] & IORING_CQE_F_MORE);
		}
	}
	ck_assert_int_eq(r->res[n + BR_COUNT], -ENOBUFS);
	ck_assert(!(r->flags[n + BR_COUNT] & IORING_CQE_F_MORE));

	ck_assert_int_eq(urnet_buf_ring_free(r->br), 0);
	close(sv[0]);
	close(sv[1]);
	free(r);
}
END_TEST

START_TEST(buf_ring_bad_arguments)
{
	urnet_buf_ring *br;

	errno = 0;
	ck_assert_ptr_null(urnet_buf_ring_new(NULL, 1, 4, 64));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_buf_ring_new(engine, 1, 3, 64));	/* not a power of two */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_buf_ring_new(engine, 1, 0, 64));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_buf_ring_new(engine, 1, 65536, 64));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_buf_ring_new(engine, 1, 4, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_buf_ring_put(NULL, 0), -EINVAL);
	ck_assert_int_eq(urnet_buf_ring_free(NULL), -EINVAL);
	ck_assert_ptr_null(urnet_buf_ring_buf(NULL, 0));
	if (is_syscall())
		return;

	br = urnet_buf_ring_new(engine, 1, 4, 64);
	ck_assert_ptr_nonnull(br);
	errno = 0;
	ck_assert_ptr_null(urnet_buf_ring_new(engine, 1, 4, 64));	/* group taken */
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_nonnull(urnet_buf_ring_buf(br, 3));
	ck_assert_ptr_null(urnet_buf_ring_buf(br, 4));
	ck_assert_int_eq(urnet_buf_ring_put(br, 4), -EINVAL);
	/* The ring has one producer, the engine thread. */
	ck_assert_int_eq(urnet_buf_ring_put(br, 0), -EPERM);
	ck_assert_int_eq(urnet_buf_ring_free(br), 0);
	/* Freed, the group can be registered again. */
	br = urnet_buf_ring_new(engine, 1, 4, 64);
	ck_assert_ptr_nonnull(br);
	ck_assert_int_eq(urnet_buf_ring_free(br), 0);
}
END_TEST

/* A ring outliving its engine can still be freed. */
START_TEST(buf_ring_free_after_engine_close)
{
	urnet_engine *e = urnet_engine_new(NULL);
	urnet_buf_ring *br;

	ck_assert_ptr_nonnull(e);
	if (is_syscall()) {
		ck_assert_int_eq(urnet_engine_close(e), 0);
		return;
	}
	br = urnet_buf_ring_new(e, 2, 8, 128);
	ck_assert_ptr_nonnull(br);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	ck_assert_int_eq(urnet_buf_ring_free(br), 0);
}
END_TEST

/* A blocking call from a callback could never complete: refused. */
static void call_from_callback(int res, unsigned flags, void *arg)
{
	struct job *j = arg;

	(void)res;
	(void)flags;
	on_done(urnet_engine_call(engine, prep_nop, NULL, 0), 0, j);
}

START_TEST(blocking_call_from_callback_refused)
{
	struct job j = JOB_INIT;

	ck_assert_int_eq(urnet_engine_submit(engine, prep_nop, call_from_callback, &j), 0);
	wait_done(&j, 1);
	ck_assert_int_eq(j.d.res, -EDEADLK);
}
END_TEST

/* ---------------------------------------------------------------- shutdown */

struct blocked_read {
	urnet_engine *e;
	int fd;
	int res;
};

static void *blocked_read_main(void *arg)
{
	struct blocked_read *b = arg;
	char buf[4];
	struct job r = { .fd = b->fd, .buf = buf, .len = sizeof(buf) };

	b->res = urnet_engine_call(b->e, prep_read, &r, 0);
	return NULL;
}

/* Wait (bounded) until the engine counts `n` parked callers. */
static bool wait_parked(urnet_engine *e, uint64_t n)
{
	struct urnet_engine_stats st;
	int i;

	for (i = 0; i < 20000; i++) {
		urnet_engine_get_stats(e, &st);
		if (st.parked >= n)
			return true;
		usleep(500);
	}
	return false;
}

START_TEST(close_with_pending_operations)
{
	struct counter c = { 0, 0 };
	struct blocked_read b;
	struct job t = { .ts = { 3600, 0 }, .c = &c };
	pthread_t th;
	urnet_engine *e;
	int p[2];

	/* A plain blocking read cannot be interrupted: io_uring backend only. */
	if (is_syscall())
		return;
	e = urnet_engine_new(NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	b = (struct blocked_read){ e, p[0], 1 };
	ck_assert_int_eq(pthread_create(&th, NULL, blocked_read_main, &b), 0);
	ck_assert(wait_parked(e, 1));
	ck_assert_int_eq(urnet_engine_submit(e, prep_timeout, count_done, &t), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(b.res, -ECANCELED);
	ck_assert_int_eq(atomic_load(&c.n), 1);	/* the timeout's callback ran... */
	ck_assert_int_eq(atomic_load(&c.bad), 1);	/* ...with an error */
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Every queued operation's callback runs exactly once, whatever the backend. */
START_TEST(close_with_queued_operations)
{
	struct counter c = { 0, 0 };
	struct job j = { .c = &c };
	urnet_engine *e = urnet_engine_new(NULL);
	int i, submitted = 0;

	ck_assert_ptr_nonnull(e);
	for (i = 0; i < 500; i++)
		if (urnet_engine_submit(e, prep_nop, count_done, &j) == 0)
			submitted++;
	ck_assert_int_eq(submitted, 500);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	ck_assert_int_eq(atomic_load(&c.n), 500);
}
END_TEST

/*
 * Callbacks that keep resubmitting while the engine closes: close returns,
 * a submit from a callback is refused from then on, and every operation
 * that was accepted has its callback run exactly once.
 */
struct relay {
	urnet_engine *e;
	_Atomic int accepted;
	_Atomic int done;
	_Atomic int refused;
};

static void relay_done(int res, unsigned flags, void *arg)
{
	struct relay *r = arg;
	int ret;

	(void)res;
	(void)flags;
	atomic_fetch_add(&r->done, 1);
	ret = urnet_engine_submit(r->e, prep_nop, relay_done, r);
	if (ret == 0)
		atomic_fetch_add(&r->accepted, 1);
	else if (ret == -ESHUTDOWN)
		atomic_fetch_add(&r->refused, 1);
}

START_TEST(close_while_callbacks_resubmit)
{
	struct relay r = { 0 };
	int i;

	r.e = urnet_engine_new(NULL);
	ck_assert_ptr_nonnull(r.e);
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(urnet_engine_submit(r.e, prep_nop, relay_done, &r), 0);
		atomic_fetch_add(&r.accepted, 1);
	}
	/* Bounded: the chains are busy long before this. */
	for (i = 0; i < 20000 && atomic_load(&r.done) < 10000; i++)
		usleep(100);
	ck_assert_int_ge(atomic_load(&r.done), 10000);
	ck_assert_int_eq(urnet_engine_close(r.e), 0);
	ck_assert_int_eq(atomic_load(&r.done), atomic_load(&r.accepted));
	ck_assert_int_eq(atomic_load(&r.refused), 16);
}
END_TEST

START_TEST(submit_after_close_fails)
{
	struct urnet__ready r;
	urnet_engine *e = urnet_engine_new(NULL);

	ck_assert_ptr_nonnull(e);
	/* A bound object keeps the engine's memory, so the check is defined. */
	ck_assert_int_eq(urnet__ready_init(&r, e, 0), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	ck_assert_int_eq(urnet_engine_submit(e, prep_nop, count_done, NULL), -ESHUTDOWN);
	ck_assert_int_eq(urnet_engine_call(e, prep_nop, NULL, 0), -ESHUTDOWN);
	urnet__ready_destroy(&r);
}
END_TEST

START_TEST(close_idle_engines_repeatedly)
{
	int i;

	for (i = 0; i < 50; i++) {
		urnet_engine *e = urnet_engine_new(NULL);

		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(urnet_engine_call(e, prep_nop, NULL, 0), 0);
		ck_assert_int_eq(urnet_engine_close(e), 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- default engine */

static void *default_engine_main(void *arg)
{
	*(urnet_engine **)arg = urnet_default_engine();
	return NULL;
}

START_TEST(default_engine_started_once)
{
	urnet_engine *seen[16];
	pthread_t t[16];
	int i;

	for (i = 0; i < 16; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, default_engine_main, &seen[i]), 0);
	for (i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	ck_assert_ptr_nonnull(seen[0]);
	for (i = 1; i < 16; i++)
		ck_assert_ptr_eq(seen[i], seen[0]);
	ck_assert_uint_eq(urnet_engine_count(), 1);
	ck_assert_int_eq(urnet_engine_close(seen[0]), -EINVAL);
	ck_assert_int_eq(urnet_engine_call(seen[0], prep_nop, NULL, 0), 0);
}
END_TEST

START_TEST(default_engines_sharded)
{
	setenv("URNET_ENGINES", "3", 1);
	ck_assert_uint_eq(urnet_engine_count(), 3);
	ck_assert_ptr_ne(urnet_engine_pick(0), urnet_engine_pick(1));
	ck_assert_ptr_ne(urnet_engine_pick(1), urnet_engine_pick(2));
	ck_assert_ptr_eq(urnet_engine_pick(3), urnet_engine_pick(0));
	ck_assert_ptr_eq(urnet_default_engine(), urnet_engine_pick(0));
}
END_TEST

START_TEST(backend_follows_environment)
{
	ck_assert_str_eq(urnet_engine_backend(urnet_default_engine()),
			 is_syscall() ? "syscall" : "io_uring");
	ck_assert_str_eq(urnet_engine_backend(NULL), "none");
}
END_TEST

START_TEST(stats_line_at_exit)
{
	char buf[1024] = { 0 };
	ssize_t n, len = 0;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		setenv("URNET_STATS", "1", 1);
		if (urnet_engine_call(urnet_default_engine(), prep_nop, NULL, 0) != 0)
			_exit(3);
		exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_ptr_nonnull(strstr(buf, "urnet-stats: "));
	ck_assert_ptr_nonnull(strstr(buf, is_syscall() ? "backend=syscall" : "backend=io_uring"));
	ck_assert_ptr_nonnull(strstr(buf, "submitted="));
	ck_assert_ptr_nonnull(strstr(buf, "completed="));
	if (!is_syscall())
		ck_assert_ptr_null(strstr(buf, "submitted=0 "));
}
END_TEST

/* io_uring instances among this process's fds. */
static int count_rings(void)
{
	char path[300], target[64];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = 0;
			if (strstr(target, "io_uring"))
				n++;
		}
	}
	closedir(d);
	return n;
}

START_TEST(fork_child_gets_its_own_engine)
{
	urnet_engine *parent = urnet_default_engine();
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(parent);
	ck_assert_int_eq(urnet_engine_call(parent, prep_nop, NULL, 0), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		urnet_engine *child;

		/* The parent's ring is not kept open in the child... */
		if (count_rings() != 0)
			_exit(2);
		if (urnet_engine_call(parent, prep_nop, NULL, 0) != -ESHUTDOWN)
			_exit(4);
#ifndef __SANITIZE_THREAD__
		/*
		 * ...and starts an engine of its own on first use.  (ThreadSanitizer
		 * cannot start threads in the child of a multi-threaded process.)
		 */
		child = urnet_default_engine();
		if (!child || child == parent || urnet_engine_call(child, prep_nop, NULL, 0) != 0)
			_exit(3);
		if (!is_syscall() && count_rings() != 1)
			_exit(5);
#else
		(void)child;
#endif
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(urnet_engine_call(parent, prep_nop, NULL, 0), 0);
}
END_TEST

START_TEST(engine_thread_is_named)
{
	char path[300], name[32] = { 0 };
	bool found = false;
	DIR *d;

	ck_assert_ptr_nonnull(urnet_default_engine());
	struct dirent *de;

	d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) && !strncmp(name, "urnet-engine", 12))
			found = true;
		fclose(f);
	}
	closedir(d);
	ck_assert(found);
}
END_TEST

/* ---------------------------------------------------------------- readiness */

START_TEST(ready_wait_wakes_on_data)
{
	struct urnet__ready r;
	uint32_t snap;
	char c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	snap = urnet__ready_snapshot(&r, URNET__READ);
	ck_assert_int_eq(recv(sv[0], &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(write(sv[1], "z", 1), 1);
	ck_assert_int_eq(urnet__ready_wait(&r, URNET__READ, snap, urnet_now_ns() + 10 * SEC, 0), 0);
	ck_assert_int_eq(recv(sv[0], &c, 1, MSG_DONTWAIT), 1);
	ck_assert_int_eq(c, 'z');
	urnet__ready_close(&r);
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(ready_wait_deadline)
{
	struct urnet__ready r;
	int sv[2];
	int64_t start = urnet_now_ns();

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	ck_assert_int_eq(urnet__ready_wait(&r, URNET__READ, urnet__ready_snapshot(&r, URNET__READ),
					   start + 20 * 1000 * 1000, 0), -ETIMEDOUT);
	ck_assert_int_ge(urnet_now_ns() - start, 20 * 1000 * 1000);
	ck_assert_int_eq(urnet__ready_wait(&r, URNET__READ, 0, start - 1, 0), -ETIMEDOUT);
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

struct ready_waiter {
	struct urnet__ready *r;
	int dir;
	int res;
	int64_t deadline_ns;
};

static void *ready_waiter_main(void *arg)
{
	struct ready_waiter *w = arg;

	w->res = urnet__ready_wait(w->r, w->dir, urnet__ready_snapshot(w->r, w->dir),
				   w->deadline_ns, 0);
	return NULL;
}

START_TEST(ready_close_wakes_waiters)
{
	struct ready_waiter w[2];
	struct urnet__ready r;
	pthread_t t[2];
	int sv[2], i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	/* Fill the send buffer so a writer really has to wait. */
	while (send(sv[0], &sv, sizeof(sv), MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	for (i = 0; i < 2; i++) {
		w[i] = (struct ready_waiter){ &r, i == 0 ? URNET__READ : URNET__WRITE, 1, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, ready_waiter_main, &w[i]), 0);
	}
	ck_assert(wait_parked(engine, 2));
	urnet__ready_close(&r);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].res, -ECANCELED);
	}
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Waits on an object whose file is watched sleep on undisturbed while the
 * number names that file, however long; once the number names another
 * file they are woken (after a quiet second or more); a wait on another
 * object sleeps on to its deadline; with no waiter left, the engine stops
 * ticking.
 */
START_TEST(ready_waits_woken_only_when_the_number_names_another_file)
{
	struct urnet__ready watched, other;
	struct urnet_engine_stats before, after;
	struct ready_waiter w;
	struct stat st;
	int a[2], b[2], keep;
	int64_t start;
	uint32_t swept;
	pthread_t t;

	if (is_syscall())
		return;		/* io_uring only: the syscall backend polls the number itself */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b), 0);
	ck_assert_int_eq(urnet__ready_init(&watched, engine, a[0]), 0);
	ck_assert_int_eq(urnet__ready_init(&other, engine, b[0]), 0);
	ck_assert_int_eq(fstat(a[0], &st), 0);
	urnet__ready_watch_identity(&watched, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	w = (struct ready_waiter){ &other, URNET__READ, 1, urnet_now_ns() + 3500 * 1000 * 1000LL };
	ck_assert_int_eq(pthread_create(&t, NULL, ready_waiter_main, &w), 0);

	swept = urnet__ready_swept(&watched);
	start = urnet_now_ns();
	ck_assert_int_eq(urnet__ready_wait(&watched, URNET__READ,
					   urnet__ready_snapshot(&watched, URNET__READ),
					   start + 2500 * 1000 * 1000LL, 0), -ETIMEDOUT);
	ck_assert_uint_eq(urnet__ready_swept(&watched), swept);

	/* The number now names another file; the engine's poll holds the old one. */
	keep = dup(a[0]);
	ck_assert_int_ge(keep, 0);
	ck_assert_int_eq(dup2(b[1], a[0]), a[0]);
	start = urnet_now_ns();
	ck_assert_int_eq(urnet__ready_wait(&watched, URNET__READ,
					   urnet__ready_snapshot(&watched, URNET__READ),
					   start + 10 * SEC, 0), 0);
	ck_assert_uint_eq(urnet__ready_swept(&watched), swept + 1);

	pthread_join(t, NULL);
	ck_assert_int_eq(w.res, -ETIMEDOUT);
	close(keep);

	/* With no one waiting, the sweep's timeout ends after one more tick. */
	usleep(1200 * 1000);
	urnet_engine_get_stats(engine, &before);
	usleep(2200 * 1000);
	urnet_engine_get_stats(engine, &after);
	ck_assert_uint_eq(after.submitted, before.submitted);
	urnet__ready_destroy(&watched);
	urnet__ready_destroy(&other);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
END_TEST

START_TEST(ready_write_wakes_when_peer_drains)
{
	struct urnet__ready r;
	char sink[65536];
	uint32_t snap;
	int sv[2];

	memset(sink, 0, sizeof(sink));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	snap = urnet__ready_snapshot(&r, URNET__WRITE);
	while (send(sv[0], sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
	while (read(sv[1], sink, sizeof(sink)) > 0)
		;
	ck_assert_int_eq(urnet__ready_wait(&r, URNET__WRITE, snap, urnet_now_ns() + 10 * SEC, 0), 0);
	ck_assert_int_gt(send(sv[0], sink, 1, MSG_DONTWAIT), 0);
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(ready_wait_eintr_flag)
{
	struct sigaction sa;
	struct urnet__ready r;
	int sv[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	ualarm(20000, 0);
	ck_assert_int_eq(urnet__ready_wait(&r, URNET__READ, urnet__ready_snapshot(&r, URNET__READ),
					   0, URNET__WAIT_EINTR), -EINTR);
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void *cancel_point_waiter_main(void *arg)
{
	struct urnet__ready *r = arg;

	urnet__ready_wait(r, URNET__READ, urnet__ready_snapshot(r, URNET__READ), 0,
			  URNET__WAIT_CANCELPOINT);
	return NULL;	/* only reached if the cancel was lost */
}

START_TEST(ready_wait_is_cancellation_point)
{
	struct urnet__ready r;
	void *res = NULL;
	pthread_t t;
	int sv[2], i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&r, engine, sv[0]), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, cancel_point_waiter_main, &r), 0);
	ck_assert(wait_parked(engine, 1));
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_int_eq(pthread_join(t, &res), 0);
	ck_assert_ptr_eq(res, PTHREAD_CANCELED);
	/* The cancelled waiter left no count behind. */
	ck_assert_uint_eq(atomic_load(&r.waiters[URNET__READ]), 0);
	/* Nor did many more, cancelled at random points of their wait. */
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, cancel_point_waiter_main, &r), 0);
		if (i & 1)
			sched_yield();
		pthread_cancel(t);
		ck_assert_int_eq(pthread_join(t, &res), 0);
	}
	ck_assert_uint_eq(atomic_load(&r.waiters[URNET__READ]), 0);
	urnet__ready_destroy(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---------------------------------------------------------------- idle polling */

/* The window grows while sleeps are short, and goes away when they are not. */
START_TEST(idle_poll_window_adapts)
{
	const int64_t max = 50000;
	int64_t w;

	/* Short sleeps: a first window, then doubling up to the largest. */
	w = urnet__idle_poll_next_window(0, max, 3000, false);
	ck_assert_int_eq(w, 10000);
	w = urnet__idle_poll_next_window(w, max, 15000, false);
	ck_assert_int_eq(w, 20000);
	w = urnet__idle_poll_next_window(w, max, 45000, false);
	ck_assert_int_eq(w, 40000);
	w = urnet__idle_poll_next_window(w, max, max, false);
	ck_assert_int_eq(w, max);
	/* A sleep the window already covers changes nothing. */
	ck_assert_int_eq(urnet__idle_poll_next_window(w, max, 1000, false), max);

	/* Sleeps longer than a spin would ever wait: halved, then off. */
	w = urnet__idle_poll_next_window(w, max, max + 1, false);
	ck_assert_int_eq(w, 25000);
	w = urnet__idle_poll_next_window(w, max, 10 * max, false);
	ck_assert_int_eq(w, 12500);
	w = urnet__idle_poll_next_window(w, max, 10 * max, false);
	ck_assert_int_eq(w, 6250);
	w = urnet__idle_poll_next_window(w, max, 10 * max, false);
	ck_assert_int_eq(w, 0);

	/* A spin cut short because other threads wanted the CPU: halved too. */
	ck_assert_int_eq(urnet__idle_poll_next_window(40000, max, 1000, true), 20000);
	ck_assert_int_eq(urnet__idle_poll_next_window(6000, max, 1000, true), 0);

	/* Polling switched off (URNET_ENGINE_POLL_US=0) stays off. */
	ck_assert_int_eq(urnet__idle_poll_next_window(0, 0, 0, false), 0);
	ck_assert_int_eq(urnet__idle_poll_next_window(0, 0, 5000, false), 0);
}
END_TEST

/* Only a few conversations bouncing back and forth make the engine poll. */
START_TEST(idle_poll_only_for_few_sources)
{
	uint64_t none[8] = { 0 };
	uint64_t one[8] = { 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000 };
	uint64_t pingpong[8] = { 0x1001, 0x2001, 0x1001, 0x2001, 0x1001, 0x2001, 0x1001, 0x2001 };
	uint64_t three[8] = { 0x1001, 0x2001, 0x1001, 0x2001, 0x3001, 0x2001, 0x1001, 0x2001 };
	uint64_t busy[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	ck_assert(urnet__idle_poll_few_sources(none, 8));	/* nothing completed yet */
	ck_assert(urnet__idle_poll_few_sources(one, 8));
	ck_assert(urnet__idle_poll_few_sources(pingpong, 8));
	ck_assert(!urnet__idle_poll_few_sources(three, 8));
	ck_assert(!urnet__idle_poll_few_sources(busy, 8));
	ck_assert(urnet__idle_poll_few_sources(busy, 2));
}
END_TEST

/*
 * With the largest window the engine allows: many threads at once (too
 * many sources for the engine to spin), then one caller at a time, whose
 * requests arrive while the engine spins and need not wake it; and closing
 * the engine right after stops the spin.
 */
START_TEST(idle_poll_longest_window_serves_everything)
{
	ck_assert_int_eq(urnet_engine_close(engine), 0);
	setenv("URNET_ENGINE_POLL_US", "10000", 1);
	engine = urnet_engine_new(NULL);
	unsetenv("URNET_ENGINE_POLL_US");
	ck_assert_ptr_nonnull(engine);
	run_hammers();
	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(urnet_engine_call(engine, prep_nop, NULL, 0), 0);
}
END_TEST

/*
 * Every engine knob the environment sets is a config field too: the
 * environment fills the fields in, zero means the default, and a value
 * out of range is refused.
 */
START_TEST(config_fields_from_environment)
{
	struct urnet_engine_config cfg;
	urnet_engine *e;

	setenv("URNET_ENGINE_POLL_US", "0", 1);
	setenv("URNET_ENGINE_SLICE_US", "20", 1);
	setenv("URNET_NO_RING_FUTEX", "1", 1);
	urnet_engine_config_init(&cfg);
	unsetenv("URNET_ENGINE_POLL_US");
	unsetenv("URNET_ENGINE_SLICE_US");
	unsetenv("URNET_NO_RING_FUTEX");
	ck_assert_int_eq(cfg.poll_us, -1);
	ck_assert_int_eq(cfg.slice_us, 20);
	ck_assert_int_eq(cfg.no_ring_futex, 1);
	for (unsigned i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++)
		ck_assert_uint_eq(cfg.reserved[i], 0);
	e = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(urnet_engine_call(e, prep_nop, NULL, 0), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);

	urnet_engine_config_init(&cfg);
	ck_assert_int_eq(cfg.poll_us, 0);
	ck_assert_int_eq(cfg.slice_us, 0);
	ck_assert_int_eq(cfg.no_ring_futex, 0);
	cfg.poll_us = 10001;
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
	cfg.poll_us = 0;
	cfg.slice_us = -2;
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = tcase_create("generic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, nop_blocking);
	tcase_add_test(tc, nop_async_runs_on_engine_thread);
	tcase_add_test(tc, read_write_pipe_blocking);
	tcase_add_test(tc, read_write_pipe_async);
	tcase_add_test(tc, timeout_blocking_expires);
	tcase_add_test(tc, timeout_async_expires);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, config_fields_from_environment);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadline");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, deadline_expires_blocked_read);
	tcase_add_test(tc, deadline_in_past_submits_nothing);
	tcase_add_test(tc, deadline_far_future_completes);
	tcase_add_test(tc, deadline_zero_means_none);
	tcase_add_test(tc, deadline_cancels_timeout_op);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, many_threads_one_engine);
	tcase_add_test(tc, async_burst_beyond_ring_size);
	tcase_add_test(tc, submit_from_callbacks_beyond_ring_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle_poll");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, idle_poll_window_adapts);
	tcase_add_test(tc, idle_poll_only_for_few_sources);
	tcase_add_test(tc, idle_poll_longest_window_serves_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, close_with_pending_operations);
	tcase_add_test(tc, close_with_queued_operations);
	tcase_add_test(tc, close_while_callbacks_resubmit);
	tcase_add_test(tc, submit_after_close_fails);
	tcase_add_test(tc, close_idle_engines_repeatedly);
	suite_add_tcase(s, tc);

	tc = tcase_create("default");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, default_engine_started_once);
	tcase_add_test(tc, default_engines_sharded);
	tcase_add_test(tc, backend_follows_environment);
	tcase_add_test(tc, stats_line_at_exit);
	tcase_add_test(tc, engine_thread_is_named);
	tcase_add_test(tc, fork_child_gets_its_own_engine);
	suite_add_tcase(s, tc);

	tc = tcase_create("readiness");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ready_wait_wakes_on_data);
	tcase_add_test(tc, ready_wait_deadline);
	tcase_add_test(tc, ready_close_wakes_waiters);
	tcase_add_test(tc, ready_write_wakes_when_peer_drains);
	tcase_add_test(tc, ready_wait_eintr_flag);
	tcase_add_test(tc, ready_wait_is_cancellation_point);
	tcase_add_test(tc, ready_waits_woken_only_when_the_number_names_another_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf_ring");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, buf_ring_feeds_multishot_recv);
	tcase_add_test(tc, buf_ring_bad_arguments);
	tcase_add_test(tc, buf_ring_free_after_engine_close);
	tcase_add_test(tc, blocking_call_from_callback_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(engine_suite());
}
