/* SPDX-License-Identifier: MIT */
/*
 * Dialing: a non-blocking connect() whose completion is awaited on the
 * engine as writability, bounded by the dial deadline.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"

/* 1: still connecting, 0: connected, -errno: failed. */
static int connect_state(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (urnet__libc_poll_now(&pfd, 1) <= 0)
		return 1;	/* EINTR included: look again after the next wake-up */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err ? -err : 0;
}

static int inet_connect(urnet_conn *c, const struct urnet__sockaddr *sa, int64_t deadline)
{
	struct urnet__ready *r = &c->ready;
	uint32_t snap = urnet__ready_snapshot(r, URNET__WRITE);
	int ret;

	if (!urnet__libc()->connect(c->fd, &sa->u.sa, sa->len))
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	for (;;) {
		ret = connect_state(c->fd);
		if (ret <= 0)
			return ret;
		if (urnet__expired(deadline))
			return -ETIMEDOUT;
		ret = urnet__ready_wait(r, URNET__WRITE, snap, deadline, 0);
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
		snap = urnet__ready_snapshot(r, URNET__WRITE);
	}
}

static int set_sndtimeo(int fd, int64_t us)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	return urnet__libc()->setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A unix listener whose backlog is full makes a non-blocking connect() fail
 * with EAGAIN, and nothing on our socket becomes ready when room appears
 * (the kernel waits on the listener's queue).  So wait in connect() itself,
 * on a blocking socket bounded by SO_SNDTIMEO, as a blocking dial would.
 */
static int unix_connect_wait(int fd, const struct urnet__sockaddr *sa, int64_t deadline)
{
	int flags = urnet__libc()->fcntl(fd, F_GETFL);
	int ret = 0;

	if (flags < 0 || urnet__libc()->fcntl(fd, F_SETFL, flags & ~O_NONBLOCK))
		return -errno;
	for (;;) {
		int64_t left_us = 0;

		if (deadline) {
			int64_t left = deadline - urnet_now_ns();

			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
			left_us = (left + 999) / 1000;	/* 0 would mean forever */
		}
		if (set_sndtimeo(fd, left_us)) {
			ret = -errno;
			break;
		}
		if (!urnet__libc()->connect(fd, &sa->u.sa, sa->len))
			break;
		/* EAGAIN: SO_SNDTIMEO ran out; the deadline check above decides. */
		if (errno != EINTR && errno != EAGAIN) {
			ret = -errno;
			break;
		}
	}
	if ((set_sndtimeo(fd, 0) || urnet__libc()->fcntl(fd, F_SETFL, flags)) && !ret)
		ret = -errno;
	return ret;
}

static int unix_connect(urnet_conn *c, const struct urnet__sockaddr *sa, int64_t deadline)
{
	if (!urnet__libc()->connect(c->fd, &sa->u.sa, sa->len))
		return 0;
	if (errno != EAGAIN)
		return -errno;
	return unix_connect_wait(c->fd, sa, deadline);
}

static int dial_deadline(int64_t timeout_ns, int64_t *deadline)
{
	int64_t now;

	if (timeout_ns < 0)
		return -EINVAL;
	*deadline = 0;
	if (timeout_ns > 0) {
		now = urnet_now_ns();
		/* So far ahead it cannot be told from none. */
		if (timeout_ns <= INT64_MAX - now)
			*deadline = now + timeout_ns;
	}
	return 0;
}

urnet_conn *urnet_dial_on(urnet_engine *e, const char *network, const char *address,
			  int64_t timeout_ns)
{
	struct urnet__sockaddr sa;
	enum urnet__net net;
	int64_t deadline;
	urnet_conn *c;
	int fd, ret, one = 1;

	ret = urnet__parse_network(network, &net);
	if (!ret)
		ret = urnet__parse_address(net, address, false, &sa);
	if (!ret)
		ret = dial_deadline(timeout_ns, &deadline);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	e = urnet__engine_for_new_socket(e);
	if (!e)
		return NULL;
	fd = urnet__libc()->socket(sa.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* Request/response traffic wants no Nagle; urnet_conn_set_nodelay() undoes it. */
	if (net != URNET__NET_UNIX)
		urnet__libc()->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = urnet__conn_new(e, fd, &sa);
	if (!c) {
		ret = errno;
		urnet__libc()->close(fd);
		errno = ret;
		return NULL;
	}
	if (net == URNET__NET_UNIX)
		ret = unix_connect(c, &sa, deadline);
	else
		ret = inet_connect(c, &sa, deadline);
	if (ret) {
		errno = -ret;
		urnet__conn_discard(c);
		return NULL;
	}
	return c;
}

urnet_conn *urnet_dial(const char *network, const char *address, int64_t timeout_ns)
{
	return urnet_dial_on(NULL, network, address, timeout_ns);
}
