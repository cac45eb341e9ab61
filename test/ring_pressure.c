/* SPDX-License-Identifier: MIT */
/*
 * Ring pressure: an engine with a tiny ring (8 SQ entries, so a 64-entry
 * CQ) and many times that many parked callers, all made ready at once so
 * that the completion queue overflows.  Everything must still complete.
 */
#include "config.h"

#include <liburing.h>

#include "api_util.h"

#define RING 8
#define READERS (RING * 8 * 4)	/* 4x the completion queue */

static urnet_engine *small_engine(void)
{
	struct urnet_engine_config cfg;
	urnet_engine *e;

	urnet_engine_config_init(&cfg);
	cfg.ring_entries = RING;
	e = urnet_engine_new(&cfg);
	ck_assert_msg(e, "engine: %s", strerror(errno));
	return e;
}

struct reader {
	urnet_conn *c;
	pthread_t th;
	_Atomic int stage;	/* 1: about to block, 2: done */
	char got[8];
	ssize_t ret;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	atomic_store(&r->stage, 1);
	r->ret = urnet_conn_read(r->c, r->got, sizeof(r->got));
	atomic_store(&r->stage, 2);
	return NULL;
}

/* READERS conns with a parked reader each; all woken in one burst, twice. */
START_TEST(parked_readers_beyond_cq)
{
	static struct reader rd[READERS];
	static urnet_conn *peer[READERS];
	urnet_engine *e = small_engine();
	urnet_listener *l = urnet_listen_on(e, "tcp4", "127.0.0.1:0");
	struct urnet_engine_stats st;
	int fds;

	ck_assert_ptr_nonnull(l);
	fds = test_count_fds();
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < READERS; i++) {
			if (round == 0) {
				peer[i] = urnet_dial_on(e, "tcp4", urnet_listener_addr(l), 10 * SEC);
				ck_assert_ptr_nonnull(peer[i]);
				rd[i].c = urnet_listener_accept(l);
				ck_assert_ptr_nonnull(rd[i].c);
			}
			atomic_store(&rd[i].stage, 0);
			ck_assert_int_eq(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]), 0);
		}
		/* Wait until every reader has parked on the engine. */
		for (int k = 0; k < 20000; k++) {
			urnet_engine_get_stats(e, &st);
			if (st.parked >= (uint64_t)READERS * (uint64_t)(round + 1))
				break;
			usleep(1000);
		}
		for (int i = 0; i < READERS; i++)
			ck_assert_int_eq(urnet_conn_write(peer[i], "ping", 4), 4);
		for (int i = 0; i < READERS; i++) {
			ck_assert_int_eq(pthread_join(rd[i].th, NULL), 0);
			ck_assert_int_eq(rd[i].ret, 4);
			ck_assert_mem_eq(rd[i].got, "ping", 4);
		}
	}
	for (int i = 0; i < READERS; i++) {
		ck_assert_int_eq(urnet_conn_close(peer[i]), 0);
		ck_assert_int_eq(urnet_conn_close(rd[i].c), 0);
	}
	ck_assert_int_eq(test_count_fds(), fds);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);
}
END_TEST

static void timeout_prep(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_timeout(sqe, arg, 0, 0);
}

struct burst {
	struct __kernel_timespec ts;	/* first: timeout_prep's argument */
	_Atomic int done;
};

static void count_done(int res, unsigned flags, void *arg)
{
	struct burst *b = arg;

	(void)flags;
	if (res == -ETIME)
		atomic_fetch_add(&b->done, 1);
}

/*
 * 40x the completion queue of async timeouts expiring together: every
 * completion is delivered.
 */
START_TEST(async_burst_overflows_cq)
{
	/* 1 ms: the syscall backend runs async operations one after another. */
	static struct burst b = { .ts = { .tv_nsec = 1000 * 1000 } };
	int n = RING * 8 * 40;
	urnet_engine *e = small_engine();

	atomic_store(&b.done, 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(urnet_engine_submit(e, timeout_prep, count_done, &b), 0);
	for (int k = 0; k < 30000 && atomic_load(&b.done) < n; k++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&b.done), n);
	ck_assert_int_eq(urnet_engine_close(e), 0);
}
END_TEST

struct caller {
	urnet_engine *e;
	pthread_t th;
	int res;
};

static void *caller_main(void *arg)
{
	static struct __kernel_timespec ts = { .tv_nsec = 5 * 1000 * 1000 };
	struct caller *c = arg;

	c->res = urnet_engine_call(c->e, timeout_prep, &ts, urnet_now_ns() + 30 * SEC);
	return NULL;
}

/* Blocking calls from 4x the ring size of threads at once. */
START_TEST(blocking_calls_beyond_ring)
{
	static struct caller cl[RING * 8 * 4];
	urnet_engine *e = small_engine();

	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		cl[i].e = e;
		ck_assert_int_eq(pthread_create(&cl[i].th, NULL, caller_main, &cl[i]), 0);
	}
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		ck_assert_int_eq(pthread_join(cl[i].th, NULL), 0);
		ck_assert_int_eq(cl[i].res, -ETIME);
	}
	ck_assert_int_eq(urnet_engine_close(e), 0);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring_pressure");
	TCase *tc = tcase_create("ring_pressure");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, parked_readers_beyond_cq);
	tcase_add_test(tc, async_burst_overflows_cq);
	tcase_add_test(tc, blocking_calls_beyond_ring);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ring_suite());
}
