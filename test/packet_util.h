/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the datagram suites: a packet conn on loopback, a thread
 * that blocks in a packet call and reports back, and a closed UDP port.
 */
#ifndef URNET_TEST_PACKET_UTIL_H
#define URNET_TEST_PACKET_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api_util.h"

static inline urnet_packet_conn *pk_listen(const char *network, const char *address)
{
	urnet_packet_conn *p = urnet_listen_packet(network, address);

	ck_assert_msg(p, "listen_packet %s %s: %s", network, address, strerror(errno));
	return p;
}

enum pk_op { PK_READ_FROM, PK_CONN_WRITE, PK_CONN_READ };

struct pk_blocker {
	enum pk_op op;
	urnet_packet_conn *p;
	urnet_conn *c;
	size_t len;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	ssize_t ret;
	int err;
	char data[2048];
	char from[URNET_ADDRSTRLEN];
};

static inline void *pk_blocker_main(void *arg)
{
	struct pk_blocker *b = arg;

	atomic_store(&b->tid, test_gettid());
	errno = 0;
	switch (b->op) {
	case PK_READ_FROM:
		b->ret = urnet_packet_read_from(b->p, b->data, sizeof(b->data), b->from,
						sizeof(b->from));
		break;
	case PK_CONN_WRITE:
		b->ret = urnet_conn_write(b->c, b->data, b->len);
		break;
	case PK_CONN_READ:
		b->ret = urnet_conn_read(b->c, b->data, sizeof(b->data));
		break;
	}
	b->err = errno;
	atomic_store(&b->done, true);
	return NULL;
}

/* Start b and return once it sleeps inside its call. */
static inline void pk_blocker_start(struct pk_blocker *b)
{
	test_start_blocker(&b->th, pk_blocker_main, b, &b->tid, &b->done, false);
}

static inline void pk_blocker_join(struct pk_blocker *b, ssize_t ret, int err)
{
	ck_assert_int_eq(pthread_join(b->th, NULL), 0);
	ck_assert_int_eq(b->ret, ret);
	if (ret < 0)
		ck_assert_int_eq(b->err, err);
}

#endif
