/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the compat suites: loopback listeners and connected pairs
 * made with plain socket calls, a thread-per-connection echo server on the
 * compat calls, threads that block in one call, data with checksums.
 */
#ifndef URNET_TEST_COMPAT_UTIL_H
#define URNET_TEST_COMPAT_UTIL_H

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"
#include "urnet_compat.h"

#define SEC 1000000000LL

/* ---------------------------------------------------------------- fixture */

/* The checked fixture: no test leaks a descriptor. */
static int cu_fds_before;

/* Start the engines first: their ring and eventfds are not leaks. */
static inline void cu_setup(void)
{
	for (unsigned i = 0; i < urnet_engine_count(); i++)
		ck_assert_ptr_nonnull(urnet_engine_pick(i));
	cu_fds_before = test_count_fds();
}

static inline void cu_teardown(void)
{
	ck_assert_int_eq(test_count_fds(), cu_fds_before);
}

/* ---------------------------------------------------------------- addresses */

struct caddr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
	char dir[64];		/* AF_UNIX: the mkdtemp directory */
};

/* A listening blocking stream socket on loopback (port 0) or in a temp dir. */
static inline int cu_listen(int family, struct caddr *a)
{
	int fd, one = 1;

	memset(a, 0, sizeof(*a));
	a->family = family;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->len = sizeof(*in);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		a->len = sizeof(*in6);
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;

		strcpy(a->dir, "/tmp/urnet-compat-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(a->dir));
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s/s", a->dir);
		a->len = sizeof(*un);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(bind(fd, (struct sockaddr *)&a->ss, a->len) == 0, "bind: %s",
		      strerror(errno));
	ck_assert_int_eq(listen(fd, 512), 0);
	if (family != AF_UNIX)
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a->ss, &a->len), 0);
	return fd;
}

static inline void cu_unlisten(int fd, struct caddr *a)
{
	ck_assert_int_eq(urnet_close(fd), 0);
	if (a->family == AF_UNIX) {
		char path[128];

		snprintf(path, sizeof(path), "%s/s", a->dir);
		unlink(path);
		rmdir(a->dir);
	}
}

/* A blocking client connected with urnet_connect. */
static inline int cu_dial(const struct caddr *a)
{
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(urnet_connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0,
		      "connect: %s", strerror(errno));
	return fd;
}

/* A connected tcp4 pair: *c from urnet_connect, *s from urnet_accept. */
static inline void cu_pair(int family, int *c, int *s)
{
	struct caddr a;
	int l = cu_listen(family, &a);

	*c = cu_dial(&a);
	*s = urnet_accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_msg(*s >= 0, "accept: %s", strerror(errno));
	cu_unlisten(l, &a);
}

static inline void cu_small_buffers(int fd)
{
	int v = 4096;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* ---------------------------------------------------------------- data */

static inline bool cu_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = urnet_recv(fd, (char *)buf + done, len - done, 0);

		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* ---------------------------------------------------------------- threads */

enum cu_op { CU_RECV, CU_READ, CU_SEND_ALL, CU_ACCEPT };

/* A thread making one call that is expected to block, and its result. */
struct cu_blocker {
	enum cu_op op;
	int fd;
	size_t len;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	ssize_t ret;
	int err;
	char data[64];
};

static inline void cu_blocker_call(struct cu_blocker *b, void *big)
{
	switch (b->op) {
	case CU_RECV:
		b->ret = urnet_recv(b->fd, b->data, b->len ? b->len : sizeof(b->data), 0);
		break;
	case CU_READ:
		b->ret = urnet_read(b->fd, b->data, b->len ? b->len : sizeof(b->data));
		break;
	case CU_SEND_ALL:
		b->ret = urnet_send(b->fd, big, b->len, MSG_NOSIGNAL);
		break;
	case CU_ACCEPT:
		b->ret = urnet_accept(b->fd, NULL, NULL);
		break;
	}
}

/* The tests cancel some of these threads inside the call. */
static inline void cu_blocker_run(struct cu_blocker *b, void *big)
{
	pthread_cleanup_push(free, big);
	errno = 0;
	cu_blocker_call(b, big);
	b->err = errno;
	atomic_store(&b->done, true);
	pthread_cleanup_pop(1);
}

static inline void *cu_blocker_main(void *arg)
{
	struct cu_blocker *b = arg;
	void *big = NULL;

	if (b->op == CU_SEND_ALL && !(big = calloc(1, b->len)))
		abort();
	atomic_store(&b->tid, test_gettid());
	cu_blocker_run(b, big);
	return NULL;
}

static inline void cu_blocker_start(struct cu_blocker *b)
{
	test_start_blocker(&b->th, cu_blocker_main, b, &b->tid, &b->done, false);
}

static inline void cu_blocker_join(struct cu_blocker *b)
{
	ck_assert_int_eq(pthread_join(b->th, NULL), 0);
}

/* ---------------------------------------------------------------- signals */

/* SIGALRM handled with flags (0, SA_RESTART): handlers run are counted. */
static _Atomic int cu_alarms;

static inline void cu_on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&cu_alarms, 1);
}

