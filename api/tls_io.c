/* SPDX-License-Identifier: MIT */
/*
 * The TLS data path: each OpenSSL call runs under the SSL's lock and never
 * waits; SSL_ERROR_WANT_READ/WANT_WRITE make the caller wait on the conn's
 * readiness outside the lock, through the shared loop (urnet__ready_io),
 * and call again.  See tls_internal.h.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>

#include "ready_io.h"
#include "tls_internal.h"

/* The most one record carries: writev gathers small buffers up to this. */
#define RECORD	16384

enum tls_call { TLS_HANDSHAKE, TLS_READ, TLS_WRITE, TLS_SHUTDOWN };

struct tls_op {
	struct urnet__io io;	/* io.dir: the direction whose deadline bounds the call */
	urnet_tls *t;
	enum tls_call call;
	void *buf;
	size_t len;
	size_t done;		/* bytes SSL_read_ex/SSL_write_ex moved */
	int want;		/* the direction OpenSSL waits for */
	uint32_t snap[2];	/* readiness before the call, per direction */
};

static int ssl_call(struct tls_op *op)
{
	SSL *ssl = op->t->ssl;

	switch (op->call) {
	case TLS_HANDSHAKE:
		return SSL_do_handshake(ssl);
	case TLS_READ:
		return SSL_read_ex(ssl, op->buf, op->len, &op->done);
	case TLS_WRITE:
		return SSL_write_ex(ssl, op->buf, op->len, &op->done);
	default:
		/* 0: our close_notify went, the peer's has not come: done for close_write. */
		return SSL_shutdown(ssl) < 0 ? -1 : 1;
	}
}

static ssize_t tls_try(struct urnet__io *io)
{
	struct tls_op *op = (struct tls_op *)io;
	urnet_tls *t = op->t;
	uint64_t in;
	int ret, e = SSL_ERROR_NONE;

	ret = urnet__conn_io_check(t->c, io->dir);
	if (ret)
		return ret;
	/* Before the call: readiness that comes during it wakes the wait after it. */
	op->snap[URNET__READ] = urnet__ready_snapshot(&t->c->ready, URNET__READ);
	op->snap[URNET__WRITE] = urnet__ready_snapshot(&t->c->ready, URNET__WRITE);
	pthread_mutex_lock(&t->ssl_lock);
	/* As on a conn: writes after close_write fail EPIPE (OpenSSL says "shutdown"). */
	if (op->call == TLS_WRITE && (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
		pthread_mutex_unlock(&t->ssl_lock);
		return -EPIPE;
	}
	in = atomic_load_explicit(&t->bytes_in, memory_order_relaxed);
	t->in_read = op->call == TLS_READ;
	t->read_snap = op->snap[URNET__READ];
	ERR_clear_error();
	errno = 0;
	ret = ssl_call(op);
	t->in_read = false;
	if (ret <= 0) {
		e = SSL_get_error(t->ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			ret = urnet__tls_fail(t, e);
	}
	/*
	 * A writer (a handshake) that took records off the socket may leave
	 * some in OpenSSL's buffer that a reader asleep on the socket would
	 * never hear of: wake it to look.
	 */
	if (op->call != TLS_READ && atomic_load_explicit(&t->bytes_in, memory_order_relaxed) != in)
		urnet__ready_kick(&t->c->ready);
	pthread_mutex_unlock(&t->ssl_lock);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		op->want = e == SSL_ERROR_WANT_READ ? URNET__READ : URNET__WRITE;
		return -EAGAIN;
	}
	if (ret < 0)
		return ret;
	if (e != SSL_ERROR_NONE)	/* the peer's close_notify: end of stream... */
		return op->call == TLS_HANDSHAKE ? -ECONNRESET : 0;	/* ...too early */
	return op->call == TLS_READ || op->call == TLS_WRITE ? (ssize_t)op->done : 0;
}

static int tls_wait(struct urnet__io *io, uint32_t snap, bool tried)
{
	struct tls_op *op = (struct tls_op *)io;

	/* Asleep before any try: the socket drained, OpenSSL holds nothing (urnet_tls_read). */
	if (!tried) {
		op->want = URNET__READ;
		op->snap[URNET__READ] = snap;
	}
	/* A handshake's wait is bounded by the deadline of what it waits for. */
	return urnet__conn_io_wait(op->t->c, op->call == TLS_HANDSHAKE ? op->want : io->dir,
				   op->want, op->snap[op->want], tried);
}

static ssize_t run(urnet_tls *t, enum tls_call call, int dir, void *buf, size_t len)
{
	struct tls_op op = { .io = { .ready = &t->c->ready, .dir = dir, .try_io = tls_try,
				     .wait = tls_wait },
			     .t = t, .call = call, .buf = buf, .len = len };

	/*
	 * A read with nothing in OpenSSL's buffer may sleep first when the BIO
	 * saw the socket drained (drain_want 1: the loop takes the BIO's note
	 * but never makes one of its own from plaintext counts, which say
	 * nothing of the socket).
	 */
	if (call == TLS_READ) {
		pthread_mutex_lock(&t->ssl_lock);
		op.io.drain_want = SSL_has_pending(t->ssl) ? 0 : 1;
		pthread_mutex_unlock(&t->ssl_lock);
	}
	return urnet__ready_io(&op.io);
}

int urnet__tls_handshake(urnet_tls *t)
{
	int ret;

	if (atomic_load_explicit(&t->handshaken, memory_order_acquire))
		return 0;
	/* A close wakes the thread that runs it, which then lets the others in to fail. */
	pthread_mutex_lock(&t->hs_lock);
	if (t->hs_err) {
		ret = t->hs_err;
	} else if (atomic_load_explicit(&t->handshaken, memory_order_relaxed)) {
		ret = 0;
	} else {
		/* Every handshake reads: checked against the read deadline first. */
		ret = (int)run(t, TLS_HANDSHAKE, URNET__READ, NULL, 0);
		if (ret == 0)
			atomic_store_explicit(&t->handshaken, 1, memory_order_release);
		else if (ret != -ETIMEDOUT)
			t->hs_err = ret;	/* a deadline may move; a failed handshake stays */
	}
	pthread_mutex_unlock(&t->hs_lock);
	return ret;
}

/* Enter t, serialise the direction, handshake, run fn; -1 + errno on failure. */
#define TLS_CALL(t, dir, n, expr) do {						\
	if (!urnet__tls_enter(t))						\
		return -1;							\
	pthread_mutex_lock(&(t)->c->io_lock[dir]);				\
	(n) = urnet__tls_handshake(t);						\
	if (!(n))								\
		(n) = (expr);							\
	pthread_mutex_unlock(&(t)->c->io_lock[dir]);				\
	urnet__tls_leave(t);							\
	if ((n) < 0) {								\
		errno = (int)-(n);						\
		return -1;							\
	}									\
} while (0)

