/* SPDX-License-Identifier: MIT */
/*
 * Plain libc programs (built without urnet) for the interposer's corner
 * cases, run under urnet-run by test/preload-echo.sh:
 *   plain-misc eintr     SIGALRM without SA_RESTART interrupts a blocked recv
 *   plain-misc restart   with SA_RESTART the recv goes on and gets the data
 *   plain-misc fork      blocked calls in parent, forked child, and a child
 *                        that execs "plain-misc exec-check"
 *   plain-misc close     close() of an fd another thread is blocked on:
 *                        that recv fails with EBADF, the peer sees EOF
 *   plain-misc close-range  the same with close_range()
 *   plain-misc exec-check  only the fds open when "fork" started survived
 *                        the exec; a blocked recv works
 *   plain-misc close-range-race  close_range() racing a recv that is just
 *                        starting on a number urnet has not served before:
 *                        the recv returns, the peer sees EOF
 *   plain-misc modes     O_NONBLOCK and SO_RCVTIMEO changed between waits
 *                        (fcntl, fcntl64 and ioctl through a dup, setsockopt)
 *                        take effect at once
 *   plain-misc reuse     a number closed behind urnet's back and handed out
 *                        again (dup, fcntl(F_DUPFD), SCM_RIGHTS, a raw
 *                        syscall) serves its new socket and the engine lets
 *                        go of the old one
 * Exit 0 on success; every failure says what went wrong on stderr.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plain_util.h"

static _Atomic int signals_seen;

struct poke {
	pid_t tid;		/* the thread that blocks */
	pthread_t th;		/* and its handle */
	int fd;			/* send here, or -1 */
	int sig;		/* send this signal first, or 0 */
};

static void *poke_main(void *arg)
{
	struct poke *p = arg;

	CHECK(wait_sleeping(p->tid), "the main thread never blocked");
	if (p->sig) {
		pthread_kill(p->th, p->sig);
		for (int i = 0; i < 10000 && !atomic_load(&signals_seen); i++)
			usleep(1000);
		CHECK(atomic_load(&signals_seen), "the signal never arrived");
		if (p->fd < 0)
			return NULL;
		/* With SA_RESTART the call must be sleeping again. */
		CHECK(wait_sleeping(p->tid), "the main thread never blocked");
	}
	CHECK(send(p->fd, "ping", 4, 0) == 4, "send");
	return NULL;
}

/* The calling thread blocks in recv until another thread sends. */
static void blocked_round(void)
{
	struct poke p = { .tid = (pid_t)syscall(SYS_gettid), .th = pthread_self() };
	pthread_t th;
	char buf[8];
	int c, s;

	tcp_pair(&c, &s);
	p.fd = s;
	CHECK(pthread_create(&th, NULL, poke_main, &p) == 0, "pthread_create");
	CHECK(recv(c, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "ping", 4), "recv ping");
	pthread_join(th, NULL);
	close(c);
	close(s);
}

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

static int signal_case(int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = sa_flags };
	struct poke p = { .tid = (pid_t)syscall(SYS_gettid), .th = pthread_self(),
			  .sig = SIGALRM };
	pthread_t th;
	char buf[8];
	ssize_t n;
	int c, s;

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
	tcp_pair(&c, &s);
	p.fd = sa_flags & SA_RESTART ? s : -1;
	CHECK(pthread_create(&th, NULL, poke_main, &p) == 0, "pthread_create");
	n = recv(c, buf, sizeof(buf), 0);
	if (sa_flags & SA_RESTART)
		CHECK(n == 4, "recv after a SA_RESTART handler");
	else
		CHECK(n == -1 && errno == EINTR, "recv interrupted without SA_RESTART");
	pthread_join(th, NULL);
	close(c);
	close(s);
	return 0;
}

/* The fds open now, as ",0,1,2," (what the process inherited). */
static void list_fds(char *out, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t used = 1;

	CHECK(d, "opendir");
	strcpy(out, ",");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s,", de->d_name);
		CHECK(used < len, "too many fds");
	}
	closedir(d);
}

