/* SPDX-License-Identifier: MIT */
/*
 * echo-server: a thread-per-connection echo server on urnet's object API.
 *
 * Shows: urnet_listen, urnet_listener_addr, urnet_listener_accept, one
 * thread per conn looping urnet_conn_read / urnet_conn_write, and
 * urnet_conn_close.  Every call blocks its thread like a BSD socket call;
 * the waiting is done by io_uring in urnet's engine thread.
 *
 * Run:
 *	./examples/echo-server                 # listens on 127.0.0.1, ephemeral port
 *	./examples/echo-server 127.0.0.1:7000  # or on the address given
 *	./examples/client 127.0.0.1:7000 hello # in another terminal
 *
 * It prints "listening on ADDRESS" and serves until killed (see
 * graceful-shutdown.c for a server that stops cleanly).
 *
 * Build: cc echo-server.c $(pkg-config --cflags --libs urnet) -pthread
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <urnet.h>

static void *serve(void *arg)
{
	urnet_conn *c = arg;
	char buf[16384];
	ssize_t n;

	/* read returns as soon as some bytes are there; 0 is end of stream. */
	while ((n = urnet_conn_read(c, buf, sizeof(buf))) > 0) {
		/* write sends all n bytes, or fails. */
		if (urnet_conn_write(c, buf, (size_t)n) < 0) {
			fprintf(stderr, "echo-server: write to %s: %s\n",
				urnet_conn_remote_addr(c), strerror(errno));
			break;
		}
	}
	if (n < 0)
		fprintf(stderr, "echo-server: read: %s\n", strerror(errno));
	urnet_conn_close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *address = argc > 1 ? argv[1] : "127.0.0.1:0";
	urnet_listener *l = urnet_listen("tcp", address);
	pthread_attr_t attr;

	if (!l) {
		fprintf(stderr, "echo-server: listen on %s: %s\n", address, strerror(errno));
		return 1;
	}
	printf("listening on %s\n", urnet_listener_addr(l));
	fflush(stdout);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		urnet_conn *c = urnet_listener_accept(l);
		pthread_t t;
		int err;

		if (!c) {
			/* EMFILE and the like: the connection stays queued; go on. */
			fprintf(stderr, "echo-server: accept: %s\n", strerror(errno));
			continue;
		}
		err = pthread_create(&t, &attr, serve, c);
		if (err) {
			fprintf(stderr, "echo-server: pthread_create: %s\n", strerror(err));
			urnet_conn_close(c);
		}
	}
}
