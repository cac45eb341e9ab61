/* SPDX-License-Identifier: MIT */
/*
 * The list of parked calls from inside: urnet_dump_waits(), the snapshot
 * the channel serves, the kinds of call, fork, and churn (threads that
 * park, wake, close and exit while the list is read over and over).
 */
#include "config.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "ready.h"
#include "testutil.h"
#include "urnet.h"
#include "urnet_compat.h"
#include "urnet_engine.h"
#include "waits.h"

#define SEC 1000000000LL

/* The parked call on fd, as the list has it; false if it is not there. */
static bool find(int fd, struct urnet__wait_rec *out)
{
	struct urnet__wait_rec recs[256];
	size_t n = urnet__waits_snapshot(recs, 256);

	for (size_t i = 0; i < n && i < 256; i++)
		if (recs[i].fd == fd) {
			if (out)
				*out = recs[i];
			return true;
		}
	return false;
}

/* Up to 10 s until a call on fd is listed. */
static bool listed(int fd, struct urnet__wait_rec *out)
{
	for (int i = 0; i < 10000; i++) {
		if (find(fd, out))
			return true;
		usleep(1000);
	}
	return false;
}

static char *dump(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(urnet_dump_waits(f), 0);
	fclose(f);
	return buf;
}

struct reader {
	urnet_conn *c;
	ssize_t n;
};

static void *read_main(void *arg)
{
	struct reader *r = arg;
	char b;

	r->n = urnet_conn_read(r->c, &b, 1);
	return NULL;
}

/* A connection whose client end has a thread blocked reading it. */
struct blocked_read {
	urnet_listener *l;
	urnet_conn *s;
	struct reader r;
	pthread_t t;
};

static void blocked_read_start(struct blocked_read *b, int64_t deadline_ns)
{
	b->l = urnet_listen("tcp", "127.0.0.1:0");
	ck_assert_ptr_nonnull(b->l);
	b->r.c = urnet_dial("tcp", urnet_listener_addr(b->l), 0);
	ck_assert_ptr_nonnull(b->r.c);
	b->s = urnet_listener_accept(b->l);
	ck_assert_ptr_nonnull(b->s);
	if (deadline_ns)
		ck_assert_int_eq(urnet_conn_set_read_deadline(b->r.c, deadline_ns), 0);
	ck_assert_int_eq(pthread_create(&b->t, NULL, read_main, &b->r), 0);
	ck_assert(listed(urnet_conn_fd(b->r.c), NULL));
}

/* Data for the reader; it returns. */
static void blocked_read_end(struct blocked_read *b)
{
	ck_assert_int_eq(urnet_conn_write(b->s, "x", 1), 1);
	ck_assert_int_eq(pthread_join(b->t, NULL), 0);
	ck_assert_int_eq(b->r.n, 1);
}

static void blocked_read_close(struct blocked_read *b)
{
	urnet_conn_close(b->r.c);
	urnet_conn_close(b->s);
	urnet_listener_close(b->l);
}

START_TEST(dump_lists_a_blocked_read_until_it_returns)
{
	struct blocked_read b;
	struct urnet__wait_rec rec;
	char *out, want[160];
	int fd;

	blocked_read_start(&b, urnet_now_ns() + 3600 * SEC);
	fd = urnet_conn_fd(b.r.c);
	ck_assert(find(fd, &rec));
	ck_assert_uint_eq(rec.kind, URNET__WK_READ);
	ck_assert_int_gt(rec.deadline_ns, urnet_now_ns());
	out = dump();
	/* The line of the read: its fd, the listener as its peer, the call. */
	snprintf(want, sizeof(want), " %5d tcp    ", fd);
	ck_assert_msg(strstr(out, want), "no line for fd %d in:\n%s", fd, out);
	ck_assert_msg(strstr(out, urnet_listener_addr(b.l)), "no peer address in:\n%s", out);
	ck_assert_msg(strstr(out, " read "), "no read in:\n%s", out);
	free(out);
	blocked_read_end(&b);
	ck_assert(!find(fd, NULL));
	blocked_read_close(&b);
}
END_TEST

START_TEST(dump_refuses_null)
{
	ck_assert_int_eq(urnet_dump_waits(NULL), -EINVAL);
}
END_TEST

static void *accept_main(void *arg)
{
	return urnet_listener_accept(arg);
}

