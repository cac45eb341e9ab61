/* SPDX-License-Identifier: MIT */
/*
 * Stress and soak, run by `make stress` (test/stress.sh), bounded in time.
 *
 *   stress echo CONNS THREADS SECONDS
 *	CONNS connections to a thread-per-connection echo server on the object
 *	API, driven by THREADS client threads for SECONDS: each message has a
 *	random size, its echo is checked byte for byte, and at the end every
 *	conn half-closes and the server's byte count must equal the clients'.
 *	No fd may leak and the resident set must stay flat after warm-up.
 *   stress races SECONDS
 *	Close/cancel races in a loop: readers and writers on a pair while other
 *	threads move deadlines, shut down halves and (in compat) close the fd.
 *
 * Prints one summary line; exit 0 when every byte matched and nothing leaked.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "urnet.h"
#include "urnet_compat.h"

#define SEC 1000000000LL
#define MAX_MSG 16384

static _Atomic int failed;

#define FAIL(...) do {							\
	fprintf(stderr, "stress: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	atomic_store(&failed, 1);					\
} while (0)

static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#if defined(__SANITIZE_THREAD__)
/*
 * compat_round closes an fd while its readers and writers may be making
 * their first try, which (as the C library's calls would) races the
 * close: that is the race under test, not one of urnet's.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:compat_round\n";
}
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#else
#define UNDER_SANITIZER 0
#endif

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	fclose(f);
	return v;
}

static bool read_full(urnet_conn *c, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = urnet_conn_read(c, buf + done, len - done);

		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* ---------------------------------------------------------------- echo */

struct server_conn {
	urnet_conn *c;
	pthread_t th;
	uint64_t bytes;
};

static void *server_main(void *arg)
{
	struct server_conn *s = arg;
	unsigned char buf[MAX_MSG];
	ssize_t n;

	while ((n = urnet_conn_read(s->c, buf, sizeof(buf))) > 0) {
		if (urnet_conn_write(s->c, buf, (size_t)n) != n) {
			FAIL("server write: %s", strerror(errno));
			break;
		}
		s->bytes += (uint64_t)n;
	}
	if (n < 0)
		FAIL("server read: %s", strerror(errno));
	urnet_conn_close(s->c);
	return NULL;
}

struct client {
	urnet_conn **conns;
	int nconn;
	int64_t end;
	uint64_t seed;
	uint64_t bytes, msgs;
};

static void *client_main(void *arg)
{
	struct client *cl = arg;
	unsigned char *out = malloc(MAX_MSG), *in = malloc(MAX_MSG);

	if (!out || !in) {
		FAIL("out of memory");
		return NULL;
	}
	while (urnet_now_ns() < cl->end && !atomic_load(&failed)) {
		for (int i = 0; i < cl->nconn; i++) {
			size_t len = 1 + (size_t)(next_rand(&cl->seed) % MAX_MSG);

			for (size_t k = 0; k < len; k += 8) {
				uint64_t r = next_rand(&cl->seed);

				memcpy(out + k, &r, len - k < 8 ? len - k : 8);
			}
			if (urnet_conn_write(cl->conns[i], out, len) != (ssize_t)len) {
				FAIL("client write: %s", strerror(errno));
				goto out;
			}
			if (!read_full(cl->conns[i], in, len)) {
				FAIL("client read: %s", strerror(errno));
				goto out;
			}
			if (memcmp(out, in, len)) {
				FAIL("corrupted echo on conn %d (%zu bytes)", i, len);
				goto out;
			}
			cl->bytes += len;
			cl->msgs++;
		}
	}
out:
	free(out);
	free(in);
	return NULL;
}

