/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: the listener and conn objects and their life cycle.
 * Not installed.
 *
 * Life cycle.  Every object starts with one reference, owned by whoever
 * will call *_close().  Each public call takes a reference for its whole
 * duration, so a call running or blocked in one thread keeps the memory
 * (and the fd number) alive while another thread closes the object.
 * Close marks the object closed, makes every engine wait return
 * -ECANCELED, and drops the owner reference; whoever drops the last one
 * removes the engine's polls, closes the fd and frees the memory.
 */
#ifndef URNET_API_CONN_INTERNAL_H
#define URNET_API_CONN_INTERNAL_H

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "ready.h"
#include "urnet.h"

/*
 * A lazily formatted address string: most programs never ask, so accept and
 * dial do not pay for getsockname()/inet_ntop().
 */
struct urnet__addr_cache {
	_Atomic bool ready;
	char str[URNET__ADDRSTRLEN];
};

struct urnet_conn {
	struct urnet__ready ready;
	_Atomic uint32_t refs;
	_Atomic uint32_t closed;
	_Atomic int64_t deadline[2];	/* per enum urnet__dir; 0 = none */
	pthread_mutex_t io_lock[2];	/* one reader and one writer at a time */
	int fd;
	pthread_mutex_t addr_lock;	/* first formatting of the caches below */
	struct urnet__addr_cache local, remote;
	struct urnet__sockaddr peer;	/* from accept4()/dial: survives a reset */
	/* Datagram sockets (packet.c): a write is one datagram, a read returns one. */
	bool dgram;
	enum urnet__net net;		/* parses the addresses of urnet_packet_write_to() */
	char *unlink_path;		/* unixgram socket file to remove on close */
};

/*
 * An unconnected datagram socket has the life cycle, deadlines and data
 * path of a conn; only its calls differ.
 */
struct urnet_packet_conn {
	struct urnet_conn conn;
};

struct urnet_listener {
	struct urnet__ready ready;
	_Atomic uint32_t refs;
	_Atomic uint32_t closed;
	_Atomic uint32_t shut;		/* shut down or closed: accepts fail */
	_Atomic int64_t deadline;
	int fd;
	urnet_engine *conn_engine;	/* NULL: spread accepted conns over the shards */
	char addr[URNET__ADDRSTRLEN];
	char *unlink_path;		/* unix socket file to remove on close */
};

/*
 * listener.c: a non-blocking socket of net's type bound to sa, with the
 * options o (NULL: the defaults), and the unix path to remove with it (or
 * NULL); -1 + errno.  Undone, errno kept, by urnet__bound_socket_close().
 */
struct urnet__opts;
URNET__HIDDEN int urnet__bound_socket(enum urnet__net net, struct urnet__sockaddr *sa,
				      const char *address, const struct urnet__opts *o,
				      char **unlink_path);
URNET__HIDDEN void urnet__bound_socket_close(int fd, char *unlink_path);

/*
 * conn_io.c: one transfer on c, through the engine's wait.  Exactly one of
 * buf (recv/send), msg (recvmsg/sendmsg) or vec (recvmmsg/sendmmsg).
 * flags go to the syscall besides MSG_DONTWAIT (and MSG_NOSIGNAL).  A
 * batch write goes on until every message went or something fails after
 * the first.  Enters and leaves c; -1 + errno.
 */
struct urnet__xfer {
	int dir;
	int flags;
	void *buf;
	size_t len;
	struct msghdr *msg;
	struct mmsghdr *vec;
	unsigned int vlen;
};

URNET__HIDDEN ssize_t urnet__conn_xfer(urnet_conn *c, const struct urnet__xfer *x);

/* conn.c */
URNET__HIDDEN urnet_engine *urnet__engine_for_new_socket(urnet_engine *e);
URNET__HIDDEN urnet_conn *urnet__conn_new(urnet_engine *e, int fd,
					  const struct urnet__sockaddr *peer);
/* Frees a conn that never reached the user (refs == 1, no waiter). */
URNET__HIDDEN void urnet__conn_discard(urnet_conn *c);
URNET__HIDDEN void urnet__conn_release(urnet_conn *c);

/* listener.c: a listener object around a listening fd (taken on success). */
URNET__HIDDEN urnet_listener *urnet__listener_new(urnet_engine *e, urnet_engine *conn_engine,
						  int fd);

/*
 * Enter a call on c: false (errno set) when c is NULL or already closed.
 * Every successful enter is paired with urnet__conn_leave().
 */
static inline bool urnet__conn_enter(urnet_conn *c)
{
	if (!c) {
		errno = EINVAL;
		return false;
	}
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	if (atomic_load_explicit(&c->closed, memory_order_acquire)) {
		urnet__conn_release(c);
		errno = ECANCELED;
		return false;
	}
	return true;
}

static inline void urnet__conn_leave(urnet_conn *c)
{
	urnet__conn_release(c);
}

/*
 * conn_io.c, for every transfer on a conn (data, files, TLS records):
 * -ECANCELED when c is closed, -ETIMEDOUT when dir's deadline has passed,
 * else 0; checked before each try, after the readiness snapshot.
 */
URNET__HIDDEN int urnet__conn_io_check(urnet_conn *c, int dir);
/*
 * A urnet__io wait for a transfer in dir that needs readiness in wait_dir
 * (a TLS read may have to write first), bounded by dir's deadline.
 */
URNET__HIDDEN int urnet__conn_io_wait(urnet_conn *c, int dir, int wait_dir, uint32_t snap,
				      bool tried);

/* True when deadline d (0 = none) has passed. */
static inline bool urnet__expired(int64_t d)
{
	return d > 0 && urnet_now_ns() >= d;
}

#endif
