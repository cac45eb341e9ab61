/* SPDX-License-Identifier: MIT */
/*
 * Process events while threads are parked on the engine: SIGTERM and SIGINT
 * with handlers (the graceful-shutdown pattern), fork with parked threads in
 * the parent, and an engine shut down under 1,000 parked callers.
 */
#include "config.h"

#include <liburing.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "api_util.h"

#define PARKED 32

/* ---------------------------------------------------------------- signals */

static int sig_pipe[2];
static _Atomic int sig_count;

static void on_signal(int sig)
{
	char c = (char)sig;

	atomic_fetch_add(&sig_count, 1);
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is large enough for this test's signals */
	}
}

static void install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: the object API must not care */
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

/*
 * Readers parked on PARKED conns; SIGTERM and SIGINT arrive repeatedly (the
 * kernel picks any thread, parked ones included).  Reads never see EINTR:
 * they go on waiting, get their data, and a final SIGTERM makes the main
 * thread shut everything down, which wakes the rest with ECANCELED.
 */
START_TEST(sigterm_sigint_with_parked_readers)
{
	struct api_blocker b[PARKED];
	urnet_conn *c[PARKED], *s[PARKED];
	char sig;

	ck_assert_int_eq(pipe2(sig_pipe, O_CLOEXEC), 0);
	install(SIGTERM);
	install(SIGINT);
	for (int i = 0; i < PARKED; i++) {
		api_tcp_pair(&c[i], &s[i]);
		b[i] = (struct api_blocker){ .op = API_READ, .c = s[i], .len = 4 };
		api_blocker_start(&b[i]);
	}
	for (int k = 0; k < 50; k++) {
		ck_assert_int_eq(kill(getpid(), k % 2 ? SIGINT : SIGTERM), 0);
		ck_assert_int_eq(read(sig_pipe[0], &sig, 1), 1);
	}
	for (int i = 0; i < PARKED; i++)
		ck_assert(!atomic_load(&b[i].done));
	/* Half get data, the other half are woken by the shutdown. */
	for (int i = 0; i < PARKED / 2; i++)
		ck_assert_int_eq(urnet_conn_write(c[i], "data", 4), 4);
	ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
	ck_assert_int_eq(read(sig_pipe[0], &sig, 1), 1);
	ck_assert_int_eq(sig, SIGTERM);
	for (int i = PARKED / 2; i < PARKED; i++)
		ck_assert_int_eq(urnet_conn_close(s[i]), 0);
	for (int i = 0; i < PARKED; i++) {
		api_blocker_join(&b[i]);
		if (i < PARKED / 2) {
			ck_assert_int_eq(b[i].ret, 4);
			ck_assert_mem_eq(b[i].data, "data", 4);
			ck_assert_int_eq(urnet_conn_close(s[i]), 0);
		} else {
			ck_assert_int_eq(b[i].ret, -1);
			ck_assert_int_eq(b[i].err, ECANCELED);
		}
		ck_assert_int_eq(urnet_conn_close(c[i]), 0);
	}
	ck_assert_int_ge(atomic_load(&sig_count), 51);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
}
END_TEST

/* ---------------------------------------------------------------- fork */

/* The child: a fresh engine of its own, echo over it, exit 0. */
static int child_work(urnet_conn *inherited)
{
	urnet_listener *l;
	urnet_conn *c, *s;
	char buf[5];

#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer cannot start threads in the child of a threaded fork. */
	urnet_conn_close(inherited);
	return 0;
#endif
	l = urnet_listen("tcp4", "127.0.0.1:0");
	if (!l)
		return 1;
	c = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC);
	s = c ? urnet_listener_accept(l) : NULL;
	if (!s)
		return 2;
	if (urnet_conn_write(c, "hello", 5) != 5 || !api_read_full(s, buf, 5) ||
	    memcmp(buf, "hello", 5))
		return 3;
	urnet_conn_close(c);
	urnet_conn_close(s);
	urnet_listener_close(l);
	/* A conn inherited from the parent can be closed without hanging. */
	urnet_conn_close(inherited);
	return 0;
}

