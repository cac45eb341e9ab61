/* SPDX-License-Identifier: MIT */
/*
 * A plain libc program (built without urnet) that serves files with
 * sendfile(2) on blocking sockets, run by test/preload-sendfile.sh bare
 * and under the interposer on both engine backends; each mode prints what
 * it observed and the runs must agree:
 *   serve     a file arrives byte-exact through sendfile with an offset
 *             (which moves, the file position not), sendfile64, and
 *             without one (the file position moves)
 *   edges     count 0, an offset at and past the end of the file, a
 *             file that ends before count
 *   errors    bad descriptors, a write-only file, a socket or a pipe as
 *             input, negative and unreadable offsets, a shut down socket
 *   sndtimeo  SO_SNDTIMEO ends a stalled sendfile with a partial count
 *   signal    a handler without SA_RESTART ends a stalled sendfile with a
 *             partial count
 *   nonblock  an O_NONBLOCK socket: what fits
 * (What a second call does next depends on when the stalled peer's window
 * opens a little, bare too: not compared.)
 * Exit 0 on success; a failure or a hang (a watchdog ends it) says what
 * went wrong on stderr.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "plain_util.h"

#define BIG (64u << 20)

/* An unlinked file of len bytes (i * 7 + len % 251, mod 256) at position 0. */
static int make_file(size_t len)
{
	char path[] = "/tmp/plain-sendfile.XXXXXX";
	unsigned char *buf = malloc(len + 1);
	int fd = mkstemp(path);

	CHECK(fd >= 0 && buf, "mkstemp");
	unlink(path);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + len % 251);
	CHECK(write(fd, buf, len) == (ssize_t)len, "write file");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	free(buf);
	return fd;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

struct reader {
	int fd;
	pthread_t th;
	size_t got;
	uint64_t sum;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[65536];
	ssize_t n;

	r->sum = 0xcbf29ce484222325ull;
	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		r->sum = fnv(r->sum, buf, (size_t)n);
		r->got += (size_t)n;
	}
	return NULL;
}

/* One transfer of len bytes on a fresh pair: what arrived, and where the offsets are. */
static void serve_one(const char *how, size_t len)
{
	struct reader r = { 0 };
	int c, s, fd = make_file(len);
	off_t off = 0;
	ssize_t n;

	tcp_pair(&c, &s);
	r.fd = s;
	CHECK(pthread_create(&r.th, NULL, reader_main, &r) == 0, "pthread_create");
	if (!strcmp(how, "offset"))
		n = sendfile(c, fd, &off, len);
	else if (!strcmp(how, "sendfile64"))
		n = sendfile64(c, fd, (off64_t *)&off, len);
	else
		n = sendfile(c, fd, NULL, len);
	printf("%s, %zu bytes: %s %zd, offset %lld, position %lld\n", how, len,
	       err_name(n, errno), n, (long long)off, (long long)lseek(fd, 0, SEEK_CUR));
	CHECK(shutdown(c, SHUT_WR) == 0, "shutdown");
	pthread_join(r.th, NULL);
	printf("  received %zu bytes, checksum %016llx\n", r.got, (unsigned long long)r.sum);
	close(c);
	close(s);
	close(fd);
}

static int serve_case(void)
{
	serve_one("offset", 1);
	serve_one("offset", 4u << 20 | 7);
	serve_one("sendfile64", 1u << 20);
	serve_one("position", 4u << 20 | 3);
	return 0;
}

static int edges_case(void)
{
	int c, s, fd = make_file(1000);
	char buf[2000];
	off_t off;
	ssize_t n;

	tcp_pair(&c, &s);
	n = sendfile(c, fd, NULL, 0);
	printf("count 0: %s %zd\n", err_name(n, errno), n);
	off = 1000;
	n = sendfile(c, fd, &off, 10);
	printf("offset at the end: %s %zd, offset %lld\n", err_name(n, errno), n, (long long)off);
	off = 5000;
	n = sendfile(c, fd, &off, 10);
	printf("offset past the end: %s %zd, offset %lld\n", err_name(n, errno), n, (long long)off);
	off = 400;
	n = sendfile(c, fd, &off, 100000);
	printf("more than is left: %s %zd, offset %lld\n", err_name(n, errno), n, (long long)off);
	CHECK(lseek(fd, 900, SEEK_SET) == 900, "lseek");
	n = sendfile(c, fd, NULL, 100000);
	printf("more than is left from the position: %s %zd, position %lld\n",
	       err_name(n, errno), n, (long long)lseek(fd, 0, SEEK_CUR));
	shutdown(c, SHUT_WR);
	n = 0;
	for (ssize_t r; (r = read(s, buf + n, sizeof(buf) - (size_t)n)) > 0;)
		n += r;
	printf("received %zd bytes, first %d, last %d\n", n, buf[0], buf[n - 1]);
	close(c);
	close(s);
	close(fd);
	return 0;
}

