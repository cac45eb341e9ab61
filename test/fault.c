/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: with test/faultinject.so preloaded (test/fault.sh), C
 * library and liburing calls fail on demand.  Every failure must reach the
 * caller as a clear errno, never a hang, crash or leaked fd, and the engine
 * must keep serving the connections that were not hit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <liburing.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api_util.h"
#include "faultinject.h"
#include "urnet_compat.h"

static faultinject_set_fn fi_set;
static faultinject_clear_fn fi_clear;
static faultinject_hits_fn fi_hits;

static void fi_bind(void)
{
	fi_set = (faultinject_set_fn)dlsym(RTLD_DEFAULT, "faultinject_set");
	fi_clear = (faultinject_clear_fn)dlsym(RTLD_DEFAULT, "faultinject_clear");
	fi_hits = (faultinject_hits_fn)dlsym(RTLD_DEFAULT, "faultinject_hits");
	if (!fi_set || !fi_clear || !fi_hits) {
		fprintf(stderr, "fault: faultinject.so is not preloaded (run test/fault.sh)\n");
		exit(99);
	}
}

static int count_threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * pthread_join returns when the kernel clears the thread's tid, a moment
 * before the thread leaves /proc/self/task: a joined thread may still be
 * listed for a while.  Wait (bounded) for the count to come down to want.
 */
static int threads_settle(int want)
{
	int n = count_threads_now();

	for (int i = 0; n > want && i < 2000; i++) {
		usleep(1000);
		n = count_threads_now();
	}
	return n;
}

/*
 * The baseline count.  A sanitizer may start a helper thread of its own
 * with the first pthread_create: one is made and joined first, and waited
 * out of the listing by its tid.
 */
