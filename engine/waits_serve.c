/* SPDX-License-Identifier: MIT */
/*
 * The channel through which another process (urnet-top) reads the list of
 * parked calls: an abstract unix socket, "@urnet-waits.PID", served by a
 * thread of its own that sleeps in poll() until someone connects.
 *
 * Why a socket and this thread: the kernel tells who connected
 * (SO_PEERCRED), so the list goes to the same user or root only, while a
 * table in shared memory would have to be a file with the right owner,
 * left behind by a program that crashes; an abstract name needs no file
 * and goes away with the process.  A thread of its own rather than the
 * engine's: the engine's turn is the program's latency, and the syscall
 * backend's engine runs operations one after another; describing a
 * thousand fds must delay neither.  The thread starts with the first
 * engine, blocks every signal and touches nothing a parked thread holds:
 * it copies the slots (waits.c) and asks the kernel about the fds.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"
#include "libc.h"
#include "waits.h"

static _Atomic uint32_t started;
static _Atomic int listen_fd = -1;

static socklen_t channel_addr(struct sockaddr_un *a, pid_t pid)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* Abstract: a leading NUL, the name, no terminator. */
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "urnet-waits.%d", (int)pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int open_listener(void *arg)
{
	struct sockaddr_un a;
	socklen_t len = channel_addr(&a, getpid());
	int fd, err;

	(void)arg;
	fd = urnet__libc()->socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 16) < 0) {
		err = errno;
		urnet__libc()->close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int accept_one(void *arg)
{
	return urnet__libc()->accept4(*(int *)arg, NULL, NULL, SOCK_CLOEXEC);
}

/* The same user as this process, or root. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = urnet__libc()->send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the reader went away, or stalled past SO_SNDTIMEO */
		buf += n;
		len -= (size_t)n;
	}
}

static void serve_one(int fd)
{
	static const char refused[] = "{\"type\":\"refused\",\"error\":\"EACCES\"}\n";
	/* A reader that stops reading holds this thread, never the program. */
	struct timeval tv = { .tv_sec = 2 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	urnet__libc()->setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!peer_allowed(fd)) {
		send_all(fd, refused, sizeof(refused) - 1);
		return;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	urnet__waits_write_json(f);
	if (fclose(f) == 0)
		send_all(fd, buf, len);
	free(buf);
}

static void *serve_main(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	pthread_setname_np(pthread_self(), "urnet-waits");
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		if (urnet__libc()->ppoll(&p, 1, NULL, NULL) < 0 && errno != EINTR)
			break;
		if (!(p.revents & POLLIN))
			continue;
		fd = urnet__own_fd(accept_one, &lfd);
		if (fd < 0)
			continue;	/* the reader gave up first, or no descriptor left */
		serve_one(fd);
		urnet__own_fd_close(fd);
	}
	return NULL;
}

void urnet__waits_serve_start(void)
{
	uint32_t no = 0;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int fd, ret;

	if (atomic_load_explicit(&started, memory_order_acquire) ||
	    !atomic_compare_exchange_strong(&started, &no, 1))
		return;
	urnet__waits_init();
	if (!urnet__env_waits_channel())
		return;
	fd = urnet__own_fd(open_listener, NULL);
	if (fd < 0)
		return;	/* the name is taken (another namespace's PID) or no fd: no channel */
	atomic_store(&listen_fd, fd);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* The program's signals are for the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t, &attr, serve_main, (void *)(intptr_t)fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret) {
		atomic_store(&listen_fd, -1);
		urnet__own_fd_close(fd);
	}
}

void urnet__waits_serve_fork_child(void)
{
	int fd = atomic_exchange(&listen_fd, -1);

	/* The parent's name: the child gets its own when its engine starts. */
	if (fd >= 0)
		urnet__own_fd_close(fd);
	atomic_store(&started, 0);
}
