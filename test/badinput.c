/* SPDX-License-Identifier: MIT */
/*
 * Bad input beyond api_errors: generated address strings by the hundred
 * thousand through the parser and the public calls, parse/format round
 * trips, the engine's and the compat layer's argument checks, and lengths
 * at the edges of size_t.  Every case: a clear errno, never a crash, a hang
 * or a leaked fd.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <sys/socket.h>

#include "api_util.h"
#include "conn_internal.h"
#include "urnet_compat.h"

/* xorshift64* for generated inputs; reproducible per seed. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Strings built from the pieces addresses are made of, glued at random. */
static void gen_address(char *buf, size_t size, uint64_t *seed)
{
	static const char *const parts[] = {
		"127.0.0.1", "::1", "[", "]", ":", "%", "lo", "0", "65535", "65536",
		"99999999999", "localhost", "@", "/", "fe80::", "::ffff:1.2.3.4", ".", "-",
		"[::]", "1.2.3.4", "%25", "x", " ", "\t", "\xff", "256", "00000",
	};
	size_t len = 0;
	int n = (int)(rnd(seed) % 8);

	for (int i = 0; i < n; i++) {
		const char *p = parts[rnd(seed) % (sizeof(parts) / sizeof(parts[0]))];
		size_t pl = strlen(p);

		if (len + pl + 1 > size)
			break;
		memcpy(buf + len, p, pl);
		len += pl;
	}
	buf[len] = '\0';
}

static const char *const networks[] = { "tcp", "tcp4", "tcp6", "unix" };

/*
 * The parser on 200,000 generated strings: success or EINVAL/EAFNOSUPPORT,
 * and whatever parses formats back to an address that parses to the same.
 */
START_TEST(parser_generated)
{
	uint64_t seed = 0x5eed;
	char a[256], text[URNET__ADDRSTRLEN];
	unsigned ok = 0;

	for (int i = 0; i < 200000; i++) {
		enum urnet__net net = (enum urnet__net)(i % 4);
		struct urnet__sockaddr sa, back;
		int ret;

		gen_address(a, sizeof(a), &seed);
		ret = urnet__parse_address(net, a, i & 4, &sa);
		if (ret) {
			ck_assert_msg(ret == -EINVAL || ret == -EAFNOSUPPORT,
				      "\"%s\": %d", a, ret);
			continue;
		}
		ok++;
		ck_assert_uint_le(sa.len, sizeof(sa.u));
		if (net == URNET__NET_UNIX)
			continue;
		urnet__format_sockaddr(&sa.u.sa, sa.len, text, sizeof(text));
		ck_assert_int_eq(urnet__parse_address(net, text, false, &back), 0);
		ck_assert_int_eq(back.len, sa.len);
		if (sa.u.sa.sa_family == AF_INET)
			ck_assert_mem_eq(&back.u.in4, &sa.u.in4, sizeof(sa.u.in4));
	}
	ck_assert_uint_gt(ok, 0);
}
END_TEST

/* What a host name may be, checked the slow way: labels 1-63 of [A-Za-z0-9_-]. */
static bool name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) && !((unsigned char)s[i] & 0x80)) {
			label++;
		} else if (s[i] == '-' || s[i] == '_') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * Host names: 200,000 generated "host:port" strings split and checked,
 * the check agreeing with name_ok(); and every generated name dialed
 * with no name server fails with EINVAL, never a hang.
 */
START_TEST(host_names_generated)
{
	static const char *const parts[] = {
		"a", "b0", "-", "_", ".", "..", "x", "\xc3\xbc", " ", ":", "[", "]", "80",
		"65536", "\xff", "example", "com", "0", "%", "@",
	};
	uint64_t seed = 0xd15;
	char a[600], host[URNET__HOST_MAX];
	unsigned names = 0;

	setenv("URNET_RESOLV_CONF", "/dev/null", 1);
	for (int i = 0; i < 200000; i++) {
		size_t len = 0;
		int n = (int)(rnd(&seed) % 12), reps = i % 50 == 0 ? 40 : 1;
		in_port_t port;

		for (int k = 0; k < n * reps; k++) {
			const char *p = parts[rnd(&seed) % (sizeof(parts) / sizeof(parts[0]))];
			size_t pl = strlen(p);

			if (len + pl + 8 > sizeof(a))
				break;
			memcpy(a + len, p, pl);
			len += pl;
		}
		a[len] = '\0';
		ck_assert_int_eq(urnet__check_hostname(a) == 0, name_ok(a));
		snprintf(a + len, sizeof(a) - len, ":%u", (unsigned)(rnd(&seed) % 70000));
		if (urnet__split_hostport(a, host, sizeof(host), &port))
			continue;
		ck_assert_uint_lt(strlen(host), sizeof(host));
		if (!urnet__check_hostname(host) && names < 300) {
			/* No name server (and no such name in the hosts file): EINVAL. */
			urnet_conn *c = urnet_dial("tcp", a, 5 * SEC);

			if (c)
				urnet_conn_close(c);	/* "localhost"-like luck */
			else
				ck_assert_msg(errno == EINVAL || errno == ENOENT ||
					      errno == ECONNREFUSED, "%s: %s", a, strerror(errno));
			names++;
		}
	}
	ck_assert_uint_gt(names, 0);
}
END_TEST

