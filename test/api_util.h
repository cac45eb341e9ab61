/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the object API suites: an echo server on the API, threads
 * that block in a call and report back, blocked-thread detection, data
 * patterns with checksums, and the per-test fd leak check.
 */
#ifndef URNET_TEST_API_UTIL_H
#define URNET_TEST_API_UTIL_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"
#include "urnet.h"

#define SEC 1000000000LL
#define MSEC 1000000LL

/* ---------------------------------------------------------------- fds */

static int api_fds_before;

/*
 * Start every engine shard first: their ring and eventfd are opened once
 * and must not count as leaks.
 */
static inline void api_setup(void)
{
	/* No name server unless the test names one: never the machine's own. */
	setenv("URNET_RESOLV_CONF", "/dev/null", 0);
	for (unsigned int i = 0; i < urnet_engine_count(); i++)
		ck_assert_ptr_nonnull(urnet_engine_pick(i));
	api_fds_before = test_count_fds();
}

static inline void api_teardown(void)
{
	ck_assert_int_eq(test_count_fds(), api_fds_before);
}

/* Whether a socket of type can bind ::1; says so when it cannot. */
static inline bool api_have_ipv6(int type)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	if (fd >= 0)
		close(fd);
	if (!ok)
		fprintf(stderr, "no IPv6 loopback here: IPv6 checks skipped\n");
	return ok;
}

/* ---------------------------------------------------------------- data */

/* Read exactly len bytes; false on EOF or error. */
static inline bool api_read_full(urnet_conn *c, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = urnet_conn_read(c, (char *)buf + done, len - done);

		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* ---------------------------------------------------------------- threads */

enum api_op { API_READ, API_WRITE_ALL, API_ACCEPT };

/* A thread that makes one call which is expected to block, and its result. */
struct api_blocker {
	enum api_op op;
	urnet_conn *c;
	urnet_listener *l;
	size_t len;		/* API_WRITE_ALL: bytes to write, API_READ: buffer */
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	ssize_t ret;
	int err;
	urnet_conn *accepted;
	char data[64];		/* API_READ with len <= 64 */
};

static inline void *api_blocker_main(void *arg)
{
	struct api_blocker *b = arg;
	void *big = NULL;

	if (b->op == API_WRITE_ALL) {
		big = calloc(1, b->len);
		ck_assert_ptr_nonnull(big);
	}
	atomic_store(&b->tid, test_gettid());
	errno = 0;
	switch (b->op) {
	case API_READ:
		b->ret = urnet_conn_read(b->c, b->data, b->len ? b->len : sizeof(b->data));
		break;
	case API_WRITE_ALL:
		b->ret = urnet_conn_write(b->c, big, b->len);
		break;
	case API_ACCEPT:
		b->accepted = urnet_listener_accept(b->l);
		b->ret = b->accepted ? 0 : -1;
		break;
	}
	b->err = errno;
	atomic_store(&b->done, true);
	free(big);
	return NULL;
}

/*
 * Start b and return once it sleeps inside its call; or, with may_finish,
 * also once the call has returned (it had a deadline of its own).
 */
static inline void api_blocker_launch(struct api_blocker *b, bool may_finish)
{
	test_start_blocker(&b->th, api_blocker_main, b, &b->tid, &b->done, may_finish);
}

static inline void api_blocker_start(struct api_blocker *b)
{
	api_blocker_launch(b, false);
}

static inline void api_blocker_join(struct api_blocker *b)
{
	ck_assert_int_eq(pthread_join(b->th, NULL), 0);
}

/* ---------------------------------------------------------------- echo server */

#define API_ECHO_MAX 512

/* Accepts until its listener is closed; one echo thread per conn. */
struct api_echo {
	urnet_listener *l;
	pthread_t th;
	pthread_t conn_th[API_ECHO_MAX];
	int nconn;
};

static inline void *api_echo_conn_main(void *arg)
{
	urnet_conn *c = arg;
	char buf[16384];
	ssize_t n;

	while ((n = urnet_conn_read(c, buf, sizeof(buf))) > 0)
		if (urnet_conn_write(c, buf, (size_t)n) != n)
			break;
	urnet_conn_close(c);
	return NULL;
}

static inline void *api_echo_main(void *arg)
{
	struct api_echo *e = arg;
	urnet_conn *c;

	while (e->nconn < API_ECHO_MAX && (c = urnet_listener_accept(e->l))) {
		ck_assert_int_eq(pthread_create(&e->conn_th[e->nconn], NULL,
						api_echo_conn_main, c), 0);
		e->nconn++;
	}
	ck_assert_int_eq(errno, ECANCELED);
	for (int i = 0; i < e->nconn; i++)
		pthread_join(e->conn_th[i], NULL);
	return NULL;
}

static inline void api_echo_start(struct api_echo *e, const char *network,
				  const char *address)
{
	memset(e, 0, sizeof(*e));
	e->l = urnet_listen(network, address);
	ck_assert_msg(e->l, "listen %s %s: %s", network, address, strerror(errno));
	ck_assert_int_eq(pthread_create(&e->th, NULL, api_echo_main, e), 0);
}

/* Call once every client conn is closed: the echo threads see EOF. */
static inline void api_echo_stop(struct api_echo *e)
{
	ck_assert_int_eq(urnet_listener_shutdown(e->l), 0);
	ck_assert_int_eq(pthread_join(e->th, NULL), 0);
	ck_assert_int_eq(urnet_listener_close(e->l), 0);
}

/* ---------------------------------------------------------------- pairs */

/* A connected pair over a fresh tcp4 (or given) listener. */
static inline void api_pair(const char *network, const char *address,
			    urnet_conn **client, urnet_conn **server)
{
	urnet_listener *l = urnet_listen(network, address);

	ck_assert_msg(l, "listen: %s", strerror(errno));
	*client = urnet_dial(network, urnet_listener_addr(l), 10 * SEC);
	ck_assert_msg(*client, "dial: %s", strerror(errno));
	*server = urnet_listener_accept(l);
	ck_assert_msg(*server, "accept: %s", strerror(errno));
	ck_assert_int_eq(urnet_listener_close(l), 0);
}

static inline void api_tcp_pair(urnet_conn **client, urnet_conn **server)
{
	api_pair("tcp4", "127.0.0.1:0", client, server);
}

/*
 * A small send buffer, so that a writer blocks after little data.  The
 * receive side keeps its size: a tiny TCP window is reopened only by the
 * sender's zero-window probes, hundreds of milliseconds apart.
 */
static inline void api_small_buffers(urnet_conn *c)
{
	int v = 4096;

	setsockopt(urnet_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

#endif
