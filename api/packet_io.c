/* SPDX-License-Identifier: MIT */
/*
 * The data calls of a packet conn: one datagram at a time with its peer's
 * address as a string or as a sockaddr, and batches over recvmmsg and
 * sendmmsg.  All go through the conn data path (conn_io.c), and no reader
 * or writer waits for another: each datagram goes to exactly one reader.
 * A read returns the datagram's full length (MSG_TRUNC), so a datagram
 * longer than the buffer is seen rather than silently cut.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "conn_internal.h"
#include "ready.h"

static urnet_conn *conn_of(urnet_packet_conn *p)
{
	return (urnet_conn *)(void *)p;
}

/* One datagram in or out through msg; -1 + errno. */
static ssize_t one(urnet_conn *c, int dir, struct msghdr *msg)
{
	struct urnet__xfer x = { .dir = dir, .msg = msg,
				 .flags = dir == URNET__READ ? MSG_TRUNC : 0 };

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	return urnet__conn_xfer(c, &x);
}

static size_t clamp(size_t len)
{
	return len > SSIZE_MAX ? SSIZE_MAX : len;
}

ssize_t urnet_packet_recvfrom(urnet_packet_conn *p, void *buf, size_t len,
			      struct sockaddr *from, socklen_t *fromlen)
{
	struct iovec v = { buf, clamp(len) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	ssize_t n;

	if (from) {
		if (!fromlen) {
			errno = EINVAL;
			return -1;
		}
		m.msg_name = from;
		m.msg_namelen = *fromlen;
	}
	n = one(conn_of(p), URNET__READ, &m);
	if (n >= 0 && from)
		*fromlen = m.msg_namelen;
	return n;
}

ssize_t urnet_packet_sendto(urnet_packet_conn *p, const void *buf, size_t len,
			    const struct sockaddr *to, socklen_t tolen)
{
	struct iovec v = { (void *)buf, clamp(len) };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
			    .msg_iov = &v, .msg_iovlen = 1 };

	return one(conn_of(p), URNET__WRITE, &m);
}

ssize_t urnet_packet_read_from(urnet_packet_conn *p, void *buf, size_t len, char *from,
			       size_t fromlen)
{
	struct urnet__sockaddr sa;
	socklen_t salen = sizeof(sa.u);
	ssize_t n;

	n = urnet_packet_recvfrom(p, buf, len, &sa.u.sa, &salen);
	if (n >= 0 && from && fromlen)
		urnet__format_sockaddr(&sa.u.sa, salen, from, fromlen);
	return n;
}

ssize_t urnet_packet_write_to(urnet_packet_conn *p, const void *buf, size_t len,
			      const char *to)
{
	struct urnet__sockaddr sa;
	urnet_conn *c = conn_of(p);
	int ret;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	/* No address: the kernel's EDESTADDRREQ, unless connected through the fd. */
	if (!to)
		return urnet_packet_sendto(p, buf, len, NULL, 0);
	ret = urnet__parse_address(c->net, to, false, &sa);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return urnet_packet_sendto(p, buf, len, &sa.u.sa, sa.len);
}

/*
 * vlen past UIO_MAXIOV (IOV_MAX, 1024), which the kernel would cut down
 * silently, is refused, so that no datagram goes unseen.
 */
static int batch(urnet_packet_conn *p, int dir, struct mmsghdr *vec, unsigned int vlen)
{
	struct urnet__xfer x = { .dir = dir, .vec = vec, .vlen = vlen,
				 .flags = dir == URNET__READ ? MSG_TRUNC : 0 };
	urnet_conn *c = conn_of(p);

	if (!c || !vec || vlen == 0 || vlen > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	return (int)urnet__conn_xfer(c, &x);
}

int urnet_packet_recvmmsg(urnet_packet_conn *p, struct mmsghdr *vec, unsigned int vlen)
{
	return batch(p, URNET__READ, vec, vlen);
}

int urnet_packet_sendmmsg(urnet_packet_conn *p, struct mmsghdr *vec, unsigned int vlen)
{
	return batch(p, URNET__WRITE, vec, vlen);
}
