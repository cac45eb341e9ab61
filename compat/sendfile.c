/* SPDX-License-Identifier: MIT */
/*
 * sendfile(2) from a regular file to a blocking stream socket, waiting on
 * the engine.
 *
 * A blocking socket's sendfile cannot be tried without waiting: sendfile
 * has no MSG_DONTWAIT, and only the file's O_NONBLOCK would make it stop
 * at a full buffer; that flag belongs to the open file, which other
 * threads and processes see change.  So the served call reads the file in
 * pieces with pread(2) and sends each through the stream path's blocking
 * send (stream.c), which stops early exactly as the kernel's does: a
 * signal or SO_SNDTIMEO after some bytes went ends the call with their
 * count.  The file offset (*offset, or the file position) moves by what
 * was sent.  Everything else (non-blocking sockets, inputs that are not
 * regular files, count 0) is the kernel's, as are the argument checks,
 * made by a sendfile of nothing first.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "libc.h"
#include "urnet_compat.h"

/* Bytes read and sent at a time: a few socket buffers' worth, not the whole file. */
#define PIECE	(128 * 1024)

/* The file's bytes from pos, sent; the count, or -errno when none went. */
static ssize_t send_pieces(struct urnet__call *c, int in_fd, off_t *pos, size_t count)
{
	size_t sent = 0, want = count < PIECE ? count : PIECE;
	char *buf = malloc(want);
	ssize_t n = 0;

	if (!buf)
		return -ENOMEM;
	c->plain = true;
	c->no_kernel_wait = true;
	while (sent < count) {
		struct iovec v = { .iov_base = buf };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
		size_t left = count - sent;

		n = pread(in_fd, buf, left < want ? left : want, *pos);
		if (n < 0 && errno == EINTR && !sent)
			continue;
		if (n <= 0) {
			n = n < 0 ? -errno : 0;
			break;
		}
		v.iov_len = (size_t)n;
		/*
		 * Once bytes went, any signal ends the call with their count,
		 * and a broken connection no longer raises SIGPIPE (stream.c).
		 */
		n = urnet__stream_sendmsg(c, &m, sent ? MSG_NOSIGNAL : 0);
		if (n <= 0)
			break;
		sent += (size_t)n;
		*pos += n;
		c->progress = true;
		if ((size_t)n < v.iov_len)
			break;	/* stopped early: a signal, a timeout or an error */
	}
	free(buf);
	return sent ? (ssize_t)sent : n;
}

static ssize_t stream_sendfile(struct urnet__call *c, int in_fd, off_t *offset, size_t count)
{
	struct stat st;
	off_t pos;
	ssize_t n;
	int nb = urnet__call_nonblock(c);

	if (nb)
		return nb < 0 ? nb : URNET__PASS;
	if (fstat(in_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return URNET__PASS;
	/* The kernel's checks of the arguments (EBADF, ESPIPE, EINVAL, EFAULT...). */
	if (urnet__libc()->sendfile(c->fd, in_fd, offset, 0) < 0)
		return -errno;
	pos = offset ? *offset : lseek(in_fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	n = send_pieces(c, in_fd, &pos, count);
	if (n > 0) {
		if (offset)
			*offset = pos;
		else
			lseek(in_fd, pos, SEEK_SET);
	}
	return n;
}

ssize_t urnet_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	/* As the kernel: one call moves at most MAX_RW_COUNT. */
	const size_t len = count < 0x7ffff000ul ? count : 0x7ffff000ul;
	struct urnet__call c;
	ssize_t n;

	if (!count)
		return urnet__libc()->sendfile(out_fd, in_fd, offset, count);
	URNET__CALL_RUN(c, out_fd, n, stream_sendfile(&c, in_fd, offset, len));
	if (n == URNET__PASS)
		return urnet__libc()->sendfile(out_fd, in_fd, offset, count);
	return urnet__ret(n);
}
