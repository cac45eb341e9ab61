/* SPDX-License-Identifier: MIT */
/*
 * The compat calls: the object API's behaviour through the BSD signatures
 * (echo over tcp4, tcp6 and unix, a big transfer, many threads, EOF,
 * resets, broken pipes, close and dup2 from another thread, timeouts,
 * MSG_WAITALL and MSG_PEEK), the calls that must reach libc unchanged
 * (non-blocking fds, UDP, pipes, regular files), signals, cancellation,
 * fork and fd leaks.  test/compat-syscall.sh runs it on the syscall backend.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#include "compat_util.h"

#if defined(__SANITIZE_THREAD__)
/*
 * test_close_race closes an fd while another thread's recv or accept may
 * be making its first try, which (as the C library's call would) races
 * the close: that is the behaviour under test, not a race of urnet's.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:test_close_race_fn\n";
}
#endif

static void set_timeo(int fd, int opt, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), 0);
}

/* ---------------------------------------------------------------- echo */

static void echo_roundtrips(int family)
{
	struct cu_echo e;
	unsigned char out[5000], in[5000];
	uint64_t seed = 42;
	int fd;

	cu_echo_start(&e, family, 1);
	fd = cu_dial(&e.addr);
	for (int i = 1; i <= 100; i++) {
		size_t len = (size_t)(i * 47) % sizeof(out) + 1;

		test_fill(out, len, &seed);
		ck_assert_int_eq(urnet_send(fd, out, len, MSG_NOSIGNAL), (ssize_t)len);
		ck_assert(cu_read_full(fd, in, len));
		ck_assert_mem_eq(in, out, len);
	}
	ck_assert_int_eq(urnet_close(fd), 0);
	cu_echo_stop(&e);
}

START_TEST(test_echo_tcp4)
{
	echo_roundtrips(AF_INET);
}
END_TEST

START_TEST(test_echo_tcp6)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	if (!ok) {
		fprintf(stderr, "compat: no IPv6 loopback here, tcp6 echo not run\n");
		return;
	}
	echo_roundtrips(AF_INET6);
}
END_TEST

START_TEST(test_echo_unix)
{
	echo_roundtrips(AF_UNIX);
}
END_TEST

/* ---------------------------------------------------------------- big transfer */

#define BIG (32u << 20)

struct big_writer {
	int fd;
	uint64_t sum;
};

static void *big_writer_main(void *arg)
{
	struct big_writer *w = arg;
	static unsigned char a[300000], b[700001];
	uint64_t seed = 7;
	size_t sent = 0;

	while (sent < BIG) {
		struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
		size_t want = sizeof(a) + sizeof(b);

		if (BIG - sent < want) {
			want = BIG - sent;
			v[0].iov_len = want < sizeof(a) ? want : sizeof(a);
			v[1].iov_len = want - v[0].iov_len;
		}
		test_fill(a, v[0].iov_len, &seed);
		test_fill(b, v[1].iov_len, &seed);
		w->sum = test_sum(w->sum, a, v[0].iov_len);
		w->sum = test_sum(w->sum, b, v[1].iov_len);
		/* A blocking writev queues everything, as the kernel's does. */
		ck_assert_int_eq(urnet_writev(w->fd, v, 2), (ssize_t)want);
		sent += want;
	}
	ck_assert_int_eq(urnet_shutdown(w->fd, SHUT_WR), 0);
	return NULL;
}

