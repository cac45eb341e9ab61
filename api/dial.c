/* SPDX-License-Identifier: MIT */
/*
 * Dialing one address: a non-blocking connect() whose completion is
 * awaited on the engine as writability, bounded by the dial deadline.
 * Names and the public calls are in dialer.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include "conn_internal.h"
#include "dial.h"
#include "libc.h"

/* poll() rather than the engine: a look at the state, never a wait. */
int urnet__connect_state(int fd)
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
		ret = urnet__connect_state(c->fd);
		if (ret <= 0)
			return ret;
		if (urnet__expired(deadline))
			return -ETIMEDOUT;
		urnet__waits_note_peer(&sa->u.sa, sa->len);
		ret = urnet__ready_wait(r, URNET__WRITE, snap, deadline,
				       URNET__WAIT_KIND(URNET__WK_CONNECT));
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

/*
 * A datagram socket connects at once.  A unixgram one is first bound to
 * an autobound abstract name, so that the peer has an address to answer.
 */
static int dgram_connect(urnet_conn *c, const struct urnet__sockaddr *sa, bool bound)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	/* Only the family: the kernel picks a free abstract name. */
	if (c->net == URNET__NET_UNIXGRAM && !bound &&
	    bind(c->fd, (const struct sockaddr *)&un, sizeof(sa_family_t)))
		return -errno;
	if (urnet__libc()->connect(c->fd, &sa->u.sa, sa->len))
		return -errno;
	return 0;
}

int urnet__dial_deadline(int64_t timeout_ns, int64_t *deadline)
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

urnet_conn *urnet__dial_addr(const struct urnet__opts *o, enum urnet__net net,
			     const struct urnet__sockaddr *sa, int64_t deadline)
{
	urnet_engine *e = urnet__engine_for_new_socket(o->o.engine);
	urnet_conn *c;
	int fd, ret;

	if (!e)
		return NULL;
	fd = urnet__opts_socket(o, net, sa, false);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	c = urnet__conn_new(e, fd, sa);
	if (!c) {
		ret = errno;
		urnet__libc()->close(fd);
		errno = ret;
		return NULL;
	}
	c->dgram = urnet__net_is_dgram(net);
	c->net = net;
	if (c->dgram)
		ret = dgram_connect(c, sa, o->has_local);
	else if (net == URNET__NET_UNIX)
		ret = unix_connect(c, sa, deadline);
	else
		ret = inet_connect(c, sa, deadline);
	if (ret) {
		errno = -ret;
		urnet__conn_discard(c);
		return NULL;
	}
	return c;
}