static int run_echo(int nconn, int nthreads, int seconds)
{
	struct server_conn *srv = calloc((size_t)nconn, sizeof(*srv));
	urnet_conn **conns = calloc((size_t)nconn, sizeof(*conns));
	struct client *cl = calloc((size_t)nthreads, sizeof(*cl));
	pthread_t *cth = calloc((size_t)nthreads, sizeof(*cth));
	uint64_t sent = 0, echoed = 0, msgs = 0;
	long rss_warm = -1, rss_end;
	pthread_attr_t attr;
	urnet_listener *l;
	int fds, per;
	int64_t start;

	if (!srv || !conns || !cl || !cth)
		return 2;
	if (!urnet_default_engine())
		return 2;
	fds = test_count_fds();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 << 10);
	l = urnet_listen("tcp4", "127.0.0.1:0");
	if (!l)
		return 2;
	for (int i = 0; i < nconn; i++) {
		conns[i] = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC);
		srv[i].c = conns[i] ? urnet_listener_accept(l) : NULL;
		if (!srv[i].c) {
			FAIL("connect %d: %s", i, strerror(errno));
			return 1;
		}
		if (pthread_create(&srv[i].th, &attr, server_main, &srv[i])) {
			FAIL("server thread %d", i);
			return 1;
		}
	}
	urnet_listener_close(l);
	start = urnet_now_ns();
	per = (nconn + nthreads - 1) / nthreads;
	for (int t = 0; t < nthreads; t++) {
		int first = t * per;

		cl[t].conns = conns + first;
		cl[t].nconn = first >= nconn ? 0 : (nconn - first < per ? nconn - first : per);
		cl[t].end = start + (int64_t)seconds * SEC;
		cl[t].seed = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(t + 1);
		if (pthread_create(&cth[t], &attr, client_main, &cl[t])) {
			FAIL("client thread %d", t);
			return 1;
		}
	}
	/* Warm-up: a third of the run, then the resident set must stay put. */
	while (urnet_now_ns() < start + (int64_t)seconds * SEC / 3 && !atomic_load(&failed))
		usleep(50 * 1000);
	rss_warm = rss_kib();
	for (int t = 0; t < nthreads; t++) {
		pthread_join(cth[t], NULL);
		sent += cl[t].bytes;
		msgs += cl[t].msgs;
	}
	rss_end = rss_kib();
	for (int i = 0; i < nconn; i++)
		if (urnet_conn_close_write(conns[i]))
			FAIL("close_write: %s", strerror(errno));
	for (int i = 0; i < nconn; i++) {
		pthread_join(srv[i].th, NULL);
		echoed += srv[i].bytes;
		urnet_conn_close(conns[i]);
	}
	if (echoed != sent)
		FAIL("server echoed %llu bytes, clients got %llu back",
		     (unsigned long long)echoed, (unsigned long long)sent);
	if (test_count_fds() != fds)
		FAIL("fds: %d before, %d after", fds, test_count_fds());
	/*
	 * Flat: allow 16 MiB of allocator and kernel noise over the warm figure.
	 * A sanitizer's shadow memory and quarantine grow by design; there the
	 * sanitizer itself is the leak check.
	 */
	if (!UNDER_SANITIZER && rss_warm > 0 && rss_end > rss_warm + 16384)
		FAIL("RSS grew from %ld to %ld KiB", rss_warm, rss_end);
	printf("stress echo: backend=%s conns=%d threads=%d seconds=%d messages=%llu "
	       "bytes_checked=%llu rss_warm_kib=%ld rss_end_kib=%ld fds_leaked=%d %s\n",
	       urnet_engine_backend(urnet_default_engine()), nconn, nthreads, seconds,
	       (unsigned long long)msgs, (unsigned long long)(2 * sent), rss_warm, rss_end,
	       test_count_fds() - fds, atomic_load(&failed) ? "FAILED" : "ok");
	pthread_attr_destroy(&attr);
	free(srv);
	free(conns);
	free(cl);
	free(cth);
	return atomic_load(&failed) ? 1 : 0;
}

/* ---------------------------------------------------------------- races */

struct race {
	urnet_conn *c;
	int fd;			/* compat rounds: the raw socket */
	uint64_t seed;
	_Atomic int stop, meddle_stop;
	_Atomic uint64_t ops;
};

/* Any outcome is fine except a crash, a hang or an errno outside the contract. */
static void check_api_errno(const char *what)
{
	if (errno != ECANCELED && errno != ETIMEDOUT && errno != EPIPE &&
	    errno != ECONNRESET)
		FAIL("%s: unexpected %s", what, strerror(errno));
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	char buf[4096];

	while (!atomic_load(&r->stop)) {
		ssize_t n = urnet_conn_read(r->c, buf, sizeof(buf));

		atomic_fetch_add(&r->ops, 1);
		if (n < 0)
			check_api_errno("read");
	}
	return NULL;
}

static void *race_writer(void *arg)
{
	struct race *r = arg;
	char buf[8192] = { 0 };

	while (!atomic_load(&r->stop)) {
		ssize_t n = urnet_conn_write(r->c, buf, sizeof(buf));

		atomic_fetch_add(&r->ops, 1);
		if (n < 0)
			check_api_errno("write");
	}
	return NULL;
}

/* Deadlines to the past and back, and half-closes, at random moments. */
static void *race_meddler(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->meddle_stop)) {
		switch (next_rand(&r->seed) % 4) {
		case 0:
			urnet_conn_set_deadline(r->c, 1);
			break;
		case 1:
			urnet_conn_set_deadline(r->c, 0);
			break;
		case 2:
			urnet_conn_set_read_deadline(r->c, urnet_now_ns() + 100000);
			break;
		default:
			sched_yield();
			break;
		}
	}
	return NULL;
}

