/* SPDX-License-Identifier: MIT */
/*
 * accept and connect on blocking stream sockets, and shutdown.
 *
 * Neither call takes MSG_DONTWAIT, and flipping O_NONBLOCK on a listener
 * would show to every other thread sharing it.  accept therefore waits for
 * readiness on the engine and asks the kernel (poll with no timeout) before
 * the real accept; should another thread take the connection in between,
 * the kernel blocks this one as libc would, and close() still wakes it.
 * connect has the socket to itself: it runs non-blocking and waits for
 * writability on the engine, as the kernel's blocking connect does, also
 * when the handshake was started by an earlier call.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "call.h"
#include "ready_io.h"
#include "fdmode.h"
#include "libc.h"
#include "urnet_compat.h"

static short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (urnet__libc_poll_now(&p, 1) <= 0)
		return 0;
	return p.revents;
}

/*
 * The kernel's accept takes a number for the new socket before it waits
 * for a connection: a process at its descriptor limit gets EMFILE at once.
 * Taking a number for a moment and giving it back asks the same question.
 */
static int no_free_number(int fd)
{
	int probe = urnet__libc()->fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (probe < 0)
		return errno == EMFILE ? -EMFILE : 0;
	urnet__libc()->close(probe);
	return 0;
}

/*
 * What the kernel's accept4 refuses at once (unknown flags, a socket that is
 * not listening, no free number) must not wait for a readiness that never comes.
 */
static int accept_invalid(int fd, int flags)
{
	int on = 0;
	socklen_t sl = sizeof(on);

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &sl))
		return -errno;
	return on ? no_free_number(fd) : -EINVAL;
}

static int stream_accept(struct urnet__call *c, struct sockaddr *addr, socklen_t *len,
			 int flags)
{
	bool checked = false;
	uint32_t snap;
	int err, nfd;

	/* A datagram socket never accepts: the kernel says so at once. */
	if (c->dgram)
		return URNET__PASS;
	err = urnet__call_nonblock(c);
	if (err)
		return err < 0 ? err : URNET__PASS;
	err = urnet__call_prepare(c, URNET__READ);
	if (err)
		return err;
	for (;;) {
		snap = urnet__ready_snapshot(c->ready, URNET__READ);
		if (poll_now(c->fd, POLLIN)) {
			err = urnet__call_to_kernel(c);
			if (err)
				return err;
			nfd = urnet__libc()->accept4(c->fd, addr, len, flags);
			if (nfd < 0)
				return -errno;
			urnet__fd_fresh(nfd);
			return nfd;
		}
		if (!checked) {
			err = accept_invalid(c->fd, flags);
			if (err)
				return err;
			checked = true;
		}
		err = urnet__call_wait(c, URNET__READ, snap, URNET__WK_ACCEPT);
		if (err)
			return err;
	}
}


int urnet_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct urnet__call c;
	int n;

	URNET__CALL_RUN(c, fd, n, stream_accept(&c, addr, len, flags));
	if (n == URNET__PASS) {
		n = urnet__libc()->accept4(fd, addr, len, flags);
		if (n >= 0)
			urnet__fd_fresh(n);
		return n;
	}
	return (int)urnet__ret(n);
}

int urnet_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return urnet_accept4(fd, addr, len, 0);
}

struct connect_args {
	const struct sockaddr *addr;
	socklen_t len;
};

/*
 * connect with O_NONBLOCK set around it (fl: the file's flags without it):
 * the kernel's answer without the kernel's wait.  0 or -errno.
 */
static int connect_nowait(struct urnet__call *c, const struct connect_args *a, int fl)
{
	const struct urnet__libc *libc = urnet__libc();
	int ret, err;

	if (libc->fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return URNET__PASS;
	ret = libc->connect(c->fd, a->addr, a->len);
	err = errno;
	libc->fcntl(c->fd, F_SETFL, fl);
	/* A call that read the flags meanwhile must not keep what it saw. */
	urnet__fd_mode_changed();
	return ret == 0 ? 0 : -err;
}

/*
 * The handshake is under way: pending is -EINPROGRESS when this call
 * started it, -EALREADY when it already was (a connect again after EINTR,
 * or after a non-blocking one).  The kernel's blocking connect waits in
 * both cases; so does this, for writability, and then asks the kernel
 * again, which reports the result and marks the socket connected (a later
 * connect says EISCONN) or, on failure, unconnected, as its own wait would.
 * An SO_SNDTIMEO expiry leaves the handshake running and reports pending.
 */
static int connect_wait(struct urnet__call *c, const struct connect_args *a, int fl,
			int pending)
{
	uint32_t snap;
	int ret, err;

	c->connecting = true;
	err = urnet__call_prepare(c, URNET__WRITE);
	if (err)
		return err == -EAGAIN ? pending : err;
	for (;;) {
		snap = urnet__ready_snapshot(c->ready, URNET__WRITE);
		if (poll_now(c->fd, POLLOUT)) {
			ret = connect_nowait(c, a, fl);
			if (ret != -EALREADY && ret != -EINPROGRESS)
				return ret;
		}
		urnet__waits_note_peer(a->addr, a->len);
		err = urnet__call_wait(c, URNET__WRITE, snap, URNET__WK_CONNECT);
		if (err == -EAGAIN)
			return pending;
		if (err)
			return err;
	}
}

static int stream_connect(struct urnet__call *c, const struct sockaddr *addr,
			  socklen_t len)
{
	struct connect_args a = { addr, len };
	int fl, ret;

	/*
	 * Flipping O_NONBLOCK and waiting on our engine are not a child's to
	 * do; a datagram socket's connect never waits.
	 */
	if (c->dgram || urnet__in_foreign_child())
		return URNET__PASS;
	fl = urnet__libc()->fcntl(c->fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		return URNET__PASS;
	c->nonblock = false;
	c->flags_known = true;
	ret = connect_nowait(c, &a, fl);
	/* A unix listener's backlog is full: the kernel's blocking wait is on it. */
	if (ret == -EAGAIN) {
		ret = urnet__call_to_kernel(c);
		if (ret)
			return ret;
		return urnet__libc()->connect(c->fd, addr, len) < 0 ? -errno : 0;
	}
	if (ret != -EINPROGRESS && ret != -EALREADY)
		return ret;
	return connect_wait(c, &a, fl, ret);
}

int urnet_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct urnet__call c;
	int n;

	URNET__CALL_RUN(c, fd, n, stream_connect(&c, addr, len));
	if (n == URNET__PASS)
		return urnet__libc()->connect(fd, addr, len);
	return (int)urnet__ret(n);
}

int urnet_shutdown(int fd, int how)
{
	struct urnet__fdent *e = urnet__fd_enter(fd);
	struct urnet__ready *r;
	int ret;

	if (!e)
		return urnet__libc()->shutdown(fd, how);
	/* Not the waiters of a foreign child's parent: the number is the child's. */
	r = atomic_load(&e->ready);
	if (r && urnet__in_foreign_child())
		r = NULL;
	ret = urnet__ready_shutdown(r, fd, how);
	urnet__fd_leave(e);
	return ret;
}
