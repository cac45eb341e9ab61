/* SPDX-License-Identifier: MIT */
/*
 * The data calls on blocking stream and datagram sockets: recv/send and the
 * read, write, readv, writev, recvfrom, sendto, recvmsg, sendmsg spellings
 * of them, and the try-wait loop that recvmmsg/sendmmsg (dgram.c) share.
 *
 * Each try is the caller's own call with MSG_DONTWAIT added, so flags such
 * as MSG_PEEK, MSG_OOB and MSG_NOSIGNAL act exactly as in the kernel; a
 * send without MSG_NOSIGNAL on a broken connection raises SIGPIPE as libc's
 * would.  Only the waiting moves to the engine: a blocking send loops until
 * everything is queued, a MSG_WAITALL recv until everything arrived, with
 * the kernel's rules for stopping early (signal, timeout, error, EOF).  A
 * datagram moves whole in one try, so neither loop goes on for one.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "call.h"
#include "libc.h"
#include "ready_io.h"
#include "urnet_compat.h"

/*
 * A message of our own making (one buffer, an address or none, no control
 * data) goes through recvfrom/sendto, which the kernel serves without
 * copying in a msghdr and importing an iovec.  Lengths past INT_MAX, which
 * the kernel cuts down anyway, keep to recvmsg/sendmsg: memory checkers
 * such as valgrind try to check the whole of a recv/send buffer.
 */
static bool plain_msg(const struct urnet__call *c, const struct msghdr *m)
{
	return c->plain && m->msg_iovlen == 1 && m->msg_iov->iov_len <= INT_MAX;
}

/* The caller's recvmsg as a try (flags with MSG_DONTWAIT), or the kernel's blocking one. */
static ssize_t do_recv(const struct urnet__call *c, struct msghdr *m, int flags)
{
	ssize_t n;

	if (plain_msg(c, m))
		n = urnet__libc()->recvfrom(c->fd, m->msg_iov->iov_base, m->msg_iov->iov_len,
					    flags, m->msg_name,
					    m->msg_name ? &m->msg_namelen : NULL);
	else
		n = urnet__libc()->recvmsg(c->fd, m, flags);
	return n < 0 ? -errno : n;
}

static ssize_t do_send(const struct urnet__call *c, const struct msghdr *m, int flags)
{
	ssize_t n;

	if (plain_msg(c, m))
		n = urnet__libc()->sendto(c->fd, m->msg_iov->iov_base, m->msg_iov->iov_len,
					  flags, m->msg_name, m->msg_namelen);
	else
		n = urnet__libc()->sendmsg(c->fd, m, flags);
	return n < 0 ? -errno : n;
}

static ssize_t try_recvmsg(const struct urnet__call *c, struct msghdr *m, int flags)
{
	return do_recv(c, m, flags | MSG_DONTWAIT);
}

static ssize_t try_sendmsg(const struct urnet__call *c, const struct msghdr *m, int flags)
{
	return do_send(c, m, flags | MSG_DONTWAIT);
}

