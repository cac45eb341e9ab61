/* SPDX-License-Identifier: MIT */
/*
 * The object API's failures, each with the errno a BSD program expects:
 * malformed addresses, unknown networks, address in use, refused and
 * timed-out dials (a listener whose backlog is full), peer reset, writing
 * to a closed peer without SIGPIPE, and bad arguments.
 * test/api_errors-syscall.sh runs it again on the syscall backend.
 */
#include "config.h"

#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api_util.h"

static void expect_listen_fails(const char *network, const char *address, int err)
{
	urnet_listener *l;

	errno = 0;
	l = urnet_listen(network, address);
	ck_assert_msg(!l && errno == err, "listen(%s, %.40s): %p, errno %d (%s), want %d",
		      network ? network : "NULL", address ? address : "NULL", (void *)l,
		      errno, strerror(errno), err);
}

static void expect_dial_fails(const char *network, const char *address, int err)
{
	urnet_conn *c;

	errno = 0;
	c = urnet_dial(network, address, 5 * SEC);
	ck_assert_msg(!c && errno == err, "dial(%s, %.40s): %p, errno %d (%s), want %d",
		      network ? network : "NULL", address ? address : "NULL", (void *)c,
		      errno, strerror(errno), err);
}

START_TEST(malformed_addresses)
{
	static const char *const tcp_bad[] = {
		"", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999",
		"127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80 ",
		" 127.0.0.1:80", "127.0.0.1:http", "127.0.0.1:0x50", "127.0.0.1:000001",
		"::1:80", "[::1]80", "[::1", "[::1]:", "[]:80", "[[::1]]:80", "::1",
		/* Names: listeners take none, dials have no name server here (api_setup). */
		"300.1.1.1:80", "1.2.3:80", "example.com:80", "no-such-host.invalid:80",
		"[fe80::1%no-such-if0]:80", "[fe80::1%]:80", "127.0.0.1%lo:80",
		"[127.0.0.1]:80x", ":80:80",
	};
	static const char *const nets[] = { "tcp", "tcp4", "tcp6" };
	static char huge[10240];
	char longpath[300];
	urnet_listener *l;

	memset(huge, '1', sizeof(huge) - 1);
	huge[5] = ':';
	for (size_t n = 0; n < sizeof(nets) / sizeof(nets[0]); n++) {
		for (size_t i = 0; i < sizeof(tcp_bad) / sizeof(tcp_bad[0]); i++) {
			expect_listen_fails(nets[n], tcp_bad[i], EINVAL);
			expect_dial_fails(nets[n], tcp_bad[i], EINVAL);
		}
		expect_listen_fails(nets[n], huge, EINVAL);
		expect_dial_fails(nets[n], huge, EINVAL);
		expect_listen_fails(nets[n], NULL, EINVAL);
		expect_dial_fails(nets[n], NULL, EINVAL);
	}
	/* unix: empty, a bare "@", a path or name longer than sun_path holds. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	expect_listen_fails("unix", "", EINVAL);
	expect_listen_fails("unix", "@", EINVAL);
	expect_listen_fails("unix", longpath, EINVAL);
	expect_listen_fails("unix", huge, EINVAL);
	expect_dial_fails("unix", "", EINVAL);
	expect_dial_fails("unix", longpath, EINVAL);
	longpath[0] = '@';
	expect_dial_fails("unix", longpath, EINVAL);
	/* 108 bytes: too long for a path (no room for its NUL), fine as "@" + 107. */
	longpath[108] = '\0';
	ck_assert_ptr_nonnull(l = urnet_listen("unix", longpath));
	ck_assert_str_eq(urnet_listener_addr(l), longpath);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	longpath[0] = '/';
	expect_listen_fails("unix", longpath, EINVAL);
}
END_TEST

START_TEST(unknown_networks)
{
	static const char *const bad[] = { "tcp5", "", "TCP", "UDP", "ip", "tcp4 ", "udp " };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_listen_fails(bad[i], "127.0.0.1:0", EAFNOSUPPORT);
		expect_dial_fails(bad[i], "127.0.0.1:1", EAFNOSUPPORT);
	}
	/* Datagram networks have no stream listener (urnet_listen_packet). */
	expect_listen_fails("udp", "127.0.0.1:0", EAFNOSUPPORT);
	expect_listen_fails("unixgram", "@urnet-no-listener", EAFNOSUPPORT);
	expect_listen_fails(NULL, "127.0.0.1:0", EINVAL);
	expect_dial_fails(NULL, "127.0.0.1:1", EINVAL);
	/* An address of the other family than the network allows. */
	expect_listen_fails("tcp4", "[::1]:0", EAFNOSUPPORT);
	expect_dial_fails("tcp4", "[::1]:1", EAFNOSUPPORT);
	expect_listen_fails("tcp6", "127.0.0.1:0", EAFNOSUPPORT);
	expect_dial_fails("tcp6", "127.0.0.1:1", EAFNOSUPPORT);
}
END_TEST

