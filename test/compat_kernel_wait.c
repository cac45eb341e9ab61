/* SPDX-License-Identifier: MIT */
/*
 * The first part of a short wait, slept in the kernel on the fd
 * (engine/kernel_wait.c): after a short wait, a wait whose data comes
 * within the window is served by the kernel, and once the engine's read
 * poll saw a few reports that nobody waited for it leaves the ring; a wait
 * that outlasts the window goes on to the engine, and so does the next;
 * URNET_KERNEL_WAIT_US=0 turns it off, and inside the window the kernel's
 * rules still hold: SO_RCVTIMEO ends it with EAGAIN (never early), a
 * signal handler without SA_RESTART with EINTR, one with SA_RESTART does
 * not end it, and a close from another thread ends it with EBADF.
 * Each test sets the window before its first wait (it is read once per
 * process, and every test runs in a process of its own).
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

#include "compat_util.h"
#include "engine.h"

#define MS 1000000LL

static void window_us(const char *us)
{
	ck_assert_int_eq(setenv("URNET_KERNEL_WAIT_US", us, 1), 0);
}

/* Readiness reports of every engine's ring so far. */
static uint64_t ring_reports(void)
{
	struct urnet_engine_stats st;
	uint64_t n = 0;

	for (unsigned i = 0; i < urnet_engine_count(); i++) {
		urnet_engine_get_stats(urnet_engine_pick(i), &st);
		n += st.readiness;
	}
	return n;
}

/* The engines wait on an io_uring ring (the syscall backend's waits are all in the kernel). */
static bool on_ring(void)
{
	return strcmp(urnet_engine_backend(urnet_default_engine()), "io_uring") == 0;
}

struct later {
	pthread_t th;
	int fd;
	int64_t delay_ns;
};

static void *send_later_main(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { (time_t)(l->delay_ns / SEC), (long)(l->delay_ns % SEC) };

	nanosleep(&ts, NULL);
	ck_assert_int_eq(urnet_send(l->fd, "ping", 4, 0), 4);
	return NULL;
}

/* How one recv on c waited: "ping" is sent on s after delay_ns. */
struct waited {
	uint64_t in_kernel;	/* waits that began in the kernel */
	uint64_t from_ring;	/* readiness the ring reported meanwhile */
};

static struct waited recv_sent_later(int c, int s, int64_t delay_ns)
{
	struct later l = { .fd = s, .delay_ns = delay_ns };
	uint64_t ring = ring_reports(), kernel = urnet__kernel_wait_count();
	uint64_t parked = test_parked_total();
	char buf[8];

	ck_assert_int_eq(pthread_create(&l.th, NULL, send_later_main, &l), 0);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(pthread_join(l.th, NULL), 0);
	ck_assert_uint_gt(test_parked_total(), parked);
	return (struct waited){ urnet__kernel_wait_count() - kernel, ring_reports() - ring };
}

START_TEST(a_wait_after_a_short_one_is_served_in_the_kernel_without_the_ring)
{
	struct waited w;
	int c, s;

	window_us("1000000");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	/* The first wait on an fd goes to the engine: nothing says it will be short. */
	w = recv_sent_later(c, s, 20 * MS);
	ck_assert_uint_eq(w.in_kernel, 0);
	ck_assert(w.from_ring > 0 || !on_ring());
	/*
	 * The engine's read poll, armed by that first wait, reports the next
	 * arrivals to nobody: after URNET__POLL_UNUSED_MAX of them it leaves
	 * the ring, and from then on the ring has nothing to do.
	 */
	for (int i = 0; i < URNET__POLL_UNUSED_MAX + 1 && on_ring(); i++) {
		w = recv_sent_later(c, s, 20 * MS);
		ck_assert_uint_eq(w.in_kernel, 1);
	}
	for (int i = 0; i < 3 && on_ring(); i++) {
		w = recv_sent_later(c, s, 20 * MS);
		ck_assert_uint_eq(w.in_kernel, 1);
		ck_assert_uint_eq(w.from_ring, 0);
	}
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_wait_that_outlasts_the_window_goes_on_to_the_engine)
{
	struct waited w;
	int c, s;

	window_us("100000");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	recv_sent_later(c, s, 1 * MS);
	if (on_ring()) {
		w = recv_sent_later(c, s, 400 * MS);
		ck_assert_uint_eq(w.in_kernel, 1);
		ck_assert_uint_gt(w.from_ring, 0);
		/* That one was long: the next goes straight to the engine. */
		w = recv_sent_later(c, s, 1 * MS);
		ck_assert_uint_eq(w.in_kernel, 0);
		ck_assert_uint_gt(w.from_ring, 0);
	}
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_zero_window_sends_every_wait_to_the_engine)
{
	struct waited w;
	int c, s;

	window_us("0");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	for (int i = 0; i < 3; i++) {
		w = recv_sent_later(c, s, 20 * MS);
		ck_assert_uint_eq(w.in_kernel, 0);
		ck_assert(w.from_ring > 0 || !on_ring());
	}
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

/* Make the next wait on c one that begins in the kernel: a short wait first. */
static void short_wait_first(int c, int s)
{
	if (on_ring())
		recv_sent_later(c, s, 1 * MS);
}

START_TEST(so_rcvtimeo_inside_the_window_ends_the_wait_with_eagain_never_early)
{
	struct timeval tv = { 0, 50000 };
	int64_t start;
	char buf[8];
	uint64_t kernel;
	int c, s;

	window_us("1000000");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	short_wait_first(c, s);
	kernel = urnet__kernel_wait_count();
	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	start = urnet_now_ns();
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(urnet_now_ns() - start, 50 * MS);
	ck_assert(urnet__kernel_wait_count() > kernel || !on_ring());
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

static _Atomic int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&alarms, 1);
}

