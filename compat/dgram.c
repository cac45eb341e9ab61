/* SPDX-License-Identifier: MIT */
/*
 * What datagram sockets need beyond the data calls they share with
 * streams (stream.c): recvmmsg and sendmmsg on blocking sockets, with the
 * kernel's rules for when a batch ends.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

#include "call.h"
#include "libc.h"
#include "urnet_compat.h"

#define NSEC 1000000000LL

/*
 * As the kernel's do_recvmmsg: wait for the first datagram, then (without
 * MSG_WAITFORONE) for more until vlen came or the timeout, looked at after
 * each datagram and never while waiting, has run out; the time left is
 * written back.  Once a datagram came, an error or any signal ends the
 * batch with the count.  Before that, a handler with SA_RESTART restarts
 * the wait, timeout or not: signal(7) lists recvmmsg with a timeout among
 * the calls never restarted, but Linux restarts it (the inner receive
 * waits untimed), and bare Linux is what a program sees.
 */
static ssize_t dgram_recvmmsg(struct urnet__call *c, struct mmsghdr *vec, unsigned int vlen,
			      int flags, struct timespec *timeout)
{
	int64_t end = 0, left = 0;
	unsigned int got = 0;

	if (!c->dgram)
		return URNET__PASS;
	if (timeout)
		end = urnet_now_ns() + (int64_t)timeout->tv_sec * NSEC + timeout->tv_nsec;
	while (got < vlen) {
		ssize_t n = urnet__call_mmsg(c, URNET__READ, vec + got, vlen - got,
					     flags & ~MSG_WAITFORONE);

		if (n < 0) {
			if (!got)
				return n;
			break;
		}
		got += (unsigned int)n;
		c->progress = true;
		if (flags & MSG_WAITFORONE)
			break;
		if (timeout) {
			left = end - urnet_now_ns();
			if (left <= 0) {
				left = 0;
				break;
			}
		}
	}
	if (timeout && got) {
		timeout->tv_sec = (time_t)(left / NSEC);
		timeout->tv_nsec = (long)(left % NSEC);
	}
	return got;
}

/* Every message, as the kernel's blocking sendmmsg; the count once one went. */
static ssize_t dgram_sendmmsg(struct urnet__call *c, struct mmsghdr *vec, unsigned int vlen,
			      int flags)
{
	unsigned int sent = 0;

	if (!c->dgram)
		return URNET__PASS;
	while (sent < vlen) {
		ssize_t n = urnet__call_mmsg(c, URNET__WRITE, vec + sent, vlen - sent, flags);

		if (n < 0)
			return sent ? (ssize_t)sent : n;
		sent += (unsigned int)n;
		c->progress = true;
	}
	return sent;
}

/* What the kernel answers without waiting, or refuses: libc's to do. */
static bool mmsg_to_libc(const struct mmsghdr *vec, unsigned int vlen, int flags,
			 const struct timespec *timeout)
{
	return (flags & URNET__NEVER_WAITS) || !vec || !vlen ||
	       (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
			    timeout->tv_nsec >= NSEC));
}

int urnet_recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		    struct timespec *timeout)
{
	struct urnet__call c;
	ssize_t n = URNET__PASS;
	int got;

	/* The kernel takes at most UIO_MAXIOV. */
	if (vlen > IOV_MAX)
		vlen = IOV_MAX;
	if (!mmsg_to_libc(vec, vlen, flags, timeout))
		URNET__CALL_RUN(c, fd, n, dgram_recvmmsg(&c, vec, vlen, flags, timeout));
	if (n == URNET__PASS)
		got = urnet__libc()->recvmmsg(fd, vec, vlen, flags, timeout);
	else
		got = (int)urnet__ret(n);
	/* Numbers that came in SCM_RIGHTS may have had entries of their own. */
	for (int i = 0; i < got; i++)
		urnet__fd_fresh_rights(&vec[i].msg_hdr);
	return got;
}

int urnet_sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct urnet__call c;
	ssize_t n = URNET__PASS;

	if (vlen > IOV_MAX)
		vlen = IOV_MAX;
	if (!mmsg_to_libc(vec, vlen, flags, NULL))
		URNET__CALL_RUN(c, fd, n, dgram_sendmmsg(&c, vec, vlen, flags));
	if (n == URNET__PASS)
		return urnet__libc()->sendmmsg(fd, vec, vlen, flags);
	return (int)urnet__ret(n);
}
