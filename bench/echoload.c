/* SPDX-License-Identifier: MIT */
/*
 * echoload: closed-loop load generator for the echo servers.
 *
 *   echoload [-c CONNS] [-s SIZE] [-t THREADS] [-d SECONDS] [-w SECONDS]
 *            [-P SERVER_PID] HOST:PORT
 *
 * Every connection sends SIZE bytes, reads the whole echo back, checks it
 * and sends the next message.  The connections are spread over a few client
 * threads; a thread with several connections drives them from one
 * level-triggered epoll set, a thread with a single connection uses plain
 * blocking calls (one fewer syscall per request, so c=1 measures the server
 * rather than the generator).  Both shapes cost the same for every server.
 *
 * All connections are opened first, then the clock starts: a warm-up
 * (requests not counted), then the measured window.  Only requests that
 * complete inside the window count, for both throughput and latency.  With
 * -P the server's CPU time (utime + stime of all its threads, from
 * /proc/PID/stat) is sampled at both window edges and its VmRSS at the end.
 * The client's own CPU time (every thread of echoload) is sampled at the
 * same edges, so that a server whose threads are woken by another of its
 * threads, rather than by the client's send, can be compared on what the
 * whole exchange costs as well.
 *
 * Output: human-readable lines, then one line starting with "result " made
 * of key=value fields for scripts.  Errors: failed connects, connections
 * that hit EOF or an error, and echoes whose bytes differ from what was
 * sent; a connection with an error is closed and not reopened.  "idle"
 * counts connections that completed no request inside the window.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cpu_time.h"
#include "latency.h"

#define MAX_THREADS	256
#define MAX_CONNS	1000000
#define MAX_SIZE	(1 << 20)
#define EPOLL_BATCH	256

struct conn {
	int fd;
	size_t tx_off;
	size_t rx_off;
	int64_t sent_ns;
	uint64_t seq;
	uint64_t done_in_window;
	bool mismatch;
	unsigned char *tx;
	unsigned char *rx;
};

struct worker {
	pthread_t tid;
	int index;
	int nconns;
	struct conn *conns;
	int epfd;
	uint64_t requests;
	uint64_t connect_errors;
	uint64_t io_errors;
	uint64_t mismatches;
	struct latency_hist hist;
};

static struct {
	int conns;
	size_t size;
	int threads;
	double seconds;
	double warmup;
	long server_pid;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} opt = {
	.conns = 100,
	.size = 128,
	.threads = 2,
	.seconds = 5.0,
	.warmup = 1.0,
	.server_pid = 0,
};

static pthread_barrier_t barrier;
static int64_t window_start_ns;
static int64_t window_end_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "echoload: %s\n", why);
	fprintf(stderr,
		"usage: echoload [-c CONNS] [-s SIZE] [-t THREADS] [-d SECONDS] [-w SECONDS]\n"
		"                [-P SERVER_PID] HOST:PORT\n"
		"  -c  connections, 1..%d (default 100)\n"
		"  -s  message size in bytes, 1..%d (default 128)\n"
		"  -t  client threads, 1..%d, at most CONNS (default 2)\n"
		"  -d  measured seconds, > 0 (default 5)\n"
		"  -w  warm-up seconds, not measured, >= 0 (default 1)\n"
		"  -P  server pid: report its CPU time per request and RSS\n",
		MAX_CONNS, MAX_SIZE, MAX_THREADS);
	exit(2);
}

static long parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		char msg[128];

		snprintf(msg, sizeof(msg), "bad %s '%s'", what, s);
		usage(msg);
	}
	return v;
}

static double parse_seconds(const char *s, double min, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min) || v > 3600.0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "bad %s '%s'", what, s);
		usage(msg);
	}
	return v;
}

/* "host:port", "[v6]:port" */
static void parse_target(const char *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *colon = strrchr(arg, ':');
	size_t hlen;
	int err;

	if (!colon || colon == arg || !colon[1])
		usage("target must be HOST:PORT");
	hlen = (size_t)(colon - arg);
	if (arg[0] == '[' && colon[-1] == ']') {
		arg++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		usage("host name too long");
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	parse_long(colon + 1, 1, 65535, "port");
	err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err) {
		fprintf(stderr, "echoload: %s: %s\n", host, gai_strerror(err));
		exit(2);
	}
	memcpy(&opt.addr, res->ai_addr, res->ai_addrlen);
	opt.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static void parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "c:s:t:d:w:P:h")) != -1) {
		switch (c) {
		case 'c':
			opt.conns = (int)parse_long(optarg, 1, MAX_CONNS, "connection count");
			break;
		case 's':
			opt.size = (size_t)parse_long(optarg, 1, MAX_SIZE, "message size");
			break;
		case 't':
			opt.threads = (int)parse_long(optarg, 1, MAX_THREADS, "thread count");
			break;
		case 'd':
			opt.seconds = parse_seconds(optarg, 0.001, "duration");
			break;
		case 'w':
			opt.warmup = parse_seconds(optarg, 0.0, "warm-up");
			break;
		case 'P':
			opt.server_pid = parse_long(optarg, 1, 1L << 30, "pid");
			break;
		default:
			usage(NULL);
		}
	}
	if (optind != argc - 1)
		usage(optind < argc ? "one target only" : "missing HOST:PORT");
	parse_target(argv[optind]);
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
}

