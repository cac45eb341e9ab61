/* SPDX-License-Identifier: MIT */
/*
 * udpload: closed-loop UDP request/response load for the UDP echo servers.
 *
 *   udpload [-p PEERS] [-s SIZE] [-t THREADS] [-d SECONDS] [-w SECONDS]
 *           [-P SERVER_PID] PORT
 *
 * PEERS sockets on 127.0.0.1 (each its own port: a peer of the server),
 * spread over THREADS client threads, each send a SIZE-byte datagram to
 * 127.0.0.1:PORT carrying a sequence number, wait for the echo, check it
 * and send the next.  A thread with several peers drives them from one
 * level-triggered epoll set; a thread with one peer uses blocking calls.
 * A datagram lost (no answer within 1 s; a full socket buffer drops
 * them) is sent again with a new number and counted as lost.
 *
 * A warm-up, then the measured window: only answers inside it count, for
 * throughput and latency.  With -P the server's CPU time is sampled at the
 * window's edges, as is the client's own.  Output: human-readable lines,
 * then one "result key=value ..." line.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cpu_time.h"
#include "latency.h"

#define MAX_THREADS	64
#define MAX_PEERS	10000
#define MAX_SIZE	1400
#define LOSS_NS		1000000000LL

struct peer {
	int fd;
	uint64_t seq;
	int64_t sent;
};

struct worker {
	pthread_t th;
	struct peer *peers;
	int npeers;
	uint64_t done, lost, bad;
	struct latency_hist hist;
};

static struct {
	int peers, size, threads;
	double seconds, warmup;
	long server_pid;
	int port;
} opt = { 1, 64, 2, 5, 1, 0, 0 };

static int64_t win_start, win_end;
static _Atomic bool stop;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "udpload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void peer_send(struct peer *p, uint64_t seq)
{
	unsigned char buf[MAX_SIZE];

	memset(buf, (int)(seq & 0xff), (size_t)opt.size);
	memcpy(buf, &seq, sizeof(seq));
	p->seq = seq;
	p->sent = now_ns();
	/* A full buffer drops it: the loss timer sends it again. */
	send(p->fd, buf, (size_t)opt.size, MSG_DONTWAIT);
}

/* Take every answer queued on p; false when p has nothing more. */
static bool peer_recv(struct worker *w, struct peer *p, int flags)
{
	unsigned char buf[MAX_SIZE + 1];
	uint64_t seq;
	ssize_t n = recv(p->fd, buf, sizeof(buf), flags);
	int64_t t;

	if (n < 0)
		return false;
	memcpy(&seq, buf, sizeof(seq));
	if (seq != p->seq)
		return true;	/* the answer to a request resent since */
	t = now_ns();
	if (n != opt.size || buf[n - 1] != (unsigned char)(seq & 0xff))
		w->bad++;
	if (t >= win_start && t < win_end) {
		w->done++;
		latency_add(&w->hist, (uint64_t)(t - p->sent));
	}
	peer_send(p, seq + 1);
	return true;
}

static void resend_lost(struct worker *w)
{
	int64_t t = now_ns();

	for (int i = 0; i < w->npeers; i++) {
		if (t - w->peers[i].sent > LOSS_NS) {
			w->lost++;
			peer_send(&w->peers[i], w->peers[i].seq + 1);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	int ep = -1;

	if (w->npeers > 1) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			die("epoll");
		for (int i = 0; i < w->npeers; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->peers[i] };

			if (epoll_ctl(ep, EPOLL_CTL_ADD, w->peers[i].fd, &ev))
				die("epoll_ctl");
		}
	}
	for (int i = 0; i < w->npeers; i++)
		peer_send(&w->peers[i], (uint64_t)i << 32);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (ep < 0) {
			if (!peer_recv(w, &w->peers[0], 0))
				resend_lost(w);	/* SO_RCVTIMEO ran out */
			continue;
		}
		int n = epoll_wait(ep, evs, 256, 50);

		for (int i = 0; i < n; i++)
			while (peer_recv(w, evs[i].data.ptr, MSG_DONTWAIT))
				;
		resend_lost(w);
	}
	if (ep >= 0)
		close(ep);
	return NULL;
}