/* fds open now that were not open in the original process. */
static int leaked_fds(const char *inherited)
{
	char now[4096], *tok, *save = NULL, key[32];
	int n = 0;

	list_fds(now, sizeof(now));
	for (tok = strtok_r(now, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		snprintf(key, sizeof(key), ",%s,", tok);
		if (!strstr(inherited, key)) {
			fprintf(stderr, "plain-misc: fd %s survived exec\n", tok);
			n++;
		}
	}
	return n;
}

static int fork_case(const char *self)
{
	char fds[4096];
	int status = -1;
	pid_t pid;

	list_fds(fds, sizeof(fds));
	CHECK(setenv("PLAIN_MISC_FDS", fds, 1) == 0, "setenv");
	blocked_round();	/* the parent's engine is running now */
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		mode = "fork child";
		blocked_round();
		execl(self, self, "exec-check", (char *)NULL);
		CHECK(0, "exec");
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed");
	/* A child that never waits and leaves through exit(): no stats of its own. */
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		exit(0);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the quiet child failed");
	blocked_round();	/* and the parent goes on */
	return 0;
}

struct blocked_recv {
	int fd;
	ssize_t ret;
	int err;
};

static void *blocked_recv_main(void *arg)
{
	struct blocked_recv *b = arg;
	char buf[8];

	b->ret = recv(b->fd, buf, sizeof(buf), 0);
	b->err = errno;
	return NULL;
}

static int close_case(bool range)
{
	struct blocked_recv b;
	pthread_t th;
	char buf[8];
	int c, s;

	tcp_pair(&c, &s);
	b.fd = c;
	CHECK(pthread_create(&th, NULL, blocked_recv_main, &b) == 0, "pthread_create");
	/* The reader's tid is not at hand: wait for the whole process to idle. */
	for (int i = 0; i < 10000; i++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;
		int sleeping = 0, all = 0;

		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.' || atoi(de->d_name) == (int)syscall(SYS_gettid))
				continue;
			all++;
			sleeping += thread_state((pid_t)atoi(de->d_name)) == 'S';
		}
		if (d)
			closedir(d);
		if (all && sleeping == all)
			break;
		usleep(1000);
	}
	if (range)
		CHECK(close_range((unsigned)c, (unsigned)c, 0) == 0, "close_range");
	else
		CHECK(close(c) == 0, "close");
	pthread_join(th, NULL);
	errno = b.err;
	CHECK(b.ret == -1 && b.err == EBADF, "the blocked recv did not fail with EBADF");
	/* The file is really gone: the peer reads EOF. */
	CHECK(recv(s, buf, sizeof(buf), 0) == 0, "peer EOF after close");
	close(s);
	return 0;
}

struct starter {
	int fd;
	_Atomic int go;
	ssize_t ret;
	int err;
};

static void *starter_main(void *arg)
{
	struct starter *st = arg;
	char buf[8];

	while (!atomic_load(&st->go))
		;
	st->ret = recv(st->fd, buf, sizeof(buf), 0);
	st->err = errno;
	return NULL;
}

/*
 * Each round a fresh number, idle in urnet's table, and a thread starting
 * a recv on it while close_range() closes it.  Whichever comes first, the
 * recv must return (EBADF) and the file must really be released; a recv
 * that slipped in between urnet's bookkeeping and the kernel's close would
 * sleep forever on a poll holding the file open.
 */
static int close_range_race_case(void)
{
	struct rlimit rl;
	int chunks = 0, any;

	/* One ordinary wait first: the races themselves may never need the ring. */
	blocked_round();

	/*
	 * urnet's table grows in chunks of 1,024 numbers on first touch; with
	 * many of them a bulk close takes long enough for the race to happen.
	 */
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = rl.rlim_max < 65536 + 1 ? rl.rlim_max : 65536 + 1;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	any = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(any >= 0, "socket");
	for (int k = 1; (rlim_t)k * 1024 < rl.rlim_cur; k++, chunks++)
		CHECK(close(dup2(any, k * 1024)) == 0, "dup2 + close");
	close(any);
	for (int round = 0; round < 300; round++) {
		struct starter st = { 0 };
		struct timespec until;
		struct timeval tv = { 10, 0 };
		pthread_t th;
		char buf[8];
		int c, s, h;

		tcp_pair(&c, &s);
		h = fcntl(c, F_DUPFD_CLOEXEC, 1000);
		CHECK(h >= 1000, "F_DUPFD");
		CHECK(close(c) == 0, "close");
		st.fd = h;
		CHECK(pthread_create(&th, NULL, starter_main, &st) == 0, "pthread_create");
		atomic_store(&st.go, 1);
		for (int spin = 0; spin < round % 64; spin++)
			sched_yield();
		CHECK(close_range((unsigned)h, ~0u, 0) == 0, "close_range");
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		errno = pthread_timedjoin_np(th, NULL, &until);
		CHECK(errno == 0, "a recv racing close_range never returned");
		errno = st.err;
		CHECK(st.ret == -1 && st.err == EBADF, "the racing recv did not fail with EBADF");
		CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
		CHECK(recv(s, buf, sizeof(buf), 0) == 0, "peer EOF after close_range");
		close(s);
	}
	fprintf(stderr, "plain-misc: close-range-race: 300 rounds over %d extra table chunks\n",
		chunks);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
}

