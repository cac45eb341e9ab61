/* SPDX-License-Identifier: MIT */
/*
 * poll, ppoll, select and pselect as a plain libc program makes them,
 * built without urnet and fortified (poll on an array of known size goes
 * through __poll_chk, FD_SET through __fdelt_chk).  Each mode prints what
 * it observed; test/preload-poll.sh runs it bare and under urnet-run and
 * requires the same output.
 *   states   the answers for many fd states, every event bit, all sets
 *   wake     a poll and a select on socket, pipe and eventfd, woken by each
 *   eintr    a handler ends poll and select with EINTR, SA_RESTART or not
 *   mask     ppoll and pselect deliver a pending signal their mask unblocks
 *   timeout  0 and 1 ms timeouts; select writes back the time left
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plain_util.h"

static const char *res(int ret)
{
	static char buf[64];

	if (ret >= 0)
		snprintf(buf, sizeof(buf), "%d", ret);
	else
		snprintf(buf, sizeof(buf), "-1 %s", strerrorname_np(errno));
	return buf;
}

/* ---------------------------------------------------------------- states */

static int states_fds(int *fd, const char **what)
{
	struct linger lg = { 1, 0 };
	int n = 0, c, s, p[2];
	uint64_t one = 1;

	tcp_pair(&c, &s);
	CHECK(send(s, "data", 4, 0) == 4, "send");
	what[n] = "tcp data", fd[n++] = c;
	tcp_pair(&c, &s);
	what[n] = "tcp idle", fd[n++] = c;
	tcp_pair(&c, &s);
	CHECK(shutdown(s, SHUT_WR) == 0, "shutdown");
	what[n] = "tcp eof", fd[n++] = c;
	what[n] = "tcp half-closed", fd[n++] = s;
	tcp_pair(&c, &s);
	CHECK(send(s, "!", 1, MSG_OOB) == 1, "send oob");
	what[n] = "tcp urgent", fd[n++] = c;
	tcp_pair(&c, &s);
	CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "linger");
	close(s);
	what[n] = "tcp reset", fd[n++] = c;
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	close(p[1]);
	what[n] = "pipe writer closed", fd[n++] = p[0];
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	close(p[0]);
	what[n] = "pipe reader closed", fd[n++] = p[1];
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	what[n] = "pipe empty", fd[n++] = p[0];
	c = eventfd(0, EFD_CLOEXEC);
	CHECK(write(c, &one, sizeof(one)) == sizeof(one), "eventfd");
	what[n] = "eventfd 1", fd[n++] = c;
	/* Closed, and low: the kernel's select ignores numbers past its fd table. */
	c = dup(0);
	CHECK(c >= 0 && close(c) == 0, "dup");
	what[n] = "closed number", fd[n++] = c;
	return n;
}