int urnet_tls_handshake(urnet_tls *t)
{
	int n;

	if (!urnet__tls_enter(t))
		return -1;
	n = urnet__tls_handshake(t);
	urnet__tls_leave(t);
	if (n < 0) {
		errno = -n;
		return -1;
	}
	return 0;
}

ssize_t urnet_tls_read(urnet_tls *t, void *buf, size_t len)
{
	ssize_t n;

	if (!t) {
		errno = EINVAL;
		return -1;
	}
	if (!len)
		return 0;
	TLS_CALL(t, URNET__READ, n, run(t, TLS_READ, URNET__READ, buf, len));
	return n;
}

/* Every byte of buf: SSL_write_ex writes all of it unless it fails. */
static ssize_t write_all(urnet_tls *t, const void *buf, size_t len)
{
	return run(t, TLS_WRITE, URNET__WRITE, (void *)buf, len);
}

ssize_t urnet_tls_write(urnet_tls *t, const void *buf, size_t len)
{
	ssize_t n;

	if (!t || len > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!len)
		return 0;
	TLS_CALL(t, URNET__WRITE, n, write_all(t, buf, len));
	return n;
}

/* -EINVAL when iovcnt or the total is out of range, else the total. */
static ssize_t iov_check(const struct iovec *iov, int iovcnt)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt && !iov))
		return -EINVAL;
	return urnet__iov_total(iov, (size_t)iovcnt);
}

/* The first non-empty buffer waits; the next ones take only what OpenSSL holds. */
static ssize_t readv_some(urnet_tls *t, const struct iovec *iov, int iovcnt)
{
	ssize_t got = 0;

	for (int i = 0; i < iovcnt; i++) {
		ssize_t n;

		if (!iov[i].iov_len)
			continue;
		if (got) {
			int pending;

			pthread_mutex_lock(&t->ssl_lock);
			pending = SSL_pending(t->ssl);
			pthread_mutex_unlock(&t->ssl_lock);
			if (pending <= 0)
				break;
		}
		n = run(t, TLS_READ, URNET__READ, iov[i].iov_base, iov[i].iov_len);
		if (n <= 0)
			return got ? got : n;
		got += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return got;
}

ssize_t urnet_tls_readv(urnet_tls *t, const struct iovec *iov, int iovcnt)
{
	ssize_t n = t ? iov_check(iov, iovcnt) : -EINVAL;

	if (n <= 0) {
		if (n < 0)
			errno = (int)-n;
		return n < 0 ? -1 : 0;
	}
	TLS_CALL(t, URNET__READ, n, readv_some(t, iov, iovcnt));
	return n;
}

/* Small buffers gathered into records of up to RECORD bytes; big ones go as they are. */
static ssize_t writev_all(urnet_tls *t, const struct iovec *iov, int iovcnt, size_t total)
{
	unsigned char rec[RECORD];
	size_t fill = 0;
	ssize_t n;

	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;	/* its base may be NULL */
		if (iov[i].iov_len > RECORD / 2) {
			if (fill && (n = write_all(t, rec, fill)) < 0)
				return n;
			fill = 0;
			if ((n = write_all(t, iov[i].iov_base, iov[i].iov_len)) < 0)
				return n;
			continue;
		}
		if (fill + iov[i].iov_len > RECORD) {
			if ((n = write_all(t, rec, fill)) < 0)
				return n;
			fill = 0;
		}
		memcpy(rec + fill, iov[i].iov_base, iov[i].iov_len);
		fill += iov[i].iov_len;
	}
	if (fill && (n = write_all(t, rec, fill)) < 0)
		return n;
	return (ssize_t)total;
}

ssize_t urnet_tls_writev(urnet_tls *t, const struct iovec *iov, int iovcnt)
{
	ssize_t total = t ? iov_check(iov, iovcnt) : -EINVAL, n;

	if (total <= 0) {
		if (total < 0)
			errno = (int)-total;
		return total < 0 ? -1 : 0;
	}
	TLS_CALL(t, URNET__WRITE, n, writev_all(t, iov, iovcnt, (size_t)total));
	return n;
}

static ssize_t close_write(urnet_tls *t)
{
	ssize_t n = run(t, TLS_SHUTDOWN, URNET__WRITE, NULL, 0);

	if (n < 0)
		return n;
	return urnet__ready_shutdown(&t->c->ready, t->c->fd, SHUT_WR) ? -errno : 0;
}

int urnet_tls_close_write(urnet_tls *t)
{
	ssize_t n;

	TLS_CALL(t, URNET__WRITE, n, close_write(t));
	return 0;
}
