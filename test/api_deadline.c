/* SPDX-License-Identifier: MIT */
/*
 * Deadlines on reads, writes and accepts: one in the past fails at once
 * (even with data waiting), one in the future wakes a blocked call with
 * ETIMEDOUT, later calls keep failing until the deadline is moved or
 * cleared, and moving or clearing it reaches calls already blocked.
 * Timing is only checked one way: a call never times out before its
 * deadline, and returns within generous bounds after it.
 * test/api_deadline-syscall.sh runs it again on the syscall backend.
 */
#include "config.h"

#include <poll.h>
#include <sys/socket.h>

#include "api_util.h"

static urnet_conn *c, *s;

static void pair_setup(void)
{
	api_setup();
	api_tcp_pair(&c, &s);
}

static void pair_teardown(void)
{
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	api_teardown();
}

static void expect_timeout(struct api_blocker *b, int64_t deadline)
{
	api_blocker_join(b);
	ck_assert_int_eq(b->ret, -1);
	ck_assert_int_eq(b->err, ETIMEDOUT);
	ck_assert_int_ge(urnet_now_ns(), deadline);
	ck_assert_int_lt(urnet_now_ns(), deadline + 10 * SEC);
}

/* Give a deadline that was moved away time to pass, then check b still waits. */
static void outlive(struct api_blocker *b, int64_t old_deadline)
{
	while (urnet_now_ns() < old_deadline + 100 * MSEC)
		usleep(10000);
	ck_assert(!atomic_load(&b->done));
	ck_assert(test_wait_sleeping(atomic_load(&b->tid)));
}

START_TEST(past_deadline_fails_at_once)
{
	char buf[8];

	ck_assert_int_eq(urnet_conn_write(s, "data", 4), 4);
	/* Wait until the bytes are there, so only the deadline can fail the read. */
	{
		struct pollfd pfd = { .fd = urnet_conn_fd(c), .events = POLLIN };

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	}
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, 1), 0);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* Only reads: writes have their own deadline. */
	ck_assert_int_eq(urnet_conn_write(c, "w", 1), 1);
	/* Cleared: the waiting data is still there. */
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, 0), 0);
	ck_assert(api_read_full(c, buf, 4));
	ck_assert(!memcmp(buf, "data", 4));

	ck_assert_int_eq(urnet_conn_set_write_deadline(c, urnet_now_ns() - 1), 0);
	ck_assert_int_eq(urnet_conn_write(c, "x", 1), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(urnet_conn_set_deadline(c, urnet_now_ns() + 60 * SEC), 0);
	ck_assert_int_eq(urnet_conn_write(c, "y", 1), 1);
	ck_assert(api_read_full(s, buf, 2));
	ck_assert(!memcmp(buf, "wy", 2));
}
END_TEST

START_TEST(future_deadline_wakes_blocked_read)
{
	struct api_blocker b = { .op = API_READ, .c = c };
	int64_t d = urnet_now_ns() + 200 * MSEC;
	char buf[8];

	ck_assert_int_eq(urnet_conn_set_read_deadline(c, d), 0);
	api_blocker_launch(&b, true);
	expect_timeout(&b, d);
	/* Expired: later reads fail at once, even with data. */
	ck_assert_int_eq(urnet_conn_write(s, "late", 4), 4);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* Moved into the future: the read goes through. */
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, urnet_now_ns() + 60 * SEC), 0);
	ck_assert(api_read_full(c, buf, 4));
	ck_assert(!memcmp(buf, "late", 4));
}
END_TEST

START_TEST(future_deadline_wakes_blocked_write)
{
	struct api_blocker b = { .op = API_WRITE_ALL, .c = c, .len = 64 << 20 };
	int64_t d = urnet_now_ns() + 200 * MSEC;

	api_small_buffers(c);
	ck_assert_int_eq(urnet_conn_set_write_deadline(c, d), 0);
	/* A slow (sanitized) build may still be filling the buffers at d. */
	api_blocker_launch(&b, true);
	expect_timeout(&b, d);
	ck_assert_int_eq(urnet_conn_write(c, "x", 1), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* The read side is untouched by the write deadline. */
	ck_assert_int_eq(urnet_conn_write(s, "r", 1), 1);
	{
		char ch;

		ck_assert_int_eq(urnet_conn_read(c, &ch, 1), 1);
	}
}
END_TEST

/* A call blocked without a deadline gets one. */
START_TEST(deadline_set_while_blocked)
{
	struct api_blocker b = { .op = API_READ, .c = c };
	int64_t d;

	api_blocker_start(&b);
	d = urnet_now_ns() + 100 * MSEC;
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, d), 0);
	expect_timeout(&b, d);
}
END_TEST

