/* SPDX-License-Identifier: MIT */
/*
 * event-loop: an echo server as an event loop on urnet's generic engine
 * API, with no loop of its own.
 *
 * Shows urnet_engine_submit: each step (accept, recv, send, close) is an
 * io_uring operation handed to the default engine with a prep callback,
 * which fills the SQE with a liburing io_uring_prep_* helper, and a
 * completion callback, which runs on the engine thread with the result
 * and submits the next step.  All callbacks run on that one thread, so
 * the state they share needs no lock; they must never block.
 * bench/echo-engine.c is the fast version of the same idea (multishot
 * accept and recv, provided buffers).
 *
 * Needs the io_uring backend: on the syscall backend (no io_uring, or
 * URNET_BACKEND=syscall) operations run one after another as blocking
 * system calls, and an event loop cannot run on those.
 *
 * Run:
 *	./examples/event-loop       # forever
 *	./examples/event-loop 2     # exit after 2 connections have ended
 *	./examples/client 127.0.0.1:PORT hello    # another terminal
 *
 * Prints "listening on 127.0.0.1:PORT"; with a count, "served N
 * connections" at the end, exit status 0.
 *
 * Build: cc event-loop.c $(pkg-config --cflags --libs urnet liburing)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urnet_engine.h>

struct conn {
	int fd;
	unsigned len, off;		/* bytes in buf, bytes of them sent */
	char buf[4096];
};

/* Touched only on the engine thread, in callbacks: no locks. */
static urnet_engine *engine;
static int listen_fd;
static long max_conns;			/* 0: serve forever */
static long accepted, closed;
static sem_t finished;			/* posted when max_conns have ended */

static void submit(urnet_prep_fn prep, urnet_complete_fn done, void *arg)
{
	int ret = urnet_engine_submit(engine, prep, done, arg);

	if (ret < 0) {
		fprintf(stderr, "event-loop: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

static void on_accept(int res, unsigned flags, void *arg);
static void on_recv(int res, unsigned flags, void *arg);
static void on_send(int res, unsigned flags, void *arg);
static void on_close(int res, unsigned flags, void *arg);

static void prep_accept(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
}

static void prep_recv(struct io_uring_sqe *sqe, void *arg)
{
	struct conn *c = arg;

	io_uring_prep_recv(sqe, c->fd, c->buf, sizeof(c->buf), 0);
}

static void prep_send(struct io_uring_sqe *sqe, void *arg)
{
	struct conn *c = arg;

	io_uring_prep_send(sqe, c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
}

static void prep_close(struct io_uring_sqe *sqe, void *arg)
{
	struct conn *c = arg;

	io_uring_prep_close(sqe, c->fd);
}

static void on_accept(int res, unsigned flags, void *arg)
{
	struct conn *c;

	(void)flags;
	(void)arg;
	if (res < 0) {
		fprintf(stderr, "event-loop: accept: %s\n", strerror(-res));
	} else if (!(c = calloc(1, sizeof(*c)))) {
		close(res);
	} else {
		c->fd = res;
		accepted++;
		submit(prep_recv, on_recv, c);
	}
	/* The next accept, unless every connection wanted has come. */
	if (max_conns == 0 || accepted < max_conns)
		submit(prep_accept, on_accept, NULL);
}

static void on_recv(int res, unsigned flags, void *arg)
{
	struct conn *c = arg;

	(void)flags;
	if (res <= 0) {			/* end of stream, or an error: done */
		submit(prep_close, on_close, c);
		return;
	}
	c->len = (unsigned)res;
	c->off = 0;
	submit(prep_send, on_send, c);
}

static void on_send(int res, unsigned flags, void *arg)
{
	struct conn *c = arg;

	(void)flags;
	if (res < 0) {
		submit(prep_close, on_close, c);
		return;
	}
	c->off += (unsigned)res;
	if (c->off < c->len)
		submit(prep_send, on_send, c);	/* a short send: the rest */
	else
		submit(prep_recv, on_recv, c);
}

static void on_close(int res, unsigned flags, void *arg)
{
	(void)res;
	(void)flags;
	free(arg);
	if (++closed == max_conns)
		sem_post(&finished);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1;

	max_conns = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	if (max_conns < 0) {
		fprintf(stderr, "usage: event-loop [NCONN]\n");
		return 2;
	}
	engine = urnet_default_engine();
	if (!engine) {
		fprintf(stderr, "event-loop: no engine: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(urnet_engine_backend(engine), "io_uring") != 0) {
		fprintf(stderr, "event-loop: needs the io_uring backend, not %s\n",
			urnet_engine_backend(engine));
		return 2;
	}

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listen_fd < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 128) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("event-loop: listen");
		return 1;
	}
	printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);

	sem_init(&finished, 0, 0);
	submit(prep_accept, on_accept, NULL);
	/* From here on the engine thread does everything; main just waits. */
	while (sem_wait(&finished) < 0 && errno == EINTR)
		;
	close(listen_fd);
	printf("served %ld connections\n", closed);
	return 0;
}