/* Each message carries the connection's sequence number so a stale or
 * misrouted echo cannot pass the comparison. */
static void fill_message(struct conn *c)
{
	size_t n = opt.size < sizeof(c->seq) ? opt.size : sizeof(c->seq);

	c->seq++;
	memcpy(c->tx, &c->seq, n);
}

/* A failed connection is closed and counted once, as a mismatch or an io error. */
static void conn_fail(struct worker *w, struct conn *c)
{
	if (w->epfd >= 0)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->mismatch)
		w->mismatches++;
	else
		w->io_errors++;
}

/*
 * A blocking connection gives up on a server that stops answering, so that
 * a broken server shows up as errors instead of a hung run.
 */
#define BLOCKING_TIMEOUT_S 10

static void open_conns(struct worker *w)
{
	struct timeval tv = { .tv_sec = BLOCKING_TIMEOUT_S };
	int one = 1;

	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		c->fd = -1;
		if (fd < 0 || connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0) {
			if (fd >= 0)
				close(fd);
			w->connect_errors++;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c->fd = fd;
	}
}

/* Message complete: account for it, check it, start the next one. */
static bool request_done(struct worker *w, struct conn *c, int64_t t)
{
	if (memcmp(c->rx, c->tx, opt.size) != 0) {
		c->mismatch = true;
		return false;
	}
	if (t >= window_start_ns && t < window_end_ns) {
		w->requests++;
		c->done_in_window++;
		latency_add(&w->hist, (uint64_t)(t - c->sent_ns));
	}
	fill_message(c);
	c->rx_off = 0;
	c->tx_off = 0;
	c->sent_ns = t;
	return true;
}

static void run_blocking(struct worker *w)
{
	struct conn *c = &w->conns[0];

	if (c->fd < 0)
		return;
	fill_message(c);
	c->sent_ns = now_ns();
	for (;;) {
		ssize_t n;

		while (c->tx_off < opt.size) {
			n = send(c->fd, c->tx + c->tx_off, opt.size - c->tx_off, MSG_NOSIGNAL);
			if (n <= 0)
				goto fail;
			c->tx_off += (size_t)n;
		}
		while (c->rx_off < opt.size) {
			n = recv(c->fd, c->rx + c->rx_off, opt.size - c->rx_off, 0);
			if (n <= 0)
				goto fail;
			c->rx_off += (size_t)n;
		}
		int64_t t = now_ns();

		if (!request_done(w, c, t))
			goto fail;
		if (t >= window_end_ns)
			return;
	}
fail:
	conn_fail(w, c);
}

