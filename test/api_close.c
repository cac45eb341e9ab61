/* SPDX-License-Identifier: MIT */
/*
 * Closing an object from another thread: every call blocked on it (read,
 * write with the socket buffers full, accept; several at once) returns
 * -1/NULL with ECANCELED, the fd is closed once they have left, queued
 * connections of a closed listener are reset, and no fd is leaked.
 * test/api_close-syscall.sh runs it again on the syscall backend.
 */
#include "config.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api_util.h"

static void expect_canceled(struct api_blocker *b)
{
	api_blocker_join(b);
	ck_assert_int_eq(b->ret, -1);
	ck_assert_int_eq(b->err, ECANCELED);
}

START_TEST(close_wakes_blocked_read)
{
	struct api_blocker b = { .op = API_READ };
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	b.c = c;
	api_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	expect_canceled(&b);
	/* The reader dropped the last reference: the fd is gone, the peer sees EOF. */
	{
		char buf[4];

		ck_assert_int_eq(urnet_conn_read(s, buf, sizeof(buf)), 0);
	}
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

START_TEST(close_wakes_blocked_write)
{
	struct api_blocker b = { .op = API_WRITE_ALL, .len = 64 << 20 };
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	api_small_buffers(c);
	api_small_buffers(s);
	b.c = c;
	/* s never reads: the write fills both buffers and parks. */
	api_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	expect_canceled(&b);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

START_TEST(close_wakes_reader_and_writer)
{
	struct api_blocker r = { .op = API_READ }, w = { .op = API_WRITE_ALL, .len = 64 << 20 };
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	api_small_buffers(c);
	api_small_buffers(s);
	r.c = w.c = c;
	api_blocker_start(&r);
	api_blocker_start(&w);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	expect_canceled(&r);
	expect_canceled(&w);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* A second reader queues behind the first; both leave on close. */
START_TEST(close_wakes_queued_readers)
{
	struct api_blocker r1 = { .op = API_READ }, r2 = { .op = API_READ };
	urnet_conn *c, *s;
	char name[64];

	snprintf(name, sizeof(name), "@urnet-api-queued-%d", (int)getpid());
	api_pair("unix", name, &c, &s);
	r1.c = r2.c = c;
	api_blocker_start(&r1);
	api_blocker_start(&r2);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	expect_canceled(&r1);
	expect_canceled(&r2);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* One reader and one writer on the same conn block at once, independently. */
START_TEST(reader_and_writer_independent)
{
	struct api_blocker r = { .op = API_READ }, w = { .op = API_WRITE_ALL, .len = 1 << 20 };
	urnet_conn *c, *s;
	char *buf = malloc(1 << 20);
	size_t got = 0;

	ck_assert_ptr_nonnull(buf);
	api_tcp_pair(&c, &s);
	api_small_buffers(c);
	api_small_buffers(s);
	r.c = w.c = c;
	api_blocker_start(&r);
	api_blocker_start(&w);
	/* Draining the writer does not disturb the reader, and vice versa. */
	while (got < (1 << 20)) {
		ssize_t n = urnet_conn_read(s, buf, (1 << 20) - got);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	api_blocker_join(&w);
	ck_assert_int_eq(w.ret, 1 << 20);
	ck_assert(!atomic_load(&r.done));
	ck_assert_int_eq(urnet_conn_write(s, "wake", 4), 4);
	api_blocker_join(&r);
	ck_assert_int_eq(r.ret, 4);
	ck_assert(!memcmp(r.data, "wake", 4));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	free(buf);
}
END_TEST

START_TEST(close_wakes_blocked_accepts)
{
	struct api_blocker b[4];
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");

	ck_assert_ptr_nonnull(l);
	for (int i = 0; i < 4; i++) {
		b[i] = (struct api_blocker){ .op = API_ACCEPT, .l = l };
		api_blocker_start(&b[i]);
	}
	ck_assert_int_eq(urnet_listener_close(l), 0);
	for (int i = 0; i < 4; i++) {
		expect_canceled(&b[i]);
		ck_assert_ptr_null(b[i].accepted);
	}
}
END_TEST

START_TEST(close_wakes_blocked_accept_unix)
{
	char dir[] = "/tmp/urnet-api-XXXXXX", path[64];
	struct api_blocker b = { .op = API_ACCEPT };
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/l.sock", dir);
	b.l = urnet_listen("unix", path);
	ck_assert_ptr_nonnull(b.l);
	api_blocker_start(&b);
	ck_assert_int_eq(urnet_listener_close(b.l), 0);
	/* The socket file goes with close, before the accept has even left. */
	ck_assert_int_eq(stat(path, &st), -1);
	expect_canceled(&b);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Connections still queued when the listener closes are reset, not left hanging. */
START_TEST(listener_close_with_queued_connections)
{
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	char addr[64], buf[4];
	urnet_conn *c[3];

	ck_assert_ptr_nonnull(l);
	snprintf(addr, sizeof(addr), "%s", urnet_listener_addr(l));
	for (int i = 0; i < 3; i++) {
		c[i] = urnet_dial("tcp4", addr, 10 * SEC);
		ck_assert_ptr_nonnull(c[i]);
	}
	ck_assert_int_eq(urnet_listener_close(l), 0);
	for (int i = 0; i < 3; i++) {
		ssize_t n = urnet_conn_read(c[i], buf, sizeof(buf));

		ck_assert_msg(n == 0 || (n == -1 && errno == ECONNRESET), "read %zd errno %d",
			      n, errno);
		ck_assert_int_eq(urnet_conn_close(c[i]), 0);
	}
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", addr, 10 * SEC));
	ck_assert_int_eq(errno, ECONNREFUSED);
}
END_TEST

/* An accept loop in another thread, ended by shutdown, then the listener closed. */
static void *accept_loop_main(void *arg)
{
	urnet_listener *l = arg;
	urnet_conn *c;
	intptr_t n = 0;

	while ((c = urnet_listener_accept(l))) {
		urnet_conn_close(c);
		n++;
	}
	ck_assert_int_eq(errno, ECANCELED);
	return (void *)n;
}

START_TEST(listener_shutdown_ends_accept_loop)
{
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	char addr[64], buf[4];
	pthread_t th;
	void *accepted;

	ck_assert_ptr_nonnull(l);
	snprintf(addr, sizeof(addr), "%s", urnet_listener_addr(l));
	ck_assert_int_eq(pthread_create(&th, NULL, accept_loop_main, l), 0);
	for (int i = 0; i < 5; i++) {
		urnet_conn *c = urnet_dial("tcp4", addr, 10 * SEC);

		ck_assert_ptr_nonnull(c);
		/* The server side closes at once: wait for that, so it was accepted. */
		ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 0);
		ck_assert_int_eq(urnet_conn_close(c), 0);
	}
	ck_assert_int_eq(urnet_listener_shutdown(l), 0);
	ck_assert_int_eq(pthread_join(th, &accepted), 0);
	ck_assert_int_eq((intptr_t)accepted, 5);
	/* Still a valid object: accepts fail, connections are refused. */
	errno = 0;
	ck_assert_ptr_null(urnet_listener_accept(l));
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_str_eq(urnet_listener_addr(l), addr);
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", addr, 10 * SEC));
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(urnet_listener_shutdown(l), 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
}
END_TEST

static _Atomic int handled;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

/* Interrupt b with handled signals (no SA_RESTART): it must go on waiting. */
static void signal_blocked(struct api_blocker *b)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	for (int i = 0; i < 3; i++) {
		int before = atomic_load(&handled);

		ck_assert_int_eq(pthread_kill(b->th, SIGUSR1), 0);
		for (int k = 0; k < 10000 && atomic_load(&handled) == before; k++)
			usleep(1000);
		ck_assert_int_gt(atomic_load(&handled), before);
		ck_assert(test_wait_sleeping(atomic_load(&b->tid)));
	}
}

START_TEST(signals_do_not_interrupt)
{
	struct api_blocker r = { .op = API_READ }, a = { .op = API_ACCEPT };
	urnet_conn *c, *s;
	int64_t d;

	api_tcp_pair(&c, &s);
	r.c = c;
	api_blocker_start(&r);
	signal_blocked(&r);
	ck_assert(!atomic_load(&r.done));
	ck_assert_int_eq(urnet_conn_write(s, "sig", 3), 3);
	api_blocker_join(&r);
	ck_assert_int_eq(r.ret, 3);

	/* A wait with a deadline: still ETIMEDOUT at the deadline, never EINTR. */
	d = urnet_now_ns() + 2 * SEC;
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, d), 0);
	api_blocker_launch(&r, true);
	if (!atomic_load(&r.done))
		signal_blocked(&r);
	api_blocker_join(&r);
	ck_assert_int_eq(r.ret, -1);
	ck_assert_int_eq(r.err, ETIMEDOUT);
	ck_assert_int_ge(urnet_now_ns(), d);

	a.l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(a.l);
	api_blocker_start(&a);
	signal_blocked(&a);
	ck_assert_int_eq(urnet_listener_close(a.l), 0);
	api_blocker_join(&a);
	ck_assert_int_eq(a.err, ECANCELED);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* Without blocked calls the fd is closed before close returns. */
START_TEST(close_releases_fd_at_once)
{
	urnet_conn *c, *s;
	int base = test_count_fds();

	api_tcp_pair(&c, &s);
	ck_assert_int_gt(test_count_fds(), base);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(test_count_fds(), base);
}
END_TEST

/* Round after round: block, close, wake: nothing leaks or hangs. */
START_TEST(close_blocked_repeatedly)
{
	for (int i = 0; i < 50; i++) {
		struct api_blocker r = { .op = API_READ }, a = { .op = API_ACCEPT };
		urnet_conn *c, *s;

		api_tcp_pair(&c, &s);
		r.c = c;
		a.l = urnet_listen("tcp4", "127.0.0.1:0");
		ck_assert_ptr_nonnull(a.l);
		api_blocker_start(&r);
		api_blocker_start(&a);
		ck_assert_int_eq(urnet_conn_close(c), 0);
		ck_assert_int_eq(urnet_listener_close(a.l), 0);
		expect_canceled(&r);
		expect_canceled(&a);
		ck_assert_int_eq(urnet_conn_close(s), 0);
	}
}
END_TEST

struct poke {
	urnet_conn *s;
	pthread_barrier_t *go;
};

static void *poke_main(void *arg)
{
	struct poke *p = arg;

	pthread_barrier_wait(p->go);
	urnet_conn_write(p->s, "data", 4);
	return NULL;
}

/* Data arriving just as the conn is closed: the reader gets one or the other. */
START_TEST(close_races_data_arrival)
{
	int got_data = 0, canceled = 0;

	for (int i = 0; i < 100; i++) {
		struct api_blocker r = { .op = API_READ };
		pthread_barrier_t go;
		struct poke p;
		pthread_t th;
		urnet_conn *c, *s;

		api_tcp_pair(&c, &s);
		r.c = c;
		p = (struct poke){ .s = s, .go = &go };
		pthread_barrier_init(&go, NULL, 2);
		ck_assert_int_eq(pthread_create(&th, NULL, poke_main, &p), 0);
		api_blocker_start(&r);
		pthread_barrier_wait(&go);
		ck_assert_int_eq(urnet_conn_close(c), 0);
		api_blocker_join(&r);
		pthread_join(th, NULL);
		pthread_barrier_destroy(&go);
		if (r.ret == 4) {
			ck_assert(!memcmp(r.data, "data", 4));
			got_data++;
		} else {
			ck_assert_int_eq(r.ret, -1);
			ck_assert_int_eq(r.err, ECANCELED);
			canceled++;
		}
		ck_assert_int_eq(urnet_conn_close(s), 0);
	}
	ck_assert_int_eq(got_data + canceled, 100);
}
END_TEST

static Suite *api_close_suite(void)
{
	Suite *s = suite_create("api_close");
	TCase *tc;

	tc = tcase_create("conn");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, close_wakes_blocked_read);
	tcase_add_test(tc, close_wakes_blocked_write);
	tcase_add_test(tc, close_wakes_reader_and_writer);
	tcase_add_test(tc, close_wakes_queued_readers);
	tcase_add_test(tc, reader_and_writer_independent);
	tcase_add_test(tc, close_releases_fd_at_once);
	tcase_add_test(tc, signals_do_not_interrupt);
	suite_add_tcase(s, tc);

	tc = tcase_create("listener");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, close_wakes_blocked_accepts);
	tcase_add_test(tc, close_wakes_blocked_accept_unix);
	tcase_add_test(tc, listener_close_with_queued_connections);
	tcase_add_test(tc, listener_shutdown_ends_accept_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("repeat");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, close_blocked_repeatedly);
	tcase_add_test(tc, close_races_data_arrival);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(api_close_suite());
}
