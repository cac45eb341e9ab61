/* SPDX-License-Identifier: MIT */
/*
 * Short waits left to the kernel (compat/call.c, urnet__call_waits_in_kernel):
 * the first wait on an fd goes to the engine; once a wait was short, the
 * next is the kernel's own blocking call, and once the engine's read poll
 * saw a few reports that nobody waited for it leaves the ring; a wait in
 * the kernel that was long sends the next back to the engine;
 * URNET_KERNEL_WAIT_US=0 sends every wait to the engine; a time limit of
 * urnet's keeps the wait on the engine.  In the kernel everything is the
 * kernel's: SO_RCVTIMEO ends the call with EAGAIN (never early), a handler
 * without SA_RESTART with EINTR, one with SA_RESTART does not end it
 * whatever other handlers are installed, and a close from another thread
 * leaves it waiting on the socket, as on Linux.
 * Each test sets URNET_KERNEL_WAIT_US before its first wait (it is read
 * once per process, and every test runs in a process of its own).
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

#include "compat_util.h"
#include "engine.h"

#define MS 1000000LL

#if defined(__SANITIZE_THREAD__)
/*
 * One case closes an fd that another thread is reading in the kernel:
 * that is the behaviour under test, not a race of urnet's.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:a_close_from_another_thread_leaves_a_kernel_wait_on_the_socket\n";
}
#endif

static void short_wait_us(const char *us)
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
	pid_t tid;	/* the receiver */
};

/* Once the receiver sleeps in its recv (a few ms), delay_ns more, then "ping". */
static void *send_later_main(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { (time_t)(l->delay_ns / SEC), (long)(l->delay_ns % SEC) };

	ck_assert(test_wait_sleeping(l->tid));
	nanosleep(&ts, NULL);
	ck_assert_int_eq(urnet_send(l->fd, "ping", 4, 0), 4);
	return NULL;
}

/* How one recv on c waited: "ping" is sent on s once it sleeps, after delay_ns more. */
struct waited {
	uint64_t in_kernel;	/* waits that began in the kernel */
	uint64_t from_ring;	/* readiness the ring reported meanwhile */
};

static struct waited recv_sent_later(int c, int s, int64_t delay_ns)
{
	struct later l = { .fd = s, .delay_ns = delay_ns, .tid = test_gettid() };
	uint64_t ring = ring_reports(), kernel = urnet__kernel_wait_count();
	uint64_t parked = test_parked_total();
	char buf[8];

	ck_assert_int_eq(pthread_create(&l.th, NULL, send_later_main, &l), 0);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(pthread_join(l.th, NULL), 0);
	kernel = urnet__kernel_wait_count() - kernel;
	/* It waited: on the engine, or in the kernel. */
	ck_assert(test_parked_total() > parked || kernel > 0);
	return (struct waited){ kernel, ring_reports() - ring };
}

