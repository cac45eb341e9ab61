/* SPDX-License-Identifier: MIT */
/*
 * Files onto a conn.  The conn's socket is non-blocking, so sendfile(2)
 * on it queues what fits and says EAGAIN when the socket buffer is full;
 * the thread then parks on writability like any conn write, with the write
 * deadline and the close-wake.  The kernel moves the pages: nothing is
 * copied through user space.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "conn_internal.h"
#include "libc.h"
#include "ready_io.h"

/* One call of sendfile(2) moves at most this much (the kernel's MAX_RW_COUNT). */
#define SENDFILE_MAX	0x7ffff000ul

struct sf_req {
	struct urnet__io io;
	urnet_conn *c;
	int in_fd;
	off_t *off;		/* the caller's offset, or NULL: the file position */
	size_t left;
};

static ssize_t sf_try(struct urnet__io *io)
{
	struct sf_req *q = (struct sf_req *)io;
	ssize_t n = urnet__conn_io_check(q->c, URNET__WRITE);

	if (n)
		return n;
	do {
		n = urnet__libc()->sendfile(q->c->fd, q->in_fd, q->off,
					    q->left < SENDFILE_MAX ? q->left : SENDFILE_MAX);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : n;
}

static int sf_wait(struct urnet__io *io, uint32_t snap, bool tried)
{
	struct sf_req *q = (struct sf_req *)io;

	return urnet__conn_io_wait(q->c, URNET__WRITE, URNET__WRITE, snap, tried);
}

/*
 * An EAGAIN must come from the socket, or the wait on writability would
 * spin: only files that are read without waiting (regular files, block
 * devices) are taken.
 */
static int check_input(int in_fd)
{
	struct stat st;

	if (fstat(in_fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? 0 : -EINVAL;
}

ssize_t urnet_conn_sendfile(urnet_conn *c, int in_fd, off_t *offset, size_t count)
{
	struct sf_req q = { .io = { .dir = URNET__WRITE, .try_io = sf_try, .wait = sf_wait },
			    .c = c, .in_fd = in_fd, .off = offset, .left = count };
	size_t sent = 0;
	ssize_t n = 0;

	if (!c || count > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (count == 0)
		return 0;
	if (!urnet__conn_enter(c))
		return -1;
	q.io.ready = &c->ready;
	n = check_input(in_fd);
	/* One writer at a time: the file's bytes never interleave with another write's. */
	pthread_mutex_lock(&c->io_lock[URNET__WRITE]);
	while (!n && q.left) {
		n = urnet__ready_io(&q.io);
		if (n <= 0)
			break;	/* 0: the end of the file */
		sent += (size_t)n;
		q.left -= (size_t)n;
		n = 0;
	}
	pthread_mutex_unlock(&c->io_lock[URNET__WRITE]);
	urnet__conn_leave(c);
	if (n < 0 && !sent) {
		errno = (int)-n;
		return -1;
	}
	/* A short count says why in errno: 0 at the end of the file. */
	if (q.left)
		errno = (int)-n;
	return (ssize_t)sent;
}