static ssize_t try_mmsg(const struct urnet__call *c, int dir, struct mmsghdr *vec,
			unsigned int vlen, int flags)
{
	int n = dir == URNET__READ
		? urnet__libc()->recvmmsg(c->fd, vec, vlen, flags | MSG_DONTWAIT, NULL)
		: urnet__libc()->sendmmsg(c->fd, vec, vlen, flags | MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

/* One try-wait loop of the shared path (ready_io.h) on a message or a batch. */
struct io_try {
	struct urnet__io io;
	struct urnet__call *c;
	/* The wait is the kernel's (urnet__call_waits_in_kernel): the fd is left. */
	bool in_kernel;
	struct urnet__fdent *ent;	/* for the note of how long it took */
	struct msghdr *m;
	struct mmsghdr *vec;
	unsigned int vlen;
	int flags;
	bool slept;
};

/* The blocking call itself (urnet__call_waits_in_kernel). */
static ssize_t kernel_io(struct io_try *t, int dir)
{
	ssize_t n;

	URNET__KERNEL_CALL(t->ent, t->c->fd, dir, n,
			   dir == URNET__READ ? do_recv(t->c, t->m, t->flags)
					      : do_send(t->c, t->m, t->flags));
	return n;
}

static ssize_t try_io(struct urnet__io *io)
{
	struct io_try *t = (struct io_try *)io;
	ssize_t n;

	if (t->in_kernel)
		return kernel_io(t, io->dir);
	if (t->vec)
		n = try_mmsg(t->c, io->dir, t->vec, t->vlen, t->flags);
	else
		n = io->dir == URNET__READ ? try_recvmsg(t->c, t->m, t->flags)
					   : try_sendmsg(t->c, t->m, t->flags);
	/* A datagram socket shut down for reading reads 0 when blocking. */
	if (n == -EAGAIN && t->c->dgram && io->dir == URNET__READ &&
	    urnet__dgram_read_shut(io->ready, t->c->fd, t->slept))
		return 0;
	if (n == -ENOTSOCK) {
		urnet__fd_revalidate(t->c->ent, t->c->fd);
		return URNET__PASS;
	}
	return n;
}

static int wait_io(struct urnet__io *io, uint32_t snap, bool tried)
{
	struct io_try *t = (struct io_try *)io;
	int64_t start;
	int err;

	/* The kernel's own call ended with EAGAIN: its SO_*TIMEO expired. */
	if (t->in_kernel)
		return -EAGAIN;
	t->ent = t->c->ent;
	err = urnet__call_prepare_io(t->c, io->dir);

	if (!io->ready) {
		/* The object is new: snapshot, then try once more. */
		io->ready = t->c->ready;
		return err ? err : URNET__IO_RETRY;
	}
	/* Before any try, a call that may not sleep tries first. */
	if (err)
		return tried ? err : URNET__IO_RETRY;
	start = urnet_now_ns();
	err = urnet__call_wait(t->c, io->dir, snap, URNET__WK_NONE);
	t->slept = err == 0;
	if (err != URNET__PASS)
		urnet__call_note_wait(t->ent, io->dir, urnet_now_ns() - start);
	return err;
}

/*
 * The syscall until it does not say EAGAIN.  Once the fd has a readiness
 * object the snapshot is taken before each try, so that an EAGAIN can go
 * straight to sleep; before then, the first EAGAIN makes the object.
 */
static ssize_t io_run(struct urnet__call *c, int dir, struct msghdr *m, struct mmsghdr *vec,
		      unsigned int vlen, int flags)
{
	struct io_try t = { .io = { .dir = dir, .try_io = try_io, .wait = wait_io },
			    .c = c, .m = m, .vec = vec, .vlen = vlen, .flags = flags,
			    .ent = c->ent };

	/*
	 * The last wait on the fd in dir was short, so this call will likely
	 * wait too: the kernel's blocking call makes it whole, with one system
	 * call whether it waits or not (a try first would cost a second).
	 */
	if (!vec && urnet__call_waits_in_kernel(c, dir)) {
		t.in_kernel = true;
		return urnet__ready_io(&t.io);
	}
	if (!c->ready)
		c->ready = atomic_load_explicit(&c->ent->ready, memory_order_acquire);
	t.io.ready = c->ready;
	/* A read that takes data out of the queue; the kernel checks the vector itself. */
	if (m && dir == URNET__READ && !(flags & (MSG_PEEK | MSG_OOB)) && m->msg_iov &&
	    m->msg_iovlen <= IOV_MAX) {
		ssize_t want = urnet__iov_total(m->msg_iov, m->msg_iovlen);

		t.io.drain_want = want > 0 ? (size_t)want : 0;
	}
	return urnet__ready_io(&t.io);
}

static ssize_t io_once(struct urnet__call *c, int dir, struct msghdr *m, int flags)
{
	return io_run(c, dir, m, NULL, 0, flags);
}

ssize_t urnet__call_mmsg(struct urnet__call *c, int dir, struct mmsghdr *vec, unsigned int vlen,
			 int flags)
{
	return io_run(c, dir, NULL, vec, vlen, flags);
}

/*
 * MSG_PEEK|MSG_WAITALL waits for more data while the queue already holds
 * some, which no readiness report says: the kernel waits for it.
 */
static ssize_t peek_all(struct urnet__call *c, struct msghdr *m, int flags)
{
	ssize_t n = try_recvmsg(c, m, flags & ~MSG_WAITALL);
	int nb;

	if (n == -ENOTSOCK)
		return URNET__PASS;
	if ((n < 0 && n != -EAGAIN) || n == 0 ||
	    (n > 0 && n >= urnet__iov_total(m->msg_iov, m->msg_iovlen)))
		return n;
	nb = urnet__call_nonblock(c);
	if (nb)
		return nb < 0 ? nb : n;
	nb = urnet__call_to_kernel(c);
	if (nb)
		return nb;
	n = urnet__libc()->recvmsg(c->fd, m, flags);
	return n < 0 ? -errno : n;
}

static ssize_t stream_recvmsg(struct urnet__call *c, struct msghdr *m, int flags)
{
	struct urnet__iov_rest rest;
	struct msghdr part;
	size_t want, got, room = m->msg_controllen;
	ssize_t n;

	/* A datagram read returns one datagram, MSG_WAITALL or not. */
	if (!(flags & MSG_WAITALL) || c->dgram)
		return io_once(c, URNET__READ, m, flags);
	if (flags & MSG_PEEK)
		return peek_all(c, m, flags);
	flags &= ~MSG_WAITALL;
	c->no_kernel_wait = true;
	/*
	 * Like the kernel: ancillary data comes with the first part that has
	 * any, and a message that carried descriptors ends the read.
	 */
	n = io_once(c, URNET__READ, m, flags);
	if (n <= 0 || urnet__fd_fresh_rights(m))
		return n;
	/* The kernel took the vector: its total is in range. */
	want = (size_t)urnet__iov_total(m->msg_iov, m->msg_iovlen);
	got = (size_t)n;
	if (got >= want)
		return n;
	urnet__iov_rest_init(&rest, m->msg_iov, m->msg_iovlen);
	urnet__iov_rest_skip(&rest, got);
	part = *m;
	if (m->msg_controllen)
		part.msg_control = NULL;
	c->progress = true;
	while (got < want) {
		part.msg_iov = urnet__iov_rest_window(&rest, &part.msg_iovlen);
		part.msg_controllen = part.msg_control ? room : 0;
		n = io_once(c, URNET__READ, &part, flags);
		if (n <= 0)
			break;
		got += (size_t)n;
		urnet__iov_rest_skip(&rest, (size_t)n);
		m->msg_flags |= part.msg_flags;
		if (part.msg_control && part.msg_controllen) {
			m->msg_controllen = part.msg_controllen;
			part.msg_control = NULL;
			if (urnet__fd_fresh_rights(m))
				break;
		}
	}
	return (ssize_t)got;
}

ssize_t urnet__stream_sendmsg(struct urnet__call *c, const struct msghdr *m, int flags)
{
	struct urnet__iov_rest rest;
	struct msghdr part;
	size_t want, sent;
	ssize_t n;

	n = io_once(c, URNET__WRITE, (struct msghdr *)m, flags);
	/* A datagram goes whole or not at all; the kernel's blocking send is the answer. */
	if (n <= 0 || c->dgram || !c->ent)
		return n;
	/* The kernel took the vector: its total is in range. */
	want = (size_t)urnet__iov_total(m->msg_iov, m->msg_iovlen);
	sent = (size_t)n;
	if (sent >= want)
		return n;
	urnet__iov_rest_init(&rest, m->msg_iov, m->msg_iovlen);
	urnet__iov_rest_skip(&rest, sent);
	part = *m;
	part.msg_control = NULL;
	part.msg_controllen = 0;
	c->progress = true;
	/*
	 * The kernel's blocking send reports what it queued when an error
	 * stops it half way, without a signal: later parts never raise SIGPIPE.
	 */
	flags |= MSG_NOSIGNAL;
	while (sent < want) {
		part.msg_iov = urnet__iov_rest_window(&rest, &part.msg_iovlen);
		n = io_once(c, URNET__WRITE, &part, flags);
		if (n <= 0)
			break;
		sent += (size_t)n;
		urnet__iov_rest_skip(&rest, (size_t)n);
		if (!c->ent)
			break;	/* the kernel's blocking send stopped only where it had to */
	}
	return (ssize_t)sent;
}

static ssize_t do_recvmsg(int fd, struct msghdr *m, int flags, bool plain)
{
	struct urnet__call c;
	ssize_t n;

	URNET__CALL_RUN(c, fd, n, (c.plain = plain, stream_recvmsg(&c, m, flags)));
	return n;
}

/* progress: part of the caller's data moved already (urnet__stream_sendmsg). */
static ssize_t do_sendmsg(int fd, const struct msghdr *m, int flags, bool plain, bool progress)
{
	struct urnet__call c;
	ssize_t n;

	URNET__CALL_RUN(c, fd, n, (c.plain = plain, c.progress = progress,
				   urnet__stream_sendmsg(&c, m, flags)));
	return n;
}

/*
 * recv/send/read/write clamp a length past SSIZE_MAX (the kernel then
 * clamps further); recvmsg would refuse such an iovec with EINVAL.
 */
static inline size_t rw_len(size_t len)
{
	return len > SSIZE_MAX ? SSIZE_MAX : len;
}

/* The stream path's result, or libc's when it passed. */
#define OR_LIBC(n, expr_libc) ({					\
	ssize_t n_ = (n);						\
	n_ == URNET__PASS ? (expr_libc) : urnet__ret(n_);		\
})

