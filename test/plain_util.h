/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the plain libc test programs (built without urnet): CHECK,
 * a loopback TCP pair, and whether a thread sleeps, read from /proc, so
 * that a test can act only once a call is really blocked.  Header-only,
 * libc only.
 */
#ifndef URNET_TEST_PLAIN_UTIL_H
#define URNET_TEST_PLAIN_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "thread_state.h"

/* The mode the program runs (its argument), for CHECK's message. */
static const char *mode = "?";

/* Fail the program, saying which program, mode and step, and errno. */
#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s: %s: %s (errno %d %s)\n",		\
			program_invocation_short_name, mode, what,	\
			errno, strerror(errno));			\
		exit(1);						\
	}								\
} while (0)

/* A loopback TCP listener with the given backlog; its address in *a. */
static inline int tcp_listener(struct sockaddr_in *a, int backlog)
{
	socklen_t al = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(l >= 0, "socket");
	CHECK(bind(l, (struct sockaddr *)a, sizeof(*a)) == 0, "bind");
	CHECK(listen(l, backlog) == 0, "listen");
	CHECK(getsockname(l, (struct sockaddr *)a, &al) == 0, "getsockname");
	return l;
}

/* A connected TCP pair on loopback made with the plain calls. */
static inline void tcp_pair(int *c, int *s)
{
	struct sockaddr_in a;
	int l = tcp_listener(&a, 8);

	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(*c >= 0, "socket");
	CHECK(connect(*c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(*s >= 0, "accept");
	close(l);
}

/* Up to 10 s until tid sleeps (three samples in a row); false if it never does. */
static inline bool wait_sleeping(pid_t tid)
{
	int streak = 0;

	for (int i = 0; i < 10000; i++) {
		streak = thread_state(tid) == 'S' ? streak + 1 : 0;
		if (streak >= 3)
			return true;
		usleep(1000);
	}
	return false;
}

static inline void *watchdog_main(void *arg)
{
	sleep((unsigned)(uintptr_t)arg);
	fprintf(stderr, "%s: %s: hung for %u s\n", program_invocation_short_name, mode,
		(unsigned)(uintptr_t)arg);
	_exit(3);
}

/*
 * A hang ends the program after seconds with a message instead of a silent
 * timeout.  The watchdog's thread blocks every signal, so that none meant
 * for the program's threads (alarm, a process-directed kill) lands there.
 */
static inline void watchdog(unsigned seconds)
{
	sigset_t all, old;
	pthread_t t;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	CHECK(pthread_create(&t, NULL, watchdog_main, (void *)(uintptr_t)seconds) == 0,
	      "watchdog");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
}

/* Up to 10 s until tid sleeps in a call; the program fails if it never does. */
static inline void blocked(pid_t tid)
{
	CHECK(wait_sleeping(tid), "the thread never blocked");
}

/* "ok" for a result n >= 0, else err's name, as the programs print them. */
static inline const char *err_name(ssize_t n, int err)
{
	static char buf[32];

	if (n >= 0)
		return "ok";
	switch (err) {
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case ESPIPE: return "ESPIPE";
	case EPIPE: return "EPIPE";
	case EFAULT: return "EFAULT";
	default:
		snprintf(buf, sizeof(buf), "errno%d", err);
		return buf;
	}
}

/* A program's modes: the name its argument gives, and what it runs. */
struct plain_mode {
	const char *name;
	int (*fn)(void);
};

/*
 * main() of a program with modes: runs the mode argv[1] names with
 * line-buffered output (so that bare and interposed runs print alike)
 * under a watchdog; 2 with a message on bad usage.
 */
static inline int plain_run_mode(int argc, char **argv, const struct plain_mode *modes,
				 size_t n, unsigned seconds)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s MODE\n", program_invocation_short_name);
		return 2;
	}
	mode = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	watchdog(seconds);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(mode, modes[i].name))
			return modes[i].fn();
	fprintf(stderr, "%s: unknown mode %s\n", program_invocation_short_name, mode);
	return 2;
}

#endif