static int errors_case(void)
{
	char path[] = "/tmp/plain-sendfile.XXXXXX";
	int c, s, fd = make_file(100), wr, p[2], tmp;
	off_t off;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);
	n = sendfile(c, -1, NULL, 10);
	printf("bad input fd: %s\n", err_name(n, errno));
	n = sendfile(-1, fd, NULL, 10);
	printf("bad output fd: %s\n", err_name(n, errno));
	tmp = mkstemp(path);
	CHECK(tmp >= 0, "mkstemp");
	wr = open(path, O_WRONLY | O_CLOEXEC);
	unlink(path);
	n = sendfile(c, wr, NULL, 10);
	printf("write-only input: %s\n", err_name(n, errno));
	n = sendfile(c, s, NULL, 10);
	printf("socket input: %s\n", err_name(n, errno));
	CHECK(pipe(p) == 0, "pipe");
	CHECK(write(p[1], "abc", 3) == 3, "write pipe");
	off = 0;
	n = sendfile(c, p[0], &off, 3);
	printf("pipe input with an offset: %s\n", err_name(n, errno));
	off = -1;
	n = sendfile(c, fd, &off, 10);
	printf("negative offset: %s, offset %lld\n", err_name(n, errno), (long long)off);
	n = sendfile(c, fd, (off_t *)8, 10);
	printf("unreadable offset: %s\n", err_name(n, errno));
	n = sendfile(fd, fd, NULL, 10);
	printf("file output: %s %zd\n", err_name(n, errno), n);
	CHECK(shutdown(c, SHUT_WR) == 0, "shutdown");
	off = 0;
	n = sendfile(c, fd, &off, 10);
	printf("shut down socket: %s, offset %lld\n", err_name(n, errno), (long long)off);
	close(tmp);
	close(wr);
	close(p[0]);
	close(p[1]);
	close(c);
	close(s);
	close(fd);
	return 0;
}

static int sndtimeo_case(void)
{
	struct timeval tv = { 0, 100000 };
	int c, s, fd = make_file(BIG);
	off_t off = 0;
	ssize_t n;

	tcp_pair(&c, &s);
	CHECK(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0, "SO_SNDTIMEO");
	n = sendfile(c, fd, &off, BIG);
	printf("stalled reader: %s, %s, offset %s\n", err_name(n, errno),
	       n > 0 && (size_t)n < BIG ? "partial" : "not partial",
	       off == n ? "moved by the count" : "elsewhere");
	close(c);
	close(s);
	close(fd);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
}

struct sender {
	int c, fd;
	_Atomic pid_t tid;
	pthread_t th;
	ssize_t n;
	int err;
	off_t off;
};

static void *sender_main(void *arg)
{
	struct sender *x = arg;

	atomic_store(&x->tid, (pid_t)syscall(SYS_gettid));
	x->n = sendfile(x->c, x->fd, &x->off, BIG);
	x->err = errno;
	return NULL;
}

/* sendfile in a thread, interrupted by SIGUSR1 once it sleeps. */
static void interrupted(struct sender *x, const char *what)
{
	atomic_store(&x->tid, 0);
	CHECK(pthread_create(&x->th, NULL, sender_main, x) == 0, "pthread_create");
	while (!atomic_load(&x->tid))
		usleep(1000);
	blocked(atomic_load(&x->tid));
	pthread_kill(x->th, SIGUSR1);
	pthread_join(x->th, NULL);
	printf("%s: %s, %s\n", what, err_name(x->n, x->err),
	       x->n > 0 ? "partial" : x->n == 0 ? "nothing" : "none");
}

static int signal_case(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sender x = { 0 };
	int s;

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	tcp_pair(&x.c, &s);
	x.fd = make_file(BIG);
	interrupted(&x, "stalled reader");
	close(x.c);
	close(s);
	close(x.fd);
	return 0;
}

static int nonblock_case(void)
{
	int c, s, fd = make_file(BIG);
	off_t off = 0;
	ssize_t n;

	tcp_pair(&c, &s);
	CHECK(fcntl(c, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	n = sendfile(c, fd, &off, BIG);
	printf("non-blocking: %s, %s\n", err_name(n, errno),
	       n > 0 && (size_t)n < BIG ? "partial" : "not partial");
	close(c);
	close(s);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct plain_mode modes[] = {
		{ "serve", serve_case },
		{ "edges", edges_case },
		{ "errors", errors_case },
		{ "sndtimeo", sndtimeo_case },
		{ "signal", signal_case },
		{ "nonblock", nonblock_case },
	};

	return plain_run_mode(argc, argv, modes, sizeof(modes) / sizeof(modes[0]), 30);
}