/*
 * The full call of recv, recvfrom or read of one buffer, once the quick
 * try (quick.c) said it would wait.  URNET__PASS: the C library's call.
 */
static __attribute__((noinline)) ssize_t recv_full(int fd, void *buf, size_t len, int flags,
						   struct sockaddr *addr, socklen_t *addrlen)
{
	struct iovec v = { buf, rw_len(len) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	ssize_t n;

	if (addr && addrlen) {
		m.msg_name = addr;
		m.msg_namelen = *addrlen;
	}
	n = do_recvmsg(fd, &m, flags, true);
	if (n >= 0 && addr && addrlen)
		*addrlen = m.msg_namelen;
	return n;
}

/* recv, recvfrom and read of one buffer: the quick try, then the full call. */
static inline ssize_t recv_buf(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			       socklen_t *addrlen)
{
	ssize_t n = URNET__QUICK_FULL;

	/* A non-blocking MSG_WAITALL read would stop at what is there. */
	if (!(flags & MSG_WAITALL))
		n = urnet__quick_recv(fd, buf, len, flags, addr, addrlen);
	return n == URNET__QUICK_FULL ? recv_full(fd, buf, len, flags, addr, addrlen) : n;
}

/*
 * The full call of send, sendto or write of one buffer, of which done
 * bytes are queued already.  The rest of a send that moved part is the
 * blocking send's, which a signal then ends with a count and which raises
 * no SIGPIPE (as the kernel's own send that stops half way).
 */
static __attribute__((noinline)) ssize_t send_full(int fd, const void *buf, size_t len, int flags,
						   const struct sockaddr *addr, socklen_t addrlen,
						   size_t done)
{
	struct iovec v = { (char *)buf + done, rw_len(len - done) };
	struct msghdr m = { .msg_name = (void *)addr, .msg_namelen = addrlen,
			    .msg_iov = &v, .msg_iovlen = 1 };
	int saved = errno;
	ssize_t n;

	if (!done)
		return do_sendmsg(fd, &m, flags, true, false);
	flags |= MSG_NOSIGNAL;
	n = do_sendmsg(fd, &m, flags, true, true);
	if (n == URNET__PASS) {
		n = urnet__libc()->sendto(fd, v.iov_base, v.iov_len, flags, addr, addrlen);
		n = n < 0 ? -errno : n;
	}
	/* A count, also when an error stopped the rest: errno as it was. */
	errno = saved;
	return n > 0 ? (ssize_t)done + n : (ssize_t)done;
}

/* send, sendto and write of one buffer: the quick try, then the full call. */
static inline ssize_t send_buf(int fd, const void *buf, size_t len, int flags,
			       const struct sockaddr *addr, socklen_t addrlen)
{
	bool part = false;
	ssize_t n = urnet__quick_send(fd, buf, len, flags, addr, addrlen, &part);

	if (n == URNET__QUICK_FULL)
		return send_full(fd, buf, len, flags, addr, addrlen, 0);
	if (part)
		return send_full(fd, buf, len, flags, addr, addrlen, (size_t)n);
	return n;
}

ssize_t urnet_recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	if ((flags & URNET__NEVER_WAITS) || !msg)
		n = urnet__libc()->recvmsg(fd, msg, flags);
	else
		n = OR_LIBC(do_recvmsg(fd, msg, flags, false),
			    urnet__libc()->recvmsg(fd, msg, flags));
	/* Numbers that came in SCM_RIGHTS may have had entries of their own. */
	if (n >= 0 && msg)
		urnet__fd_fresh_rights(msg);
	return n;
}

