/* SPDX-License-Identifier: MIT */
/*
 * A plain echo client written only with libc calls, built without urnet.
 *   plain-echo-client PORT NCONN NMSG
 * Opens NCONN connections to 127.0.0.1:PORT at once (one thread each),
 * sends NMSG messages of varying size on each, checks the echo with a
 * checksum, half-closes and expects EOF.  Exit 0 when every byte matched.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port, nmsg;
/* Always 0, but the compiler cannot know: fortified builds call __recv_chk. */
static volatile size_t slack;
static pthread_barrier_t all_connected;
static _Atomic int failures;

static uint64_t sum(uint64_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void fail(int id, const char *what)
{
	fprintf(stderr, "plain-echo-client: conn %d: %s: %s\n", id, what, strerror(errno));
	atomic_fetch_add(&failures, 1);
}

static void *conn_main(void *arg)
{
	int id = (int)(intptr_t)arg, fd;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned char out[4096], in[4096];
	uint64_t so = 0xcbf29ce484222325ULL, si = so, x = (uint64_t)id * 7919 + 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fail(id, "connect");
		pthread_barrier_wait(&all_connected);
		return NULL;
	}
	pthread_barrier_wait(&all_connected);
	for (int m = 0; m < nmsg; m++) {
		size_t len = 1 + (size_t)((id * 131 + m * 977) % (int)sizeof(out)), got = 0;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			out[i] = (unsigned char)x;
		}
		so = sum(so, out, len);
		if (send(fd, out, len, 0) != (ssize_t)len) {
			fail(id, "send");
			goto out;
		}
		while (got < len) {
			ssize_t n = recv(fd, in + got, len - got - slack, 0);

			if (n <= 0) {
				fail(id, n == 0 ? "early EOF" : "recv");
				goto out;
			}
			got += (size_t)n;
		}
		si = sum(si, in, len);
	}
	if (so != si) {
		errno = 0;
		fail(id, "checksum mismatch");
	}
	shutdown(fd, SHUT_WR);
	if (recv(fd, in, sizeof(in), 0) != 0)
		fail(id, "no EOF after half-close");
out:
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *th;
	int n;

	if (argc != 4 || (port = atoi(argv[1])) <= 0 || (n = atoi(argv[2])) <= 0 ||
	    (nmsg = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: plain-echo-client PORT NCONN NMSG\n");
		return 2;
	}
	th = calloc((size_t)n, sizeof(*th));
	pthread_barrier_init(&all_connected, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, conn_main, (void *)(intptr_t)i)) {
			fprintf(stderr, "plain-echo-client: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (atomic_load(&failures)) {
		fprintf(stderr, "plain-echo-client: %d connections failed\n", atomic_load(&failures));
		return 1;
	}
	printf("plain-echo-client: %d connections x %d messages verified\n", n, nmsg);
	return 0;
}
