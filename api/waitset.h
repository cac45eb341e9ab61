/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: waiting on several sockets at once through the engine
 * (waitset.c), for the resolver's sockets and the racing connects of a
 * dial by name.  Not installed.
 */
#ifndef URNET_API_WAITSET_H
#define URNET_API_WAITSET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "ready.h"

struct urnet__waitset {
	int epfd;
	struct urnet__ready ready;	/* the epoll fd's readability, on the engine */
};

/* 0 or -errno. */
URNET__HIDDEN int urnet__waitset_init(struct urnet__waitset *w, urnet_engine *e);
URNET__HIDDEN void urnet__waitset_destroy(struct urnet__waitset *w);

/* Watch fd for reading and/or writing; neither removes it.  0 or -errno. */
URNET__HIDDEN int urnet__waitset_watch(struct urnet__waitset *w, int fd, bool rd, bool wr);

/*
 * Wait until a watched fd is ready or the absolute deadline (0 = none)
 * passes: the number of events stored in ev (0 at the deadline), or
 * -ESHUTDOWN (the engine was closed) and other -errno.
 */
URNET__HIDDEN int urnet__waitset_wait(struct urnet__waitset *w, int64_t deadline,
				      struct epoll_event *ev, int max);

#endif
