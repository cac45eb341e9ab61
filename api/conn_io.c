/* SPDX-License-Identifier: MIT */
/*
 * The conn data path.  Every transfer first tries the non-blocking syscall;
 * only EAGAIN parks the thread, on the engine's readiness counter for that
 * direction.  The kernel never holds a caller's buffer between tries, so a
 * deadline or a close can end the wait without cancelling anything.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "conn_internal.h"

/* One try: recv/send on a buffer, or recvmsg/sendmsg on an iovec array. */
struct io_req {
	int dir;
	void *buf;
	size_t len;
	struct msghdr *msg;
	size_t want;		/* reads: bytes asked for, to tell a short read */
};

static ssize_t io_try(int fd, const struct io_req *q)
{
	if (q->dir == URNET__READ)
		return q->msg ? recvmsg(fd, q->msg, MSG_DONTWAIT)
			      : recv(fd, q->buf, q->len, MSG_DONTWAIT);
	return q->msg ? sendmsg(fd, q->msg, MSG_DONTWAIT | MSG_NOSIGNAL)
		      : send(fd, q->buf, q->len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Returns the syscall's byte count or -errno.  The readiness snapshot is
 * taken before the deadline is loaded: a deadline stored after the load is
 * followed by a kick, which then wakes the wait below.
 */
static ssize_t io_loop(urnet_conn *c, const struct io_req *q)
{
	struct urnet__ready *r = &c->ready;
	int dir = q->dir;
	uint32_t drained_snap = 0;
	/* The last read drained the socket: sleep first (urnet__ready_take_drained). */
	bool skip = dir == URNET__READ && urnet__ready_take_drained(r, &drained_snap);

	for (;;) {
		uint32_t snap = skip ? drained_snap : urnet__ready_snapshot(r, dir);
		int64_t deadline = atomic_load(&c->deadline[dir]);
		ssize_t n;
		int ret;

		if (atomic_load_explicit(&c->closed, memory_order_relaxed))
			return -ECANCELED;
		if (urnet__expired(deadline))
			return -ETIMEDOUT;
		if (!skip) {
			n = io_try(c->fd, q);
			if (n >= 0) {
				if (dir == URNET__READ && n > 0 && (size_t)n < q->want)
					urnet__ready_note_drained(r, snap);
				return n;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
		}
		ret = urnet__ready_wait(r, dir, snap, deadline, 0);
		/* A wait that failed before any try (engine gone): try first. */
		if (skip) {
			skip = false;
			if (ret < 0)
				continue;
		}
		/* On -ETIMEDOUT the deadline may have moved meanwhile: recheck it. */
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
	}
}

/* Serialise callers per direction, run one transfer, map -errno to errno. */
static ssize_t io_locked(urnet_conn *c, const struct io_req *q)
{
	ssize_t n;

	if (!urnet__conn_enter(c))
		return -1;
	pthread_mutex_lock(&c->io_lock[q->dir]);
	n = io_loop(c, q);
	pthread_mutex_unlock(&c->io_lock[q->dir]);
	urnet__conn_leave(c);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

ssize_t urnet_conn_read(urnet_conn *c, void *buf, size_t len)
{
	struct io_req q = { .dir = URNET__READ, .buf = buf, .len = len };

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		q.len = SSIZE_MAX;
	q.want = q.len;
	return io_locked(c, &q);
}

/* Sum of the lengths, -1 (EINVAL) when iovcnt or the sum is out of range. */
static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt && !iov)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total) {
			errno = EINVAL;
			return -1;
		}
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

ssize_t urnet_conn_readv(urnet_conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	struct io_req q = { .dir = URNET__READ, .msg = &msg };
	ssize_t total;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	total = iov_total(iov, iovcnt);
	if (total <= 0)
		return total;
	q.want = (size_t)total;
	return io_locked(c, &q);
}

/* Every byte of iov, looping over short writes; -errno on failure. */
static ssize_t write_all(urnet_conn *c, const struct iovec *iov, int iovcnt, size_t total)
{
	/* After a short write the rest goes out through a window of the array. */
	struct iovec win[64];
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	struct io_req q = { .dir = URNET__WRITE, .msg = &msg };
	size_t done = 0, off = 0;
	int idx = 0;

	if (iovcnt == 1) {
		q.msg = NULL;
		q.buf = iov[0].iov_base;
		q.len = iov[0].iov_len;
	}
	for (;;) {
		ssize_t n = io_loop(c, &q);

		if (n < 0)
			return n;
		done += (size_t)n;
		if (done >= total)
			return (ssize_t)done;
		/* Skip what went out, then aim the next try at the rest. */
		off += (size_t)n;
		while (idx < iovcnt && off >= iov[idx].iov_len)
			off -= iov[idx++].iov_len;
		if (iovcnt == 1) {
			q.buf = (char *)iov[0].iov_base + off;
			q.len = iov[0].iov_len - off;
			continue;
		}
		msg.msg_iov = win;
		msg.msg_iovlen = 0;
		for (int i = idx; i < iovcnt && msg.msg_iovlen < 64; i++) {
			win[msg.msg_iovlen].iov_base = iov[i].iov_base;
			win[msg.msg_iovlen].iov_len = iov[i].iov_len;
			msg.msg_iovlen++;
		}
		win[0].iov_base = (char *)win[0].iov_base + off;
		win[0].iov_len -= off;
	}
}

static ssize_t write_locked(urnet_conn *c, const struct iovec *iov, int iovcnt, size_t total)
{
	ssize_t n;

	if (!urnet__conn_enter(c))
		return -1;
	pthread_mutex_lock(&c->io_lock[URNET__WRITE]);
	n = write_all(c, iov, iovcnt, total);
	pthread_mutex_unlock(&c->io_lock[URNET__WRITE]);
	urnet__conn_leave(c);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

ssize_t urnet_conn_write(urnet_conn *c, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return write_locked(c, &iov, 1, len);
}

ssize_t urnet_conn_writev(urnet_conn *c, const struct iovec *iov, int iovcnt)
{
	ssize_t total;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	total = iov_total(iov, iovcnt);
	if (total <= 0)
		return total;
	return write_locked(c, iov, iovcnt, (size_t)total);
}

static int conn_shutdown(urnet_conn *c, int how)
{
	int ret;

	if (!urnet__conn_enter(c))
		return -1;
	ret = shutdown(c->fd, how);
	/* The kernel reports the new state as readiness; kick in case it does not. */
	urnet__ready_kick(&c->ready);
	urnet__conn_leave(c);
	return ret;
}

int urnet_conn_close_read(urnet_conn *c)
{
	return conn_shutdown(c, SHUT_RD);
}

int urnet_conn_close_write(urnet_conn *c)
{
	return conn_shutdown(c, SHUT_WR);
}
