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
#include "ready_io.h"
#include "libc.h"

/* One transfer (conn_internal.h), and the state of a write that goes on. */
struct io_req {
	struct urnet__io io;
	urnet_conn *c;
	struct urnet__xfer x;
	/* Stream writes: every byte of iov goes, looping over short writes. */
	const struct iovec *iov;
	int iovcnt;
	size_t total;
	bool slept;
};

static ssize_t xfer_read(int fd, const struct urnet__xfer *x)
{
	int fl = x->flags | MSG_DONTWAIT;

	if (x->vec)
		return urnet__libc()->recvmmsg(fd, x->vec, x->vlen, fl, NULL);
	if (x->msg)
		return urnet__libc()->recvmsg(fd, x->msg, fl);
	return urnet__libc()->recv(fd, x->buf, x->len, fl);
}

static ssize_t xfer_write(int fd, const struct urnet__xfer *x)
{
	int fl = x->flags | MSG_DONTWAIT | MSG_NOSIGNAL;

	if (x->vec)
		return urnet__libc()->sendmmsg(fd, x->vec, x->vlen, fl);
	if (x->msg)
		return urnet__libc()->sendmsg(fd, x->msg, fl);
	return urnet__libc()->send(fd, x->buf, x->len, fl);
}

/*
 * The object closed or the deadline passed: fail at once, even if data is
 * waiting.  Read after the readiness snapshot: a deadline stored later is
 * followed by a kick, which then wakes the wait.
 */
int urnet__conn_io_check(urnet_conn *c, int dir)
{
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return -ECANCELED;
	if (urnet__expired(atomic_load(&c->deadline[dir])))
		return -ETIMEDOUT;
	return 0;
}

static ssize_t io_try(struct urnet__io *io)
{
	struct io_req *q = (struct io_req *)io;
	urnet_conn *c = q->c;
	ssize_t n = urnet__conn_io_check(c, io->dir);

	if (n)
		return n;
	do {
		n = io->dir == URNET__READ ? xfer_read(c->fd, &q->x) : xfer_write(c->fd, &q->x);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	/* A datagram socket shut down for reading reads 0. */
	if (c->dgram && io->dir == URNET__READ &&
	    urnet__dgram_read_shut(&c->ready, c->fd, q->slept))
		return 0;
	return -EAGAIN;
}

int urnet__conn_io_wait(urnet_conn *c, int dir, int wait_dir, uint32_t snap, bool tried)
{
	int ret = urnet__ready_wait(&c->ready, wait_dir, snap, atomic_load(&c->deadline[dir]), 0);

	/* A sleep that failed before any try (engine gone, closed, late): try first. */
	if (ret < 0 && !tried)
		return URNET__IO_RETRY;
	/* The deadline may have moved meanwhile: the next try looks at it. */
	return ret == -ETIMEDOUT ? 0 : ret;
}

static int io_wait(struct urnet__io *io, uint32_t snap, bool tried)
{
	struct io_req *q = (struct io_req *)io;

	q->slept = true;
	return urnet__conn_io_wait(q->c, io->dir, io->dir, snap, tried);
}

static void io_init(struct io_req *q, urnet_conn *c, int dir)
{
	q->io = (struct urnet__io){ .ready = &c->ready, .dir = dir,
				    .try_io = io_try, .wait = io_wait };
	q->c = c;
	q->x = (struct urnet__xfer){ .dir = dir };
	q->iov = NULL;
	q->slept = false;
}

/* Every byte of q's iov, looping over short writes; -errno on failure. */
static ssize_t write_all(struct io_req *q)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)q->iov, .msg_iovlen = (size_t)q->iovcnt };
	struct urnet__iov_rest rest;
	size_t done = 0;

	if (q->iovcnt == 1) {
		q->x.buf = q->iov[0].iov_base;
		q->x.len = q->iov[0].iov_len;
	} else {
		/* q is the caller's, and msg is only used until this returns. */
		/* cppcheck-suppress autoVariables */
		q->x.msg = &msg;
	}
	urnet__iov_rest_init(&rest, q->iov, (size_t)q->iovcnt);
	for (;;) {
		ssize_t n = urnet__ready_io(&q->io);

		if (n < 0)
			return n;
		done += (size_t)n;
		if (done >= q->total)
			return (ssize_t)done;
		/* Aim the next try at the rest. */
		urnet__iov_rest_skip(&rest, (size_t)n);
		if (q->iovcnt == 1) {
			q->x.buf = (char *)q->x.buf + n;
			q->x.len -= (size_t)n;
		} else {
			msg.msg_iov = urnet__iov_rest_window(&rest, &msg.msg_iovlen);
		}
	}
}

