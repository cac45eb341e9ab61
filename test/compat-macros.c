/* SPDX-License-Identifier: MIT */
/*
 * urnet_compat.h with URNET_COMPAT_MACROS: a program written with the plain
 * names (accept, connect, read, write, recv, send, close...) compiles onto
 * the compat calls.  The engine's counters show the waits went through urnet.
 * test/compat-macros-syscall.sh runs it on the syscall backend.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"

/* After every system header, as the header asks. */
#define URNET_COMPAT_MACROS
#include "urnet_compat.h"

static int listener(struct sockaddr_in *a)
{
	socklen_t al = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)a, sizeof(*a)), 0);
	ck_assert_int_eq(listen(l, 16), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)a, &al), 0);
	return l;
}

static void *echo_main(void *arg)
{
	int l = (int)(intptr_t)arg, fd;
	char buf[4096];
	ssize_t n;

	fd = accept(l, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(fd, buf, (size_t)n), n);
	ck_assert_int_eq(close(fd), 0);
	return NULL;
}

START_TEST(test_plain_names_echo)
{
	struct sockaddr_in a;
	int l = listener(&a), fd;
	uint64_t before = test_parked_total();
	char buf[64];
	pthread_t th;

	/* The server blocks in accept and read before any data comes. */
	ck_assert_int_eq(pthread_create(&th, NULL, echo_main, (void *)(intptr_t)l), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(buf, sizeof(buf), "message %d", i);
		ck_assert_int_eq(send(fd, buf, strlen(buf), 0), (ssize_t)strlen(buf));
		char in[64] = { 0 };

		ck_assert_int_eq(recv(fd, in, strlen(buf), MSG_WAITALL), (ssize_t)strlen(buf));
		ck_assert_str_eq(in, buf);
	}
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(close(l), 0);
	/* The echo's reads and the client's recvs waited on the engine. */
	ck_assert_uint_gt(test_parked_total() - before, 0);
}
END_TEST

struct reader {
	int fd;
	_Atomic pid_t tid;
	ssize_t ret;
	int err;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char b;

	atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
	r->ret = read(r->fd, &b, 1);
	r->err = errno;
	return NULL;
}

START_TEST(test_plain_close_wakes_read)
{
	struct sockaddr_in a;
	struct reader r = { 0 };
	int l = listener(&a), c, s;
	uint64_t before;
	pthread_t th;

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	s = accept(l, NULL, NULL);
	before = test_parked_total();
	r.fd = c;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &r), 0);
	/* Until the reader waits on the engine (bounded). */
	for (int i = 0; i < 10000 && test_parked_total() == before; i++)
		usleep(1000);
	ck_assert_uint_gt(test_parked_total(), before);
	ck_assert_int_eq(close(c), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(r.ret, -1);
	ck_assert_int_eq(r.err, EBADF);
	close(s);
	close(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compat-macros");
	TCase *t = tcase_create("macros");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_plain_names_echo);
	tcase_add_test(t, test_plain_close_wakes_read);
	suite_add_tcase(s, t);
	return test_run_suite(s);
}