static void handle_alarm(int flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
}

START_TEST(a_handler_without_sa_restart_ends_the_wait_with_eintr)
{
	struct cu_blocker b = { .op = CU_RECV };
	uint64_t kernel;
	int c, s;

	window_us("1000000");
	cu_setup();
	handle_alarm(0);
	cu_pair(AF_INET, &c, &s);
	short_wait_first(c, s);
	kernel = urnet__kernel_wait_count();
	b.fd = c;
	cu_blocker_start(&b);
	pthread_kill(b.th, SIGALRM);
	cu_blocker_join(&b);
	ck_assert_int_eq(atomic_load(&alarms), 1);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, EINTR);
	ck_assert(urnet__kernel_wait_count() > kernel || !on_ring());
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_handler_with_sa_restart_does_not_end_the_wait)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 4 };
	uint64_t kernel;
	int c, s;

	window_us("1000000");
	cu_setup();
	/* Only handlers with SA_RESTART installed: drop the test runner's own. */
	handle_alarm(SA_RESTART);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	cu_pair(AF_INET, &c, &s);
	short_wait_first(c, s);
	kernel = urnet__kernel_wait_count();
	b.fd = c;
	cu_blocker_start(&b);
	pthread_kill(b.th, SIGALRM);
#if !defined(__SANITIZE_THREAD__)
	/* (ThreadSanitizer runs handlers only at the thread's next libc call.) */
	for (int i = 0; i < 10000 && !atomic_load(&alarms); i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&alarms), 1);
#endif
	ck_assert(test_wait_sleeping(b.tid));
	ck_assert(!atomic_load(&b.done));
	ck_assert_int_eq(urnet_send(s, "data", 4, 0), 4);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 4);
	ck_assert_int_eq(memcmp(b.data, "data", 4), 0);
	ck_assert(urnet__kernel_wait_count() > kernel || !on_ring());
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_close_from_another_thread_ends_the_wait_with_ebadf)
{
	struct cu_blocker b = { .op = CU_RECV };
	uint64_t kernel;
	int c, s;

	window_us("200000");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	short_wait_first(c, s);
	kernel = urnet__kernel_wait_count();
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_close(c), 0);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, EBADF);
	ck_assert(urnet__kernel_wait_count() > kernel || !on_ring());
	urnet_close(s);
	cu_teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compat_kernel_wait");
	TCase *tc = tcase_create("kernel_wait");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_wait_after_a_short_one_is_served_in_the_kernel_without_the_ring);
	tcase_add_test(tc, a_wait_that_outlasts_the_window_goes_on_to_the_engine);
	tcase_add_test(tc, a_zero_window_sends_every_wait_to_the_engine);
	tcase_add_test(tc, so_rcvtimeo_inside_the_window_ends_the_wait_with_eagain_never_early);
	tcase_add_test(tc, a_handler_without_sa_restart_ends_the_wait_with_eintr);
	tcase_add_test(tc, a_handler_with_sa_restart_does_not_end_the_wait);
	tcase_add_test(tc, a_close_from_another_thread_ends_the_wait_with_ebadf);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