ssize_t urnet_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if ((flags & URNET__NEVER_WAITS) || !msg)
		return urnet__libc()->sendmsg(fd, msg, flags);
	return OR_LIBC(do_sendmsg(fd, msg, flags, false, false),
		       urnet__libc()->sendmsg(fd, msg, flags));
}

ssize_t urnet_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
		       socklen_t *addrlen)
{
	if (flags & URNET__NEVER_WAITS)
		return urnet__libc()->recvfrom(fd, buf, len, flags, addr, addrlen);
	return OR_LIBC(recv_buf(fd, buf, len, flags, addr, addrlen),
		       urnet__libc()->recvfrom(fd, buf, len, flags, addr, addrlen));
}

ssize_t urnet_recv(int fd, void *buf, size_t len, int flags)
{
	if (flags & URNET__NEVER_WAITS)
		return urnet__libc()->recv(fd, buf, len, flags);
	return OR_LIBC(recv_buf(fd, buf, len, flags, NULL, NULL),
		       urnet__libc()->recv(fd, buf, len, flags));
}

ssize_t urnet_sendto(int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *addr, socklen_t addrlen)
{
	if (flags & URNET__NEVER_WAITS)
		return urnet__libc()->sendto(fd, buf, len, flags, addr, addrlen);
	return OR_LIBC(send_buf(fd, buf, len, flags, addr, addrlen),
		       urnet__libc()->sendto(fd, buf, len, flags, addr, addrlen));
}