/* A deadline moved into the past wakes the blocked call at once. */
START_TEST(deadline_moved_to_past_while_blocked)
{
	struct api_blocker r = { .op = API_READ, .c = c };
	struct api_blocker w = { .op = API_WRITE_ALL, .c = c, .len = 64 << 20 };
	int64_t now;

	api_small_buffers(c);
	ck_assert_int_eq(urnet_conn_set_deadline(c, urnet_now_ns() + 3600 * SEC), 0);
	api_blocker_start(&r);
	api_blocker_start(&w);
	now = urnet_now_ns();
	ck_assert_int_eq(urnet_conn_set_deadline(c, now), 0);
	expect_timeout(&r, now);
	expect_timeout(&w, now);
}
END_TEST

/* A deadline moved later while blocked: the old one passes unnoticed. */
START_TEST(deadline_extended_while_blocked)
{
	struct api_blocker b = { .op = API_READ, .c = c };
	int64_t d0 = urnet_now_ns() + 1 * SEC;

	ck_assert_int_eq(urnet_conn_set_read_deadline(c, d0), 0);
	api_blocker_launch(&b, true);
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, urnet_now_ns() + 3600 * SEC), 0);
	if (urnet_now_ns() >= d0 || atomic_load(&b.done)) {
		/* Too slow a machine to tell; the call may legitimately have timed out. */
		api_blocker_join(&b);
		return;
	}
	outlive(&b, d0);
	ck_assert_int_eq(urnet_conn_write(s, "ok", 2), 2);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, 2);
}
END_TEST

/* Clearing the deadline while blocked: the call waits for data again. */
START_TEST(deadline_cleared_while_blocked)
{
	struct api_blocker b = { .op = API_READ, .c = c };
	int64_t d0 = urnet_now_ns() + 1 * SEC;

	ck_assert_int_eq(urnet_conn_set_deadline(c, d0), 0);
	api_blocker_launch(&b, true);
	ck_assert_int_eq(urnet_conn_set_deadline(c, 0), 0);
	if (urnet_now_ns() >= d0 || atomic_load(&b.done)) {
		api_blocker_join(&b);
		return;
	}
	outlive(&b, d0);
	ck_assert_int_eq(urnet_conn_write(s, "ok", 2), 2);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, 2);
}
END_TEST

/* Deadlines moved back and forth many times while one read stays blocked. */
START_TEST(deadline_moved_repeatedly)
{
	struct api_blocker b = { .op = API_READ, .c = c };
	int64_t d;

	api_blocker_start(&b);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(urnet_conn_set_read_deadline(c, urnet_now_ns() + (10 + i % 7) * SEC), 0);
	ck_assert(!atomic_load(&b.done));
	d = urnet_now_ns() + 50 * MSEC;
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, d), 0);
	expect_timeout(&b, d);
}
END_TEST

START_TEST(accept_deadline)
{
	struct api_blocker b = { .op = API_ACCEPT };
	urnet_conn *a, *d;
	int64_t t;

	b.l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(b.l);
	/* Past: fails at once. */
	ck_assert_int_eq(urnet_listener_set_deadline(b.l, 1), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_listener_accept(b.l));
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* Set while blocked. */
	ck_assert_int_eq(urnet_listener_set_deadline(b.l, 0), 0);
	api_blocker_start(&b);
	t = urnet_now_ns() + 100 * MSEC;
	ck_assert_int_eq(urnet_listener_set_deadline(b.l, t), 0);
	expect_timeout(&b, t);
	/* Cleared: accept works again. */
	ck_assert_int_eq(urnet_listener_set_deadline(b.l, 0), 0);
	d = urnet_dial("tcp4", urnet_listener_addr(b.l), 10 * SEC);
	ck_assert_ptr_nonnull(d);
	a = urnet_listener_accept(b.l);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(urnet_conn_close(a), 0);
	ck_assert_int_eq(urnet_conn_close(d), 0);
	ck_assert_int_eq(urnet_listener_close(b.l), 0);
}
END_TEST

static Suite *api_deadline_suite(void)
{
	Suite *su = suite_create("api_deadline");
	TCase *tc;

	tc = tcase_create("conn");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, past_deadline_fails_at_once);
	tcase_add_test(tc, future_deadline_wakes_blocked_read);
	tcase_add_test(tc, future_deadline_wakes_blocked_write);
	tcase_add_test(tc, deadline_set_while_blocked);
	tcase_add_test(tc, deadline_moved_to_past_while_blocked);
	tcase_add_test(tc, deadline_extended_while_blocked);
	tcase_add_test(tc, deadline_cleared_while_blocked);
	tcase_add_test(tc, deadline_moved_repeatedly);
	suite_add_tcase(su, tc);

	tc = tcase_create("listener");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, accept_deadline);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return test_run_suite(api_deadline_suite());
}
