/* SPDX-License-Identifier: MIT */
/*
 * Waiting on several sockets at once through the engine.  The sockets go
 * into an epoll set, and the engine waits for the epoll fd itself to turn
 * readable, with the usual snapshot, try, sleep: so a lookup or a race of
 * connects parks like any other urnet call, is bounded by its deadline
 * and is woken when the engine closes.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"
#include "waitset.h"

int urnet__waitset_init(struct urnet__waitset *w, urnet_engine *e)
{
	int ret;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	ret = urnet__ready_init(&w->ready, e, w->epfd);
	if (ret) {
		urnet__libc()->close(w->epfd);
		return ret;
	}
	return 0;
}

void urnet__waitset_destroy(struct urnet__waitset *w)
{
	int saved = errno;

	urnet__ready_close(&w->ready);
	urnet__ready_destroy(&w->ready);
	urnet__libc()->close(w->epfd);
	errno = saved;
}

int urnet__waitset_watch(struct urnet__waitset *w, int fd, bool rd, bool wr)
{
	struct epoll_event ev = {
		.events = (rd ? EPOLLIN : 0u) | (wr ? EPOLLOUT : 0u),
		.data.fd = fd,
	};

	if (!rd && !wr) {
		/* Gone already (closed) is as good as removed. */
		if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL) && errno != ENOENT &&
		    errno != EBADF)
			return -errno;
		return 0;
	}
	if (!epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev))
		return 0;
	if (errno != ENOENT || epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

int urnet__waitset_wait(struct urnet__waitset *w, int64_t deadline, struct epoll_event *ev,
			int max)
{
	for (;;) {
		uint32_t snap = urnet__ready_snapshot(&w->ready, URNET__READ);
		int n = epoll_wait(w->epfd, ev, max, 0);
		int ret;

		if (n > 0)
			return n;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (urnet__expired(deadline))
			return 0;
		ret = urnet__ready_wait(&w->ready, URNET__READ, snap, deadline, 0);
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
	}
}