START_TEST(address_in_use)
{
	char dir[] = "/tmp/urnet-api-XXXXXX", path[64], abstract[64];
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0"), *u;
	urnet_conn *c, *s;

	ck_assert_ptr_nonnull(l);
	expect_listen_fails("tcp4", urnet_listener_addr(l), EADDRINUSE);
	ck_assert_int_eq(urnet_listener_close(l), 0);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	u = urnet_listen("unix", path);
	ck_assert_ptr_nonnull(u);
	expect_listen_fails("unix", path, EADDRINUSE);
	/* The failed attempt left the first listener's file alone. */
	c = urnet_dial("unix", path, 5 * SEC);
	ck_assert_ptr_nonnull(c);
	s = urnet_listener_accept(u);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_listener_close(u), 0);
	ck_assert_int_eq(rmdir(dir), 0);

	snprintf(abstract, sizeof(abstract), "@urnet-api-inuse-%d", (int)getpid());
	u = urnet_listen("unix", abstract);
	ck_assert_ptr_nonnull(u);
	expect_listen_fails("unix", abstract, EADDRINUSE);
	ck_assert_int_eq(urnet_listener_close(u), 0);
}
END_TEST

START_TEST(dial_refused)
{
	char dir[] = "/tmp/urnet-api-XXXXXX", path[64], addr[64];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	int fd;

	/* A port that was just free: nobody listens there now. */
	ck_assert_ptr_nonnull(l);
	snprintf(addr, sizeof(addr), "%s", urnet_listener_addr(l));
	ck_assert_int_eq(urnet_listener_close(l), 0);
	expect_dial_fails("tcp4", addr, ECONNREFUSED);
	expect_dial_fails("tcp", addr, ECONNREFUSED);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nobody", dir);
	expect_dial_fails("unix", path, ENOENT);
	/* A socket file without a listener behind it. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memcpy(un.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	expect_dial_fails("unix", path, ECONNREFUSED);
	close(fd);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A raw listener with backlog 0 that never accepts, so its queue fills up. */
static int full_listener(int family, struct sockaddr *sa, socklen_t len, char *addr, size_t size)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, sa, len), 0);
	ck_assert_int_eq(listen(fd, 0), 0);
	if (family == AF_INET) {
		struct sockaddr_in in4;
		socklen_t l = sizeof(in4);

		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&in4, &l), 0);
		snprintf(addr, size, "127.0.0.1:%u", ntohs(in4.sin_port));
	}
	return fd;
}

/* Dial until one times out; every earlier one fits in the queue. */
static void dial_until_timeout(const char *network, const char *addr)
{
	urnet_conn *ok[16];
	int n = 0, err = 0;

	while (n < 16) {
		int64_t t0 = urnet_now_ns();
		urnet_conn *c = urnet_dial(network, addr, 200 * MSEC);

		if (!c) {
			err = errno;
			/* Not before the timeout, and not much later. */
			ck_assert_int_ge(urnet_now_ns() - t0, 200 * MSEC);
			ck_assert_int_lt(urnet_now_ns() - t0, 10 * SEC);
			break;
		}
		ok[n++] = c;
	}
	ck_assert_msg(err == ETIMEDOUT, "%d dials, then errno %d (%s)", n, err, strerror(err));
	while (n--)
		ck_assert_int_eq(urnet_conn_close(ok[n]), 0);
}

START_TEST(dial_timeout_full_backlog_tcp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char addr[64];
	int fd = full_listener(AF_INET, (struct sockaddr *)&sa, sizeof(sa), addr, sizeof(addr));

	dial_until_timeout("tcp4", addr);
	close(fd);
}
END_TEST

START_TEST(dial_timeout_full_backlog_unix)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@urnet-api-full-%d", (int)getpid());
	memcpy(un.sun_path + 1, name + 1, strlen(name) - 1);
	fd = full_listener(AF_UNIX, (struct sockaddr *)&un,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name)), NULL, 0);
	dial_until_timeout("unix", name);
	close(fd);
}
END_TEST

