/* SPDX-License-Identifier: MIT */
/*
 * graceful-shutdown: an echo server that stops cleanly on SIGINT or SIGTERM.
 *
 * Shows how to stop threads that are blocked in urnet calls without
 * freeing an object under them:
 *   - SIGINT and SIGTERM are blocked in every thread and taken by one
 *     signal thread with sigwait(), which calls urnet_listener_shutdown();
 *   - the accept loop then ends (accept fails with ECANCELED);
 *   - urnet_conn_close_read() on each open conn makes its thread's
 *     blocked read return 0, so every conn thread ends by itself;
 *   - the conn threads are joined, and only then are the conns and the
 *     listener closed (a close frees the object: never close under a
 *     thread still using it).
 *
 * Run:
 *	./examples/graceful-shutdown [ADDRESS]     # default 127.0.0.1:0
 *	./examples/client -w 60000 ADDRESS hello   # in another terminal
 *	kill -TERM <pid>    (or Ctrl-C)            # client: "server closed the connection"
 *
 * Prints "listening on ADDRESS", then at the signal "shutting down: closing N
 * connections" and "bye"; exit status 0.
 *
 * Build: cc graceful-shutdown.c $(pkg-config --cflags --libs urnet) -pthread
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urnet.h>

/* One per connection; the list is what shutdown walks. */
struct worker {
	urnet_conn *conn;
	pthread_t thread;
	bool done;			/* the thread has returned: join it */
	struct worker *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *workers;
static urnet_listener *listener;
static sigset_t stop_signals;

static void *serve(void *arg)
{
	struct worker *w = arg;
	char buf[16384];
	ssize_t n;

	while ((n = urnet_conn_read(w->conn, buf, sizeof(buf))) > 0)
		if (urnet_conn_write(w->conn, buf, (size_t)n) < 0)
			break;
	/* The conn is closed by whoever joins this thread, not here. */
	pthread_mutex_lock(&lock);
	w->done = true;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void finish(struct worker *w)
{
	pthread_join(w->thread, NULL);
	urnet_conn_close(w->conn);
	free(w);
}

/* Join the threads whose connections have ended (called by the accept loop). */
static void reap(void)
{
	struct worker **pp, *w, *ended = NULL;

	pthread_mutex_lock(&lock);
	for (pp = &workers; (w = *pp);) {
		if (w->done) {
			*pp = w->next;
			w->next = ended;
			ended = w;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&lock);
	while ((w = ended)) {
		ended = w->next;
		finish(w);
	}
}

static void *signal_thread(void *arg)
{
	int sig;

	(void)arg;
	if (sigwait(&stop_signals, &sig) == 0)
		fprintf(stderr, "graceful-shutdown: %s\n", strsignal(sig));
	/* Ends the accept loop; the listener itself stays valid. */
	urnet_listener_shutdown(listener);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *address = argc > 1 ? argv[1] : "127.0.0.1:0";
	pthread_t sig_thread;
	struct worker *w;
	unsigned open_conns = 0;
	int err;

	/* Before any thread starts, so that every thread inherits the mask. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	listener = urnet_listen("tcp", address);
	if (!listener) {
		fprintf(stderr, "graceful-shutdown: listen on %s: %s\n", address, strerror(errno));
		return 1;
	}
	err = pthread_create(&sig_thread, NULL, signal_thread, NULL);
	if (err) {
		fprintf(stderr, "graceful-shutdown: pthread_create: %s\n", strerror(err));
		return 1;
	}
	printf("listening on %s\n", urnet_listener_addr(listener));
	fflush(stdout);

	for (;;) {
		urnet_conn *c = urnet_listener_accept(listener);

		reap();
		if (!c) {
			if (errno == ECANCELED)
				break;		/* urnet_listener_shutdown(): stop */
			fprintf(stderr, "graceful-shutdown: accept: %s\n", strerror(errno));
			continue;
		}
		w = calloc(1, sizeof(*w));
		if (!w) {
			urnet_conn_close(c);
			continue;
		}
		w->conn = c;
		pthread_mutex_lock(&lock);
		err = pthread_create(&w->thread, NULL, serve, w);
		if (!err) {
			w->next = workers;
			workers = w;
		}
		pthread_mutex_unlock(&lock);
		if (err) {
			urnet_conn_close(c);
			free(w);
		}
	}

	/* Wake every conn thread: its blocked read returns 0, end of stream. */
	pthread_mutex_lock(&lock);
	for (w = workers; w; w = w->next) {
		urnet_conn_close_read(w->conn);
		open_conns++;
	}
	pthread_mutex_unlock(&lock);
	printf("shutting down: closing %u connections\n", open_conns);

	/* No thread adds workers any more: join them all, then close. */
	while ((w = workers)) {
		workers = w->next;
		finish(w);
	}
	pthread_join(sig_thread, NULL);
	urnet_listener_close(listener);
	printf("bye\n");
	return 0;
}
