/* SPDX-License-Identifier: MIT */
/*
 * urnet_thread_set_io_deadline: the calling thread's deadline ends a
 * blocking recv (EAGAIN) and a connect to a listener whose backlog is
 * full (EINPROGRESS), an earlier SO_RCVTIMEO of the socket's own still
 * wins, other threads are not bound, and clearing it lets calls wait for
 * ever again.  (The environment's limits are tested under urnet-run by
 * test/preload-iotimeout.sh.)
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>

#include "compat_util.h"

/* No test leaves a deadline behind for the next. */
static void setup(void)
{
	cu_setup();
	ck_assert_int_eq(urnet_thread_set_io_deadline(0), 0);
}

static void teardown(void)
{
	ck_assert_int_eq(urnet_thread_set_io_deadline(0), 0);
	cu_teardown();
}

START_TEST(thread_deadline_ends_a_blocking_recv_with_eagain)
{
	int64_t deadline = urnet_now_ns() + SEC / 5;
	char buf[8];
	int c, s;

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(urnet_thread_set_io_deadline(deadline), 0);
	ck_assert_int_eq(urnet_thread_io_deadline(), deadline);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Never before the deadline. */
	ck_assert_int_ge(urnet_now_ns(), deadline);
	/* Data that is there is read whatever the deadline says: only waits are bounded. */
	ck_assert_int_eq(urnet_send(s, "ab", 2, 0), 2);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), 2);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(an_earlier_so_rcvtimeo_of_the_socket_still_wins)
{
	struct timeval tv = { 0, 100000 };
	char buf[8];
	int c, s;

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(urnet_thread_set_io_deadline(urnet_now_ns() + 3600 * SEC), 0);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* A listener whose accept queue is full: the kernel drops further SYNs. */
static int full_listener(struct caddr *a, int *held)
{
	struct pollfd pf;
	int l = cu_listen(AF_INET, a);

	ck_assert_int_eq(listen(l, 0), 0);
	for (int i = 0; i < 2; i++) {
		held[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(held[i], 0);
		if (connect(held[i], (struct sockaddr *)&a->ss, a->len) < 0 && i == 0) {
			pf = (struct pollfd){ .fd = held[i], .events = POLLOUT };
			ck_assert_int_eq(poll(&pf, 1, 10000), 1);
		}
	}
	return l;
}

START_TEST(thread_deadline_ends_a_connect_to_a_full_backlog_with_einprogress)
{
	struct caddr a;
	int held[2], l = full_listener(&a, held), fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(urnet_thread_set_io_deadline(urnet_now_ns() + SEC / 5), 0);
	ck_assert_int_eq(urnet_connect(fd, (struct sockaddr *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	urnet_close(fd);
	urnet_close(held[0]);
	urnet_close(held[1]);
	cu_unlisten(l, &a);
}
END_TEST

static void *recv_main(void *arg)
{
	struct cu_blocker *b = arg;

	return cu_blocker_main(b);
}

START_TEST(the_deadline_is_the_calling_threads_alone_and_clearing_it_lifts_it)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 2 };
	int c, s;

	cu_pair(AF_INET, &c, &s);
	/* Long past: this thread's waits would end at once... */
	ck_assert_int_eq(urnet_thread_set_io_deadline(1), 0);
	b.fd = c;
	/* ...but another thread's wait goes on until the data comes. */
	atomic_store(&b.tid, 0);
	atomic_store(&b.done, false);
	ck_assert_int_eq(pthread_create(&b.th, NULL, recv_main, &b), 0);
	ck_assert(test_wait_blocked(&b.tid, &b.done, false));
	ck_assert_int_eq(urnet_send(s, "ab", 2, 0), 2);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 2);
	/* Cleared: this thread waits again. */
	ck_assert_int_eq(urnet_thread_set_io_deadline(0), 0);
	ck_assert_int_eq(urnet_thread_io_deadline(), 0);
	b = (struct cu_blocker){ .op = CU_RECV, .len = 2, .fd = c };
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_send(s, "cd", 2, 0), 2);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 2);
	ck_assert_int_eq(urnet_thread_set_io_deadline(-1), -1);
	ck_assert_int_eq(errno, EINVAL);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

static Suite *iotimeout_suite(void)
{
	Suite *s = suite_create("compat_iotimeout");
	TCase *t = tcase_create("thread");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, thread_deadline_ends_a_blocking_recv_with_eagain);
	tcase_add_test(t, an_earlier_so_rcvtimeo_of_the_socket_still_wins);
	tcase_add_test(t, thread_deadline_ends_a_connect_to_a_full_backlog_with_einprogress);
	tcase_add_test(t, the_deadline_is_the_calling_threads_alone_and_clearing_it_lifts_it);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return test_run_suite(iotimeout_suite());
}
