/* SPDX-License-Identifier: MIT */
/*
 * The try-wait-retry loop of every blocking call, and the iovec rest of a
 * transfer that goes on.  See ready_io.h.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "libc.h"
#include "ready_io.h"

ssize_t urnet__ready_io(struct urnet__io *io)
{
	uint32_t snap = 0;
	/* The last read drained the socket: sleep first, saving a try that says EAGAIN. */
	bool tried = !(io->drain_want && io->ready &&
		       urnet__ready_take_drained(io->ready, &snap));

	for (;;) {
		struct urnet__ready *r = io->ready;
		ssize_t n;
		int ret;

		if (tried) {
			if (r)
				snap = urnet__ready_snapshot(r, io->dir);
			n = io->try_io(io);
			if (n != -EAGAIN) {
				if (r && n > 0 && (size_t)n < io->drain_want)
					urnet__ready_note_drained(r, snap);
				return n;
			}
		}
		ret = io->wait(io, snap, tried);
		if (ret < 0)
			return ret;
		tried = true;
	}
}

int urnet__ready_shutdown(struct urnet__ready *r, int fd, int how)
{
	int ret = urnet__libc()->shutdown(fd, how), err = errno;

	if (ret == 0 && r)
		urnet__ready_kick(r);
	errno = err;
	return ret;
}

bool urnet__dgram_read_shut(struct urnet__ready *r, int fd, bool slept)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	struct timespec now = { 0, 0 };

	if (!slept && !(r && atomic_load_explicit(&r->hup_seen, memory_order_seq_cst)))
		return false;
	/* A datagram socket reports RDHUP only for a read shutdown. */
	return urnet__libc()->ppoll(&p, 1, &now, NULL) == 1 && (p.revents & POLLRDHUP);
}

ssize_t urnet__iov_total(const struct iovec *iov, size_t cnt)
{
	size_t total = 0;

	for (size_t i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

void urnet__iov_rest_init(struct urnet__iov_rest *rest, const struct iovec *iov, size_t cnt)
{
	rest->src = iov;
	rest->cnt = cnt;
	rest->idx = 0;
	rest->off = 0;
}

void urnet__iov_rest_skip(struct urnet__iov_rest *rest, size_t n)
{
	n += rest->off;
	while (rest->idx < rest->cnt && n >= rest->src[rest->idx].iov_len)
		n -= rest->src[rest->idx++].iov_len;
	rest->off = rest->idx < rest->cnt ? n : 0;
}

struct iovec *urnet__iov_rest_window(struct urnet__iov_rest *rest, size_t *cnt)
{
	size_t n = 0;

	for (size_t i = rest->idx; i < rest->cnt && n < URNET__IOV_WINDOW; i++, n++)
		rest->win[n] = rest->src[i];
	if (n) {
		rest->win[0].iov_base = (char *)rest->win[0].iov_base + rest->off;
		rest->win[0].iov_len -= rest->off;
	}
	*cnt = n;
	return rest->win;
}