START_TEST(test_big_transfer)
{
	struct big_writer w = { 0 };
	static unsigned char buf[3][65536];
	uint64_t sum = 0;
	size_t got = 0;
	pthread_t th;
	ssize_t n;
	int c, s;

	cu_pair(AF_INET, &c, &s);
	w.fd = c;
	ck_assert_int_eq(pthread_create(&th, NULL, big_writer_main, &w), 0);
	for (;;) {
		struct iovec v[3] = { { buf[0], 1000 }, { buf[1], 65536 }, { buf[2], 333 } };

		n = urnet_readv(s, v, 3);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		for (int i = 0; i < 3 && n > 0; i++) {
			size_t part = (size_t)n < v[i].iov_len ? (size_t)n : v[i].iov_len;

			sum = test_sum(sum, buf[i], part);
			got += part;
			n -= (ssize_t)part;
		}
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(got, BIG);
	ck_assert_uint_eq(sum, w.sum);
	ck_assert_uint_gt(test_parked_total(), 0);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* ---------------------------------------------------------------- many threads */

#define NCLIENTS 64

struct client {
	const struct caddr *addr;
	int id;
	bool ok;
};

static void *client_main(void *arg)
{
	struct client *cl = arg;
	unsigned char out[1000], in[1000];
	uint64_t seed = (uint64_t)cl->id + 1, so = 0, si = 0;
	int fd = cu_dial(cl->addr);

	for (int i = 0; i < 200; i++) {
		test_fill(out, sizeof(out), &seed);
		so = test_sum(so, out, sizeof(out));
		if (urnet_write(fd, out, sizeof(out)) != sizeof(out) ||
		    !cu_read_full(fd, in, sizeof(in)))
			break;
		si = test_sum(si, in, sizeof(in));
	}
	cl->ok = so == si && so != 0;
	urnet_close(fd);
	return NULL;
}

START_TEST(test_many_threads)
{
	struct cu_echo e;
	struct client cl[NCLIENTS];
	pthread_t th[NCLIENTS];

	cu_echo_start(&e, AF_INET, NCLIENTS);
	for (int i = 0; i < NCLIENTS; i++) {
		cl[i] = (struct client){ &e.addr, i, false };
		ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(cl[i].ok, "client %d: data mismatch", i);
	}
	cu_echo_stop(&e);
}
END_TEST

/* ---------------------------------------------------------------- EOF, errors */

START_TEST(test_half_close)
{
	char buf[16];
	int c, s;

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(urnet_write(c, "hello", 5), 5);
	ck_assert_int_eq(urnet_shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(urnet_recv(s, buf, sizeof(buf), MSG_WAITALL), 5);
	ck_assert_int_eq(urnet_read(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_send(s, "bye", 3, 0), 3);
	ck_assert_int_eq(urnet_close(s), 0);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), MSG_WAITALL), 3);
	ck_assert_mem_eq(buf, "bye", 3);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), 0);
	urnet_close(c);
}
END_TEST

START_TEST(test_reset_wakes_reader)
{
	struct linger lg = { 1, 0 };
	struct cu_blocker b = { .op = CU_RECV };
	int c, s;

	cu_pair(AF_INET, &c, &s);
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	ck_assert_int_eq(urnet_close(s), 0);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, ECONNRESET);
	urnet_close(c);
}
END_TEST

static _Atomic int sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigpipes, 1);
}