static inline void cu_handle_alarm(int flags)
{
	struct sigaction sa = { .sa_handler = cu_on_alarm, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
}

/*
 * A CU_RECV on c blocks; SIGALRM, whose handler lacks SA_RESTART, runs
 * in its thread and ends the call with EINTR.
 */
static inline void cu_eintr_case(int c)
{
	struct cu_blocker b = { .op = CU_RECV, .fd = c };

	cu_blocker_start(&b);
	pthread_kill(b.th, SIGALRM);
	cu_blocker_join(&b);
	ck_assert_int_eq(atomic_load(&cu_alarms), 1);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, EINTR);
}

/*
 * b, a CU_RECV of 4 bytes on c, blocks; SIGALRM (a handler with
 * SA_RESTART) runs in its thread and the call goes on waiting, until
 * "data" sent on s ends it.
 */
static inline void cu_restart_case(struct cu_blocker *b, int c, int s)
{
	b->fd = c;
	cu_blocker_start(b);
	pthread_kill(b->th, SIGALRM);
#if !defined(__SANITIZE_THREAD__)
	/* (ThreadSanitizer runs handlers only at the thread's next libc call.) */
	for (int i = 0; i < 10000 && !atomic_load(&cu_alarms); i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&cu_alarms), 1);
#endif
	/* Still blocked: the call went on waiting. */
	ck_assert(test_wait_sleeping(b->tid));
	ck_assert(!atomic_load(&b->done));
	ck_assert_int_eq(urnet_send(s, "data", 4, 0), 4);
	cu_blocker_join(b);
	ck_assert_int_eq(b->ret, 4);
	ck_assert_int_eq(memcmp(b->data, "data", 4), 0);
	ck_assert_int_eq(atomic_load(&cu_alarms), 1);
}

/* ---------------------------------------------------------------- echo server */

#define CU_ECHO_MAX 512

struct cu_echo {
	int lfd;
	struct caddr addr;
	int expect;		/* connections to serve */
	pthread_t th;
	pthread_t conn_th[CU_ECHO_MAX];
};

static inline void *cu_echo_conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	ssize_t n;

	while ((n = urnet_read(fd, buf, sizeof(buf))) > 0)
		if (urnet_write(fd, buf, (size_t)n) != n)
			break;
	urnet_close(fd);
	return NULL;
}

static inline void *cu_echo_main(void *arg)
{
	struct cu_echo *e = arg;

	for (int i = 0; i < e->expect; i++) {
		int fd = urnet_accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);

		ck_assert_msg(fd >= 0, "accept: %s", strerror(errno));
		ck_assert_int_eq(pthread_create(&e->conn_th[i], NULL, cu_echo_conn_main,
						(void *)(intptr_t)fd), 0);
	}
	for (int i = 0; i < e->expect; i++)
		pthread_join(e->conn_th[i], NULL);
	return NULL;
}

static inline void cu_echo_start(struct cu_echo *e, int family, int expect)
{
	memset(e, 0, sizeof(*e));
	e->lfd = cu_listen(family, &e->addr);
	e->expect = expect;
	ck_assert_int_eq(pthread_create(&e->th, NULL, cu_echo_main, e), 0);
}

static inline void cu_echo_stop(struct cu_echo *e)
{
	ck_assert_int_eq(pthread_join(e->th, NULL), 0);
	cu_unlisten(e->lfd, &e->addr);
}

#endif