/* Random bytes, any length up to 10 KB, through listen and dial. */
START_TEST(public_calls_random_bytes)
{
	uint64_t seed = 42;
	static char a[10240];
	int fds = test_count_fds();

	ck_assert_ptr_nonnull(urnet_default_engine());
	fds = test_count_fds();
	for (int i = 0; i < 3000; i++) {
		size_t len = (size_t)(rnd(&seed) % (i % 100 == 0 ? sizeof(a) : 40));
		const char *net = networks[i % 3];	/* no unix: it would make files */
		urnet_listener *l;
		urnet_conn *c;

		for (size_t k = 0; k < len; k++)
			a[k] = (char)(rnd(&seed) % 255 + 1);
		a[len] = '\0';
		errno = 0;
		l = urnet_listen(net, a);
		if (l) {
			/* Random bytes that spell a real address: fine, and it works. */
			ck_assert_int_eq(urnet_listener_close(l), 0);
		} else {
			ck_assert_msg(errno == EINVAL || errno == EAFNOSUPPORT ||
				      errno == EADDRNOTAVAIL || errno == EACCES,
				      "listen \"%s\": %s", a, strerror(errno));
		}
		errno = 0;
		c = urnet_dial(net, a, 50 * MSEC);
		if (c)
			urnet_conn_close(c);
		else
			ck_assert_int_ne(errno, 0);
	}
	ck_assert_int_eq(test_count_fds(), fds);
}
END_TEST

/* A string with a NUL inside is the string up to the NUL, as in C. */
START_TEST(embedded_nul)
{
	static const char a[] = "127.0.0.1:0\0garbage";
	static const char b[] = "127.0.0.1\0:80";
	urnet_listener *l = urnet_listen("tcp4", a);

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_listen("tcp4", b));
	ck_assert_int_eq(errno, EINVAL);
	l = urnet_listen("tcp4\0garbage", "127.0.0.1:0\0");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(urnet_listener_close(l), 0);
}
END_TEST