START_TEST(after_a_short_wait_the_kernel_waits_and_the_ring_goes_quiet)
{
	struct waited w;
	int c, s;

	short_wait_us("1000000");
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
	for (int i = 0; i < URNET__POLL_UNUSED_MAX + 1; i++) {
		w = recv_sent_later(c, s, 20 * MS);
		ck_assert_uint_eq(w.in_kernel, 1);
	}
	for (int i = 0; i < 3; i++) {
		w = recv_sent_later(c, s, 20 * MS);
		ck_assert_uint_eq(w.in_kernel, 1);
		ck_assert_uint_eq(w.from_ring, 0);
	}
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_long_wait_in_the_kernel_sends_the_next_back_to_the_engine)
{
	struct waited w;
	int c, s;

	short_wait_us("100000");
	cu_setup();
	cu_pair(AF_INET, &c, &s);
	recv_sent_later(c, s, 1 * MS);
	w = recv_sent_later(c, s, 400 * MS);
	ck_assert_uint_eq(w.in_kernel, 1);
	/* That one was long: the next goes to the engine. */
	w = recv_sent_later(c, s, 1 * MS);
	ck_assert_uint_eq(w.in_kernel, 0);
	ck_assert(w.from_ring > 0 || !on_ring());
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(zero_sends_every_wait_to_the_engine)
{
	struct waited w;
	int c, s;

	short_wait_us("0");
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

/*
 * A connected pair whose next read on *c the kernel makes (a short wait
 * first), with a window of 1 s; the count of such calls so far.
 */
static uint64_t hot_pair(int *c, int *s)
{
	short_wait_us("1000000");
	cu_setup();
	cu_pair(AF_INET, c, s);
	recv_sent_later(*c, *s, 1 * MS);
	return urnet__kernel_wait_count();
}

START_TEST(so_rcvtimeo_ends_a_kernel_wait_with_eagain_never_early)
{
	struct timeval tv = { 0, 50000 };
	int64_t start;
	char buf[8];
	uint64_t kernel;
	int c, s;

	kernel = hot_pair(&c, &s);
	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	start = urnet_now_ns();
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(urnet_now_ns() - start, 50 * MS);
	ck_assert_uint_gt(urnet__kernel_wait_count(), kernel);
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_handler_without_sa_restart_ends_the_wait_with_eintr)
{
	uint64_t kernel;
	int c, s;

	cu_handle_alarm(0);
	kernel = hot_pair(&c, &s);
	cu_eintr_case(c);
	ck_assert_uint_gt(urnet__kernel_wait_count(), kernel);
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

	/* The kernel knows which handler ran: another without SA_RESTART changes nothing. */
	cu_handle_alarm(SA_RESTART);
	ck_assert_int_eq(sigaction(SIGUSR2, &(struct sigaction){ .sa_handler = cu_on_alarm }, NULL), 0);
	kernel = hot_pair(&c, &s);
	cu_restart_case(&b, c, s);
	ck_assert_uint_gt(urnet__kernel_wait_count(), kernel);
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_close_from_another_thread_leaves_a_kernel_wait_on_the_socket)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 4 };
	uint64_t kernel;
	int c, s;

	kernel = hot_pair(&c, &s);
	b.fd = c;
	cu_blocker_start(&b);
	/* As on Linux: the close does not wait for the call, nor end it. */
	ck_assert_int_eq(urnet_close(c), 0);
	ck_assert(test_wait_sleeping(b.tid));
	ck_assert(!atomic_load(&b.done));
	ck_assert_int_eq(urnet_send(s, "late", 4, 0), 4);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 4);
	ck_assert_int_eq(memcmp(b.data, "late", 4), 0);
	ck_assert_uint_gt(urnet__kernel_wait_count(), kernel);
	urnet_close(s);
	cu_teardown();
}
END_TEST

START_TEST(a_time_limit_of_urnets_keeps_the_wait_on_the_engine)
{
	int64_t deadline;
	char buf[8];
	uint64_t kernel;
	int c, s;

	kernel = hot_pair(&c, &s);
	deadline = urnet_now_ns() + 100 * MS;
	ck_assert_int_eq(urnet_thread_set_io_deadline(deadline), 0);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(urnet_now_ns(), deadline);
	ck_assert_uint_eq(urnet__kernel_wait_count(), kernel);
	ck_assert_int_eq(urnet_thread_set_io_deadline(0), 0);
	urnet_close(c);
	urnet_close(s);
	cu_teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compat_kernel_wait");
	TCase *tc = tcase_create("kernel_wait");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, after_a_short_wait_the_kernel_waits_and_the_ring_goes_quiet);
	tcase_add_test(tc, a_long_wait_in_the_kernel_sends_the_next_back_to_the_engine);
	tcase_add_test(tc, zero_sends_every_wait_to_the_engine);
	tcase_add_test(tc, so_rcvtimeo_ends_a_kernel_wait_with_eagain_never_early);
	tcase_add_test(tc, a_handler_without_sa_restart_ends_the_wait_with_eintr);
	tcase_add_test(tc, a_handler_with_sa_restart_does_not_end_the_wait);
	tcase_add_test(tc, a_close_from_another_thread_leaves_a_kernel_wait_on_the_socket);
	tcase_add_test(tc, a_time_limit_of_urnets_keeps_the_wait_on_the_engine);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