START_TEST(test_epipe)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };
	char buf[1024] = { 0 };
	ssize_t n = 0;
	int c, s, i;

	sigaction(SIGPIPE, &sa, NULL);
	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(urnet_close(s), 0);
	/* The first sends may still be queued; the peer's RST then ends it. */
	for (i = 0; i < 100; i++) {
		n = urnet_send(c, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n < 0 && errno == EPIPE)
			break;
	}
	ck_assert_int_lt(i, 100);
	ck_assert_int_eq(atomic_load(&sigpipes), 0);
	/* Without MSG_NOSIGNAL, write raises SIGPIPE exactly like libc's. */
	ck_assert_int_eq(urnet_write(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(atomic_load(&sigpipes), 1);
	urnet_close(c);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct caddr a;
	int l = cu_listen(AF_INET, &a), fd;

	cu_unlisten(l, &a);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(urnet_connect(fd, (struct sockaddr *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	urnet_close(fd);
}
END_TEST

START_TEST(test_bad_fd)
{
	struct caddr a;
	int l, c, s;
	char b;

	/* accept's own errors come at once, with or without a pending peer. */
	l = cu_listen(AF_INET, &a);
	ck_assert_int_eq(urnet_accept4(l, NULL, NULL, 0x40000000), -1);
	ck_assert_int_eq(errno, EINVAL);
	cu_unlisten(l, &a);
	cu_pair(AF_INET, &c, &s);
	cu_small_buffers(c);
	while (urnet_send(c, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		;			/* not even writable: poll reports nothing */
	ck_assert_int_eq(urnet_accept(c, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	urnet_close(c);
	urnet_close(s);

	ck_assert_int_eq(urnet_recv(-1, &b, 1, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(urnet_read(1 << 22, &b, 1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(urnet_close(-1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(urnet_accept(12345, NULL, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---------------------------------------------------------------- close, dup2 */

static void close_wakes(enum cu_op op, bool dup)
{
	struct cu_blocker b = { .op = op };
	struct caddr a;
	int c = -1, s = -1, l = -1, other;

	if (op == CU_ACCEPT) {
		l = cu_listen(AF_INET, &a);
		b.fd = l;
	} else {
		cu_pair(AF_INET, &c, &s);
		if (op == CU_SEND_ALL) {
			cu_small_buffers(c);
			cu_small_buffers(s);
			b.len = 8u << 20;
		}
		b.fd = c;
	}
	cu_blocker_start(&b);
	if (dup) {
		other = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_eq(urnet_dup2(other, b.fd), b.fd);
		urnet_close(other);
	}
	ck_assert_int_eq(urnet_close(b.fd), 0);
	cu_blocker_join(&b);
	if (op == CU_SEND_ALL && b.ret > 0)
		ck_assert_int_lt(b.ret, (ssize_t)b.len);	/* the part that was queued */
	else
		ck_assert_int_eq(b.ret, -1);
	if (b.ret < 0)
		ck_assert_int_eq(b.err, EBADF);
	if (s >= 0)
		urnet_close(s);
}

START_TEST(test_close_wakes_recv)
{
	close_wakes(CU_RECV, false);
}
END_TEST

START_TEST(test_close_wakes_read)
{
	close_wakes(CU_READ, false);
}
END_TEST

START_TEST(test_close_wakes_send)
{
	close_wakes(CU_SEND_ALL, false);
}
END_TEST

START_TEST(test_close_wakes_accept)
{
	close_wakes(CU_ACCEPT, false);
}
END_TEST

START_TEST(test_dup2_wakes_recv)
{
	close_wakes(CU_RECV, true);
}
END_TEST

static void *racer_main(void *arg)
{
	struct cu_blocker *b = arg;

	b->ret = b->op == CU_ACCEPT ? urnet_accept(b->fd, NULL, NULL)
				    : urnet_recv(b->fd, b->data, sizeof(b->data), 0);
	b->err = errno;
	return NULL;
}

/* close racing a call at every stage of it: never a hang, always EBADF. */
START_TEST(test_close_race)
{
	for (int i = 0; i < 300; i++) {
		struct cu_blocker b = { .op = i % 3 == 0 ? CU_ACCEPT : CU_RECV };
		struct caddr a;
		int c = -1, s = -1;

		if (b.op == CU_ACCEPT) {
			b.fd = cu_listen(AF_INET, &a);
		} else {
			cu_pair(i % 2 ? AF_UNIX : AF_INET, &c, &s);
			b.fd = c;
		}
		ck_assert_int_eq(pthread_create(&b.th, NULL, racer_main, &b), 0);
		for (int spin = 0; spin < i % 50; spin++)
			sched_yield();
		ck_assert_int_eq(urnet_close(b.fd), 0);
		pthread_join(b.th, NULL);
		ck_assert_int_eq(b.ret, -1);
		ck_assert_int_eq(b.err, EBADF);
		if (s >= 0)
			urnet_close(s);
	}
}
END_TEST

/*
 * A number whose file is replaced behind urnet's back (libc's own dup2,
 * which urnet does not see here): calls on it work, and the old socket is
 * really released (its peer reads EOF) rather than kept open by a poll.
 */
START_TEST(test_replaced_behind_back)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 1 };
	char buf[4];
	int c, s, sv[2];

	cu_pair(AF_INET, &c, &s);
	b.fd = c;
	cu_blocker_start(&b);		/* the engine now polls c */
	ck_assert_int_eq(urnet_send(s, "a", 1, 0), 1);
	cu_blocker_join(&b);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dup2(sv[0], c), c);
	ck_assert_int_eq(close(sv[0]), 0);
	for (int round = 0; round < 2; round++) {
		b = (struct cu_blocker){ .op = CU_RECV, .len = 1, .fd = c };
		cu_blocker_start(&b);
		ck_assert_int_eq(urnet_send(sv[1], "b", 1, 0), 1);
		cu_blocker_join(&b);
		ck_assert_int_eq(b.ret, 1);
		ck_assert_int_eq(b.data[0], 'b');
	}
	set_timeo(s, SO_RCVTIMEO, 10000);
	ck_assert_int_eq(urnet_recv(s, buf, sizeof(buf), 0), 0);
	urnet_close(c);
	urnet_close(sv[1]);
	urnet_close(s);
}
END_TEST

START_TEST(test_shutdown_wakes_recv)
{
	struct cu_blocker b = { .op = CU_RECV };
	int c, s;

	cu_pair(AF_INET, &c, &s);
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_shutdown(c, SHUT_RDWR), 0);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 0);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* ---------------------------------------------------------------- timeouts */

START_TEST(test_rcvtimeo)
{
	char buf[8];
	int64_t t0;
	int c, s;

	cu_pair(AF_INET, &c, &s);
	set_timeo(c, SO_RCVTIMEO, 200);
	t0 = urnet_now_ns();
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(urnet_now_ns() - t0, 150 * 1000000LL);
	ck_assert_int_lt(urnet_now_ns() - t0, 10 * SEC);
	/* A partial MSG_WAITALL returns what came before the timeout. */
	ck_assert_int_eq(urnet_send(s, "abc", 3, 0), 3);
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), MSG_WAITALL), 3);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_sndtimeo)
{
	size_t len = 16u << 20;
	char *big = calloc(1, len);
	ssize_t n;
	int c, s;

	cu_pair(AF_INET, &c, &s);
	cu_small_buffers(c);
	cu_small_buffers(s);
	set_timeo(c, SO_SNDTIMEO, 200);
	n = urnet_send(c, big, len, MSG_NOSIGNAL);
	/* The kernel reports what it queued, or EAGAIN if nothing fit. */
	ck_assert(n == -1 ? errno == EAGAIN : (n > 0 && (size_t)n < len));
	free(big);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_accept_timeo)
{
	struct caddr a;
	int l = cu_listen(AF_INET, &a);

	set_timeo(l, SO_RCVTIMEO, 100);
	ck_assert_int_eq(urnet_accept(l, NULL, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	cu_unlisten(l, &a);
}
END_TEST

/* ---------------------------------------------------------------- flags */

struct later_writer {
	int fd;
	pid_t reader;
	const char *parts[3];
};

/* Writes each part once the reader sleeps again: MSG_WAITALL must wait. */
static void *later_writer_main(void *arg)
{
	struct later_writer *w = arg;

	for (int i = 0; i < 3; i++) {
		ck_assert(test_wait_sleeping(w->reader));
		ck_assert_int_eq(urnet_send(w->fd, w->parts[i], strlen(w->parts[i]), 0),
				 (ssize_t)strlen(w->parts[i]));
	}
	return NULL;
}

START_TEST(test_waitall_and_peek)
{
	struct later_writer w = { .parts = { "abc", "defg", "hij" } };
	char buf[16] = { 0 };
	pthread_t th;
	int c, s;

	cu_pair(AF_INET, &c, &s);
	w.fd = s;
	w.reader = test_gettid();
	ck_assert_int_eq(pthread_create(&th, NULL, later_writer_main, &w), 0);
	/* PEEK|WAITALL waits for everything without consuming it. */
	ck_assert_int_eq(urnet_recv(c, buf, 10, MSG_PEEK | MSG_WAITALL), 10);
	ck_assert_mem_eq(buf, "abcdefghij", 10);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(urnet_recv(c, buf, 10, MSG_WAITALL), 10);
	ck_assert_mem_eq(buf, "abcdefghij", 10);
	pthread_join(th, NULL);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_recvmsg_sendmsg)
{
	char a[3], b[5];
	struct iovec out[2] = { { "12345", 5 }, { "678", 3 } };
	struct iovec in[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct msghdr mo = { .msg_iov = out, .msg_iovlen = 2 };
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2 };
	int c, s;

	cu_pair(AF_UNIX, &c, &s);
	ck_assert_int_eq(urnet_sendmsg(c, &mo, 0), 8);
	ck_assert_int_eq(urnet_recvmsg(s, &mi, MSG_WAITALL), 8);
	ck_assert_mem_eq(a, "123", 3);
	ck_assert_mem_eq(b, "45678", 5);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* ---------------------------------------------------------------- pass-through */

/* Both calls must give the same result and errno. */
#define SAME(ours, theirs) do {						\
	errno = 0;							\
	ssize_t r1_ = (ours);						\
	int e1_ = errno;						\
	errno = 0;							\
	ssize_t r2_ = (theirs);						\
	int e2_ = errno;						\
	ck_assert_int_eq(r1_, r2_);					\
	if (r1_ < 0)							\
		ck_assert_int_eq(e1_, e2_);				\
} while (0)

START_TEST(test_nonblocking_passthrough)
{
	char buf[8];
	int c, s, on = 1, fl;
	int64_t t0 = urnet_now_ns();

	cu_pair(AF_INET, &c, &s);
	/* fcntl O_NONBLOCK */
	fl = fcntl(c, F_GETFL);
	ck_assert_int_eq(fcntl(c, F_SETFL, fl | O_NONBLOCK), 0);
	SAME(urnet_recv(c, buf, sizeof(buf), 0), recv(c, buf, sizeof(buf), 0));
	SAME(urnet_read(c, buf, sizeof(buf)), read(c, buf, sizeof(buf)));
	ck_assert_int_eq(fcntl(c, F_SETFL, fl), 0);
	/* ioctl FIONBIO */
	ck_assert_int_eq(ioctl(s, FIONBIO, &on), 0);
	SAME(urnet_recv(s, buf, sizeof(buf), MSG_WAITALL), recv(s, buf, sizeof(buf), MSG_WAITALL));
	on = 0;
	ck_assert_int_eq(ioctl(s, FIONBIO, &on), 0);
	/* MSG_DONTWAIT on a blocking socket */
	SAME(urnet_recv(c, buf, sizeof(buf), MSG_DONTWAIT), recv(c, buf, sizeof(buf), MSG_DONTWAIT));
	ck_assert_int_eq(urnet_recv(c, buf, sizeof(buf), MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Data then works as usual. */
	ck_assert_int_eq(urnet_send(s, "xy", 2, 0), 2);
	ck_assert_int_eq(urnet_recv(c, buf, 2, MSG_WAITALL), 2);
	ck_assert_int_lt(urnet_now_ns() - t0, 10 * SEC);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_nonblocking_accept_connect)
{
	struct caddr a;
	int l = cu_listen(AF_INET, &a), fd, r1, e1, r2, e2;

	/* SOCK_NONBLOCK listener: EAGAIN straight away, like libc. */
	ck_assert_int_eq(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK), 0);
	SAME(urnet_accept(l, NULL, NULL), accept(l, NULL, NULL));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r1 = urnet_connect(fd, (struct sockaddr *)&a.ss, a.len);
	e1 = errno;
	ck_assert(r1 == 0 || e1 == EINPROGRESS);
	r2 = connect(fd, (struct sockaddr *)&a.ss, a.len);
	e2 = errno;
	ck_assert(r2 == 0 || e2 == EISCONN || e2 == EALREADY);
	urnet_close(fd);
	cu_unlisten(l, &a);
}
END_TEST

START_TEST(test_udp_results_as_libc)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in from;
	socklen_t al = sizeof(a), fl = sizeof(from);
	int u1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int u2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[16];

	ck_assert_int_eq(bind(u1, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(u1, (struct sockaddr *)&a, &al), 0);
	ck_assert_int_eq(urnet_sendto(u2, "dgram", 5, 0, (struct sockaddr *)&a, al), 5);
	ck_assert_int_eq(urnet_recvfrom(u1, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 5);
	ck_assert_int_eq(fl, sizeof(from));
	ck_assert_int_eq(from.sin_family, AF_INET);
	ck_assert_mem_eq(buf, "dgram", 5);
	/* Datagram truncation and empty queues: the kernel's answers. */
	ck_assert_int_eq(urnet_sendto(u2, "0123456789", 10, 0, (struct sockaddr *)&a, al), 10);
	ck_assert_int_eq(urnet_recv(u1, buf, 4, MSG_TRUNC), 10);
	SAME(urnet_recv(u1, buf, 4, MSG_DONTWAIT), recv(u1, buf, 4, MSG_DONTWAIT));
	set_timeo(u1, SO_RCVTIMEO, 50);
	SAME(urnet_recv(u1, buf, 4, 0), recv(u1, buf, 4, 0));
	/* connect() and send() on UDP */
	ck_assert_int_eq(urnet_connect(u2, (struct sockaddr *)&a, al), 0);
	ck_assert_int_eq(urnet_send(u2, "c", 1, 0), 1);
	ck_assert_int_eq(urnet_read(u1, buf, sizeof(buf)), 1);
	urnet_close(u1);
	urnet_close(u2);
}
END_TEST

START_TEST(test_pipe_passthrough)
{
	int p[2];
	char buf[16];
	struct iovec v[2] = { { "ab", 2 }, { "cde", 3 } };

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(urnet_write(p[1], "pipe", 4), 4);
	ck_assert_int_eq(urnet_read(p[0], buf, sizeof(buf)), 4);
	ck_assert_int_eq(urnet_writev(p[1], v, 2), 5);
	ck_assert_int_eq(urnet_read(p[0], buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "abcde", 5);
	/* Socket calls on a pipe: the kernel's ENOTSOCK. */
	SAME(urnet_recv(p[0], buf, 1, 0), recv(p[0], buf, 1, 0));
	SAME(urnet_send(p[1], buf, 1, 0), send(p[1], buf, 1, 0));
	SAME(urnet_accept(p[0], NULL, NULL), accept(p[0], NULL, NULL));
	SAME(urnet_shutdown(p[0], SHUT_RD), shutdown(p[0], SHUT_RD));
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	SAME(urnet_read(p[0], buf, 1), read(p[0], buf, 1));
	ck_assert_int_eq(urnet_close(p[1]), 0);
	ck_assert_int_eq(urnet_read(p[0], buf, 1), 0);
	ck_assert_int_eq(urnet_close(p[0]), 0);
}
END_TEST

START_TEST(test_file_passthrough)
{
	char path[] = "/tmp/urnet-compat-file-XXXXXX";
	char buf[32];
	struct iovec v[2] = { { buf, 3 }, { buf + 3, 20 } };
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(urnet_write(fd, "regular file", 12), 12);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(urnet_readv(fd, v, 2), 12);
	ck_assert_mem_eq(buf, "regular file", 12);
	ck_assert_int_eq(urnet_read(fd, buf, sizeof(buf)), 0);
	SAME(urnet_recv(fd, buf, 1, 0), recv(fd, buf, 1, 0));
	SAME(urnet_connect(fd, NULL, 0), connect(fd, NULL, 0));
	ck_assert_int_eq(urnet_close(fd), 0);
	SAME(urnet_read(fd, buf, 1), read(fd, buf, 1));
}
END_TEST

/* ---------------------------------------------------------------- signals */

START_TEST(test_eintr_without_restart)
{
	int c, s;

	cu_handle_alarm(0);
	cu_pair(AF_INET, &c, &s);
	cu_eintr_case(c);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_restart_with_sa_restart)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 4 };
	int c, s;

	cu_handle_alarm(SA_RESTART);
	/*
	 * The syscall backend cannot tell which handler ran and restarts
	 * only when every installed handler has SA_RESTART (README): drop
	 * the test runner's own SIGINT/SIGTERM handlers in this child.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	cu_pair(AF_INET, &c, &s);
	cu_restart_case(&b, c, s);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(test_eintr_with_timeout)
{
	struct cu_blocker b = { .op = CU_RECV };
	int c, s;

	/* With SO_RCVTIMEO even SA_RESTART handlers interrupt (signal(7)). */
	cu_handle_alarm(SA_RESTART);
	cu_pair(AF_INET, &c, &s);
	set_timeo(c, SO_RCVTIMEO, 30000);
	b.fd = c;
	cu_blocker_start(&b);
	pthread_kill(b.th, SIGALRM);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, EINTR);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* ---------------------------------------------------------------- cancellation */

START_TEST(test_cancel_blocked_recv)
{
	struct cu_blocker b = { .op = CU_RECV };
	void *res = NULL;
	int c, s;

	cu_pair(AF_INET, &c, &s);
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(pthread_cancel(b.th), 0);
	ck_assert_int_eq(pthread_join(b.th, &res), 0);
	ck_assert_ptr_eq(res, PTHREAD_CANCELED);
	/* The cancelled call left the fd: close does not wait for it. */
	ck_assert_int_eq(urnet_close(c), 0);
	/* And the engine still serves everybody else. */
	ck_assert_int_eq(urnet_send(s, "x", 1, MSG_NOSIGNAL), 1);
	urnet_close(s);
}
END_TEST

START_TEST(test_cancel_blocked_accept)
{
	struct cu_blocker b = { .op = CU_ACCEPT };
	struct caddr a;
	void *res = NULL;

	b.fd = cu_listen(AF_UNIX, &a);
	cu_blocker_start(&b);
	ck_assert_int_eq(pthread_cancel(b.th), 0);
	ck_assert_int_eq(pthread_join(b.th, &res), 0);
	ck_assert_ptr_eq(res, PTHREAD_CANCELED);
	cu_unlisten(b.fd, &a);
}
END_TEST

START_TEST(test_cancel_blocked_send)
{
	struct cu_blocker b = { .op = CU_SEND_ALL, .len = 8u << 20 };
	void *res = NULL;
	char buf[4096];
	int c, s;

	cu_pair(AF_INET, &c, &s);
	cu_small_buffers(c);
	cu_small_buffers(s);
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(pthread_cancel(b.th), 0);
	ck_assert_int_eq(pthread_join(b.th, &res), 0);
	ck_assert_ptr_eq(res, PTHREAD_CANCELED);
	/* The socket still works both ways. */
	while (urnet_recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(urnet_send(s, "ok", 2, 0), 2);
	ck_assert_int_eq(urnet_recv(c, buf, 2, MSG_WAITALL), 2);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* Many cancelled waits leave the engine and the table in working order. */
START_TEST(test_cancel_many)
{
	int c, s;

	for (int i = 0; i < 40; i++) {
		struct cu_blocker b = { .op = CU_RECV };
		void *res = NULL;

		cu_pair(i % 2 ? AF_UNIX : AF_INET, &c, &s);
		b.fd = c;
		cu_blocker_start(&b);
		ck_assert_int_eq(pthread_cancel(b.th), 0);
		ck_assert_int_eq(pthread_join(b.th, &res), 0);
		ck_assert_ptr_eq(res, PTHREAD_CANCELED);
		ck_assert_int_eq(urnet_close(c), 0);
		ck_assert_int_eq(urnet_close(s), 0);
	}
	cu_pair(AF_INET, &c, &s);
	{
		struct cu_blocker b = { .op = CU_RECV, .len = 2, .fd = c };

		cu_blocker_start(&b);
		ck_assert_int_eq(urnet_send(s, "hi", 2, 0), 2);
		cu_blocker_join(&b);
		ck_assert_int_eq(b.ret, 2);
	}
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* ---------------------------------------------------------------- fds, fork */

START_TEST(test_no_fd_leak)
{
	for (int i = 0; i < 100; i++) {
		struct cu_blocker b = { .op = CU_RECV, .len = 1 };
		int c, s;

		cu_pair(i % 2 ? AF_UNIX : AF_INET, &c, &s);
		b.fd = c;
		/* Make the call wait so that the engine learns the fd. */
		cu_blocker_start(&b);
		ck_assert_int_eq(urnet_send(s, "z", 1, 0), 1);
		cu_blocker_join(&b);
		ck_assert_int_eq(b.ret, 1);
		ck_assert_int_eq(urnet_close(c), 0);
		ck_assert_int_eq(urnet_close(s), 0);
	}
	/* teardown counts */
}
END_TEST

START_TEST(test_fork_child_has_own_engine)
{
	struct cu_blocker b = { .op = CU_RECV, .len = 2 };
	int c, s, status = -1;
	pid_t pid;

	/* The parent's engine knows these fds. */
	cu_pair(AF_INET, &c, &s);
	b.fd = c;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_send(s, "pa", 2, 0), 2);
	cu_blocker_join(&b);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cu_blocker cb = { .op = CU_RECV, .len = 2, .fd = c };
		int ok;

#if defined(__SANITIZE_THREAD__)
		/* ThreadSanitizer cannot start threads in this child at all. */
		_exit(0);
#endif
		cu_blocker_start(&cb);
		urnet_send(s, "ch", 2, 0);
		cu_blocker_join(&cb);
		ok = cb.ret == 2 && !memcmp(cb.data, "ch", 2);
		urnet_close(c);
		urnet_close(s);
		_exit(ok ? 0 : 1);
	}
	for (int i = 0; i < 10000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(1000);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* The parent goes on as before. */
	b.len = 2;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_send(s, "p2", 2, 0), 2);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 2);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

static Suite *compat_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *t;

	t = tcase_create("behaviour");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_echo_tcp4);
	tcase_add_test(t, test_echo_tcp6);
	tcase_add_test(t, test_echo_unix);
	tcase_add_test(t, test_big_transfer);
	tcase_add_test(t, test_many_threads);
	tcase_add_test(t, test_half_close);
	tcase_add_test(t, test_reset_wakes_reader);
	tcase_add_test(t, test_epipe);
	tcase_add_test(t, test_connect_refused);
	tcase_add_test(t, test_bad_fd);
	tcase_add_test(t, test_close_wakes_recv);
	tcase_add_test(t, test_close_wakes_read);
	tcase_add_test(t, test_close_wakes_send);
	tcase_add_test(t, test_close_wakes_accept);
	tcase_add_test(t, test_dup2_wakes_recv);
	tcase_add_test(t, test_close_race);
	tcase_add_test(t, test_replaced_behind_back);
	tcase_add_test(t, test_shutdown_wakes_recv);
	tcase_add_test(t, test_rcvtimeo);
	tcase_add_test(t, test_sndtimeo);
	tcase_add_test(t, test_accept_timeo);
	tcase_add_test(t, test_waitall_and_peek);
	tcase_add_test(t, test_recvmsg_sendmsg);
	suite_add_tcase(s, t);

	t = tcase_create("passthrough");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_nonblocking_passthrough);
	tcase_add_test(t, test_nonblocking_accept_connect);
	tcase_add_test(t, test_udp_results_as_libc);
	tcase_add_test(t, test_pipe_passthrough);
	tcase_add_test(t, test_file_passthrough);
	suite_add_tcase(s, t);

	t = tcase_create("signals");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_eintr_without_restart);
	tcase_add_test(t, test_restart_with_sa_restart);
	tcase_add_test(t, test_eintr_with_timeout);
	tcase_add_test(t, test_cancel_blocked_recv);
	tcase_add_test(t, test_cancel_blocked_accept);
	tcase_add_test(t, test_cancel_blocked_send);
	tcase_add_test(t, test_cancel_many);
	suite_add_tcase(s, t);

	t = tcase_create("lifecycle");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_no_fd_leak);
	tcase_add_test(t, test_fork_child_has_own_engine);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return test_run_suite(compat_suite());
}
