/* SPDX-License-Identifier: MIT */
/*
 * client: talks to an echo server with a dial timeout and read deadlines.
 *
 * Shows: urnet_dial with a timeout, urnet_conn_set_read_deadline with
 * urnet_now_ns, reading until a whole reply is in, and what ETIMEDOUT
 * looks like: once every message has come back, the client waits a
 * little longer for more and reports the deadline passing (or the server
 * closing the connection).
 *
 * Run (with examples/echo-server, or any echo server, listening):
 *	./examples/client 127.0.0.1:7000 hello world
 *	./examples/client -w 5000 127.0.0.1:7000 hello   # wait 5 s at the end
 *
 * Prints "connected to ADDRESS", "echo: MESSAGE" per message, then
 * "no more data within N ms (ETIMEDOUT)" or "server closed the connection".
 * Exit status 0, or 1 on any other error.
 *
 * Build: cc client.c $(pkg-config --cflags --libs urnet)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urnet.h>

#define MS 1000000LL			/* nanoseconds */
#define DIAL_TIMEOUT (2000 * MS)	/* relative: urnet_dial takes a timeout */
#define REPLY_TIMEOUT (2000 * MS)	/* per reply, set as an absolute deadline */

/* Read exactly len bytes: 0, or -1 with errno (ETIMEDOUT, ECONNRESET...). */
static int read_full(urnet_conn *c, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = urnet_conn_read(c, buf + got, len - got);

		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;	/* closed before the whole reply came */
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long wait_ms = 200;
	urnet_conn *c;
	char buf[4096];
	ssize_t n;
	int opt;

	/* A line at a time even into a pipe, for whoever watches the output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt != 'w')
			goto usage;
		wait_ms = strtol(optarg, NULL, 10);
	}
	if (optind >= argc || wait_ms < 0)
		goto usage;

	c = urnet_dial("tcp", argv[optind], DIAL_TIMEOUT);
	if (!c) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "client: no connection within 2 s\n");
		else
			fprintf(stderr, "client: dial %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	printf("connected to %s\n", urnet_conn_remote_addr(c));

	for (int i = optind + 1; i < argc; i++) {
		size_t len = strlen(argv[i]);

		if (len > sizeof(buf)) {
			fprintf(stderr, "client: message too long\n");
			goto fail;
		}
		if (urnet_conn_write(c, argv[i], len) < 0) {
			fprintf(stderr, "client: write: %s\n", strerror(errno));
			goto fail;
		}
		/* A deadline is absolute: move it before each reply. */
		urnet_conn_set_read_deadline(c, urnet_now_ns() + REPLY_TIMEOUT);
		if (read_full(c, buf, len) < 0) {
			if (errno == ETIMEDOUT)
				fprintf(stderr, "client: no reply within 2 s\n");
			else
				fprintf(stderr, "client: read: %s\n", strerror(errno));
			goto fail;
		}
		printf("echo: %.*s\n", (int)len, buf);
	}

	/* Anything more?  An echo server sends nothing: the deadline passes. */
	urnet_conn_set_read_deadline(c, urnet_now_ns() + wait_ms * MS);
	n = urnet_conn_read(c, buf, sizeof(buf));
	if (n < 0 && errno == ETIMEDOUT) {
		printf("no more data within %ld ms (ETIMEDOUT)\n", wait_ms);
	} else if (n == 0) {
		printf("server closed the connection\n");
	} else if (n > 0) {
		printf("unexpected: %zd more bytes\n", n);
	} else {
		fprintf(stderr, "client: read: %s\n", strerror(errno));
		goto fail;
	}
	urnet_conn_close(c);
	return 0;
fail:
	urnet_conn_close(c);
	return 1;
usage:
	fprintf(stderr, "usage: client [-w MS] ADDRESS [MESSAGE...]\n");
	return 2;
}