static int states_case(void)
{
	static const short bits[] = { POLLIN, POLLOUT, POLLPRI, POLLRDHUP, POLLERR, POLLHUP };
	int fd[16], n = states_fds(fd, (const char *[16]){ 0 });

	for (int i = 0; i < n; i++) {
		for (unsigned k = 0; k < 64; k += 7) {
			struct pollfd pf[1] = { { .fd = fd[i], .events = 0 } };
			int ret;

			for (unsigned b = 0; b < 6; b++)
				if (k >> b & 1)
					pf[0].events = (short)(pf[0].events | bits[b]);
			ret = poll(pf, 1, k & 1);
			printf("poll %d %#x: %s %#x\n", i, (unsigned)pf[0].events, res(ret),
			       (unsigned)pf[0].revents);
		}
		for (unsigned sets = 1; sets < 8; sets++) {
			fd_set r, w, x;
			struct timeval tv = { 0, 1000 };
			int ret;

			FD_ZERO(&r);
			FD_ZERO(&w);
			FD_ZERO(&x);
			if (sets & 1)
				FD_SET(fd[i], &r);
			if (sets & 2)
				FD_SET(fd[i], &w);
			if (sets & 4)
				FD_SET(fd[i], &x);
			ret = select(fd[i] + 1, &r, &w, &x, &tv);
			printf("select %d %u: %s %d%d%d\n", i, sets, res(ret), FD_ISSET(fd[i], &r),
			       FD_ISSET(fd[i], &w), FD_ISSET(fd[i], &x));
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- wake */

struct waiter {
	struct pollfd pf[3];
	bool use_select;
	_Atomic pid_t tid;
	int ret;
	fd_set r;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int max = 0;

	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	if (!w->use_select) {
		w->ret = poll(w->pf, 3, -1);
		return NULL;
	}
	FD_ZERO(&w->r);
	for (int i = 0; i < 3; i++) {
		FD_SET(w->pf[i].fd, &w->r);
		max = w->pf[i].fd > max ? w->pf[i].fd : max;
	}
	w->ret = select(max + 1, &w->r, NULL, NULL, NULL);
	return NULL;
}

static int wake_case(void)
{
	int c, s, p[2], ev = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;
	char buf[8];

	tcp_pair(&c, &s);
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	for (int round = 0; round < 6; round++) {
		struct waiter w = { .use_select = round >= 3 };
		pthread_t th;
		int which = round % 3;

		w.pf[0] = (struct pollfd){ .fd = c, .events = POLLIN };
		w.pf[1] = (struct pollfd){ .fd = p[0], .events = POLLIN };
		w.pf[2] = (struct pollfd){ .fd = ev, .events = POLLIN };
		CHECK(pthread_create(&th, NULL, waiter_main, &w) == 0, "pthread_create");
		while (!atomic_load(&w.tid))
			usleep(1000);
		blocked(w.tid);
		if (which == 0)
			CHECK(send(s, "x", 1, 0) == 1, "send");
		else if (which == 1)
			CHECK(write(p[1], "x", 1) == 1, "write");
		else
			CHECK(write(ev, &one, sizeof(one)) == sizeof(one), "eventfd");
		pthread_join(th, NULL);
		if (w.use_select)
			printf("select woken by %d: %d %d%d%d\n", which, w.ret, FD_ISSET(c, &w.r),
			       FD_ISSET(p[0], &w.r), FD_ISSET(ev, &w.r));
		else
			printf("poll woken by %d: %d %#x %#x %#x\n", which, w.ret,
			       (unsigned)w.pf[0].revents, (unsigned)w.pf[1].revents,
			       (unsigned)w.pf[2].revents);
		if (which == 0)
			CHECK(recv(c, buf, 1, 0) == 1, "recv");
		else if (which == 1)
			CHECK(read(p[0], buf, 1) == 1, "read");
		else
			CHECK(read(ev, &one, sizeof(one)) == sizeof(one), "read eventfd");
	}
	return 0;
}

/* ---------------------------------------------------------------- signals */

static _Atomic int handled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

struct sigwaiter {
	int fd, how;
	_Atomic pid_t tid;
	int ret, err;
};

static void *sigwaiter_main(void *arg)
{
	struct sigwaiter *w = arg;
	struct pollfd pf[1] = { { .fd = w->fd, .events = POLLIN } };
	fd_set r;

	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	FD_ZERO(&r);
	FD_SET(w->fd, &r);
	errno = 0;
	if (w->how == 0)
		w->ret = poll(pf, 1, -1);
	else if (w->how == 1)
		w->ret = poll(pf, 1, 60000);
	else
		w->ret = select(w->fd + 1, &r, NULL, NULL, NULL);
	w->err = errno;
	return NULL;
}

static int eintr_case(void)
{
	int c, s;

	tcp_pair(&c, &s);
	for (int restart = 0; restart < 2; restart++) {
		struct sigaction sa = { .sa_handler = on_signal,
					.sa_flags = restart ? SA_RESTART : 0 };

		sigemptyset(&sa.sa_mask);
		CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
		for (int how = 0; how < 3; how++) {
			struct sigwaiter w = { .fd = c, .how = how };
			pthread_t th;

			atomic_store(&handled, 0);
			CHECK(pthread_create(&th, NULL, sigwaiter_main, &w) == 0, "pthread_create");
			while (!atomic_load(&w.tid))
				usleep(1000);
			blocked(w.tid);
			pthread_kill(th, SIGUSR1);
			pthread_join(th, NULL);
			errno = w.err;
			printf("restart %d how %d: %s handled %d\n", restart, how, res(w.ret),
			       atomic_load(&handled));
		}
	}
	return 0;
}

static int mask_case(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigset_t block, open;
	struct pollfd pf[1];
	struct timespec ts = { 30, 0 };
	fd_set r;
	int c, s, ret;

	tcp_pair(&c, &s);
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "sigaction");
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, &open);
	sigdelset(&open, SIGUSR2);
	for (int how = 0; how < 2; how++) {
		atomic_store(&handled, 0);
		raise(SIGUSR2);
		printf("pending, before: handled %d\n", atomic_load(&handled));
		pf[0] = (struct pollfd){ .fd = c, .events = POLLIN };
		FD_ZERO(&r);
		FD_SET(c, &r);
		ret = how ? pselect(c + 1, &r, NULL, NULL, &ts, &open) : ppoll(pf, 1, &ts, &open);
		printf("%s with the mask: %s handled %d\n", how ? "pselect" : "ppoll", res(ret),
		       atomic_load(&handled));
	}
	/* A mask that keeps it blocked: the wait ends by its timeout. */
	raise(SIGUSR2);
	ts = (struct timespec){ 0, 1000000 };
	pf[0] = (struct pollfd){ .fd = c, .events = POLLIN };
	ret = ppoll(pf, 1, &ts, &block);
	printf("ppoll with it blocked: %s handled %d\n", res(ret), atomic_load(&handled));
	return 0;
}

/* ---------------------------------------------------------------- timeout */

static int timeout_case(void)
{
	struct pollfd pf[1];
	struct timeval tv;
	fd_set r;
	int c, s, ret;

	tcp_pair(&c, &s);
	for (int ms = 0; ms < 2; ms++) {
		pf[0] = (struct pollfd){ .fd = c, .events = POLLIN };
		ret = poll(pf, 1, ms);
		printf("poll %d ms: %s %#x\n", ms, res(ret), (unsigned)pf[0].revents);
		FD_ZERO(&r);
		FD_SET(c, &r);
		tv = (struct timeval){ 0, ms * 1000 };
		ret = select(c + 1, &r, NULL, NULL, &tv);
		printf("select %d ms: %s %d left %ld.%06ld\n", ms, res(ret), FD_ISSET(c, &r),
		       (long)tv.tv_sec, (long)tv.tv_usec);
	}
	ret = poll(NULL, 0, 1);
	printf("poll of nothing: %s\n", res(ret));
	/* Ready at once: select leaves most of its time. */
	CHECK(send(s, "x", 1, 0) == 1, "send");
	FD_ZERO(&r);
	FD_SET(c, &r);
	tv = (struct timeval){ 100, 0 };
	ret = select(c + 1, &r, NULL, NULL, &tv);
	printf("select ready: %s %d left more than 99 s: %d\n", res(ret), FD_ISSET(c, &r),
	       tv.tv_sec >= 99);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{ "states", states_case }, { "wake", wake_case }, { "eintr", eintr_case },
		{ "mask", mask_case }, { "timeout", timeout_case },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2)
		return 2;
	mode = argv[1];
	watchdog(30);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(modes[i].name, mode))
			return modes[i].fn();
	return 2;
}