/* Returns false when the connection failed. */
static bool drive_send(struct worker *w, struct conn *c)
{
	while (c->tx_off < opt.size) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, opt.size - c->tx_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

			return epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
		}
		if (n <= 0)
			return false;
		c->tx_off += (size_t)n;
	}
	return true;
}

static bool on_writable(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (!drive_send(w, c))
		return false;
	if (c->tx_off == opt.size)
		return epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
	return true;
}

static bool on_readable(struct worker *w, struct conn *c)
{
	ssize_t n = recv(c->fd, c->rx + c->rx_off, opt.size - c->rx_off, MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return true;
	if (n <= 0)
		return false;
	c->rx_off += (size_t)n;
	if (c->rx_off < opt.size)
		return true;
	if (c->tx_off < opt.size) {	/* echo of bytes never sent */
		c->mismatch = true;
		return false;
	}
	if (!request_done(w, c, now_ns()))
		return false;
	return drive_send(w, c);
}

static void run_epoll(struct worker *w)
{
	struct epoll_event evs[EPOLL_BATCH];
	int live = 0;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		perror("echoload: epoll_create1");
		exit(1);
	}
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		if (c->fd < 0)
			continue;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			conn_fail(w, c);
			continue;
		}
		live++;
	}
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->fd < 0)
			continue;
		fill_message(c);
		c->sent_ns = now_ns();
		if (!drive_send(w, c)) {
			conn_fail(w, c);
			live--;
		}
	}
	while (live > 0) {
		int64_t left = window_end_ns - now_ns();
		int n;

		if (left <= 0)
			break;
		n = epoll_wait(w->epfd, evs, EPOLL_BATCH, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			perror("echoload: epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			bool ok = true;

			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT)
				ok = on_writable(w, c);
			if (ok && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				ok = on_readable(w, c);
			if (!ok) {
				conn_fail(w, c);
				live--;
			}
		}
	}
	close(w->epfd);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	open_conns(w);
	pthread_barrier_wait(&barrier);	/* everyone connected */
	pthread_barrier_wait(&barrier);	/* window times set */
	if (w->nconns == 1)
		run_blocking(w);
	else
		run_epoll(w);
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].fd >= 0)
			close(w->conns[i].fd);
	return NULL;
}

