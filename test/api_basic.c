/* SPDX-License-Identifier: MIT */
/*
 * The object API doing its job: echo round trips over tcp4, tcp6, dual
 * stack and unix sockets, addresses, 1 MiB and 64 MiB transfers with
 * checksums, scatter/gather, 200 concurrent clients, end of stream and
 * half-close both ways, socket options and flags, a non-default engine.
 * test/api_basic-syscall.sh runs it again on the syscall backend.
 */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api_util.h"

static void roundtrip(urnet_conn *c, int rounds)
{
	char msg[128], back[128];

	for (int r = 0; r < rounds; r++) {
		int n = snprintf(msg, sizeof(msg), "round %d of %d: hello through urnet", r, rounds);

		ck_assert_int_eq(urnet_conn_write(c, msg, (size_t)n), n);
		ck_assert(api_read_full(c, back, (size_t)n));
		ck_assert(!memcmp(msg, back, (size_t)n));
	}
}

static void check_pair_addrs(urnet_conn *c, urnet_conn *s)
{
	ck_assert_str_eq(urnet_conn_remote_addr(c), urnet_conn_local_addr(s));
	ck_assert_str_eq(urnet_conn_remote_addr(s), urnet_conn_local_addr(c));
}

START_TEST(echo_tcp4)
{
	struct api_echo e;
	const char *la;
	urnet_conn *c;

	api_echo_start(&e, "tcp4", "127.0.0.1:0");
	la = urnet_listener_addr(e.l);
	ck_assert_msg(!strncmp(la, "127.0.0.1:", 10) && atoi(la + 10) > 0, "addr %s", la);
	c = urnet_dial("tcp4", la, 10 * SEC);
	ck_assert_ptr_nonnull(c);
	roundtrip(c, 20);
	ck_assert_str_eq(urnet_conn_remote_addr(c), la);
	ck_assert(!strncmp(urnet_conn_local_addr(c), "127.0.0.1:", 10));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	api_echo_stop(&e);
}
END_TEST