static void *noop_main(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

static int count_threads(void)
{
	static bool warmed;
	char path[64];
	pthread_t th;
	pid_t tid = 0;

	if (!warmed) {
		warmed = true;
		if (pthread_create(&th, NULL, noop_main, &tid) == 0) {
			pthread_join(th, NULL);
			snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
			for (int i = 0; access(path, F_OK) == 0 && i < 2000; i++)
				usleep(1000);
		}
	}
	return count_threads_now();
}

/* One echo round trip of len bytes over a connected pair, checked. */
static void roundtrip(urnet_conn *c, urnet_conn *s, size_t len)
{
	unsigned char out[4096], in[4096], back[4096];
	uint64_t seed = 0x1234 + len;

	ck_assert_uint_le(len, sizeof(out));
	test_fill(out, len, &seed);
	ck_assert_int_eq(urnet_conn_write(c, out, len), (ssize_t)len);
	ck_assert(api_read_full(s, in, len));
	ck_assert_int_eq(urnet_conn_write(s, in, len), (ssize_t)len);
	ck_assert(api_read_full(c, back, len));
	ck_assert_mem_eq(out, back, len);
}

static void close_pair(urnet_conn *c, urnet_conn *s)
{
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}

/* A pair on engine e (NULL: default engines) and one round trip over it. */
static void check_engine_serves(urnet_engine *e)
{
	urnet_listener *l = urnet_listen_on(e, "tcp4", "127.0.0.1:0");
	urnet_conn *c, *s;

	ck_assert_msg(l, "listen: %s", strerror(errno));
	c = urnet_dial_on(e, "tcp4", urnet_listener_addr(l), 10 * SEC);
	ck_assert_msg(c, "dial: %s", strerror(errno));
	s = urnet_listener_accept(l);
	ck_assert_msg(s, "accept: %s", strerror(errno));
	ck_assert_int_eq(urnet_listener_close(l), 0);
	roundtrip(c, s, 1000);
	close_pair(c, s);
}

/* A blocking TCP listener on 127.0.0.1, its "127.0.0.1:port" in addr. */
static int compat_tcp_listener(char *addr, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(addr, size, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

/* A blocking TCP socket connected to "127.0.0.1:port". */
static int compat_tcp_connect(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	const char *colon = strrchr(addr, ':');

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(colon);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* ---------------------------------------------------------------- ring set-up */

static void ring_init_fails_falls_back(int err)
{
	struct urnet_engine_config cfg;
	urnet_engine *e;
	int fds = test_count_fds();

	urnet_engine_config_init(&cfg);
	cfg.backend = URNET_BACKEND_AUTO;
	ck_assert_int_eq(fi_set("io_uring_queue_init_params", err, 0, -1, 0), 0);
	e = urnet_engine_new(&cfg);
	ck_assert_msg(e, "engine_new: %s", strerror(errno));
	ck_assert_str_eq(urnet_engine_backend(e), "syscall");
	ck_assert_uint_gt(fi_hits("io_uring_queue_init_params"), 0);
	check_engine_serves(e);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	ck_assert_int_eq(test_count_fds(), fds);
}

START_TEST(ring_init_eperm_falls_back)
{
	ring_init_fails_falls_back(EPERM);
}
END_TEST

START_TEST(ring_init_enomem_falls_back)
{
	ring_init_fails_falls_back(ENOMEM);
}
END_TEST

/* io_uring insisted on: the set-up error itself, nothing left behind. */
START_TEST(ring_init_fails_strict)
{
	static const int errs[] = { EPERM, ENOMEM, ENOSYS, EBUSY };
	struct urnet_engine_config cfg;
	int fds = test_count_fds(), threads = count_threads();

	urnet_engine_config_init(&cfg);
	cfg.backend = URNET_BACKEND_IO_URING;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ck_assert_int_eq(fi_set("io_uring_queue_init_params", errs[i], 0, -1, 0), 0);
		errno = 0;
		ck_assert_ptr_null(urnet_engine_new(&cfg));
		ck_assert_int_eq(errno, errs[i]);
		ck_assert_int_eq(test_count_fds(), fds);
		ck_assert_int_eq(threads_settle(threads), threads);
	}
	fi_clear();
}
END_TEST

/* The process-wide engine comes up on the syscall backend by itself. */
START_TEST(default_engine_falls_back)
{
	ck_assert_int_eq(fi_set("io_uring_queue_init_params", EPERM, 0, -1, 0), 0);
	ck_assert_ptr_nonnull(urnet_default_engine());
	ck_assert_str_eq(urnet_engine_backend(urnet_default_engine()), "syscall");
	check_engine_serves(NULL);
}
END_TEST

/* ---------------------------------------------------------------- eventfd */

START_TEST(eventfd_fails_at_engine_start)
{
	struct urnet_engine_config cfg;
	urnet_engine *e;
	int fds = test_count_fds(), threads = count_threads();

	urnet_engine_config_init(&cfg);
	cfg.backend = URNET_BACKEND_IO_URING;
	ck_assert_int_eq(fi_set("eventfd", EMFILE, 0, 1, 0), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_eq(test_count_fds(), fds);
	ck_assert_int_eq(threads_settle(threads), threads);
	/* The one failure is spent: the next engine starts and serves. */
	e = urnet_engine_new(&cfg);
	ck_assert_msg(e, "engine_new: %s", strerror(errno));
	check_engine_serves(e);
	ck_assert_int_eq(urnet_engine_close(e), 0);
	ck_assert_int_eq(test_count_fds(), fds);
}
END_TEST

/* The syscall backend needs an eventfd per socket: listen, dial, accept. */
START_TEST(eventfd_fails_per_socket)
{
	struct urnet_engine_config cfg;
	urnet_listener *l;
	urnet_engine *e;
	urnet_conn *c;
	int fds, raw;

	urnet_engine_config_init(&cfg);
	cfg.backend = URNET_BACKEND_SYSCALL;
	e = urnet_engine_new(&cfg);
	ck_assert_ptr_nonnull(e);
	l = urnet_listen_on(e, "tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	fds = test_count_fds();

	ck_assert_int_eq(fi_set("eventfd", ENFILE, 0, -1, 0), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_listen_on(e, "tcp4", "127.0.0.1:0"));
	ck_assert_int_eq(errno, ENFILE);
	errno = 0;
	ck_assert_ptr_null(urnet_dial_on(e, "tcp4", urnet_listener_addr(l), 10 * SEC));
	ck_assert_int_eq(errno, ENFILE);
	ck_assert_int_eq(test_count_fds(), fds);

	raw = compat_tcp_connect(urnet_listener_addr(l));
	errno = 0;
	ck_assert_ptr_null(urnet_listener_accept(l));
	ck_assert_int_eq(errno, ENFILE);
	close(raw);
	ck_assert_int_eq(test_count_fds(), fds);

	fi_clear();
	c = urnet_dial_on(e, "tcp4", urnet_listener_addr(l), 10 * SEC);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	check_engine_serves(e);
	ck_assert_int_eq(urnet_engine_close(e), 0);
}
END_TEST

/* ---------------------------------------------------------------- threads */

START_TEST(pthread_create_fails)
{
	struct urnet_engine_config cfg;
	int fds = test_count_fds(), threads = count_threads();

	urnet_engine_config_init(&cfg);
	ck_assert_int_eq(fi_set("pthread_create", EAGAIN, 0, -1, 0), 0);
	errno = 0;
	ck_assert_ptr_null(urnet_engine_new(&cfg));
	ck_assert_int_eq(errno, EAGAIN);
	/* The lazy default engine: the call fails, a later one starts it. */
	errno = 0;
	ck_assert_ptr_null(urnet_listen("tcp4", "127.0.0.1:0"));
	ck_assert_int_eq(errno, EAGAIN);
	errno = 0;
	ck_assert_ptr_null(urnet_dial("tcp4", "127.0.0.1:1", SEC));
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(test_count_fds(), fds);
	ck_assert_int_eq(threads_settle(threads), threads);
	fi_clear();
	check_engine_serves(NULL);
}
END_TEST

/* ---------------------------------------------------------------- memory */

static bool malloc_faults_work(void)
{
	void *p;

	/* A sanitizer's allocator is found before ours: nothing to inject then. */
	fi_set("malloc", ENOMEM, 0, 1, 1);
	p = calloc(1, 16);
	fi_clear();
	free(p);
	if (p)
		fprintf(stderr, "fault: allocator not interposable here, skipping malloc faults\n");
	return !p;
}

/*
 * Fail the n-th allocation made by this thread during op, for n = 0, 1, ...
 * until op gets through untouched: every failure must be ENOMEM (or the
 * errno op documents), and leave no fd and no thread behind.
 */
static void each_allocation_fails(bool (*op)(void *), void *arg, int err_ok)
{
	int fds = test_count_fds();
	long n;

	for (n = 0; n < 1000; n++) {
		bool ok;

		fi_set("malloc", ENOMEM, n, 1, 1);
		errno = 0;
		ok = op(arg);
		fi_clear();
		if (!fi_hits("malloc")) {
			ck_assert_msg(ok, "op failed with no allocation failing: %s",
				      strerror(errno));
			break;
		}
		if (!ok)
			ck_assert_msg(errno == ENOMEM || errno == err_ok,
				      "allocation %ld failed: errno %s", n, strerror(errno));
		ck_assert_int_eq(test_count_fds(), fds);
	}
	ck_assert_int_lt(n, 1000);
}

static bool op_engine(void *arg)
{
	struct urnet_engine_config cfg;
	urnet_engine *e;

	(void)arg;
	urnet_engine_config_init(&cfg);
	e = urnet_engine_new(&cfg);
	fi_clear();	/* check's own asserts allocate */
	if (!e)
		return false;
	ck_assert_int_eq(urnet_engine_close(e), 0);
	return true;
}

static bool op_unix_listen(void *arg)
{
	const char *path = arg;
	urnet_listener *l = urnet_listen("unix", path);
	struct stat st;

	fi_clear();
	if (!l) {
		int saved = errno;

		ck_assert_int_ne(stat(path, &st), 0);	/* no socket file left */
		errno = saved;
		return false;
	}
	ck_assert_int_eq(urnet_listener_close(l), 0);
	return true;
}

static bool op_dial_accept(void *arg)
{
	urnet_listener *l = arg;
	urnet_conn *c = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC), *s;
	int saved;

	if (!c) {
		fi_clear();
		return false;
	}
	s = urnet_listener_accept(l);
	saved = errno;
	fi_clear();
	urnet_conn_close(c);
	if (s)
		urnet_conn_close(s);
	errno = saved;
	return s != NULL;
}

static void nop_prep(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_nop(sqe);
}

static void nop_done(int res, unsigned flags, void *arg)
{
	(void)res;
	(void)flags;
	atomic_fetch_add((_Atomic int *)arg, 1);
}

static _Atomic int nop_count;

static bool op_submit(void *arg)
{
	int ret = urnet_engine_submit(urnet_default_engine(), nop_prep, nop_done, arg);

	fi_clear();
	if (ret) {
		ck_assert_int_eq(ret, -ENOMEM);
		errno = -ret;
		return false;
	}
	return true;
}

START_TEST(allocations_fail)
{
	char dir[] = "/tmp/urnet-fault.XXXXXX", path[64];
	urnet_listener *l;

	if (!malloc_faults_work())
		return;
	ck_assert_ptr_nonnull(urnet_default_engine());
	/* pthread_create reports its own allocations failing as EAGAIN. */
	each_allocation_fails(op_engine, NULL, EAGAIN);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	each_allocation_fails(op_unix_listen, path, 0);
	rmdir(dir);
	l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	each_allocation_fails(op_dial_accept, l, 0);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	each_allocation_fails(op_submit, &nop_count, 0);
	check_engine_serves(NULL);
}
END_TEST

/* ---------------------------------------------------------------- descriptors */

START_TEST(socket_out_of_fds)
{
	static const int errs[] = { EMFILE, ENFILE };
	urnet_listener *l;
	int fds;

	l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	fds = test_count_fds();
	for (size_t i = 0; i < 2; i++) {
		fi_set("socket", errs[i], 0, -1, 0);
		errno = 0;
		ck_assert_ptr_null(urnet_listen("tcp4", "127.0.0.1:0"));
		ck_assert_int_eq(errno, errs[i]);
		errno = 0;
		ck_assert_ptr_null(urnet_listen("tcp6", "[::1]:0"));
		ck_assert_int_eq(errno, errs[i]);
		errno = 0;
		ck_assert_ptr_null(urnet_dial("tcp4", urnet_listener_addr(l), SEC));
		ck_assert_int_eq(errno, errs[i]);
		ck_assert_int_eq(test_count_fds(), fds);
	}
	fi_clear();
	ck_assert_int_eq(urnet_listener_close(l), 0);
	check_engine_serves(NULL);
}
END_TEST

/* accept4 out of fds: the connection stays queued, other conns carry on. */
START_TEST(accept_out_of_fds)
{
	static const int errs[] = { EMFILE, ENFILE };
	urnet_conn *oc, *os, *c, *s;
	urnet_listener *l;

	api_tcp_pair(&oc, &os);
	l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	for (size_t i = 0; i < 2; i++) {
		c = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC);
		ck_assert_ptr_nonnull(c);
		fi_set("accept4", errs[i], 0, 3, 0);
		for (int k = 0; k < 3; k++) {
			errno = 0;
			ck_assert_ptr_null(urnet_listener_accept(l));
			ck_assert_int_eq(errno, errs[i]);
			roundtrip(oc, os, 100);
		}
		s = urnet_listener_accept(l);
		ck_assert_msg(s, "accept after the fault: %s", strerror(errno));
		roundtrip(c, s, 3000);
		close_pair(c, s);
	}
	fi_clear();
	ck_assert_int_eq(urnet_listener_close(l), 0);
	close_pair(oc, os);
}
END_TEST

/* The compat layer reports the kernel's errors the BSD way. */
START_TEST(compat_accept_connect_fail)
{
	int lfd, fd;
	char addr[64];

	lfd = compat_tcp_listener(addr, sizeof(addr));
	fi_set("accept4", EMFILE, 0, 1, 0);
	fi_set("accept", EMFILE, 0, 1, 0);
	fd = compat_tcp_connect(addr);
	errno = 0;
	ck_assert_int_eq(urnet_accept(lfd, NULL, NULL), -1);
	ck_assert_int_eq(errno, EMFILE);
	fi_set("connect", ENETUNREACH, 0, 1, 0);
	{
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					  .sin_port = htons(1) };
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		errno = 0;
		ck_assert_int_eq(urnet_connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
		ck_assert_int_eq(errno, ENETUNREACH);
		urnet_close(s);
	}
	fi_clear();
	{
		int a = urnet_accept(lfd, NULL, NULL);

		ck_assert_int_ge(a, 0);
		ck_assert_int_eq(urnet_send(fd, "x", 1, MSG_NOSIGNAL), 1);
		char ch;
		ck_assert_int_eq(urnet_recv(a, &ch, 1, 0), 1);
		urnet_close(a);
	}
	urnet_close(fd);
	urnet_close(lfd);
}
END_TEST

/* ---------------------------------------------------------------- ring submit */

static void submit_fails_transiently(const char *name, int err)
{
	urnet_conn *c, *s;
	int ret;

	ck_assert_ptr_nonnull(urnet_default_engine());
	api_tcp_pair(&c, &s);
	fi_set(name, err, 0, 50, 0);
	for (int i = 0; i < 200; i++) {
		ret = urnet_engine_call(urnet_default_engine(), nop_prep, NULL,
					urnet_now_ns() + 30 * SEC);
		ck_assert_int_eq(ret, 0);
		roundtrip(c, s, 1 + (size_t)i * 7);
	}
	/* Parked readers need the ring's poll, armed through the failing submits. */
	for (int i = 0; i < 20; i++) {
		struct api_blocker b = { .op = API_READ, .c = s, .len = 1 };

		api_blocker_start(&b);
		ck_assert_int_eq(urnet_conn_write(c, "z", 1), 1);
		api_blocker_join(&b);
		ck_assert_int_eq(b.ret, 1);
	}
	if (!strcmp(urnet_engine_backend(urnet_default_engine()), "io_uring"))
		ck_assert_uint_gt(fi_hits(name), 0);
	fi_clear();
	close_pair(c, s);
}

/* The engine submits and waits in one io_uring_enter: that is where these land. */
START_TEST(submit_ebusy)
{
	submit_fails_transiently("io_uring_submit_and_wait", EBUSY);
}
END_TEST

START_TEST(submit_eagain)
{
	submit_fails_transiently("io_uring_submit_and_wait", EAGAIN);
}
END_TEST

START_TEST(submit_and_wait_fails)
{
	submit_fails_transiently("io_uring_submit_and_wait", EINTR);
}
END_TEST

/* ---------------------------------------------------------------- short sends */

static void *drain_main(void *arg)
{
	urnet_conn *s = arg;
	unsigned char buf[8192];
	uint64_t h = 0;
	ssize_t n;

	while ((n = urnet_conn_read(s, buf, sizeof(buf))) > 0)
		h = test_sum(h, buf, (size_t)n);
	return (void *)(uintptr_t)h;
}

/* Every send goes out a few bytes at a time: writes still deliver everything. */
START_TEST(short_sends)
{
	static const long caps[] = { 1, 3, 1000 };
	size_t total = 200000;
	unsigned char *buf = malloc(total);
	uint64_t seed = 77, want;

	ck_assert_ptr_nonnull(buf);
	test_fill(buf, total, &seed);
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		struct iovec iov[300];
		urnet_conn *c, *s;
		pthread_t th;
		void *got;
		size_t off = 0;
		int n = 0;

		api_tcp_pair(&c, &s);
		ck_assert_int_eq(pthread_create(&th, NULL, drain_main, s), 0);
		fi_set("send", 0, 0, caps[k], 0);
		ck_assert_int_eq(urnet_conn_write(c, buf, total / 2), (ssize_t)(total / 2));
		/* writev over uneven buffers, empty ones among them. */
		off = total / 2;
		while (off < total && n < 300) {
			size_t len = n % 5 == 0 ? 0 : (size_t)(n * 37 % 1500);

			if (len > total - off || n == 299)
				len = total - off;
			iov[n].iov_base = buf + off;
			iov[n].iov_len = len;
			off += len;
			n++;
		}
		ck_assert_uint_eq(off, total);
		ck_assert_int_eq(urnet_conn_writev(c, iov, n), (ssize_t)(total - total / 2));
		ck_assert_uint_gt(fi_hits("send"), 0);
		fi_clear();
		ck_assert_int_eq(urnet_conn_close_write(c), 0);
		ck_assert_int_eq(pthread_join(th, &got), 0);
		want = test_sum(0, buf, total);
		ck_assert_msg((uint64_t)(uintptr_t)got == want, "checksum mismatch at cap %ld",
			      caps[k]);
		close_pair(c, s);
	}
	free(buf);
}
END_TEST

/* A blocking compat send returns only with everything queued. */
START_TEST(compat_short_sends)
{
	char addr[64], buf[50000], in[50000];
	int lfd, fd, a;
	size_t got = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31);
	lfd = compat_tcp_listener(addr, sizeof(addr));
	fd = compat_tcp_connect(addr);
	a = urnet_accept(lfd, NULL, NULL);
	ck_assert_int_ge(a, 0);
	fi_set("send", 0, 0, 7, 0);
	ck_assert_int_eq(urnet_send(fd, buf, sizeof(buf), MSG_NOSIGNAL), (ssize_t)sizeof(buf));
	fi_clear();
	while (got < sizeof(in)) {
		ssize_t n = urnet_recv(a, in + got, sizeof(in) - got, 0);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	ck_assert_mem_eq(buf, in, sizeof(buf));
	urnet_close(a);
	urnet_close(fd);
	urnet_close(lfd);
}
END_TEST

/* send errors: EINTR is retried, a reset reaches the caller. */
START_TEST(send_errors)
{
	urnet_conn *c, *s;
	char in[4];

	api_tcp_pair(&c, &s);
	fi_set("send", EINTR, 0, 5, 0);
	ck_assert_int_eq(urnet_conn_write(c, "abcd", 4), 4);
	ck_assert(api_read_full(s, in, 4));
	ck_assert_mem_eq(in, "abcd", 4);
	fi_set("send", ECONNRESET, 0, 1, 0);
	errno = 0;
	ck_assert_int_eq(urnet_conn_write(c, "abcd", 4), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	fi_set("sendmsg", ENOBUFS, 0, 1, 0);
	{
		struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };

		errno = 0;
		ck_assert_int_eq(urnet_conn_writev(c, iov, 2), -1);
		ck_assert_int_eq(errno, ENOBUFS);
	}
	fi_clear();
	roundtrip(c, s, 10);
	close_pair(c, s);
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("fault");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ring_init_eperm_falls_back);
	tcase_add_test(tc, ring_init_enomem_falls_back);
	tcase_add_test(tc, ring_init_fails_strict);
	tcase_add_test(tc, default_engine_falls_back);
	tcase_add_test(tc, eventfd_fails_at_engine_start);
	tcase_add_test(tc, eventfd_fails_per_socket);
	tcase_add_test(tc, pthread_create_fails);
	tcase_add_test(tc, allocations_fail);
	tcase_add_test(tc, socket_out_of_fds);
	tcase_add_test(tc, accept_out_of_fds);
	tcase_add_test(tc, compat_accept_connect_fail);
	tcase_add_test(tc, submit_ebusy);
	tcase_add_test(tc, submit_eagain);
	tcase_add_test(tc, submit_and_wait_fails);
	tcase_add_test(tc, short_sends);
	tcase_add_test(tc, compat_short_sends);
	tcase_add_test(tc, send_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fi_bind();
	return test_run_suite(fault_suite());
}