/* recv on c fails with EAGAIN, after at least min_ms. */
static void expect_eagain(int c, int min_ms, const char *what)
{
	int64_t t0 = now_ms();
	char buf[8];

	CHECK(recv(c, buf, sizeof(buf), 0) == -1 && errno == EAGAIN, what);
	CHECK(now_ms() - t0 >= min_ms, what);
}

/* recv on c sleeps until the peer s sends: the fd is blocking again. */
static void expect_blocking(int c, int s, const char *what)
{
	struct poke p = { .tid = (pid_t)syscall(SYS_gettid), .th = pthread_self(), .fd = s };
	pthread_t th;
	char buf[8];

	CHECK(pthread_create(&th, NULL, poke_main, &p) == 0, "pthread_create");
	CHECK(recv(c, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "ping", 4), what);
	pthread_join(th, NULL);
}

/*
 * What a wait learnt of the fd's mode must not outlive a change of it.
 * A stale O_NONBLOCK or timeout shows as a recv that sleeps 30 s where it
 * should fail at once (the script's timeout), or that fails where it
 * should sleep.
 */
static int modes_case(void)
{
	int c, s, d, on = 1, off = 0;

	tcp_pair(&c, &s);
	d = dup(c);
	CHECK(d >= 0, "dup");
	set_rcvtimeo(c, 100);
	expect_eagain(c, 90, "SO_RCVTIMEO 100 ms");
	set_rcvtimeo(c, 400);
	expect_eagain(c, 390, "SO_RCVTIMEO raised to 400 ms");
	set_rcvtimeo(c, 30000);
	expect_blocking(c, s, "blocking with SO_RCVTIMEO 30 s");
	CHECK(fcntl(d, F_SETFL, O_NONBLOCK) == 0, "fcntl O_NONBLOCK");
	expect_eagain(c, 0, "O_NONBLOCK set through a dup");
	CHECK(fcntl(d, F_SETFL, 0) == 0, "fcntl clear O_NONBLOCK");
	expect_blocking(c, s, "O_NONBLOCK cleared through a dup");
	CHECK(fcntl64(d, F_SETFL, O_NONBLOCK) == 0, "fcntl64 O_NONBLOCK");
	expect_eagain(c, 0, "O_NONBLOCK set with fcntl64");
	CHECK(fcntl64(d, F_SETFL, 0) == 0, "fcntl64 clear O_NONBLOCK");
	expect_blocking(c, s, "O_NONBLOCK cleared with fcntl64");
	CHECK(ioctl(d, FIONBIO, &on) == 0, "FIONBIO on");
	expect_eagain(c, 0, "FIONBIO on");
	CHECK(ioctl(d, FIONBIO, &off) == 0, "FIONBIO off");
	expect_blocking(c, s, "FIONBIO off");
	set_rcvtimeo(d, 100);
	expect_eagain(c, 90, "SO_RCVTIMEO lowered through a dup");
	close(d);
	close(c);
	close(s);
	return 0;
}

/* How reuse_case gives number c a new file after c was closed unseen. */
enum reuse_how { BY_DUP, BY_DUPFD, BY_DUPFD_CLOEXEC, BY_RECVMSG, BY_RECVMMSG, BY_RAW_DUP };

static const char *const reuse_names[] = {
	"dup", "fcntl(F_DUPFD)", "fcntl(F_DUPFD_CLOEXEC)", "SCM_RIGHTS by recvmsg",
	"SCM_RIGHTS by recvmmsg", "raw dup syscall",
};