START_TEST(accept_is_listed_as_accept)
{
	urnet_listener *l = urnet_listen("tcp", "127.0.0.1:0");
	struct urnet__wait_rec rec;
	urnet_conn *c;
	void *got;
	pthread_t t;

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(pthread_create(&t, NULL, accept_main, l), 0);
	ck_assert(listed(urnet_listener_fd(l), &rec));
	ck_assert_uint_eq(rec.kind, URNET__WK_ACCEPT);
	ck_assert_int_eq(rec.deadline_ns, 0);
	c = urnet_dial("tcp", urnet_listener_addr(l), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(pthread_join(t, &got), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert(!find(urnet_listener_fd(l), NULL));
	urnet_conn_close(got);
	urnet_conn_close(c);
	urnet_listener_close(l);
}
END_TEST

/* A wait of a kind to come (poll) through the same park path is listed as it says. */
struct poll_wait {
	struct urnet__ready r;
	int ret;
};

static void *poll_main(void *arg)
{
	struct poll_wait *w = arg;
	uint32_t snap = urnet__ready_snapshot(&w->r, URNET__READ);

	w->ret = urnet__ready_wait(&w->r, URNET__READ, snap, urnet_now_ns() + 3600 * SEC,
				   URNET__WAIT_KIND(URNET__WK_POLL));
	return NULL;
}

START_TEST(any_wait_through_the_park_path_is_listed)
{
	struct poll_wait w;
	struct urnet__wait_rec rec;
	pthread_t t;
	int sv[2];
	char *out;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(urnet__ready_init(&w.r, urnet_default_engine(), sv[0]), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, poll_main, &w), 0);
	ck_assert(listed(sv[0], &rec));
	ck_assert_uint_eq(rec.kind, URNET__WK_POLL);
	out = dump();
	ck_assert_msg(strstr(out, " unix ") && strstr(out, " poll "), "%s", out);
	free(out);
	urnet__ready_kick(&w.r);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(w.ret, 0);
	ck_assert(!find(sv[0], NULL));
	urnet__ready_destroy(&w.r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void prep_poll(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_poll_add(sqe, *(int *)arg, POLLIN);
}

struct op_wait {
	urnet_engine *e;
	int fd;
	int ret;
};

static void *op_main(void *arg)
{
	struct op_wait *w = arg;

	w->ret = urnet_engine_call(w->e, prep_poll, &w->fd, urnet_now_ns() + 3600 * SEC);
	return NULL;
}

START_TEST(engine_call_is_listed_as_engine_op)
{
	struct op_wait w = { .e = urnet_default_engine() };
	struct urnet__wait_rec rec;
	bool ring = !urnet__engine_is_syscall(w.e);
	pthread_t t;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	w.fd = sv[0];
	ck_assert_int_eq(pthread_create(&t, NULL, op_main, &w), 0);
	/* On io_uring the SQE is the engine's to fill: no fd is known to the list. */
	ck_assert(listed(ring ? -1 : sv[0], &rec));
	ck_assert_uint_eq(rec.kind, URNET__WK_ENGINE_OP);
	ck_assert_int_gt(rec.deadline_ns, 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_gt(w.ret, 0);
	ck_assert(!find(ring ? -1 : sv[0], NULL));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* What the channel of process pid says, NUL-terminated (malloc'd); NULL if none. */
static char *ask_channel(pid_t pid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	socklen_t al;
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(buf);
	al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			 (size_t)snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
					  "urnet-waits.%d", (int)pid));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&a, al) < 0) {
		close(fd);
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

START_TEST(channel_lists_the_blocked_read)
{
	struct blocked_read b;
	char *out, want[64];

	blocked_read_start(&b, 0);
	out = ask_channel(getpid());
	ck_assert_ptr_nonnull(out);
	snprintf(want, sizeof(want), "\"pid\":%d,", (int)getpid());
	ck_assert_msg(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "\"fd\":%d,\"sock\":\"tcp\"", urnet_conn_fd(b.r.c));
	ck_assert_msg(strstr(out, want), "%s", out);
	free(out);
	blocked_read_end(&b);
	blocked_read_close(&b);
}
END_TEST

START_TEST(fork_child_has_its_own_list)
{
	struct blocked_read b;
	pid_t pid;
	int status;

	blocked_read_start(&b, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char want[64], *out;

		/* The parent's reader is not the child's. */
		if (urnet__waits_snapshot(NULL, 0) != 0)
			_exit(10);
#ifdef __SANITIZE_THREAD__
		/* ThreadSanitizer cannot start threads in the child of a threaded fork. */
		_exit(0);
#endif
		/* Its own engine, and with it its own channel under its own pid. */
		if (!urnet_default_engine())
			_exit(11);
		out = ask_channel(getpid());
		snprintf(want, sizeof(want), "\"pid\":%d,", (int)getpid());
		if (!out || !strstr(out, want) || !strstr(out, "\"parked_now\":0,"))
			_exit(12);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %x", status);
	/* The parent's list is untouched. */
	ck_assert(find(urnet_conn_fd(b.r.c), NULL));
	blocked_read_end(&b);
	blocked_read_close(&b);
}
END_TEST

/* ---------------------------------------------------------------- churn */

#define CHURN_THREADS 1000
#define CHURN_WAVE 100

static _Atomic bool churn_done;
static _Atomic unsigned long churn_looks;

struct churner {
	pthread_t t;
	int sv[2];
};

static void *churn_read_main(void *arg)
{
	struct churner *c = arg;
	char b;

	/* Data, EOF, or EBADF from a close in another thread: all end the wait. */
	urnet_read(c->sv[0], &b, 1);
	return NULL;
}

/* Reads the list as fast as it can, checking what it sees is sane. */
static void *look_main(void *arg)
{
	struct urnet__wait_rec recs[CHURN_WAVE * 2];
	FILE *null = fopen("/dev/null", "w");

	(void)arg;
	ck_assert_ptr_nonnull(null);
	while (!atomic_load(&churn_done)) {
		size_t n = urnet__waits_snapshot(recs, CHURN_WAVE * 2);
		int64_t now = urnet_now_ns();

		for (size_t i = 0; i < n && i < CHURN_WAVE * 2; i++) {
			ck_assert_uint_lt(recs[i].kind, URNET__WK_COUNT);
			ck_assert_int_gt(recs[i].tid, 0);
			ck_assert_int_ge(recs[i].fd, -1);
			ck_assert_int_le(recs[i].since_ns, now);
		}
		ck_assert_int_eq(urnet_dump_waits(null), 0);
		free(ask_channel(getpid()));
		atomic_fetch_add(&churn_looks, 1);
	}
	fclose(null);
	return NULL;
}

START_TEST(churn_never_shows_a_freed_object)
{
	static struct churner c[CHURN_WAVE];
	pthread_t look[2];

	ck_assert_ptr_nonnull(urnet_default_engine());
	atomic_store(&churn_done, false);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&look[i], NULL, look_main, NULL), 0);
	for (int wave = 0; wave < CHURN_THREADS / CHURN_WAVE; wave++) {
		for (int i = 0; i < CHURN_WAVE; i++) {
			ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
						    c[i].sv), 0);
			ck_assert_int_eq(pthread_create(&c[i].t, NULL, churn_read_main, &c[i]), 0);
		}
		/* Whether each has parked yet or not: the ends come at any moment. */
		for (int i = 0; i < CHURN_WAVE; i++) {
			switch (i % 3) {
			case 0:
				ck_assert_int_eq(urnet_write(c[i].sv[1], "x", 1), 1);
				break;
			case 1:
				urnet_shutdown(c[i].sv[1], SHUT_WR);
				break;
			default:
				urnet_close(c[i].sv[0]);
				c[i].sv[0] = -1;
				break;
			}
		}
		for (int i = 0; i < CHURN_WAVE; i++) {
			ck_assert_int_eq(pthread_join(c[i].t, NULL), 0);
			if (c[i].sv[0] >= 0)
				urnet_close(c[i].sv[0]);
			urnet_close(c[i].sv[1]);
		}
	}
	atomic_store(&churn_done, true);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(look[i], NULL), 0);
	ck_assert_uint_gt(atomic_load(&churn_looks), 0);
	/* Every thread is gone: nothing is left listed. */
	ck_assert_uint_eq(urnet__waits_snapshot(NULL, 0), 0);
}
END_TEST

static Suite *waits_suite(void)
{
	Suite *s = suite_create("waits");
	TCase *tc = tcase_create("list");

	tcase_add_test(tc, dump_lists_a_blocked_read_until_it_returns);
	tcase_add_test(tc, dump_refuses_null);
	tcase_add_test(tc, accept_is_listed_as_accept);
	tcase_add_test(tc, any_wait_through_the_park_path_is_listed);
	tcase_add_test(tc, engine_call_is_listed_as_engine_op);
	tcase_add_test(tc, channel_lists_the_blocked_read);
	tcase_add_test(tc, fork_child_has_its_own_list);
	suite_add_tcase(s, tc);
	tc = tcase_create("churn");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, churn_never_shows_a_freed_object);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(waits_suite());
}