/* One api round: two readers, two writers and a meddler, then closes. */
static void api_round(urnet_listener *l, uint64_t seed)
{
	struct race r[2] = { { .seed = seed }, { .seed = seed ^ 0xabcdef } };
	pthread_t th[2][4];
	urnet_conn *c = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC);
	urnet_conn *s = c ? urnet_listener_accept(l) : NULL;

	if (!s) {
		FAIL("race pair: %s", strerror(errno));
		return;
	}
	r[0].c = c;
	r[1].c = s;
	for (int k = 0; k < 2; k++) {
		pthread_create(&th[k][0], NULL, race_reader, &r[k]);
		pthread_create(&th[k][1], NULL, race_writer, &r[k]);
		pthread_create(&th[k][2], NULL, race_meddler, &r[k]);
		pthread_create(&th[k][3], NULL, race_reader, &r[k]);
	}
	/* Let them collide for a moment, then cut one half and stop. */
	while (atomic_load(&r[0].ops) + atomic_load(&r[1].ops) < 50 &&
	       !atomic_load(&failed))
		sched_yield();
	if (seed & 1)
		urnet_conn_close_write(c);
	else
		urnet_conn_close_read(s);
	/* Meddlers first, so that none clears the final deadline. */
	for (int k = 0; k < 2; k++)
		atomic_store(&r[k].meddle_stop, 1);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k][2], NULL);
	urnet_conn_set_deadline(c, 1);
	urnet_conn_set_deadline(s, 1);
	for (int k = 0; k < 2; k++)
		atomic_store(&r[k].stop, 1);
	for (int k = 0; k < 2; k++)
		for (int j = 0; j < 4; j++)
			if (j != 2)
				pthread_join(th[k][j], NULL);
	urnet_conn_close(c);
	urnet_conn_close(s);
}

/*
 * A call that starts after the close has returned may find the number
 * already reused (by an eventfd the engine opens for another fd): that is
 * ENOTSOCK, the application's own race, as with libc.  Calls blocked when
 * close() runs must come back with EBADF.
 */
static void check_compat_errno(const char *what)
{
	if (errno != EBADF && errno != ECONNRESET && errno != EPIPE && errno != ENOTSOCK)
		FAIL("compat %s: %s", what, strerror(errno));
}

static void *compat_reader(void *arg)
{
	struct race *r = arg;
	char buf[4096];

	atomic_fetch_add(&r->ops, 1);
	if (urnet_recv(r->fd, buf, sizeof(buf), 0) < 0)
		check_compat_errno("recv");
	return NULL;
}

static void *compat_writer(void *arg)
{
	struct race *r = arg;
	static char buf[1 << 20];

	atomic_fetch_add(&r->ops, 1);
	if (urnet_send(r->fd, buf, sizeof(buf), MSG_NOSIGNAL) < 0)
		check_compat_errno("send");
	return NULL;
}

/* One compat round: recv and a 1 MiB send on both ends, then close(). */
static void compat_round(uint64_t seed)
{
	struct race r[2];
	pthread_t th[2][2];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		FAIL("socketpair: %s", strerror(errno));
		return;
	}
	for (int k = 0; k < 2; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].fd = sv[k];
		pthread_create(&th[k][0], NULL, compat_reader, &r[k]);
		pthread_create(&th[k][1], NULL, compat_writer, &r[k]);
	}
	while (atomic_load(&r[0].ops) + atomic_load(&r[1].ops) < 4)
		sched_yield();
	for (uint64_t i = seed % 64; i > 0; i--)
		sched_yield();
	/* close() wakes the calls blocked on it with EBADF, and the peer's. */
	urnet_close(sv[seed & 1]);
	urnet_shutdown(sv[!(seed & 1)], SHUT_RDWR);
	for (int k = 0; k < 2; k++)
		for (int j = 0; j < 2; j++)
			pthread_join(th[k][j], NULL);
	urnet_close(sv[!(seed & 1)]);
}

static int run_races(int seconds)
{
	int64_t end;
	uint64_t seed = 1, rounds = 0;
	urnet_listener *l;
	int fds;

	if (!urnet_default_engine())
		return 2;
	fds = test_count_fds();
	l = urnet_listen("tcp4", "127.0.0.1:0");
	if (!l)
		return 2;
	end = urnet_now_ns() + (int64_t)seconds * SEC;
	while (urnet_now_ns() < end && !atomic_load(&failed)) {
		api_round(l, next_rand(&seed));
		compat_round(next_rand(&seed));
		rounds++;
	}
	urnet_listener_close(l);
	if (test_count_fds() != fds)
		FAIL("fds: %d before, %d after", fds, test_count_fds());
	printf("stress races: backend=%s seconds=%d rounds=%llu fds_leaked=%d %s\n",
	       urnet_engine_backend(urnet_default_engine()), seconds,
	       (unsigned long long)rounds, test_count_fds() - fds,
	       atomic_load(&failed) ? "FAILED" : "ok");
	return atomic_load(&failed) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "echo"))
		return run_echo(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "races"))
		return run_races(atoi(argv[2]));
	fprintf(stderr, "usage: stress echo CONNS THREADS SECONDS | stress races SECONDS\n");
	return 2;
}