/*
 * Every message of a batch, as a blocking sendmmsg() would send them: the
 * count sent, or the error when it stopped the first.
 */
static ssize_t write_batch(struct io_req *q)
{
	struct mmsghdr *vec = q->x.vec;
	unsigned int vlen = q->x.vlen, sent = 0;

	while (sent < vlen) {
		ssize_t n;

		q->x.vec = vec + sent;
		q->x.vlen = vlen - sent;
		n = urnet__ready_io(&q->io);
		if (n < 0)
			return sent ? (ssize_t)sent : n;
		sent += (unsigned int)n;
	}
	return (ssize_t)sent;
}

static ssize_t io_run(struct io_req *q)
{
	/* A read, or a write of one datagram: one try that does not say EAGAIN. */
	if (q->io.dir == URNET__READ || (!q->x.vec && !q->iov))
		return urnet__ready_io(&q->io);
	return q->x.vec ? write_batch(q) : write_all(q);
}

/*
 * Run one transfer, map -errno to errno.  A stream's callers are
 * serialised per direction, so that writes do not interleave; datagrams
 * are whole, so any number of callers may go at once.
 */
static ssize_t io_locked(urnet_conn *c, struct io_req *q)
{
	ssize_t n;

	if (!urnet__conn_enter(c))
		return -1;
	if (c->dgram) {
		n = io_run(q);
	} else {
		pthread_mutex_lock(&c->io_lock[q->io.dir]);
		n = io_run(q);
		pthread_mutex_unlock(&c->io_lock[q->io.dir]);
	}
	urnet__conn_leave(c);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

ssize_t urnet__conn_xfer(urnet_conn *c, const struct urnet__xfer *x)
{
	struct io_req q;

	io_init(&q, c, x->dir);
	q.x = *x;
	return io_locked(c, &q);
}

ssize_t urnet_conn_read(urnet_conn *c, void *buf, size_t len)
{
	struct io_req q;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0 && !c->dgram)
		return 0;
	io_init(&q, c, URNET__READ);
	q.x.buf = buf;
	q.x.len = len > SSIZE_MAX ? SSIZE_MAX : len;
	/* A datagram's read returns its full length: a cut one is seen. */
	if (c->dgram)
		q.x.flags = MSG_TRUNC;
	else
		q.io.drain_want = q.x.len;
	return io_locked(c, &q);
}

/* Sum of the lengths, -1 (EINVAL) when iovcnt or the sum is out of range. */
static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	ssize_t total;

	if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt && !iov)) {
		errno = EINVAL;
		return -1;
	}
	total = urnet__iov_total(iov, (size_t)iovcnt);
	if (total < 0) {
		errno = (int)-total;
		return -1;
	}
	return total;
}

ssize_t urnet_conn_readv(urnet_conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	struct io_req q;
	ssize_t total;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	total = iov_total(iov, iovcnt);
	if (total < 0 || (total == 0 && !c->dgram))
		return total;
	io_init(&q, c, URNET__READ);
	q.x.msg = &msg;
	if (c->dgram)
		q.x.flags = MSG_TRUNC;
	else
		q.io.drain_want = (size_t)total;
	return io_locked(c, &q);
}

static ssize_t write_locked(urnet_conn *c, const struct iovec *iov, int iovcnt, size_t total)
{
	struct io_req q;

	io_init(&q, c, URNET__WRITE);
	q.iov = iov;
	q.iovcnt = iovcnt;
	q.total = total;
	return io_locked(c, &q);
}

ssize_t urnet_conn_write(urnet_conn *c, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	/* A zero-length datagram is a real one. */
	if (len == 0 && !c->dgram)
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
	if (total < 0 || (total == 0 && !c->dgram))
		return total;
	return write_locked(c, iov, iovcnt, (size_t)total);
}

static int conn_shutdown(urnet_conn *c, int how)
{
	int ret;

	if (!urnet__conn_enter(c))
		return -1;
	ret = urnet__ready_shutdown(&c->ready, c->fd, how);
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
