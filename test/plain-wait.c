/* SPDX-License-Identifier: MIT */
/*
 * Plain libc programs (built without urnet) for how a blocked call waits,
 * run by test/preload-wait.sh bare and under the interposer on both engine
 * backends; each mode prints what it observed and the runs must agree:
 *   close-kernel-peek  close() of an fd whose recv(MSG_PEEK|MSG_WAITALL)
 *                      waits inside the kernel leaves the socket alone: the
 *                      peek gets its bytes, a dup of the fd reads them
 *   zero-length        read, readv and recv of nothing on an empty socket
 *   partial-signal     a write, send, sendmsg, writev or recv(MSG_WAITALL)
 *                      that has moved data returns its count when a signal
 *                      handler runs, with and without SA_RESTART
 *   waitall-rights     recvmsg(MSG_WAITALL) keeps an SCM_RIGHTS fd that
 *                      comes with a later part of the data
 *   idle-wait          a read that sleeps for seconds is never woken for
 *                      nothing, and a signal ends it with EINTR
 *   short-read-rights  after a read cut short by an fd-carrying message,
 *                      the next read returns the queued data at once
 *   short-read-oob     the same after a read cut short at a TCP urgent mark
 *   errno-kept         a call that succeeds leaves errno as it was, also
 *                      after waiting (on the engine, in the kernel)
 * Exit 0 on success; a failure or a hang (a watchdog ends it) says what
 * went wrong on stderr.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "plain_util.h"


static void unix_pair(int *a, int *b)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	*a = sv[0];
	*b = sv[1];
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ---------------------------------------------------------------- close */

struct peek {
	int fd;
	pid_t tid;
	_Atomic int started;
	ssize_t ret;
	int err;
	char buf[8];
};

static void *peek_main(void *arg)
{
	struct peek *p = arg;

	p->tid = gettid_();
	atomic_store(&p->started, 1);
	p->ret = recv(p->fd, p->buf, 4, MSG_PEEK | MSG_WAITALL);
	p->err = errno;
	return NULL;
}

/*
 * One byte is queued, so the peek waits for three more inside the kernel
 * (no readiness report says that more arrived).  Closing its number must
 * not touch the socket, which a dup still holds.
 */