static void open_peers(struct peer *peers)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { LOSS_NS / 1000000000LL, LOSS_NS % 1000000000LL / 1000 };

	for (int i = 0; i < opt.peers; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&srv, sizeof(srv)))
			die("peer socket");
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			die("SO_RCVTIMEO");
		peers[i] = (struct peer){ .fd = fd };
	}
}

static void sleep_until(int64_t t)
{
	int64_t left;

	while ((left = t - now_ns()) > 0) {
		struct timespec ts = { left / 1000000000LL, left % 1000000000LL };

		nanosleep(&ts, NULL);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: udpload [-p PEERS] [-s SIZE] [-t THREADS] [-d SECONDS] "
			"[-w SECONDS] [-P SERVER_PID] PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct latency_hist all;
	double cpu0 = 0, cpu1 = 0, ccpu0, ccpu1;
	uint64_t done = 0, lost = 0, bad = 0;
	struct peer *peers;
	int c, per;

	while ((c = getopt(argc, argv, "p:s:t:d:w:P:")) != -1) {
		switch (c) {
		case 'p': opt.peers = atoi(optarg); break;
		case 's': opt.size = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'd': opt.seconds = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 'P': opt.server_pid = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || opt.peers < 1 || opt.peers > MAX_PEERS ||
	    opt.size < 16 || opt.size > MAX_SIZE || opt.threads < 1 ||
	    opt.threads > MAX_THREADS || opt.seconds <= 0 || opt.warmup < 0)
		usage();
	opt.port = atoi(argv[optind]);
	if (opt.threads > opt.peers)
		opt.threads = opt.peers;
	peers = calloc((size_t)opt.peers, sizeof(*peers));
	if (!peers)
		die("calloc");
	open_peers(peers);
	win_start = now_ns() + (int64_t)(opt.warmup * 1e9);
	win_end = win_start + (int64_t)(opt.seconds * 1e9);
	per = opt.peers / opt.threads;
	for (int i = 0, first = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];

		w->peers = peers + first;
		w->npeers = i == opt.threads - 1 ? opt.peers - first : per;
		first += w->npeers;
		latency_init(&w->hist);
		if (pthread_create(&w->th, NULL, worker_main, w))
			die("pthread_create");
	}
	sleep_until(win_start);
	ccpu0 = bench_self_cpu_seconds();
	if (opt.server_pid)
		cpu0 = bench_proc_cpu_seconds(opt.server_pid);
	sleep_until(win_end);
	ccpu1 = bench_self_cpu_seconds();
	if (opt.server_pid)
		cpu1 = bench_proc_cpu_seconds(opt.server_pid);
	atomic_store(&stop, true);
	latency_init(&all);
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].th, NULL);
		latency_merge(&all, &workers[i].hist);
		done += workers[i].done;
		lost += workers[i].lost;
		bad += workers[i].bad;
	}
	printf("peers %d, %d B: %.0f datagrams/s, p50 %.1f us, p99 %.1f us, lost %llu, bad %llu\n",
	       opt.peers, opt.size, (double)done / opt.seconds,
	       latency_quantile(&all, 0.5) / 1e3, latency_quantile(&all, 0.99) / 1e3,
	       (unsigned long long)lost, (unsigned long long)bad);
	printf("result peers=%d size=%d dgrams_per_s=%.0f p50_us=%.1f p99_us=%.1f "
	       "srv_cpu_us=%.2f cli_cpu_us=%.2f lost=%llu bad=%llu\n",
	       opt.peers, opt.size, (double)done / opt.seconds,
	       latency_quantile(&all, 0.5) / 1e3, latency_quantile(&all, 0.99) / 1e3,
	       done && opt.server_pid ? (cpu1 - cpu0) * 1e6 / (double)done : 0,
	       done ? (ccpu1 - ccpu0) * 1e6 / (double)done : 0,
	       (unsigned long long)lost, (unsigned long long)bad);
	return bad ? 1 : 0;
}