START_TEST(echo_tcp6)
{
	struct api_echo e;
	const char *la;
	urnet_conn *c, *s;

	if (!api_have_ipv6(SOCK_STREAM))
		return;
	api_echo_start(&e, "tcp6", "[::1]:0");
	la = urnet_listener_addr(e.l);
	ck_assert_msg(!strncmp(la, "[::1]:", 6) && atoi(la + 6) > 0, "addr %s", la);
	c = urnet_dial("tcp6", la, 10 * SEC);
	ck_assert_ptr_nonnull(c);
	roundtrip(c, 20);
	ck_assert_str_eq(urnet_conn_remote_addr(c), la);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	api_echo_stop(&e);

	api_pair("tcp", "[::1]:0", &c, &s);
	check_pair_addrs(c, s);
	ck_assert(!strncmp(urnet_conn_local_addr(c), "[::1]:", 6));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* "tcp" on ":port" listens on every interface, both families. */
START_TEST(echo_tcp_any)
{
	const char *dials[][2] = {
		{ "tcp4", "127.0.0.1:%d" }, { "tcp", "localhost:%d" },
		{ "tcp", ":%d" }, { "tcp4", "LocalHost:%d" }, { "tcp6", "[::1]:%d" },
	};
	bool v6 = api_have_ipv6(SOCK_STREAM);
	urnet_listener *l = urnet_listen("tcp", ":0");
	const char *la;
	int port;

	ck_assert_ptr_nonnull(l);
	la = urnet_listener_addr(l);
	ck_assert_msg(!strncmp(la, v6 ? "[::]:" : "0.0.0.0:", v6 ? 5 : 8), "addr %s", la);
	port = atoi(strrchr(la, ':') + 1);
	ck_assert_int_gt(port, 0);
	for (size_t i = 0; i < sizeof(dials) / sizeof(dials[0]); i++) {
		char addr[64], want[64];
		urnet_conn *c, *s;

		if (!v6 && !strcmp(dials[i][0], "tcp6"))
			continue;
		snprintf(addr, sizeof(addr), dials[i][1], port);
		c = urnet_dial(dials[i][0], addr, 10 * SEC);
		ck_assert_msg(c, "dial %s %s: %s", dials[i][0], addr, strerror(errno));
		s = urnet_listener_accept(l);
		ck_assert_ptr_nonnull(s);
		check_pair_addrs(c, s);
		/* IPv4 peers of the dual-stack socket read as IPv4. */
		snprintf(want, sizeof(want), "%s:", strcmp(dials[i][0], "tcp6") ? "127.0.0.1" : "[::1]");
		ck_assert_msg(!strncmp(urnet_conn_remote_addr(s), want, strlen(want)),
			      "remote %s", urnet_conn_remote_addr(s));
		ck_assert_int_eq(urnet_conn_write(c, "x", 1), 1);
		ck_assert_int_eq(urnet_conn_read(s, addr, sizeof(addr)), 1);
		ck_assert_int_eq(urnet_conn_close(c), 0);
		ck_assert_int_eq(urnet_conn_close(s), 0);
	}
	/* The wildcard address itself dials this machine, as connect() does. */
	{
		urnet_conn *c = urnet_dial("tcp", la, 10 * SEC), *s;

		ck_assert_msg(c, "dial %s: %s", la, strerror(errno));
		s = urnet_listener_accept(l);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(urnet_conn_close(c), 0);
		ck_assert_int_eq(urnet_conn_close(s), 0);
	}
	ck_assert_int_eq(urnet_listener_close(l), 0);
}
END_TEST

START_TEST(echo_unix)
{
	char dir[] = "/tmp/urnet-api-XXXXXX", path[64];
	struct api_echo e;
	struct stat st;
	urnet_conn *c, *s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/echo.sock", dir);
	api_echo_start(&e, "unix", path);
	ck_assert_str_eq(urnet_listener_addr(e.l), path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	c = urnet_dial("unix", path, 10 * SEC);
	ck_assert_ptr_nonnull(c);
	roundtrip(c, 20);
	ck_assert_str_eq(urnet_conn_remote_addr(c), path);
	ck_assert_str_eq(urnet_conn_local_addr(c), "");	/* unnamed */
	ck_assert_int_eq(urnet_conn_close(c), 0);
	api_echo_stop(&e);
	/* The listener owned the socket file. */
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	api_pair("unix", path, &c, &s);
	ck_assert_str_eq(urnet_conn_local_addr(s), path);
	ck_assert_str_eq(urnet_conn_remote_addr(s), "");
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(echo_unix_abstract)
{
	char name[64];
	struct api_echo e;
	urnet_conn *c;

	snprintf(name, sizeof(name), "@urnet-api-test-%d", (int)getpid());
	api_echo_start(&e, "unix", name);
	ck_assert_str_eq(urnet_listener_addr(e.l), name);
	c = urnet_dial("unix", name, 0);
	ck_assert_ptr_nonnull(c);
	roundtrip(c, 20);
	ck_assert_str_eq(urnet_conn_remote_addr(c), name);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	api_echo_stop(&e);
}
END_TEST

/* ---------------------------------------------------------------- transfers */

struct sender {
	urnet_conn *c;
	size_t total, chunk;
	uint64_t seed, sum;
	bool use_writev;
	bool close_write;
};

static void *sender_main(void *arg)
{
	struct sender *sd = arg;
	unsigned char *buf = malloc(sd->chunk);
	uint64_t state = sd->seed;

	ck_assert_ptr_nonnull(buf);
	for (size_t done = 0; done < sd->total; done += sd->chunk) {
		size_t n = sd->total - done < sd->chunk ? sd->total - done : sd->chunk;

		test_fill(buf, n, &state);
		sd->sum = test_sum(sd->sum, buf, n);
		if (sd->use_writev) {
			/* 100 pieces of uneven sizes, some empty. */
			struct iovec iov[100];
			size_t off = 0;

			for (int i = 0; i < 100; i++) {
				size_t want = i == 99 ? n - off : (n / 100) + (size_t)(i % 7) * 3 - 9;

				if (i % 13 == 5 || off + want > n)
					want = 0;
				iov[i].iov_base = buf + off;
				iov[i].iov_len = want;
				off += want;
			}
			ck_assert_int_eq(urnet_conn_writev(sd->c, iov, 100), (ssize_t)n);
		} else {
			ck_assert_int_eq(urnet_conn_write(sd->c, buf, n), (ssize_t)n);
		}
	}
	if (sd->close_write)
		ck_assert_int_eq(urnet_conn_close_write(sd->c), 0);
	free(buf);
	return NULL;
}

/* Read to EOF (or total bytes), with readv when asked; returns the checksum. */
static uint64_t receive(urnet_conn *c, size_t total, bool use_readv)
{
	static unsigned char a[1000], b[7], d[65536];
	uint64_t sum = 0;
	size_t got = 0;

	for (;;) {
		struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { d, sizeof(d) } };
		size_t want = total ? total - got : sizeof(d);
		ssize_t n;

		if (total && got == total)
			break;
		if (use_readv) {
			n = urnet_conn_readv(c, iov, 3);
		} else {
			n = urnet_conn_read(c, d, want < sizeof(d) ? want : sizeof(d));
		}
		ck_assert_msg(n >= 0, "read: %s", strerror(errno));
		if (n == 0)
			break;
		if (use_readv) {
			size_t left = (size_t)n;

			for (int i = 0; i < 3 && left; i++) {
				size_t k = left < iov[i].iov_len ? left : iov[i].iov_len;

				sum = test_sum(sum, iov[i].iov_base, k);
				left -= k;
			}
		} else {
			sum = test_sum(sum, d, (size_t)n);
		}
		got += (size_t)n;
	}
	ck_assert_uint_eq(got, total ? total : got);
	return sum;
}

static void one_way(size_t total, size_t chunk, bool vectored)
{
	struct sender sd = { .total = total, .chunk = chunk, .seed = 0x1234567,
			     .use_writev = vectored, .close_write = true };
	urnet_conn *c, *s;
	pthread_t th;
	uint64_t sum;

	api_tcp_pair(&c, &s);
	sd.c = c;
	/* Short writes in the middle of an iovec array, resumed from there. */
	if (vectored)
		api_small_buffers(c);
	ck_assert_int_eq(pthread_create(&th, NULL, sender_main, &sd), 0);
	sum = receive(s, 0, vectored);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(sum, sd.sum);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}

START_TEST(transfer_1mib)
{
	one_way(1 << 20, 1 << 20, false);
}
END_TEST

START_TEST(transfer_1mib_vectored)
{
	one_way(1 << 20, 300000, true);
}
END_TEST

/* 64 MiB out and back through the echo server, written and read at once. */
START_TEST(transfer_64mib_echo)
{
	struct api_echo e;
	struct sender sd = { .total = 64 << 20, .chunk = 1 << 20, .seed = 42 };
	struct urnet_engine_stats st;
	pthread_t th;
	uint64_t sum;

	api_echo_start(&e, "tcp4", "127.0.0.1:0");
	sd.c = urnet_dial("tcp", urnet_listener_addr(e.l), 10 * SEC);
	ck_assert_ptr_nonnull(sd.c);
	ck_assert_int_eq(pthread_create(&th, NULL, sender_main, &sd), 0);
	sum = receive(sd.c, sd.total, false);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(sum, sd.sum);
	ck_assert_int_eq(urnet_conn_close(sd.c), 0);
	api_echo_stop(&e);
	/* That much data cannot pass without somebody parking on the engine. */
	urnet_engine_get_stats(urnet_default_engine(), &st);
	if (!strcmp(urnet_engine_backend(urnet_default_engine()), "io_uring"))
		ck_assert_uint_gt(st.parked, 0);
}
END_TEST

/* ---------------------------------------------------------------- many clients */

#define NCLIENTS 200

struct client {
	const char *addr;
	int id;
	bool ok;
	pthread_t th;
};

static void *client_main(void *arg)
{
	struct client *cl = arg;
	unsigned char out[4096], in[4096];
	uint64_t state = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(cl->id + 1);
	urnet_conn *c = urnet_dial("tcp4", cl->addr, 30 * SEC);

	if (!c)
		return NULL;
	for (int r = 0; r < 20; r++) {
		size_t n = (size_t)(cl->id * 37 + r * 101) % sizeof(out) + 1;

		test_fill(out, n, &state);
		if (urnet_conn_write(c, out, n) != (ssize_t)n || !api_read_full(c, in, n) ||
		    memcmp(out, in, n)) {
			urnet_conn_close(c);
			return NULL;
		}
	}
	cl->ok = urnet_conn_close(c) == 0;
	return NULL;
}

START_TEST(many_clients)
{
	static struct client cl[NCLIENTS];
	struct api_echo e;
	pthread_attr_t attr;
	int ok = 0;

	api_echo_start(&e, "tcp4", "127.0.0.1:0");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < NCLIENTS; i++) {
		cl[i] = (struct client){ .addr = urnet_listener_addr(e.l), .id = i };
		ck_assert_int_eq(pthread_create(&cl[i].th, &attr, client_main, &cl[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(cl[i].th, NULL);
		ok += cl[i].ok;
	}
	pthread_attr_destroy(&attr);
	ck_assert_int_eq(ok, NCLIENTS);
	api_echo_stop(&e);
	ck_assert_int_eq(e.nconn, NCLIENTS);
}
END_TEST

/* ---------------------------------------------------------------- end of stream */

static void half_close(urnet_conn *a, urnet_conn *b)
{
	char buf[16];

	/* a stops writing: b reads the data, then end of stream, and can still answer. */
	ck_assert_int_eq(urnet_conn_write(a, "hello", 5), 5);
	ck_assert_int_eq(urnet_conn_close_write(a), 0);
	ck_assert(api_read_full(b, buf, 5));
	ck_assert(!memcmp(buf, "hello", 5));
	ck_assert_int_eq(urnet_conn_read(b, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_conn_read(b, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_conn_write(b, "bye", 3), 3);
	ck_assert(api_read_full(a, buf, 3));
	ck_assert(!memcmp(buf, "bye", 3));
	/* Writing after our own shutdown is EPIPE, without a signal. */
	ck_assert_int_eq(urnet_conn_write(a, "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(urnet_conn_close(b), 0);
	ck_assert_int_eq(urnet_conn_read(a, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_conn_close(a), 0);
}

START_TEST(half_close_by_client)
{
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	half_close(c, s);
}
END_TEST

START_TEST(half_close_by_server)
{
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	half_close(s, c);
}
END_TEST

START_TEST(half_close_unix)
{
	urnet_conn *c, *s;
	char name[64];

	snprintf(name, sizeof(name), "@urnet-api-half-%d", (int)getpid());
	api_pair("unix", name, &c, &s);
	half_close(c, s);
}
END_TEST

/* close_read ends our own reads, including one already blocked. */
START_TEST(close_read_wakes_reader)
{
	struct api_blocker b = { .op = API_READ };
	urnet_conn *c, *s;
	char buf[4];

	api_tcp_pair(&c, &s);
	b.c = c;
	api_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_close_read(c), 0);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, 0);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 0);
	/* Writing still works. */
	ck_assert_int_eq(urnet_conn_write(c, "ok", 2), 2);
	ck_assert(api_read_full(s, buf, 2));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

START_TEST(zero_length_calls)
{
	struct iovec iov[2] = { { NULL, 0 }, { NULL, 0 } };
	urnet_conn *c, *s;
	char buf[4];

	api_tcp_pair(&c, &s);
	/* Nothing to read, yet nothing blocks. */
	ck_assert_int_eq(urnet_conn_read(c, buf, 0), 0);
	ck_assert_int_eq(urnet_conn_read(c, NULL, 0), 0);
	ck_assert_int_eq(urnet_conn_readv(c, iov, 2), 0);
	ck_assert_int_eq(urnet_conn_readv(c, NULL, 0), 0);
	ck_assert_int_eq(urnet_conn_write(c, NULL, 0), 0);
	ck_assert_int_eq(urnet_conn_writev(c, iov, 2), 0);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* ---------------------------------------------------------------- options */

static int getopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

START_TEST(tcp_options)
{
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	ck_assert_int_ne(getopt_int(urnet_conn_fd(c), IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_ne(getopt_int(urnet_conn_fd(s), IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_eq(urnet_conn_set_nodelay(c, 0), 0);
	ck_assert_int_eq(getopt_int(urnet_conn_fd(c), IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_eq(urnet_conn_set_nodelay(c, 1), 0);
	ck_assert_int_ne(getopt_int(urnet_conn_fd(c), IPPROTO_TCP, TCP_NODELAY), 0);

	ck_assert_int_eq(urnet_conn_set_keepalive(s, 1, 30), 0);
	ck_assert_int_ne(getopt_int(urnet_conn_fd(s), SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(getopt_int(urnet_conn_fd(s), IPPROTO_TCP, TCP_KEEPIDLE), 30);
	ck_assert_int_eq(getopt_int(urnet_conn_fd(s), IPPROTO_TCP, TCP_KEEPINTVL), 30);
	ck_assert_int_eq(urnet_conn_set_keepalive(s, 0, 0), 0);
	ck_assert_int_eq(getopt_int(urnet_conn_fd(s), SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(urnet_conn_set_keepalive(s, 1, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

START_TEST(unix_options)
{
	urnet_conn *c, *s;
	char name[64];

	snprintf(name, sizeof(name), "@urnet-api-opt-%d", (int)getpid());
	api_pair("unix", name, &c, &s);
	ck_assert_int_eq(urnet_conn_set_nodelay(c, 1), -1);
	ck_assert_int_eq(errno, EOPNOTSUPP);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

static void check_fd_flags(int fd)
{
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

START_TEST(fds_nonblocking_cloexec)
{
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	urnet_conn *c, *s;

	ck_assert_ptr_nonnull(l);
	check_fd_flags(urnet_listener_fd(l));
	c = urnet_dial("tcp4", urnet_listener_addr(l), 0);
	ck_assert_ptr_nonnull(c);
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	check_fd_flags(urnet_conn_fd(c));
	check_fd_flags(urnet_conn_fd(s));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
}
END_TEST

/* The *_on() calls put the listener, its conns and a dialed conn on engine e. */
START_TEST(explicit_engine)
{
	struct urnet_engine_config cfg;
	struct urnet_engine_stats st0, st1;
	struct api_blocker b = { .op = API_READ };
	urnet_engine *e;
	urnet_listener *l;
	urnet_conn *c, *s;
	char buf[8];

	urnet_engine_config_init(&cfg);
	e = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	/* The *-syscall.sh run really is on the syscall backend. */
	if (getenv("URNET_BACKEND") && !strcmp(getenv("URNET_BACKEND"), "syscall")) {
		ck_assert_str_eq(urnet_engine_backend(e), "syscall");
		ck_assert_str_eq(urnet_engine_backend(urnet_default_engine()), "syscall");
	}
	l = urnet_listen_on(e, "tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	c = urnet_dial_on(e, "tcp4", urnet_listener_addr(l), 10 * SEC);
	ck_assert_ptr_nonnull(c);
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	urnet_engine_get_stats(e, &st0);
	/* A blocked read parks on e. */
	b.c = s;
	api_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_write(c, "ping", 4), 4);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, 4);
	urnet_engine_get_stats(e, &st1);
	if (!strcmp(urnet_engine_backend(e), "io_uring"))
		ck_assert_uint_gt(st1.parked, st0.parked);
	ck_assert_int_eq(urnet_conn_write(s, "pong", 4), 4);
	ck_assert(api_read_full(c, buf, 4));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	ck_assert_int_eq(urnet_engine_close(e), 0);
}
END_TEST

static Suite *api_basic_suite(void)
{
	Suite *s = suite_create("api_basic");
	TCase *tc;

	tc = tcase_create("echo");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, echo_tcp4);
	tcase_add_test(tc, echo_tcp6);
	tcase_add_test(tc, echo_tcp_any);
	tcase_add_test(tc, echo_unix);
	tcase_add_test(tc, echo_unix_abstract);
	suite_add_tcase(s, tc);

	tc = tcase_create("transfer");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, transfer_1mib);
	tcase_add_test(tc, transfer_1mib_vectored);
	tcase_add_test(tc, transfer_64mib_echo);
	tcase_add_test(tc, many_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, half_close_by_client);
	tcase_add_test(tc, half_close_by_server);
	tcase_add_test(tc, half_close_unix);
	tcase_add_test(tc, close_read_wakes_reader);
	tcase_add_test(tc, zero_length_calls);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tcp_options);
	tcase_add_test(tc, unix_options);
	tcase_add_test(tc, fds_nonblocking_cloexec);
	tcase_add_test(tc, explicit_engine);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(api_basic_suite());
}