static int close_kernel_peek_case(void)
{
	struct peek p = { 0 };
	pthread_t th;
	char buf[8] = "";
	ssize_t n;
	int c, s, d;

	tcp_pair(&c, &s);
	d = dup(c);
	CHECK(d >= 0, "dup");
	CHECK(send(s, "a", 1, 0) == 1, "send a");
	p.fd = c;
	CHECK(pthread_create(&th, NULL, peek_main, &p) == 0, "pthread_create");
	while (!atomic_load(&p.started))
		usleep(1000);
	blocked(p.tid);
	CHECK(close(c) == 0, "close");
	CHECK(send(s, "bcd", 3, 0) == 3, "send bcd");
	pthread_join(th, NULL);
	printf("peek after close: %s %zd %.*s\n", err_name(p.ret, p.err), p.ret,
	       p.ret > 0 ? (int)p.ret : 0, p.buf);
	n = recv(d, buf, 4, MSG_WAITALL);
	printf("read through the dup: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	close(d);
	close(s);
	return 0;
}

/* ---------------------------------------------------------------- zero */

static void zero_on(int c, const char *kind)
{
	struct iovec v = { NULL, 0 };
	char buf[1];
	ssize_t n;

	n = read(c, buf, 0);
	printf("%s read 0: %s %zd\n", kind, err_name(n, errno), n);
	n = readv(c, &v, 1);
	printf("%s readv of an empty iovec: %s %zd\n", kind, err_name(n, errno), n);
	n = readv(c, NULL, 0);
	printf("%s readv iovcnt 0: %s %zd\n", kind, err_name(n, errno), n);
}

static int zero_length_case(void)
{
	int c, s;

	tcp_pair(&c, &s);
	zero_on(c, "tcp");
	close(c);
	close(s);
	unix_pair(&c, &s);
	zero_on(c, "unix");
	close(c);
	close(s);
	return 0;
}

/* ---------------------------------------------------------------- signals */

static _Atomic int signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

static void handle(int sig, int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

enum op { OP_WRITE, OP_SEND, OP_SENDMSG, OP_WRITEV, OP_RECV_WAITALL, OP_COUNT };
static const char *const op_names[] = { "write", "send", "sendmsg", "writev",
					"recv(MSG_WAITALL)" };

#define BIG (8u << 20)

/*
 * One call that moves part of its data, then waits; SIGALRM arrives a
 * second later.  What came back: the count (partial), or an error.
 */
static void partial_one(enum op op, int sa_flags, char *big)
{
	struct iovec v[2] = { { big, BIG / 2 }, { big + BIG / 2, BIG / 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
	ssize_t n;
	int c, s, err;

	tcp_pair(&c, &s);
	handle(SIGALRM, sa_flags);
	if (op == OP_RECV_WAITALL)
		CHECK(send(s, big, 10, 0) == 10, "send 10");
	alarm(1);
	switch (op) {
	case OP_WRITE: n = write(c, big, BIG); break;
	case OP_SEND: n = send(c, big, BIG, 0); break;
	case OP_SENDMSG: n = sendmsg(c, &m, 0); break;
	case OP_WRITEV: n = writev(c, v, 2); break;
	default: n = recv(c, big, 100, MSG_WAITALL); break;
	}
	err = errno;
	alarm(0);
	if (op == OP_RECV_WAITALL)
		printf("%s, %s: %s %zd\n", op_names[op],
		       sa_flags ? "SA_RESTART" : "no SA_RESTART", err_name(n, err), n);
	else
		printf("%s, %s: %s, %s\n", op_names[op],
		       sa_flags ? "SA_RESTART" : "no SA_RESTART", err_name(n, err),
		       n > 0 && (size_t)n < BIG ? "partial" : n == BIG ? "all" : "none");
	close(c);
	close(s);
}

static int partial_signal_case(void)
{
	char *big = calloc(1, BIG);

	CHECK(big, "calloc");
	for (int op = 0; op < OP_COUNT; op++) {
		partial_one((enum op)op, SA_RESTART, big);
		partial_one((enum op)op, 0, big);
	}
	free(big);
	return 0;
}

/* voluntary_ctxt_switches of thread tid: how often it went to sleep. */
static long sleeps_of(pid_t tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	CHECK(f, "open status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

struct idle {
	pid_t tid;
	pthread_t th;
	bool woken;
};

/* Watches the blocked reader for 4 s, then signals it. */
static void *idle_watch_main(void *arg)
{
	struct idle *w = arg;
	long before;

	blocked(w->tid);
	before = sleeps_of(w->tid);
	for (int i = 0; i < 4000 && !w->woken; i++) {
		w->woken = thread_state(w->tid) != 'S' || sleeps_of(w->tid) != before;
		usleep(1000);
	}
	pthread_kill(w->th, SIGUSR1);
	return NULL;
}

/*
 * A read on a socket nobody writes to sleeps for seconds and is never
 * woken for nothing (a wait woken for nothing can miss a signal that lands
 * while it is awake); a signal without SA_RESTART ends it with EINTR.
 */
static int idle_wait_case(void)
{
	struct idle w = { gettid_(), pthread_self(), false };
	pthread_t th;
	char buf[8];
	ssize_t n;
	int c, s;

	tcp_pair(&c, &s);
	handle(SIGUSR1, 0);
	CHECK(pthread_create(&th, NULL, idle_watch_main, &w) == 0, "pthread_create");
	n = read(c, buf, sizeof(buf));
	printf("read: %s\n", err_name(n, errno));
	pthread_join(th, NULL);
	printf("woken while blocked: %s\n", w.woken ? "yes" : "no");
	close(c);
	close(s);
	return 0;
}

/* ---------------------------------------------------------------- fds */

static void send_with_fd(int via, const char *data, size_t len, int fd)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct iovec v = { (void *)data, len };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	m.msg_control = u.b;
	m.msg_controllen = sizeof(u.b);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHECK(sendmsg(via, &m, 0) == (ssize_t)len, "sendmsg with an fd");
}

/* recvmsg into buf with room for one fd; the fd received or -1. */
static ssize_t recv_with_fd(int via, char *buf, size_t len, int flags, int *fd, int *mflags)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct iovec v = { buf, len };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	n = recvmsg(via, &m, flags);
	*mflags = m.msg_flags;
	for (cm = CMSG_FIRSTHDR(&m); n >= 0 && cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

struct sender {
	int via, fd;
	pid_t tid;		/* wait until this thread sleeps, then send */
};

static void *late_sender_main(void *arg)
{
	struct sender *s = arg;

	blocked(s->tid);
	send_with_fd(s->via, "bcd", 3, s->fd);
	return NULL;
}

/* The fd travels with the second part; the reader is already asleep then. */
static int waitall_rights_case(void)
{
	struct sender snd;
	pthread_t th;
	char buf[8] = "";
	int a, b, p[2], fd, mflags;
	ssize_t n;

	unix_pair(&a, &b);
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	CHECK(send(b, "a", 1, 0) == 1, "send a");
	snd = (struct sender){ b, p[1], gettid_() };
	CHECK(pthread_create(&th, NULL, late_sender_main, &snd) == 0, "pthread_create");
	n = recv_with_fd(a, buf, 4, MSG_WAITALL, &fd, &mflags);
	pthread_join(th, NULL);
	printf("recvmsg(MSG_WAITALL): %s %zd %.*s, fd %s, MSG_CTRUNC %s\n", err_name(n, errno),
	       n, n > 0 ? (int)n : 0, buf, fd >= 0 ? "received" : "lost",
	       mflags & MSG_CTRUNC ? "set" : "clear");
	if (fd >= 0) {
		/* It is the pipe's write end: what goes in comes out of p[0]. */
		CHECK(write(fd, "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x',
		      "the received fd is not the pipe");
		close(fd);
	}
	close(p[0]);
	close(p[1]);
	close(a);
	close(b);
	return 0;
}

/*
 * Time for whatever watches the socket to hear of the data just sent
 * before the next read: a wait that trusts a short read to have emptied
 * the queue sleeps then.  Bare, nothing changes.
 */
static void settle(void)
{
	usleep(100 * 1000);
}

struct stall_watch {
	pid_t tid;
	int fd;
	_Atomic int done;
	_Atomic int stalled;
};

/* Sets stalled if tid sleeps for 3 ms while fd has data to read. */
static void *stall_watch_main(void *arg)
{
	struct stall_watch *w = arg;
	int streak = 0, queued;

	while (!atomic_load(&w->done)) {
		if (thread_state(w->tid) == 'S' && ioctl(w->fd, FIONREAD, &queued) == 0 &&
		    queued > 0)
			streak++;
		else
			streak = 0;
		if (streak >= 3)
			atomic_store(&w->stalled, 1);
		usleep(1000);
	}
	return NULL;
}

/*
 * The read just before was cut short with data still queued: this one must
 * return it without sleeping.
 */
static void next_read(int r)
{
	struct stall_watch sw = { .tid = gettid_(), .fd = r };
	pthread_t th;
	char buf[64] = "";
	ssize_t n;

	CHECK(pthread_create(&th, NULL, stall_watch_main, &sw) == 0, "pthread_create");
	n = recv(r, buf, sizeof(buf), 0);
	atomic_store(&sw.done, 1);
	pthread_join(th, NULL);
	printf("next read: %zd %.*s, waited with data queued: %s\n", n, n > 0 ? (int)n : 0, buf,
	       atomic_load(&sw.stalled) ? "yes" : "no");
}

/* The reader has slept once before, so the engine already watches the socket. */
static int short_read_rights_case(void)
{
	struct sender snd;
	pthread_t th;
	char buf[64] = "";
	int a, b, p[2], fd, mflags;
	ssize_t n;

	unix_pair(&a, &b);
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	snd = (struct sender){ b, p[1], gettid_() };
	CHECK(pthread_create(&th, NULL, late_sender_main, &snd) == 0, "pthread_create");
	n = recv_with_fd(a, buf, sizeof(buf), 0, &fd, &mflags);
	pthread_join(th, NULL);
	printf("first wait: %zd %.*s, fd %s\n", n, n > 0 ? (int)n : 0, buf,
	       fd >= 0 ? "received" : "lost");
	if (fd >= 0)
		close(fd);
	/* Now "e" with an fd, then "fgh": a read stops after the fd's message. */
	send_with_fd(b, "e", 1, p[1]);
	CHECK(send(b, "fgh", 3, 0) == 3, "send fgh");
	settle();
	n = recv_with_fd(a, buf, sizeof(buf), 0, &fd, &mflags);
	printf("read cut short by an fd: %zd %.*s, fd %s\n", n, n > 0 ? (int)n : 0, buf,
	       fd >= 0 ? "received" : "lost");
	if (fd >= 0)
		close(fd);
	next_read(a);
	close(p[0]);
	close(p[1]);
	close(a);
	close(b);
	return 0;
}

struct plain_sender {
	int fd;
	pid_t tid;
};

static void *plain_sender_main(void *arg)
{
	struct plain_sender *s = arg;

	blocked(s->tid);
	CHECK(send(s->fd, "x", 1, 0) == 1, "send x");
	return NULL;
}

static int short_read_oob_case(void)
{
	struct plain_sender ps;
	pthread_t th;
	char buf[64] = "";
	ssize_t n;
	int c, s, queued = 0;

	tcp_pair(&c, &s);
	/* One wait on the socket first. */
	ps = (struct plain_sender){ s, gettid_() };
	CHECK(pthread_create(&th, NULL, plain_sender_main, &ps) == 0, "pthread_create");
	n = recv(c, buf, sizeof(buf), 0);
	pthread_join(th, NULL);
	printf("first wait: %zd\n", n);
	/* "ab", the urgent "c", then "de": a read stops at the mark. */
	CHECK(send(s, "ab", 2, 0) == 2, "send ab");
	CHECK(send(s, "c", 1, MSG_OOB) == 1, "send c OOB");
	CHECK(send(s, "de", 2, 0) == 2, "send de");
	for (int i = 0; i < 10000 && queued < 4; i++) {
		CHECK(ioctl(c, FIONREAD, &queued) == 0, "FIONREAD");
		usleep(1000);
	}
	settle();
	n = recv(c, buf, sizeof(buf), 0);
	printf("read cut short at the mark: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	next_read(c);
	close(c);
	close(s);
	return 0;
}

/* ---------------------------------------------------------------- errno */

struct peer {
	pthread_t th;
	int fd;
	pid_t tid;	/* the thread that waits for it */
	char *buf;
	size_t len;
};

/* Once the other thread sleeps, send the buffer. */
static void *send_when_asleep(void *arg)
{
	struct peer *p = arg;

	blocked(p->tid);
	CHECK(send(p->fd, p->buf, p->len, 0) == (ssize_t)p->len, "send");
	return NULL;
}

/* Once the other thread sleeps, read the whole buffer's worth. */
static void *drain_when_asleep(void *arg)
{
	struct peer *p = arg;
	size_t got = 0;
	ssize_t n;

	blocked(p->tid);
	while (got < p->len && (n = read(p->fd, p->buf, p->len - got)) > 0)
		got += (size_t)n;
	CHECK(got == p->len, "drain");
	return NULL;
}

static void errno_after(const char *what, ssize_t n, int err)
{
	printf("%s: %s, errno %s\n", what, err_name(n, err),
	       err == ENOENT ? "as it was" : err_name(-1, err));
}

/*
 * A call that succeeds leaves errno as it was, as the C library's does:
 * a send and a recv that do not wait, reads that wait (under the
 * interposer the first on the engine, the next ones in the kernel once a
 * wait was short), and a write bigger than the socket buffers.
 */
static int errno_kept_case(void)
{
	struct peer p = { .tid = gettid_() };
	char buf[64], *big = calloc(1, BIG);
	ssize_t n;
	int c, s;

	CHECK(big, "calloc");
	tcp_pair(&c, &s);
	errno = ENOENT;
	n = send(s, "abc", 3, 0);
	errno_after("send that does not wait", n, errno);
	errno = ENOENT;
	n = recv(c, buf, sizeof(buf), 0);
	errno_after("recv that does not wait", n, errno);
	for (int i = 0; i < 4; i++) {
		p.fd = s;
		p.buf = "ping";
		p.len = 4;
		CHECK(pthread_create(&p.th, NULL, send_when_asleep, &p) == 0, "thread");
		errno = ENOENT;
		n = read(c, buf, sizeof(buf));
		errno_after("read that waited", n, errno);
		CHECK(pthread_join(p.th, NULL) == 0, "join");
	}
	p.fd = c;
	p.buf = malloc(BIG);
	p.len = BIG;
	CHECK(p.buf, "malloc");
	CHECK(pthread_create(&p.th, NULL, drain_when_asleep, &p) == 0, "thread");
	errno = ENOENT;
	n = write(s, big, BIG);
	errno_after(n == BIG ? "write of 8 MiB that waited" : "write of 8 MiB cut short", n,
		    errno);
	CHECK(pthread_join(p.th, NULL) == 0, "join");
	free(p.buf);
	free(big);
	close(c);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct plain_mode modes[] = {
		{ "close-kernel-peek", close_kernel_peek_case },
		{ "zero-length", zero_length_case },
		{ "partial-signal", partial_signal_case },
		{ "waitall-rights", waitall_rights_case },
		{ "idle-wait", idle_wait_case },
		{ "short-read-rights", short_read_rights_case },
		{ "short-read-oob", short_read_oob_case },
		{ "errno-kept", errno_kept_case },
	};

	return plain_run_mode(argc, argv, modes, sizeof(modes) / sizeof(modes[0]), 30);
}