static long server_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", opt.server_pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Enough descriptors for every connection plus a margin, within the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opt.conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct latency_hist hist;
	uint64_t requests = 0, connect_errors = 0, io_errors = 0, mismatches = 0, idle = 0;
	double cpu0 = -1, cpu1 = -1, ccpu0, ccpu1;
	long rss = -1;
	char host[96];
	int64_t t;

	parse_args(argc, argv);
	raise_fd_limit();
	setvbuf(stdout, NULL, _IOLBF, 0);
	latency_init(&hist);
	pthread_barrier_init(&barrier, NULL, (unsigned)opt.threads + 1);

	for (int i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];
		int first = (int)((long)opt.conns * i / opt.threads);
		int last = (int)((long)opt.conns * (i + 1) / opt.threads);

		w->index = i;
		w->epfd = -1;
		w->nconns = last - first;
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		if (!w->conns) {
			perror("echoload: calloc");
			return 1;
		}
		for (int j = 0; j < w->nconns; j++) {
			w->conns[j].tx = calloc(2, opt.size);
			if (!w->conns[j].tx) {
				perror("echoload: calloc");
				return 1;
			}
			w->conns[j].rx = w->conns[j].tx + opt.size;
			memset(w->conns[j].tx, 'a' + (j % 26), opt.size);
		}
		latency_init(&w->hist);
		if (pthread_create(&w->tid, NULL, worker_main, w)) {
			fprintf(stderr, "echoload: cannot start thread %d\n", i);
			return 1;
		}
	}

	pthread_barrier_wait(&barrier);
	t = now_ns();
	window_start_ns = t + (int64_t)(opt.warmup * 1e9);
	window_end_ns = window_start_ns + (int64_t)(opt.seconds * 1e9);
	pthread_barrier_wait(&barrier);

	sleep_until(window_start_ns);
	ccpu0 = bench_self_cpu_seconds();
	if (opt.server_pid)
		cpu0 = bench_proc_cpu_seconds(opt.server_pid);
	sleep_until(window_end_ns);
	ccpu1 = bench_self_cpu_seconds();
	if (opt.server_pid) {
		cpu1 = bench_proc_cpu_seconds(opt.server_pid);
		rss = server_rss_kb();
	}
	for (int i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];

		pthread_join(w->tid, NULL);
		requests += w->requests;
		connect_errors += w->connect_errors;
		io_errors += w->io_errors;
		mismatches += w->mismatches;
		for (int j = 0; j < w->nconns; j++)	/* failed ones count as errors */
			idle += w->conns[j].fd >= 0 && w->conns[j].done_in_window == 0;
		latency_merge(&hist, &w->hist);
	}

	double rps = (double)requests / opt.seconds;
	double p50 = latency_quantile(&hist, 0.50) / 1e3;
	double p99 = latency_quantile(&hist, 0.99) / 1e3;
	double p999 = latency_quantile(&hist, 0.999) / 1e3;
	uint64_t errors = connect_errors + io_errors + mismatches;
	bool have_cpu = cpu0 >= 0 && cpu1 >= 0;
	double cpu = have_cpu ? cpu1 - cpu0 : 0;
	double cpu_us = have_cpu && requests ? cpu * 1e6 / (double)requests : 0;
	bool have_ccpu = ccpu0 >= 0 && ccpu1 >= 0;
	double ccpu_us = have_ccpu && requests ? (ccpu1 - ccpu0) * 1e6 / (double)requests : 0;

	if (getnameinfo((struct sockaddr *)&opt.addr, opt.addrlen, host, sizeof(host),
			NULL, 0, NI_NUMERICHOST))
		strcpy(host, "?");
	printf("echoload: %d conns x %zu B, %d threads, %.3g s measured after %.3g s warm-up, %s\n",
	       opt.conns, opt.size, opt.threads, opt.seconds, opt.warmup, host);
	printf("  requests/s   %.0f  (%" PRIu64 " requests)\n", rps, requests);
	printf("  latency us   p50 %.1f  p99 %.1f  p99.9 %.1f\n", p50, p99, p999);
	printf("  errors       %" PRIu64 " (connect %" PRIu64 ", io %" PRIu64
	       ", mismatch %" PRIu64 "), idle connections %" PRIu64 "\n",
	       errors, connect_errors, io_errors, mismatches, idle);
	if (have_cpu)
		printf("  server cpu   %.3f s, %.2f us/request, rss %ld kB\n", cpu, cpu_us, rss);
	if (have_ccpu)
		printf("  client cpu   %.3f s, %.2f us/request\n", ccpu1 - ccpu0, ccpu_us);
	printf("result conns=%d size=%zu threads=%d seconds=%.3f requests=%" PRIu64
	       " rps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%" PRIu64
	       " idle=%" PRIu64, opt.conns, opt.size, opt.threads, opt.seconds, requests,
	       rps, p50, p99, p999, errors, idle);
	if (have_cpu)
		printf(" cpu_s=%.3f cpu_us_per_req=%.3f rss_kb=%ld", cpu, cpu_us, rss);
	else
		printf(" cpu_s=NA cpu_us_per_req=NA rss_kb=NA");
	if (have_ccpu)
		printf(" client_cpu_us_per_req=%.3f", ccpu_us);
	else
		printf(" client_cpu_us_per_req=NA");
	printf("\n");
	return 0;
}