START_TEST(fork_with_parked_threads)
{
	struct api_blocker b[PARKED];
	urnet_conn *c[PARKED], *s[PARKED];
	int status;
	pid_t pid;

	for (int i = 0; i < PARKED; i++) {
		api_tcp_pair(&c[i], &s[i]);
		b[i] = (struct api_blocker){ .op = API_READ, .c = s[i], .len = 4 };
		api_blocker_start(&b[i]);
	}
	for (int k = 0; k < 3; k++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			alarm(30);
			_exit(child_work(c[k]));
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child status 0x%x", status);
	}
	/* The parent's parked threads noticed nothing and still get their data. */
	for (int i = 0; i < PARKED; i++)
		ck_assert_int_eq(urnet_conn_write(c[i], "after", 4), 4);
	for (int i = 0; i < PARKED; i++) {
		api_blocker_join(&b[i]);
		ck_assert_int_eq(b[i].ret, 4);
		ck_assert_mem_eq(b[i].data, "afte", 4);
		ck_assert_int_eq(urnet_conn_close(c[i]), 0);
		ck_assert_int_eq(urnet_conn_close(s[i]), 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- engine shutdown */

#define CALLERS 1000

struct parked {
	urnet_engine *e;
	urnet_listener *l;
	int pipe_fd;
	_Atomic int *returned;
	_Atomic pid_t tid;
	int res;
	int err;
};

static void read_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct parked *p = arg;
	static char sink[1];

	io_uring_prep_read(sqe, p->pipe_fd, sink, 1, 0);
}

static void *call_main(void *arg)
{
	struct parked *p = arg;

	atomic_store(&p->tid, test_gettid());
	p->res = urnet_engine_call(p->e, read_prep, p, 0);
	atomic_fetch_add(p->returned, 1);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct parked *p = arg;
	urnet_conn *c;

	atomic_store(&p->tid, test_gettid());
	c = urnet_listener_accept(p->l);

	p->res = c ? 0 : -1;
	p->err = errno;
	if (c)
		urnet_conn_close(c);
	atomic_fetch_add(p->returned, 1);
	return NULL;
}

/*
 * 1,000 callers parked on one engine: blocking io_uring reads of a pipe
 * that never gets data (io_uring backend; the syscall backend runs those
 * in the caller's own thread) or accepts on a listener.  Closing the
 * engine returns every one of them.
 */
START_TEST(engine_shutdown_1000_parked)
{
	static struct parked p[CALLERS];
	static pthread_t th[CALLERS];
	static _Atomic int returned;
	struct urnet_engine_config cfg;
	struct urnet_engine_stats st;
	pthread_attr_t attr;
	urnet_listener *l;
	urnet_engine *e;
	int pfd[2], fds = test_count_fds();
	bool calls;

	urnet_engine_config_init(&cfg);
	e = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	calls = !strcmp(urnet_engine_backend(e), "io_uring");
	l = urnet_listen_on(e, "tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	atomic_store(&returned, 0);
	for (int i = 0; i < CALLERS; i++) {
		p[i] = (struct parked){ .e = e, .l = l, .pipe_fd = pfd[0], .returned = &returned };
		ck_assert_int_eq(pthread_create(&th[i], &attr,
						calls && i % 2 ? call_main : accept_main, &p[i]), 0);
	}
	/* Every caller asleep inside its call: none may start after the close. */
	for (int i = 0; i < CALLERS; i++) {
		for (int k = 0; k < 10000 && !atomic_load(&p[i].tid); k++)
			usleep(1000);
		ck_assert_msg(test_wait_sleeping(atomic_load(&p[i].tid)), "caller %d never parked", i);
	}
	urnet_engine_get_stats(e, &st);
	ck_assert_uint_ge(st.parked, CALLERS);
	ck_assert_int_eq(atomic_load(&returned), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	for (int k = 0; k < 30000 && atomic_load(&returned) < CALLERS; k++)
		usleep(1000);
	if (atomic_load(&returned) < CALLERS) {
		int stuck_calls = 0, stuck_accepts = 0;

		for (int i = 0; i < CALLERS; i++)
			if (thread_state(atomic_load(&p[i].tid)))
				(calls && i % 2) ? stuck_calls++ : stuck_accepts++;
		ck_abort_msg("%d callers never returned (%d engine calls, %d accepts)",
			     CALLERS - atomic_load(&returned), stuck_calls, stuck_accepts);
	}
	for (int i = 0; i < CALLERS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		if (calls && i % 2)
			ck_assert_int_eq(p[i].res, -ECANCELED);
		else
			ck_assert_msg(p[i].res == -1 && p[i].err == ESHUTDOWN,
				      "accept %d: %d, %s", i, p[i].res, strerror(p[i].err));
	}
	ck_assert_int_eq(urnet_listener_close(l), 0);
	close(pfd[0]);
	close(pfd[1]);
	pthread_attr_destroy(&attr);
	ck_assert_int_eq(test_count_fds(), fds);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("process_events");
	TCase *tc = tcase_create("process_events");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, sigterm_sigint_with_parked_readers);
	tcase_add_test(tc, fork_with_parked_threads);
	tcase_add_test(tc, engine_shutdown_1000_parked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(events_suite());
}
