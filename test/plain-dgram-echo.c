/* SPDX-License-Identifier: MIT */
/*
 * A plain libc UDP or unixgram echo server and client (built without
 * urnet), run by test/preload-dgram.sh under urnet-run as two processes:
 *   plain-dgram-echo server udp|unixgram ADDRFILE
 *       binds 127.0.0.1:0 (or an abstract unix name), writes the address to
 *       ADDRFILE, and answers every datagram to its sender with blocking
 *       recvfrom/sendto from two threads until it receives "quit"
 *   plain-dgram-echo client udp|unixgram ADDRFILE COUNT
 *       sends COUNT checksummed datagrams of 0 to 8,000 bytes (the largest
 *       first) with blocking sendto, reads each answer with blocking
 *       recvfrom, checks it, prints the checksum of the whole exchange and
 *       sends "quit"
 */
#define _GNU_SOURCE

#include <stdatomic.h>
#include <sys/un.h>

#include "plain_util.h"

#define BIG 65507

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_un un;
};

static int sock(bool unixgram)
{
	int fd = socket(unixgram ? AF_UNIX : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0, "socket");
	return fd;
}

/* Bind to an ephemeral loopback port, or an autobound abstract unix name. */
static socklen_t bind_any(int fd, bool unixgram, union addr *a)
{
	socklen_t al = sizeof(*a);

	memset(a, 0, sizeof(*a));
	if (unixgram) {
		a->un.sun_family = AF_UNIX;
		CHECK(bind(fd, &a->sa, sizeof(sa_family_t)) == 0, "autobind");
	} else {
		a->in.sin_family = AF_INET;
		a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(bind(fd, &a->sa, sizeof(a->in)) == 0, "bind");
	}
	CHECK(getsockname(fd, &a->sa, &al) == 0, "getsockname");
	return al;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static char buf[2][BIG + 1];
	static _Atomic int slot;
	char *b = buf[atomic_fetch_add(&slot, 1) & 1];

	for (;;) {
		union addr from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, b, BIG + 1, 0, &from.sa, &fl);

		CHECK(n >= 0, "recvfrom");
		if (n == 4 && !memcmp(b, "quit", 4))
			break;
		CHECK(sendto(fd, b, (size_t)n, 0, &from.sa, fl) == n, "sendto");
	}
	return NULL;
}

static int server(bool unixgram, const char *file)
{
	int fd = sock(unixgram), size = 4 << 20;
	union addr a;
	socklen_t al = bind_any(fd, unixgram, &a);
	pthread_t t[2];
	char tmp[4096];
	FILE *f;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* Whole or not at all: the client reads it once it exists. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	CHECK(f && fwrite(&a, 1, al, f) == al && fclose(f) == 0, "write the address");
	CHECK(rename(tmp, file) == 0, "rename the address file");
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, serve, (void *)(intptr_t)fd) == 0, "thread");
	/* One "quit" ends one thread; the client sends two. */
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	close(fd);
	printf("server done\n");
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static int client(bool unixgram, const char *file, int count)
{
	static unsigned char out[BIG], in[BIG + 1];
	int fd = sock(unixgram), size = 4 << 20;
	uint64_t sum = 0xcbf29ce484222325ULL, x = 88172645463325252ULL;
	union addr a, self;
	socklen_t al;
	FILE *f = NULL;

	/* The server writes its address once it is bound. */
	for (int i = 0; i < 10000 && !f; i++) {
		f = fopen(file, "r");
		if (!f)
			usleep(1000);
	}
	CHECK(f != NULL, "read the address");
	al = (socklen_t)fread(&a, 1, sizeof(a), f);
	fclose(f);
	CHECK(al > 0, "an address");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	bind_any(fd, unixgram, &self);
	for (int i = 0; i < count; i++) {
		size_t len = i == 0 ? (unixgram ? 8000 : BIG) : (size_t)(x % 8001);
		union addr from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			out[j] = (unsigned char)x;
		}
		CHECK(sendto(fd, out, len, 0, &a.sa, al) == (ssize_t)len, "sendto");
		n = recvfrom(fd, in, sizeof(in), 0, &from.sa, &fl);
		CHECK(n == (ssize_t)len, "the answer's length");
		CHECK(!memcmp(in, out, len), "the answer's bytes");
		sum = fnv(sum, in, len);
	}
	for (int i = 0; i < 2; i++)
		CHECK(sendto(fd, "quit", 4, 0, &a.sa, al) == 4, "quit");
	close(fd);
	printf("client: %d datagrams, checksum %016llx\n", count, (unsigned long long)sum);
	return 0;
}

int main(int argc, char **argv)
{
	bool unixgram;

	if (argc < 4)
		return 2;
	mode = argv[1];
	unixgram = !strcmp(argv[2], "unixgram");
	setvbuf(stdout, NULL, _IOLBF, 0);
	watchdog(60);
	if (!strcmp(mode, "server"))
		return server(unixgram, argv[3]);
	if (!strcmp(mode, "client") && argc == 5)
		return client(unixgram, argv[3], atoi(argv[4]));
	return 2;
}