ssize_t urnet_send(int fd, const void *buf, size_t len, int flags)
{
	if (flags & URNET__NEVER_WAITS)
		return urnet__libc()->send(fd, buf, len, flags);
	return OR_LIBC(send_buf(fd, buf, len, flags, NULL, 0),
		       urnet__libc()->send(fd, buf, len, flags));
}

/*
 * read and readv of nothing: the kernel answers 0 before the socket is
 * asked (recv of nothing is the protocol's to answer, and may wait).
 */
static bool reads_nothing(const struct iovec *iov, int iovcnt)
{
	if (!iov)
		return iovcnt == 0;	/* the kernel's EFAULT otherwise */
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len)
			return false;
	return true;
}

ssize_t urnet_read(int fd, void *buf, size_t len)
{
	if (!len)
		return urnet__libc()->read(fd, buf, len);
	return OR_LIBC(recv_buf(fd, buf, len, 0, NULL, NULL), urnet__libc()->read(fd, buf, len));
}

ssize_t urnet_write(int fd, const void *buf, size_t len)
{
	return OR_LIBC(send_buf(fd, buf, len, 0, NULL, 0), urnet__libc()->write(fd, buf, len));
}

ssize_t urnet_readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (iovcnt < 0 || iovcnt > IOV_MAX || reads_nothing(iov, iovcnt))
		return urnet__libc()->readv(fd, iov, iovcnt);
	return OR_LIBC(do_recvmsg(fd, &m, 0, false), urnet__libc()->readv(fd, iov, iovcnt));
}

ssize_t urnet_writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return urnet__libc()->writev(fd, iov, iovcnt);
	return OR_LIBC(do_sendmsg(fd, &m, 0, false, false),
		       urnet__libc()->writev(fd, iov, iovcnt));
}