static void send_fd(int via, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec v = { "f", 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	CHECK(sendmsg(via, &m, 0) == 1, "sendmsg SCM_RIGHTS");
}

/* A new number for src's file, made the way how says; -1 on failure. */
static int reuse_number(enum reuse_how how, int src, int via)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec v = { &byte, 1 };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1,
					   .msg_control = cbuf,
					   .msg_controllen = sizeof(cbuf) } };
	struct cmsghdr *cm;
	int fd;

	switch (how) {
	case BY_DUP:
		return dup(src);
	case BY_DUPFD:
		return fcntl(src, F_DUPFD, 0);
	case BY_DUPFD_CLOEXEC:
		return fcntl(src, F_DUPFD_CLOEXEC, 0);
	case BY_RAW_DUP:
		return (int)syscall(SYS_dup, src);
	case BY_RECVMSG:
		if (recvmsg(via, &mm.msg_hdr, 0) != 1)
			return -1;
		break;
	case BY_RECVMMSG:
		if (recvmmsg(via, &mm, 1, 0, NULL) != 1)
			return -1;
		break;
	}
	cm = CMSG_FIRSTHDR(&mm.msg_hdr);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/*
 * Number c, on which the engine waited, is closed behind urnet's back and
 * handed out again for another socket.  Calls on c must serve the new
 * socket, and the engine must let go of the old one (its peer reads EOF)
 * as soon as c is used again.  A number made by a call the module sees is
 * known to be new before the first try; one made by a raw system call is
 * found out by the recheck of the first wait that lasts (about a second).
 */
static void reuse_round(enum reuse_how how)
{
	const char *what = reuse_names[how];
	int c, s, u[2], t[2], held[64], nheld = 0, h, fd;
	char buf[8];

	tcp_pair(&c, &s);
	/* A wait that times out leaves the engine's poll on the socket armed. */
	set_rcvtimeo(c, 20);
	expect_eagain(c, 0, "SO_RCVTIMEO on the first socket");
	set_rcvtimeo(c, 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u) == 0, "socketpair");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t) == 0, "socketpair");
	if (how == BY_RECVMSG || how == BY_RECVMMSG)
		send_fd(t[0], u[0]);
	/* Fill the numbers below c: the next one handed out is c. */
	while ((h = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && h < c) {
		CHECK(nheld < 64, "too many free numbers below the socket");
		held[nheld++] = h;
	}
	CHECK(h > c, "open /dev/null");
	close(h);
	CHECK(syscall(SYS_close, c) == 0, "close behind urnet's back");
	fd = reuse_number(how, u[0], t[1]);
	CHECK(fd == c, what);
	if (how == BY_RAW_DUP) {
		expect_blocking(c, u[1], what);
	} else {
		/* No wait: knowing the number is new cannot depend on one. */
		CHECK(send(u[1], "ping", 4, 0) == 4, "send");
		CHECK(recv(c, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "ping", 4), what);
	}
	set_rcvtimeo(s, 10000);
	CHECK(recv(s, buf, sizeof(buf), 0) == 0, "the first socket was not released");
	expect_blocking(c, u[1], what);
	close(c);
	close(s);
	close(u[0]);
	close(u[1]);
	close(t[0]);
	close(t[1]);
	while (nheld)
		close(held[--nheld]);
}

static int reuse_case(void)
{
	for (enum reuse_how how = BY_DUP; how <= BY_RAW_DUP; how++)
		reuse_round(how);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plain-misc eintr|restart|close|close-range|close-range-race|fork|modes|reuse|exec-check\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "eintr"))
		return signal_case(0);
	if (!strcmp(mode, "restart"))
		return signal_case(SA_RESTART);
	if (!strcmp(mode, "close"))
		return close_case(false);
	if (!strcmp(mode, "close-range"))
		return close_case(true);
	if (!strcmp(mode, "fork"))
		return fork_case(argv[0]);
	if (!strcmp(mode, "modes"))
		return modes_case();
	if (!strcmp(mode, "close-range-race"))
		return close_range_race_case();
	if (!strcmp(mode, "reuse"))
		return reuse_case();
	if (!strcmp(mode, "exec-check")) {
		const char *fds = getenv("PLAIN_MISC_FDS");

		CHECK(fds, "PLAIN_MISC_FDS not set");
		CHECK(leaked_fds(fds) == 0, "fds leaked across exec");
		blocked_round();
		return 0;
	}
	fprintf(stderr, "plain-misc: unknown mode %s\n", mode);
	return 2;
}
