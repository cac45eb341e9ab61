/* SPDX-License-Identifier: MIT */
/*
 * Host names in dial and urnet_resolve, against the test's own DNS servers
 * on 127.0.0.1 (started by test/resolve.sh, which runs this program):
 * the hosts file, A only, AAAA only, both (IPv6 first; IPv4 when IPv6
 * refuses, and after the fallback delay when it is silent), NXDOMAIN,
 * SERVFAIL, REFUSED, a server that never answers (ETIMEDOUT at the dial
 * deadline), an engine closed under a lookup, malformed names and
 * resolver configurations, and 1,000 dials by name from 50 threads with
 * checksummed echoes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api_util.h"

static const char *dir;

/* Point the resolver at one of resolve.sh's files (never the system's). */
static void use_conf(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(setenv("URNET_RESOLV_CONF", path, 1), 0);
}

static void resolve_setup(void)
{
	api_setup();
	use_conf("good.conf");
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *a = ss->ss_family == AF_INET6 ?
				(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
				(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	inet_ntop(ss->ss_family, a, buf, (socklen_t)size);
}

/* urnet_resolve's addresses, space-separated, or "-ERRNO". */
static void resolved(const char *network, const char *host, char *out, size_t size)
{
	struct sockaddr_storage ss[8];
	int n = urnet_resolve(network, host, urnet_now_ns() + 20 * SEC, ss, 8);
	size_t used = 0;

	if (n < 0) {
		snprintf(out, size, "-%s", strerror(errno));
		return;
	}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		addr_text(&ss[i], a, sizeof(a));
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", a);
	}
}

#define RESOLVES(net, host, want)                                                  \
	do {                                                                       \
		char got_[256];                                                    \
		resolved(net, host, got_, sizeof(got_));                           \
		ck_assert_msg(!strcmp(got_, want), "%s %s: got \"%s\", want \"%s\" (%s)", \
			      net, host, got_, want, urnet_resolve_error());       \
	} while (0)

START_TEST(numeric_addresses_and_localhost_need_no_lookup)
{
	/* Would fail EINVAL if anything tried to read it. */
	use_conf("missing.conf");
	RESOLVES("tcp", "127.0.0.1", "127.0.0.1");
	RESOLVES("tcp", "::1", "::1");
	RESOLVES("tcp", "localhost", "127.0.0.1");
	RESOLVES("tcp6", "localhost", "::1");
	RESOLVES("tcp6", "127.0.0.1", "-Address family not supported by protocol");
	RESOLVES("tcp", "v4.test", "-Invalid argument");
	ck_assert_ptr_nonnull(strstr(urnet_resolve_error(), "missing.conf"));
}
END_TEST

START_TEST(hosts_file_answers_before_dns)
{
	/* No name server at all: only the hosts file can answer. */
	use_conf("empty.conf");
	RESOLVES("tcp", "hosts4.test", "127.0.0.1");
	RESOLVES("tcp", "hosts6.test", "::1");
	RESOLVES("tcp", "HOSTSBOTH.test", "::1 127.0.0.1");
	RESOLVES("tcp4", "hostsboth.test", "127.0.0.1");
	RESOLVES("tcp", "v4.test", "-Invalid argument");
	ck_assert_ptr_nonnull(strstr(urnet_resolve_error(), "nameserver"));
}
END_TEST

START_TEST(dns_names_of_each_family)
{
	RESOLVES("tcp", "v4.test", "127.0.0.1");
	RESOLVES("tcp", "v6.test", "::1");
	RESOLVES("tcp", "both.test", "::1 127.0.0.1");
	RESOLVES("tcp", "both.test.", "::1 127.0.0.1");
	RESOLVES("tcp6", "both.test", "::1");
	RESOLVES("tcp4", "both.test", "127.0.0.1");
	RESOLVES("tcp4", "v6.test", "-No such file or directory");
	RESOLVES("tcp6", "v4.test", "-No such file or directory");
	/* The search list of the configuration: "v4" is tried as v4.test. */
	RESOLVES("tcp", "v4", "127.0.0.1");
}
END_TEST

START_TEST(dns_failures_have_their_own_errno_and_message)
{
	RESOLVES("tcp", "nx.test", "-No such file or directory");
	ck_assert_msg(strstr(urnet_resolve_error(), "nx.test"), "%s", urnet_resolve_error());
	ck_assert_ptr_null(urnet_dial("tcp", "nx.test:80", 20 * SEC));
	ck_assert_int_eq(errno, ENOENT);
	use_conf("bad.conf");
	RESOLVES("tcp", "servfail.test", "-Resource temporarily unavailable");
	ck_assert_msg(strstr(urnet_resolve_error(), "servfail.test"), "%s", urnet_resolve_error());
	RESOLVES("tcp", "refused.test", "-Resource temporarily unavailable");
	ck_assert_ptr_null(urnet_dial("tcp4", "servfail.test:80", 20 * SEC));
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(silent_server_times_out_at_the_dial_deadline)
{
	int64_t t0, took;

	/* Its own retries would take minutes: only the deadline can end it. */
	use_conf("slow.conf");
	t0 = urnet_now_ns();
	ck_assert_ptr_null(urnet_dial("tcp", "silent.test:80", 300 * MSEC));
	took = urnet_now_ns() - t0;
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(took, 300 * MSEC);
	fprintf(stderr, "silent server: dial timed out %.1f ms after its 300 ms timeout\n",
		(double)(took - 300 * MSEC) / 1e6);
	ck_assert_msg(took < 10 * SEC, "took %lld ns", (long long)took);
	t0 = urnet_now_ns();
	ck_assert_int_eq(urnet_resolve("tcp", "silent.test", t0 + 200 * MSEC,
				       (struct sockaddr_storage[1]){}, 1), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_lt(urnet_now_ns() - t0, 10 * SEC);
	/* The thread's next lookup, on the same file, starts clean. */
	RESOLVES("tcp", "servfail.test", "-Resource temporarily unavailable");
}
END_TEST

static void write_file(const char *name, const char *from)
{
	char path[512], src[512], buf[512];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/%s", dir, from);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	in = fopen(src, "r");
	out = fopen(path, "w");
	ck_assert(in && out);
	n = fread(buf, 1, sizeof(buf), in);
	ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	/* Not the same size as before: seen even within one mtime tick. */
	fputs("# changed\n", out);
	fclose(in);
	fclose(out);
}

START_TEST(a_changed_resolver_file_is_read_again)
{
	write_file("changing.conf", "good.conf");
	use_conf("changing.conf");
	RESOLVES("tcp", "servfail.test", "-No such file or directory");	/* dnsmasq */
	write_file("changing.conf", "bad.conf");
	RESOLVES("tcp", "servfail.test", "-Resource temporarily unavailable");	/* responder */
	RESOLVES("tcp", "servfail.test", "-Resource temporarily unavailable");
}
END_TEST

struct name_dialer {
	urnet_engine *e;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	int err;
};

static void *name_dialer_main(void *arg)
{
	struct name_dialer *d = arg;
	struct urnet_options o;
	urnet_conn *c;

	urnet_options_init(&o);
	o.engine = d->e;
	atomic_store(&d->tid, test_gettid());
	c = urnet_dial_with(&o, "tcp", "silent.test:80", 0);
	d->err = c ? 0 : errno;
	if (c)
		urnet_conn_close(c);
	atomic_store(&d->done, true);
	return NULL;
}

START_TEST(engine_close_wakes_a_dial_blocked_in_a_lookup)
{
	struct name_dialer d = { 0 };

	use_conf("slow.conf");
	d.e = urnet_engine_new(NULL);
	ck_assert_ptr_nonnull(d.e);
	ck_assert_int_eq(pthread_create(&d.th, NULL, name_dialer_main, &d), 0);
	ck_assert(test_wait_blocked(&d.tid, &d.done, false));
	ck_assert(!atomic_load(&d.done));
	ck_assert_int_eq(urnet_engine_close(d.e), 0);
	ck_assert_int_eq(pthread_join(d.th, NULL), 0);
	ck_assert_int_eq(d.err, ESHUTDOWN);
}
END_TEST

START_TEST(malformed_names_fail_einval)
{
	char name[400], addr[420];
	static const char *bad[] = {
		"a..test", ".test", "..", "t\xc3\xbcr.test", "sp ace.test", "tab\t.test",
		"semi;colon.test", "a.test..", "under\x01score.test",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(addr, sizeof(addr), "%s:80", bad[i]);
		ck_assert_ptr_null(urnet_dial("tcp", addr, SEC));
		ck_assert_msg(errno == EINVAL, "%s: %s", bad[i], strerror(errno));
		RESOLVES("tcp", bad[i], "-Invalid argument");
	}
	/* A label of 64 bytes, then one of 63 (NXDOMAIN: well-formed). */
	memset(name, 'a', 64);
	strcpy(name + 64, ".test");
	RESOLVES("tcp", name, "-Invalid argument");
	RESOLVES("tcp", name + 1, "-No such file or directory");
	/* 253 bytes in all is the most (three 61-byte labels, one of 62, "test"). */
	for (int i = 0; i < 3; i++) {
		memset(name + 62 * i, 'b', 61);
		name[62 * i + 61] = '.';
	}
	memset(name + 186, 'c', 62);
	strcpy(name + 248, ".test");
	ck_assert_int_eq((int)strlen(name), 253);
	/* Absolute (the final dot), so that no search domain makes it longer. */
	strcat(name, ".");
	RESOLVES("tcp", name, "-No such file or directory");
	name[253] = '\0';
	/* 254 is one too many. */
	memmove(name + 1, name, 254);
	name[0] = 'f';
	ck_assert_int_eq((int)strlen(name), 254);
	RESOLVES("tcp", name, "-Invalid argument");
	snprintf(addr, sizeof(addr), "%s:80", name);
	ck_assert_ptr_null(urnet_dial("tcp", addr, SEC));
	ck_assert_int_eq(errno, EINVAL);
	/* Ports out of range, and no port. */
	ck_assert_ptr_null(urnet_dial("tcp", "v4.test:65536", SEC));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_dial("tcp", "v4.test:", SEC));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_dial("tcp", "v4.test", SEC));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_dial("tcp", "v4.test:-1", SEC));
	ck_assert_int_eq(errno, EINVAL);
	/* A NUL ends the string: what is left has no port. */
	ck_assert_ptr_null(urnet_dial("tcp", "v4.te\0st:80", SEC));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(bad_resolver_arguments_and_configurations)
{
	struct sockaddr_storage ss[2];

	ck_assert_int_eq(urnet_resolve("tcp", NULL, 0, ss, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_resolve("tcp", "", 0, ss, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_resolve("unix", "v4.test", 0, ss, 2), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_int_eq(urnet_resolve("unixgram", "v4.test", 0, ss, 2), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_int_eq(urnet_resolve("sctp", "v4.test", 0, ss, 2), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	/* The datagram networks look names up as their stream twins do. */
	ck_assert_int_eq(urnet_resolve("udp4", "v4.test", 0, ss, 2), 1);
	ck_assert_int_eq(ss[0].ss_family, AF_INET);
	ck_assert_int_eq(urnet_resolve("tcp", "v4.test", -1, ss, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_resolve("tcp", "v4.test", 0, ss, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_resolve("tcp", "v4.test", 0, NULL, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* max 0 counts nothing but still looks up. */
	ck_assert_int_eq(urnet_resolve("tcp", "v4.test", 0, NULL, 0), 0);
	ck_assert_int_eq(urnet_resolve("tcp", "nx.test", 0, NULL, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	for (int i = 0; i < 3; i++) {
		use_conf((const char *[]){ "missing.conf", "empty.conf", "garbage.conf" }[i]);
		ck_assert_int_eq(urnet_resolve("tcp", "v4.test", urnet_now_ns() + 20 * SEC, ss, 2),
				 -1);
		ck_assert_msg(errno == EINVAL, "config %d: %s", i, strerror(errno));
		ck_assert_ptr_null(urnet_dial("tcp", "v4.test:80", 20 * SEC));
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

/* ---------------------------------------------------------------- dialing */

static void echo_check(urnet_conn *c)
{
	char buf[64];

	ck_assert_int_eq(urnet_conn_write(c, "by name", 7), 7);
	ck_assert(api_read_full(c, buf, 7));
	ck_assert(!memcmp(buf, "by name", 7));
}

/* c reaches s: what one writes the other reads. */
static void pair_check(urnet_conn *c, urnet_conn *s)
{
	char buf[64];

	ck_assert_int_eq(urnet_conn_write(c, "raced", 5), 5);
	ck_assert(api_read_full(s, buf, 5));
	ck_assert(!memcmp(buf, "raced", 5));
}

static int port_of(urnet_listener *l)
{
	const char *a = strrchr(urnet_listener_addr(l), ':');

	return atoi(a + 1);
}

START_TEST(dial_by_name_connects_and_echoes)
{
	struct api_echo e;
	char addr[64];
	urnet_conn *c;

	api_echo_start(&e, "tcp4", "127.0.0.1:0");
	snprintf(addr, sizeof(addr), "v4.test:%d", port_of(e.l));
	c = urnet_dial("tcp", addr, 20 * SEC);
	ck_assert_msg(c, "dial %s: %s (%s)", addr, strerror(errno), urnet_resolve_error());
	ck_assert_str_eq(urnet_conn_remote_addr(c), urnet_listener_addr(e.l));
	echo_check(c);
	urnet_conn_close(c);
	/* From the hosts file too. */
	snprintf(addr, sizeof(addr), "hosts4.test:%d", port_of(e.l));
	c = urnet_dial("tcp4", addr, 20 * SEC);
	ck_assert_ptr_nonnull(c);
	echo_check(c);
	urnet_conn_close(c);
	api_echo_stop(&e);
}
END_TEST

/* A datagram conn dialed by name reaches the server the name gives. */
START_TEST(udp_dial_by_name_reaches_the_server)
{
	urnet_packet_conn *p = urnet_listen_packet("udp4", "127.0.0.1:0");
	char addr[64], from[URNET_ADDRSTRLEN], buf[8];
	const char *local;
	urnet_conn *c;

	ck_assert_ptr_nonnull(p);
	local = urnet_packet_local_addr(p);
	snprintf(addr, sizeof(addr), "v4.test:%s", strrchr(local, ':') + 1);
	c = urnet_dial("udp", addr, 20 * SEC);
	ck_assert_msg(c, "dial %s: %s (%s)", addr, strerror(errno), urnet_resolve_error());
	ck_assert_str_eq(urnet_conn_remote_addr(c), local);
	ck_assert_int_eq(urnet_conn_write(c, "ping", 4), 4);
	ck_assert_int_eq(urnet_packet_read_from(p, buf, sizeof(buf), from, sizeof(from)), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_str_eq(from, urnet_conn_local_addr(c));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(p), 0);
}
END_TEST

/* A tcp6 listener on [::1] at the port of l, when that port is free there. */
static urnet_listener *v6_twin(urnet_listener *l)
{
	char addr[64];

	snprintf(addr, sizeof(addr), "[::1]:%d", port_of(l));
	return urnet_listen("tcp6", addr);
}

static urnet_conn *dial_both(int64_t fallback_ns, int port)
{
	struct urnet_options o;
	char addr[64];
	urnet_conn *c;

	urnet_options_init(&o);
	o.fallback_delay_ns = fallback_ns;
	snprintf(addr, sizeof(addr), "both.test:%d", port);
	c = urnet_dial_with(&o, "tcp", addr, 30 * SEC);
	ck_assert_msg(c, "dial %s: %s", addr, strerror(errno));
	return c;
}

START_TEST(both_families_ipv6_first)
{
	urnet_listener *l4 = NULL, *l6 = NULL;
	urnet_conn *c, *s;

	if (!api_have_ipv6(SOCK_STREAM))
		return;
	for (int i = 0; i < 20 && !l6; i++) {
		if (l4)
			urnet_listener_close(l4);
		l4 = urnet_listen("tcp4", "127.0.0.1:0");
		l6 = v6_twin(l4);
	}
	ck_assert_ptr_nonnull(l6);
	/* IPv4 would start only after a minute: IPv6 must win at once. */
	c = dial_both(60 * SEC, port_of(l4));
	ck_assert_msg(!strncmp(urnet_conn_remote_addr(c), "[::1]:", 6), "%s",
		      urnet_conn_remote_addr(c));
	s = urnet_listener_accept(l6);
	ck_assert_ptr_nonnull(s);
	pair_check(c, s);
	urnet_conn_close(c);
	urnet_conn_close(s);
	urnet_listener_close(l4);
	urnet_listener_close(l6);
}
END_TEST

START_TEST(both_families_ipv4_at_once_when_ipv6_refuses)
{
	urnet_listener *l4 = urnet_listen("tcp4", "127.0.0.1:0");
	urnet_conn *c, *s;

	if (!api_have_ipv6(SOCK_STREAM)) {
		urnet_listener_close(l4);
		return;
	}
	/* Nothing listens on [::1] at this port (l4 is IPv4 only): refused. */
	c = dial_both(60 * SEC, port_of(l4));
	ck_assert_str_eq(urnet_conn_remote_addr(c), urnet_listener_addr(l4));
	s = urnet_listener_accept(l4);
	ck_assert_ptr_nonnull(s);
	pair_check(c, s);
	urnet_conn_close(c);
	urnet_conn_close(s);
	urnet_listener_close(l4);
}
END_TEST

START_TEST(both_families_ipv4_after_the_delay_when_ipv6_is_silent)
{
	urnet_listener *l4 = NULL, *l6 = NULL;
	urnet_conn *c, *s, *fill[8];
	char addr6[64];
	int nfill = 0;
	int64_t t0;

	if (!api_have_ipv6(SOCK_STREAM))
		return;
	for (int i = 0; i < 20 && !l6; i++) {
		struct urnet_options o;

		if (l4)
			urnet_listener_close(l4);
		l4 = urnet_listen("tcp4", "127.0.0.1:0");
		urnet_options_init(&o);
		o.backlog = 1;
		snprintf(addr6, sizeof(addr6), "[::1]:%d", port_of(l4));
		l6 = urnet_listen_with(&o, "tcp6", addr6);
	}
	ck_assert_ptr_nonnull(l6);
	/* Fill the IPv6 queue: from then on its SYNs are dropped, it is silent. */
	while (nfill < 8) {
		fill[nfill] = urnet_dial("tcp6", addr6, 200 * MSEC);
		if (!fill[nfill])
			break;
		nfill++;
	}
	ck_assert_int_eq(errno, ETIMEDOUT);
	t0 = urnet_now_ns();
	c = dial_both(100 * MSEC, port_of(l4));
	ck_assert_str_eq(urnet_conn_remote_addr(c), urnet_listener_addr(l4));
	ck_assert_int_ge(urnet_now_ns() - t0, 100 * MSEC);
	fprintf(stderr, "silent IPv6: IPv4 connected %.1f ms after the dial began\n",
		(double)(urnet_now_ns() - t0) / 1e6);
	s = urnet_listener_accept(l4);
	ck_assert_ptr_nonnull(s);
	pair_check(c, s);
	urnet_conn_close(c);
	urnet_conn_close(s);
	while (nfill--)
		urnet_conn_close(fill[nfill]);
	urnet_listener_close(l4);
	urnet_listener_close(l6);
	/* api_teardown: the abandoned IPv6 attempt was closed. */
}
END_TEST

/* ---------------------------------------------------------------- many */

#define MANY_THREADS 50
#define MANY_DIALS 20	/* per thread: 1,000 in all */

struct many {
	urnet_listener *l;
	char addr[64];
	_Atomic int live, failed;
};

static void *many_serve_conn(void *arg)
{
	struct many *m = *(struct many **)arg;
	urnet_conn *c = ((urnet_conn **)arg)[1];
	char buf[4096];
	ssize_t n;

	free(arg);
	while ((n = urnet_conn_read(c, buf, sizeof(buf))) > 0)
		if (urnet_conn_write(c, buf, (size_t)n) != n)
			break;
	urnet_conn_close(c);
	atomic_fetch_sub(&m->live, 1);
	return NULL;
}

static void *many_accept(void *arg)
{
	struct many *m = arg;
	urnet_conn *c;
	pthread_t th;

	while ((c = urnet_listener_accept(m->l))) {
		void **p = malloc(2 * sizeof(void *));

		p[0] = m;
		p[1] = c;
		atomic_fetch_add(&m->live, 1);
		ck_assert_int_eq(pthread_create(&th, NULL, many_serve_conn, p), 0);
		pthread_detach(th);
	}
	return NULL;
}

static void *many_client(void *arg)
{
	struct many *m = arg;
	uint64_t seed = (uint64_t)(uint32_t)test_gettid() * 0x9E3779B97F4A7C15ULL;
	unsigned char out[2048], in[2048];

	for (int i = 0; i < MANY_DIALS; i++) {
		urnet_conn *c = urnet_dial("tcp", m->addr, 30 * SEC);
		size_t len = 1 + (size_t)(seed % sizeof(out));

		if (!c) {
			fprintf(stderr, "dial %s: %s (%s)\n", m->addr, strerror(errno),
				urnet_resolve_error());
			atomic_fetch_add(&m->failed, 1);
			continue;
		}
		test_fill(out, len, &seed);
		if (urnet_conn_write(c, out, len) != (ssize_t)len || !api_read_full(c, in, len) ||
		    test_sum(0, in, len) != test_sum(0, out, len))
			atomic_fetch_add(&m->failed, 1);
		urnet_conn_close(c);
	}
	return NULL;
}

START_TEST(thousand_dials_by_name_from_fifty_threads)
{
	struct many m = { 0 };
	pthread_t acc, th[MANY_THREADS];

	m.l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(m.l);
	snprintf(m.addr, sizeof(m.addr), "v4.test:%d", port_of(m.l));
	ck_assert_int_eq(pthread_create(&acc, NULL, many_accept, &m), 0);
	for (int i = 0; i < MANY_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, many_client, &m), 0);
	for (int i = 0; i < MANY_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&m.failed), 0);
	urnet_listener_shutdown(m.l);
	pthread_join(acc, NULL);
	for (int i = 0; i < 10000 && atomic_load(&m.live); i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&m.live), 0);
	urnet_listener_close(m.l);
}
END_TEST

static Suite *api_resolve_suite(void)
{
	Suite *s = suite_create("api_resolve");
	TCase *tc = tcase_create("lookup");

	tcase_add_checked_fixture(tc, resolve_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, numeric_addresses_and_localhost_need_no_lookup);
	tcase_add_test(tc, hosts_file_answers_before_dns);
	tcase_add_test(tc, dns_names_of_each_family);
	tcase_add_test(tc, dns_failures_have_their_own_errno_and_message);
	tcase_add_test(tc, silent_server_times_out_at_the_dial_deadline);
	tcase_add_test(tc, a_changed_resolver_file_is_read_again);
	tcase_add_test(tc, engine_close_wakes_a_dial_blocked_in_a_lookup);
	tcase_add_test(tc, malformed_names_fail_einval);
	tcase_add_test(tc, bad_resolver_arguments_and_configurations);
	suite_add_tcase(s, tc);

	tc = tcase_create("dial");
	tcase_add_checked_fixture(tc, resolve_setup, api_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, dial_by_name_connects_and_echoes);
	tcase_add_test(tc, udp_dial_by_name_reaches_the_server);
	tcase_add_test(tc, both_families_ipv6_first);
	tcase_add_test(tc, both_families_ipv4_at_once_when_ipv6_refuses);
	tcase_add_test(tc, both_families_ipv4_after_the_delay_when_ipv6_is_silent);
	tcase_add_test(tc, thousand_dials_by_name_from_fifty_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *conf = getenv("URNET_RESOLV_CONF");

	if (argc > 1 && !strcmp(argv[1], "--built-with-cares")) {
#ifdef HAVE_CARES
		return 0;
#else
		return 1;
#endif
	}
	/* Never the machine's own name servers: only resolve.sh's files. */
	dir = getenv("URNET_TEST_RESOLV_DIR");
	if (!dir || !conf || strncmp(conf, dir, strlen(dir)) || !getenv("CARES_HOSTS")) {
		fprintf(stderr, "api_resolve: run it through test/resolve.sh\n");
		return 2;
	}
	return test_run_suite(api_resolve_suite());
}