/* The peer aborts with RST (SO_LINGER 0): a read blocked on it fails ECONNRESET. */
START_TEST(peer_reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct api_blocker b = { .op = API_READ };
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	b.c = c;
	api_blocker_start(&b);
	ck_assert_int_eq(setsockopt(urnet_conn_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, ECONNRESET);
	/* The address is still known after the reset. */
	ck_assert(!strncmp(urnet_conn_remote_addr(c), "127.0.0.1:", 10));
	ck_assert_int_eq(urnet_conn_close(c), 0);
}
END_TEST

/*
 * Writing to a peer that has closed: EPIPE, and no SIGPIPE although its
 * default disposition (terminate) is in place in this forked test.
 */
START_TEST(write_to_closed_peer)
{
	struct sigaction sa;
	sigset_t pending;
	urnet_conn *c, *s;
	char buf[256] = "data";
	ssize_t n = 0;
	int i;

	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_ptr_eq(sa.sa_handler, SIG_DFL);
	api_tcp_pair(&c, &s);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 0);
	/* The first write draws the peer's RST, a later one reports it. */
	for (i = 0; i < 1000 && (n = urnet_conn_write(c, buf, sizeof(buf))) > 0; i++)
		;
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(urnet_conn_write(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(!sigismember(&pending, SIGPIPE));
	ck_assert_int_eq(urnet_conn_close(c), 0);
}
END_TEST

START_TEST(write_to_closed_unix_peer)
{
	urnet_conn *c, *s;
	char name[64];

	snprintf(name, sizeof(name), "@urnet-api-pipe-%d", (int)getpid());
	api_pair("unix", name, &c, &s);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_conn_write(c, "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(urnet_conn_close(c), 0);
}
END_TEST

START_TEST(null_objects)
{
	struct iovec iov = { NULL, 0 };
	char buf[4];

#define NULL_FAILS(call, bad)                                  \
	do {                                                   \
		errno = 0;                                     \
		ck_assert((call) == (bad));                    \
		ck_assert_int_eq(errno, EINVAL);               \
	} while (0)
	NULL_FAILS(urnet_listener_accept(NULL), NULL);
	NULL_FAILS(urnet_listener_addr(NULL), NULL);
	NULL_FAILS(urnet_listener_fd(NULL), -1);
	NULL_FAILS(urnet_listener_set_deadline(NULL, 0), -1);
	NULL_FAILS(urnet_listener_shutdown(NULL), -1);
	NULL_FAILS(urnet_listener_close(NULL), -1);
	NULL_FAILS(urnet_conn_read(NULL, buf, sizeof(buf)), -1);
	NULL_FAILS(urnet_conn_read(NULL, buf, 0), -1);
	NULL_FAILS(urnet_conn_write(NULL, "x", 1), -1);
	NULL_FAILS(urnet_conn_readv(NULL, &iov, 1), -1);
	NULL_FAILS(urnet_conn_writev(NULL, &iov, 1), -1);
	NULL_FAILS(urnet_conn_close_read(NULL), -1);
	NULL_FAILS(urnet_conn_close_write(NULL), -1);
	NULL_FAILS(urnet_conn_set_deadline(NULL, 0), -1);
	NULL_FAILS(urnet_conn_set_read_deadline(NULL, 0), -1);
	NULL_FAILS(urnet_conn_set_write_deadline(NULL, 0), -1);
	NULL_FAILS(urnet_conn_set_nodelay(NULL, 1), -1);
	NULL_FAILS(urnet_conn_set_keepalive(NULL, 1, 0), -1);
	NULL_FAILS(urnet_conn_local_addr(NULL), NULL);
	NULL_FAILS(urnet_conn_remote_addr(NULL), NULL);
	NULL_FAILS(urnet_conn_fd(NULL), -1);
	NULL_FAILS(urnet_conn_close(NULL), -1);
#undef NULL_FAILS
}
END_TEST

START_TEST(bad_arguments)
{
	struct iovec iov[2] = { { (void *)"ab", 2 }, { (void *)"cd", SIZE_MAX } };
	urnet_listener *l;
	urnet_conn *c, *s;
	char buf[8];

	api_tcp_pair(&c, &s);
	ck_assert_int_eq(urnet_conn_readv(c, iov, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_writev(c, iov, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_writev(c, iov, IOV_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_readv(c, iov, IOV_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_writev(c, NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Lengths summing past SSIZE_MAX. */
	ck_assert_int_eq(urnet_conn_writev(c, iov, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_readv(c, iov, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_write(c, buf, SIZE_MAX), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Negative deadlines and timeouts. */
	ck_assert_int_eq(urnet_conn_set_deadline(c, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, INT64_MIN), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_set_write_deadline(c, -5), -1);
	ck_assert_int_eq(errno, EINVAL);
	l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(urnet_listener_set_deadline(l, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", urnet_listener_addr(l), -1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	/* A bad buffer is the kernel's EFAULT, not a crash. */
	ck_assert_int_eq(urnet_conn_write(s, "x", 1), 1);
	ck_assert_int_eq(urnet_conn_read(c, NULL, 1), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* The conn still works afterwards. */
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 1);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* Accept on a process out of descriptors: EMFILE, and the connection waits. */
START_TEST(accept_out_of_fds)
{
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	struct rlimit rl;
	urnet_conn *c, *s;
	int fds[64], n = 0;

	ck_assert_ptr_nonnull(l);
	c = urnet_dial("tcp4", urnet_listener_addr(l), 5 * SEC);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = (rlim_t)test_count_fds() + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 64 && (fds[n] = dup(urnet_listener_fd(l))) >= 0)
		n++;
	errno = 0;
	ck_assert_ptr_null(urnet_listener_accept(l));
	ck_assert_int_eq(errno, EMFILE);
	while (n--)
		close(fds[n]);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
}
END_TEST

/*
 * A process whose hard descriptor limit equals its soft one has no room
 * above it for urnet's own descriptors (on the syscall backend an eventfd
 * per conn): they go to the top sixteenth of the range, and once that is
 * full to low numbers.  Many conns must still open and wait, never fail
 * with EMFILE while numbers are free.
 */
START_TEST(conns_open_past_urnets_share_of_a_hard_limit)
{
	enum { PAIRS = 40 };
	urnet_conn *c[PAIRS], *s[PAIRS];
	struct rlimit rl = { 256, 256 };
	char byte;

	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (int i = 0; i < PAIRS; i++)
		api_tcp_pair(&c[i], &s[i]);
	for (int i = 0; i < PAIRS; i++) {
		/* A read that has to wait: its readiness object is in use. */
		ck_assert_int_eq(urnet_conn_set_read_deadline(c[i], urnet_now_ns() + MSEC), 0);
		errno = 0;
		ck_assert_int_eq(urnet_conn_read(c[i], &byte, 1), -1);
		ck_assert_int_eq(errno, ETIMEDOUT);
	}
	for (int i = 0; i < PAIRS; i++) {
		ck_assert_int_eq(urnet_conn_close(c[i]), 0);
		ck_assert_int_eq(urnet_conn_close(s[i]), 0);
	}
}
END_TEST

/*
 * urnet opens its own descriptors above the soft limit by raising it for a
 * moment.  Threads that open them at once (the syscall backend's eventfd
 * per conn) must leave the program's limit as it was:
 * one raise seen as the limit by another and put back last would leave
 * the process with thousands of numbers it never asked for.
 */
enum { RAISE_THREADS = 8, RAISE_ROUNDS = 40 };

static pthread_barrier_t raise_barrier;

static void *open_and_wait(void *arg)
{
	urnet_conn **pair = arg;
	char byte;

	pthread_barrier_wait(&raise_barrier);
	api_tcp_pair(&pair[0], &pair[1]);
	ck_assert_int_eq(urnet_conn_set_read_deadline(pair[0], urnet_now_ns() + MSEC), 0);
	errno = 0;
	ck_assert_int_eq(urnet_conn_read(pair[0], &byte, 1), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	return NULL;
}

START_TEST(soft_limit_restored_after_concurrent_conn_opens)
{
	urnet_conn *pairs[RAISE_THREADS][2];
	pthread_t t[RAISE_THREADS];
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_msg(rl.rlim_max > 256, "hard limit %llu: no room above 256",
		      (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 256;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (int round = 0; round < RAISE_ROUNDS; round++) {
		ck_assert_int_eq(pthread_barrier_init(&raise_barrier, NULL, RAISE_THREADS), 0);
		for (int i = 0; i < RAISE_THREADS; i++)
			ck_assert_int_eq(pthread_create(&t[i], NULL, open_and_wait, pairs[i]), 0);
		for (int i = 0; i < RAISE_THREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&raise_barrier);
		for (int i = 0; i < RAISE_THREADS; i++) {
			ck_assert_int_eq(urnet_conn_close(pairs[i][0]), 0);
			ck_assert_int_eq(urnet_conn_close(pairs[i][1]), 0);
		}
		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
		ck_assert_msg(rl.rlim_cur == 256, "round %d: soft limit %llu, set 256", round,
			      (unsigned long long)rl.rlim_cur);
	}
}
END_TEST

static Suite *api_errors_suite(void)
{
	Suite *s = suite_create("api_errors");
	TCase *tc;

	tc = tcase_create("addresses");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, malformed_addresses);
	tcase_add_test(tc, unknown_networks);
	tcase_add_test(tc, address_in_use);
	suite_add_tcase(s, tc);

	tc = tcase_create("dial");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dial_refused);
	tcase_add_test(tc, dial_timeout_full_backlog_tcp);
	tcase_add_test(tc, dial_timeout_full_backlog_unix);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, peer_reset);
	tcase_add_test(tc, write_to_closed_peer);
	tcase_add_test(tc, write_to_closed_unix_peer);
	suite_add_tcase(s, tc);

	tc = tcase_create("arguments");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, null_objects);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, accept_out_of_fds);
	tcase_add_test(tc, conns_open_past_urnets_share_of_a_hard_limit);
	tcase_add_test(tc, soft_limit_restored_after_concurrent_conn_opens);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(api_errors_suite());
}