/* Every public call given NULL objects and the engine calls given nonsense. */
START_TEST(engine_bad_arguments)
{
	struct urnet_engine_config cfg;
	struct urnet_engine_stats st;

	urnet_engine_config_init(&cfg);
	cfg.ring_entries = 1u << 20;
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
	urnet_engine_config_init(&cfg);
	cfg.backend = (enum urnet_backend)77;
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_engine_close(NULL), -EINVAL);
	ck_assert_int_eq(urnet_engine_close(urnet_default_engine()), -EINVAL);
	ck_assert_int_eq(urnet_engine_submit(NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(urnet_engine_submit(urnet_default_engine(), NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(urnet_engine_call(NULL, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(urnet_engine_call(urnet_default_engine(), NULL, NULL, 0), -EINVAL);
	ck_assert_str_eq(urnet_engine_backend(NULL), "none");
	urnet_engine_get_stats(urnet_default_engine(), &st);

	/* The environment's numbers are checked too: garbage means the default. */
	setenv("URNET_RING_ENTRIES", "-5", 1);
	urnet_engine_config_init(&cfg);
	ck_assert_uint_eq(cfg.ring_entries, 0);
	setenv("URNET_RING_ENTRIES", "99999999999999999999999", 1);
	urnet_engine_config_init(&cfg);
	ck_assert_uint_eq(cfg.ring_entries, 0);
	setenv("URNET_RING_ENTRIES", "12abc", 1);
	urnet_engine_config_init(&cfg);
	ck_assert_uint_eq(cfg.ring_entries, 0);
	unsetenv("URNET_RING_ENTRIES");
}
END_TEST

START_TEST(null_everywhere)
{
	struct iovec iov = { NULL, 0 };
	char buf[4];

	errno = 0;
	ck_assert_int_eq(urnet_conn_read(NULL, buf, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_readv(NULL, &iov, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_writev(NULL, &iov, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_close_read(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_set_nodelay(NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_set_keepalive(NULL, 1, 5), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_conn_local_addr(NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_listener_accept(NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_listener_addr(NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_listener_fd(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_listen(NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(urnet_dial_on(NULL, "tcp", NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* Lengths at the edges, iovcnt 0 and IOV_MAX, on a live pair. */
START_TEST(edge_lengths)
{
	static struct iovec many[IOV_MAX];
	char buf[IOV_MAX], in[IOV_MAX];
	struct iovec iov[2];
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	ck_assert_int_eq(urnet_conn_readv(c, iov, 0), 0);
	ck_assert_int_eq(urnet_conn_writev(c, iov, 0), 0);
	ck_assert_int_eq(urnet_conn_writev(c, NULL, 0), 0);
	ck_assert_int_eq(urnet_conn_write(c, NULL, 0), 0);
	ck_assert_int_eq(urnet_conn_read(c, NULL, 0), 0);
	errno = 0;
	ck_assert_int_eq(urnet_conn_write(c, buf, (size_t)SSIZE_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_writev(c, iov, INT_MIN), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_conn_readv(c, iov, INT_MAX), -1);
	ck_assert_int_eq(errno, EINVAL);
	iov[0].iov_base = buf;
	iov[0].iov_len = SSIZE_MAX;
	iov[1].iov_base = buf;
	iov[1].iov_len = 1;
	errno = 0;
	ck_assert_int_eq(urnet_conn_writev(c, iov, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* IOV_MAX one-byte buffers: allowed, and every byte arrives. */
	for (int i = 0; i < IOV_MAX; i++) {
		buf[i] = (char)i;
		many[i].iov_base = buf + i;
		many[i].iov_len = 1;
	}
	ck_assert_int_eq(urnet_conn_writev(c, many, IOV_MAX), IOV_MAX);
	ck_assert(api_read_full(s, in, IOV_MAX));
	ck_assert_mem_eq(buf, in, IOV_MAX);
	/* A read of SIZE_MAX bytes into a small buffer is the kernel's to judge. */
	ck_assert_int_eq(urnet_conn_write(s, "xy", 2), 2);
	ck_assert_int_eq(urnet_conn_read(c, in, 2), 2);
	/* Deadlines: the far future is "none in practice", INT64_MAX included. */
	ck_assert_int_eq(urnet_conn_set_deadline(c, INT64_MAX), 0);
	ck_assert_int_eq(urnet_conn_write(c, "z", 1), 1);
	ck_assert_int_eq(urnet_conn_read(s, in, 1), 1);
	ck_assert_int_eq(urnet_conn_set_keepalive(c, 1, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_set_keepalive(c, 1, INT_MAX), -1);
	ck_assert_int_ne(errno, 0);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", "127.0.0.1:1", INT64_MAX));
	ck_assert_int_eq(errno, ECONNREFUSED);
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", "127.0.0.1:1", INT64_MIN));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The compat calls: bad fds, bad buffers, bad counts, like the kernel. */
START_TEST(compat_bad_input)
{
	static struct iovec iov[IOV_MAX + 1] = { { NULL, 1 }, { NULL, 1 } };
	struct msghdr msg = { 0 };
	char b[2] = { 0 };
	int sv[2], fl;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	errno = 0;
	ck_assert_int_eq(urnet_recv(INT_MAX, b, 1, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(urnet_send(INT_MIN, b, 1, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(urnet_readv(sv[0], iov, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_writev(sv[0], iov, IOV_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_writev(sv[0], iov, 2), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(urnet_send(sv[0], NULL, 1, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(urnet_sendmsg(sv[0], NULL, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(urnet_shutdown(sv[0], 77), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_dup2(sv[0], -1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(urnet_dup3(sv[0], sv[0], 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(urnet_accept4(sv[0], NULL, NULL, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Data waiting and a NULL buffer: EFAULT, and the data stays. */
	ck_assert_int_eq(urnet_send(sv[1], "q", 1, MSG_NOSIGNAL), 1);
	errno = 0;
	ck_assert_int_eq(urnet_recv(sv[0], NULL, 1, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
	msg.msg_iov = iov;
	msg.msg_iovlen = 1;
	errno = 0;
	ck_assert_int_eq(urnet_recvmsg(sv[0], &msg, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* A length past SSIZE_MAX: whatever the kernel says, urnet says too. */
	{
		ssize_t want = recv(sv[0], b, (size_t)SSIZE_MAX + 7, MSG_PEEK | MSG_DONTWAIT);
		int want_err = errno;

		errno = 0;
		ck_assert_int_eq(urnet_recv(sv[0], b, (size_t)SSIZE_MAX + 7, MSG_PEEK), want);
		if (want < 0)
			ck_assert_int_eq(errno, want_err);
	}
	ck_assert_int_eq(urnet_recv(sv[0], b, 1, 0), 1);
	ck_assert_int_eq(b[0], 'q');
	fl = urnet_close(sv[0]);
	ck_assert_int_eq(fl, 0);
	ck_assert_int_eq(urnet_close(sv[1]), 0);
	errno = 0;
	ck_assert_int_eq(urnet_close(sv[1]), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *badinput_suite(void)
{
	Suite *s = suite_create("badinput");
	TCase *tc = tcase_create("badinput");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, parser_generated);
	tcase_add_test(tc, public_calls_random_bytes);
	tcase_add_test(tc, host_names_generated);
	tcase_add_test(tc, embedded_nul);
	tcase_add_test(tc, engine_bad_arguments);
	tcase_add_test(tc, null_everywhere);
	tcase_add_test(tc, edge_lengths);
	tcase_add_test(tc, compat_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Generated names are dialed: no name server, never the machine's own. */
	setenv("URNET_RESOLV_CONF", "/dev/null", 0);
	return test_run_suite(badinput_suite());
}
