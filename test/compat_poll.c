/* SPDX-License-Identifier: MIT */
/*
 * urnet_poll, urnet_ppoll, urnet_select and urnet_pselect: their answers
 * against the C library's over many fd states and every event bit, waits
 * that the engine ends (data on a socket, a pipe, an eventfd), close from
 * another thread, signals with and without SA_RESTART, ppoll's mask,
 * timeouts, 1,000 fds in one poll and 1,000 threads each in its own, and
 * select near FD_SETSIZE.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>

#include "compat_util.h"

/* ---------------------------------------------------------------- fd states */

#define NSTATES 24

struct states {
	int fd[NSTATES];
	const char *what[NSTATES];
	int n;
	int close[3 * NSTATES];	/* everything to close at the end */
	int nclose;
};

static void keep(struct states *st, int fd)
{
	st->close[st->nclose++] = fd;
}

static void add(struct states *st, int fd, const char *what)
{
	st->fd[st->n] = fd;
	st->what[st->n++] = what;
}

static void set_nonblock(int fd)
{
	ck_assert_int_ge(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* Every state of the list in the header, settled (the kernel's answer no longer moves). */
static void states_make(struct states *st)
{
	struct linger lg = { 1, 0 };
	struct caddr a;
	char big[65536];
	int c, s, p[2], l, fd;
	uint64_t one = 1;

	memset(st, 0, sizeof(*st));
	memset(big, 'x', sizeof(big));

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(send(s, "data", 4, 0), 4);
	add(st, c, "tcp with data");
	keep(st, c), keep(st, s);

	cu_pair(AF_INET, &c, &s);
	add(st, c, "tcp idle");
	keep(st, c), keep(st, s);

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(shutdown(s, SHUT_WR), 0);
	add(st, c, "tcp peer half-closed (EOF)");
	add(st, s, "tcp half-closed by itself");
	keep(st, c), keep(st, s);

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(send(s, "!", 1, MSG_OOB), 1);
	add(st, c, "tcp with urgent data");
	keep(st, c), keep(st, s);

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	ck_assert_int_eq(close(s), 0);
	add(st, c, "tcp reset by peer");
	keep(st, c);

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(close(s), 0);
	add(st, c, "tcp peer closed");
	keep(st, c);

	cu_pair(AF_UNIX, &c, &s);
	cu_small_buffers(c);
	set_nonblock(c);
	while (send(c, big, sizeof(big), MSG_NOSIGNAL) > 0)
		;
	add(st, c, "unix stream with a full send buffer");
	keep(st, c), keep(st, s);

	l = cu_listen(AF_INET, &a);
	fd = cu_dial(&a);
	add(st, l, "listener with a pending connection");
	keep(st, l), keep(st, fd);

	/* A port nobody listens on: the listener's, once closed. */
	l = cu_listen(AF_INET, &a);
	ck_assert_int_eq(close(l), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };

		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	}
	add(st, fd, "connect that failed");
	keep(st, fd);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	add(st, p[0], "pipe with data");
	add(st, p[1], "pipe write end");
	keep(st, p[0]), keep(st, p[1]);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(close(p[1]), 0);
	add(st, p[0], "pipe with its writer closed");
	keep(st, p[0]);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(close(p[0]), 0);
	add(st, p[1], "pipe with its reader closed");
	keep(st, p[1]);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	add(st, p[0], "empty pipe");
	keep(st, p[0]), keep(st, p[1]);

	fd = eventfd(0, EFD_CLOEXEC);
	add(st, fd, "eventfd at 0");
	keep(st, fd);
	fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
	add(st, fd, "eventfd at 1");
	keep(st, fd);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	add(st, fd, "udp socket");
	keep(st, fd);

	/* A number nobody holds: POLLNVAL, or EBADF from select. */
	fd = dup(0 <= st->fd[0] ? st->fd[0] : 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	add(st, fd, "closed number");
	add(st, -1, "negative fd");
}

static void states_free(struct states *st)
{
	for (int i = 0; i < st->nclose; i++)
		ck_assert_int_eq(urnet_close(st->close[i]), 0);
}

static const short all_bits[] = { POLLIN, POLLOUT, POLLPRI, POLLRDHUP, POLLERR, POLLHUP };

static short mask_of(unsigned k)
{
	short ev = 0;

	for (unsigned b = 0; b < 6; b++)
		if (k >> b & 1)
			ev = (short)(ev | all_bits[b]);
	return ev;
}

START_TEST(poll_answers_as_the_kernel_for_every_state_and_event_bit)
{
	struct states st;

	states_make(&st);
	for (int i = 0; i < st.n; i++) {
		for (unsigned k = 0; k < 64; k++) {
			struct pollfd mine = { .fd = st.fd[i], .events = mask_of(k) };
			struct pollfd libc = mine;
			int want = poll(&libc, 1, 0), got;

			got = urnet_poll(&mine, 1, 0);
			ck_assert_msg(got == want && mine.revents == libc.revents,
				      "%s, events %#x: urnet %d/%#x, libc %d/%#x", st.what[i],
				      (unsigned)mine.events, got, (unsigned)mine.revents, want,
				      (unsigned)libc.revents);
			/* With a timeout: where nothing is ready the engine waits, then 0. */
			mine.revents = 0x7f;
			got = urnet_poll(&mine, 1, want ? -1 : 1);
			ck_assert_msg(got == want && mine.revents == libc.revents,
				      "%s, events %#x, waiting: urnet %d/%#x, libc %d/%#x",
				      st.what[i], (unsigned)mine.events, got,
				      (unsigned)mine.revents, want, (unsigned)libc.revents);
		}
	}
	states_free(&st);
}
END_TEST

START_TEST(poll_of_all_states_at_once_answers_as_the_kernel)
{
	struct states st;
	struct pollfd mine[NSTATES], libc[NSTATES];
	uint64_t seed = 12345;

	states_make(&st);
	for (int round = 0; round < 200; round++) {
		unsigned char r[NSTATES];
		int want, got;

		test_fill(r, sizeof(r), &seed);
		for (int i = 0; i < st.n; i++) {
			mine[i] = (struct pollfd){ .fd = st.fd[i], .events = mask_of(r[i] & 63) };
			libc[i] = mine[i];
		}
		want = poll(libc, (nfds_t)st.n, 0);
		got = urnet_poll(mine, (nfds_t)st.n, round & 1);
		ck_assert_int_eq(got, want);
		for (int i = 0; i < st.n; i++)
			ck_assert_msg(mine[i].revents == libc[i].revents, "%s: urnet %#x, libc %#x",
				      st.what[i], (unsigned)mine[i].revents,
				      (unsigned)libc[i].revents);
	}
	states_free(&st);
}
END_TEST

/* select of fd in the sets given by bits (1 read, 2 write, 4 except). */
static void select_compare(const struct states *st, int i, unsigned bits, int timeout_us)
{
	fd_set m[3], l[3];
	struct timeval zero = { 0, 0 }, tv = { 0, timeout_us };
	int fd = st->fd[i], want, got, werr, gerr;

	for (int k = 0; k < 3; k++) {
		FD_ZERO(&m[k]);
		if (bits >> k & 1)
			FD_SET(fd, &m[k]);
		l[k] = m[k];
	}
	errno = 0;
	want = select(fd + 1, &l[0], &l[1], &l[2], &zero);
	werr = errno;
	errno = 0;
	got = urnet_select(fd + 1, &m[0], &m[1], &m[2], want > 0 ? NULL : &tv);
	gerr = errno;
	ck_assert_msg(got == want && (want >= 0 || gerr == werr),
		      "%s, sets %u: urnet %d (%s), libc %d (%s)", st->what[i], bits, got,
		      strerror(gerr), want, strerror(werr));
	for (int k = 0; k < 3; k++)
		ck_assert_msg(FD_ISSET(fd, &m[k]) == FD_ISSET(fd, &l[k]), "%s, sets %u: set %d",
			      st->what[i], bits, k);
}

START_TEST(select_answers_as_the_kernel_for_every_state_and_set)
{
	struct states st;

	states_make(&st);
	for (int i = 0; i < st.n; i++) {
		if (st.fd[i] < 0)
			continue;
		for (unsigned bits = 1; bits < 8; bits++) {
			select_compare(&st, i, bits, 0);
			select_compare(&st, i, bits, 1000);
		}
	}
	states_free(&st);
}
END_TEST

/* ---------------------------------------------------------------- waiting threads */

enum pkind { P_POLL, P_PPOLL, P_SELECT, P_PSELECT };

struct poller {
	enum pkind kind;
	struct pollfd fds[8];
	nfds_t n;
	int timeout_ms;		/* -1: none */
	const sigset_t *mask;
	struct timeval tv;	/* select's, after the call */
	fd_set rd;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	int ret, err;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct timespec ts = { p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000000L };
	int maxfd = -1;

	atomic_store(&p->tid, test_gettid());
	FD_ZERO(&p->rd);
	for (nfds_t i = 0; i < p->n; i++) {
		FD_SET(p->fds[i].fd, &p->rd);
		maxfd = p->fds[i].fd > maxfd ? p->fds[i].fd : maxfd;
	}
	p->tv = (struct timeval){ p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000 };
	errno = 0;
	switch (p->kind) {
	case P_POLL:
		p->ret = urnet_poll(p->fds, p->n, p->timeout_ms);
		break;
	case P_PPOLL:
		p->ret = urnet_ppoll(p->fds, p->n, p->timeout_ms < 0 ? NULL : &ts, p->mask);
		break;
	case P_SELECT:
		p->ret = urnet_select(maxfd + 1, &p->rd, NULL, NULL,
				      p->timeout_ms < 0 ? NULL : &p->tv);
		break;
	case P_PSELECT:
		p->ret = urnet_pselect(maxfd + 1, &p->rd, NULL, NULL,
				       p->timeout_ms < 0 ? NULL : &ts, p->mask);
		break;
	}
	p->err = errno;
	atomic_store(&p->done, true);
	return NULL;
}

static void poller_start(struct poller *p)
{
	atomic_store(&p->tid, 0);
	atomic_store(&p->done, false);
	ck_assert_int_eq(pthread_create(&p->th, NULL, poller_main, p), 0);
	ck_assert_msg(test_wait_blocked(&p->tid, &p->done, false), "poller never slept");
	ck_assert(!atomic_load(&p->done));
}

static void poller_join(struct poller *p)
{
	ck_assert_int_eq(pthread_join(p->th, NULL), 0);
}

static void poller_add(struct poller *p, int fd, short events)
{
	p->fds[p->n++] = (struct pollfd){ .fd = fd, .events = events };
}

START_TEST(poll_on_a_mixed_set_is_woken_by_each_kind_of_fd)
{
	int c, s, p[2], ev = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1, parked = test_parked_total();
	char buf[8];

	ck_assert_int_ge(ev, 0);
	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (int which = 0; which < 3; which++) {
		struct poller w = { .kind = P_POLL, .timeout_ms = -1 };

		poller_add(&w, c, POLLIN);
		poller_add(&w, p[0], POLLIN);
		poller_add(&w, ev, POLLIN);
		poller_start(&w);
		if (which == 0)
			ck_assert_int_eq(urnet_write(ev, &one, sizeof(one)), sizeof(one));
		else if (which == 1)
			ck_assert_int_eq(urnet_write(p[1], "x", 1), 1);
		else
			ck_assert_int_eq(urnet_send(s, "x", 1, 0), 1);
		poller_join(&w);
		ck_assert_int_eq(w.ret, 1);
		ck_assert_int_eq(w.fds[0].revents, which == 2 ? POLLIN : 0);
		ck_assert_int_eq(w.fds[1].revents, which == 1 ? POLLIN : 0);
		ck_assert_int_eq(w.fds[2].revents, which == 0 ? POLLIN : 0);
		if (which == 0)
			ck_assert_int_eq(urnet_read(ev, &one, sizeof(one)), sizeof(one));
		else if (which == 1)
			ck_assert_int_eq(urnet_read(p[0], buf, 1), 1);
		else
			ck_assert_int_eq(urnet_recv(c, buf, 1, 0), 1);
	}
	/* The waits were the engine's. */
	ck_assert_uint_ge(test_parked_total(), parked + 3);
	urnet_close(c);
	urnet_close(s);
	urnet_close(p[0]);
	urnet_close(p[1]);
	urnet_close(ev);
}
END_TEST

START_TEST(select_is_woken_by_data_and_reports_only_that_fd)
{
	int c, s, p[2];

	cu_pair(AF_INET6, &c, &s);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (int k = P_SELECT; k <= P_PSELECT; k++) {
		struct poller w = { .kind = (enum pkind)k, .timeout_ms = 60000 };
		char b;

		poller_add(&w, c, POLLIN);
		poller_add(&w, p[0], POLLIN);
		poller_start(&w);
		ck_assert_int_eq(urnet_write(p[1], "x", 1), 1);
		poller_join(&w);
		ck_assert_int_eq(w.ret, 1);
		ck_assert(FD_ISSET(p[0], &w.rd));
		ck_assert(!FD_ISSET(c, &w.rd));
		if (k == P_SELECT) {
			/* The time left is written back, as Linux does. */
			ck_assert(w.tv.tv_sec > 0 || w.tv.tv_usec > 0);
			ck_assert_int_le(w.tv.tv_sec, 60);
		}
		ck_assert_int_eq(urnet_read(p[0], &b, 1), 1);
	}
	urnet_close(c);
	urnet_close(s);
	urnet_close(p[0]);
	urnet_close(p[1]);
}
END_TEST

START_TEST(close_from_another_thread_wakes_poll_with_pollnval)
{
	int c, s, p[2];
	struct poller w = { .kind = P_POLL, .timeout_ms = -1 };

	cu_pair(AF_INET, &c, &s);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	poller_add(&w, p[0], POLLIN);
	poller_add(&w, c, POLLIN);
	poller_start(&w);
	ck_assert_int_eq(urnet_close(c), 0);
	poller_join(&w);
	ck_assert_int_eq(w.ret, 1);
	ck_assert_int_eq(w.fds[0].revents, 0);
	ck_assert_int_eq(w.fds[1].revents, POLLNVAL);
	urnet_close(s);
	urnet_close(p[0]);
	urnet_close(p[1]);
}
END_TEST

START_TEST(close_from_another_thread_wakes_select_with_ebadf)
{
	int p[2], q[2];
	struct poller w = { .kind = _i ? P_PSELECT : P_SELECT, .timeout_ms = -1 };

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
	poller_add(&w, p[0], POLLIN);
	poller_add(&w, q[0], POLLIN);
	poller_start(&w);
	ck_assert_int_eq(urnet_close(q[0]), 0);
	poller_join(&w);
	ck_assert_int_eq(w.ret, -1);
	ck_assert_int_eq(w.err, EBADF);
	urnet_close(p[0]);
	urnet_close(p[1]);
	urnet_close(q[1]);
}
END_TEST

/* ---------------------------------------------------------------- signals */

static _Atomic int signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

static void handle(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

/* One handler ran, and the call it interrupted failed with EINTR. */
static void assert_interrupted(int ret, int err)
{
	ck_assert_int_eq(atomic_load(&signals_seen), 1);
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(err, EINTR);
}

/* w polls a quiet socket until sig, sent to its thread alone, interrupts it. */
static void interrupt_poller(struct poller *w, int sig)
{
	int c, s;

	cu_pair(AF_INET, &c, &s);
	poller_add(w, c, POLLIN);
	poller_start(w);
	ck_assert_int_eq(pthread_kill(w->th, sig), 0);
	poller_join(w);
	assert_interrupted(w->ret, w->err);
	urnet_close(c);
	urnet_close(s);
}

/* _i: the call (poll, ppoll, select, pselect) x SA_RESTART or not. */
START_TEST(a_signal_handler_ends_the_wait_with_eintr_even_with_sa_restart)
{
	struct poller w = { .kind = (enum pkind)(_i / 2), .timeout_ms = _i & 1 ? -1 : 60000 };

	atomic_store(&signals_seen, 0);
	handle(SIGUSR1, _i & 1 ? SA_RESTART : 0);
	interrupt_poller(&w, SIGUSR1);
}
END_TEST

struct masked {
	int fd;
	bool pselect;
	int ret, err, seen_before;
};

/* Block SIGUSR2, make it pending, then wait with a mask that unblocks it. */
static void *masked_main(void *arg)
{
	struct masked *m = arg;
	sigset_t block, open;
	struct pollfd pf = { .fd = m->fd, .events = POLLIN };
	fd_set rd;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, &open);
	sigdelset(&open, SIGUSR2);
	pthread_kill(pthread_self(), SIGUSR2);
	m->seen_before = atomic_load(&signals_seen);
	FD_ZERO(&rd);
	FD_SET(m->fd, &rd);
	errno = 0;
	if (m->pselect)
		m->ret = urnet_pselect(m->fd + 1, &rd, NULL, NULL, NULL, &open);
	else
		m->ret = urnet_ppoll(&pf, 1, NULL, &open);
	m->err = errno;
	return NULL;
}

START_TEST(ppoll_and_pselect_mask_delivers_a_pending_signal_with_eintr)
{
	struct masked m = { .pselect = _i };
	pthread_t th;
	int c, s;

	atomic_store(&signals_seen, 0);
	handle(SIGUSR2, SA_RESTART);
	cu_pair(AF_INET, &c, &s);
	m.fd = c;
	ck_assert_int_eq(pthread_create(&th, NULL, masked_main, &m), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(m.seen_before, 0);
	assert_interrupted(m.ret, m.err);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

/* A signal that arrives while ppoll sleeps with a mask unblocking it. */
START_TEST(ppoll_mask_lets_a_signal_arriving_in_the_wait_interrupt_it)
{
	static sigset_t open;
	sigset_t block;
	struct poller w = { .kind = _i ? P_PSELECT : P_PPOLL, .timeout_ms = -1, .mask = &open };

	atomic_store(&signals_seen, 0);
	handle(SIGUSR2, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	/* The thread inherits SIGUSR2 blocked; only the mask of the wait opens it. */
	pthread_sigmask(SIG_BLOCK, &block, &open);
	sigdelset(&open, SIGUSR2);
	interrupt_poller(&w, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
}
END_TEST

/* ---------------------------------------------------------------- timeouts */

/* select on an idle fd with *tv: 0, nothing set, and no time left written back. */
static void select_idle(int fd, struct timeval *tv)
{
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	ck_assert_int_eq(urnet_select(fd + 1, &rd, NULL, NULL, tv), 0);
	ck_assert(!FD_ISSET(fd, &rd));
	ck_assert_int_eq(tv->tv_sec, 0);
	ck_assert_int_eq(tv->tv_usec, 0);
}

START_TEST(timeout_zero_answers_at_once_without_the_engine)
{
	int c, s;
	struct pollfd pf;
	struct timespec zero = { 0, 0 };
	struct timeval tv = { 0, 0 };
	uint64_t parked;

	cu_pair(AF_INET, &c, &s);
	parked = test_parked_total();
	pf = (struct pollfd){ .fd = c, .events = POLLIN };
	ck_assert_int_eq(urnet_poll(&pf, 1, 0), 0);
	ck_assert_int_eq(urnet_ppoll(&pf, 1, &zero, NULL), 0);
	select_idle(c, &tv);
	ck_assert_uint_eq(test_parked_total(), parked);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(timeout_of_one_ms_ends_an_idle_wait_with_zero)
{
	int c, s;
	struct pollfd pf;
	struct timeval tv = { 0, 1000 };
	uint64_t parked;

	cu_pair(AF_INET, &c, &s);
	parked = test_parked_total();
	pf = (struct pollfd){ .fd = c, .events = POLLIN, .revents = 0x7f };
	ck_assert_int_eq(urnet_poll(&pf, 1, 1), 0);
	ck_assert_int_eq(pf.revents, 0);
	/* Linux writes back the time left: none. */
	select_idle(c, &tv);
	ck_assert_uint_ge(test_parked_total(), parked + 2);
	/* No fds at all: a sleep. */
	ck_assert_int_eq(urnet_poll(NULL, 0, 1), 0);
	urnet_close(c);
	urnet_close(s);
}
END_TEST

START_TEST(bad_arguments_fail_as_the_kernel_says)
{
	struct pollfd pf = { .fd = 0, .events = POLLIN }, *many;
	struct timespec bad = { 0, 1000000000 };
	struct timeval badtv = { 0, -1 };
	struct rlimit rl;

	ck_assert_int_eq(urnet_ppoll(&pf, 1, &bad, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_pselect(1, NULL, NULL, NULL, &bad, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_select(1, NULL, NULL, NULL, &badtv), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_select(-1, NULL, NULL, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* An array that long, so that only the count is wrong (and a sanitizer may read it). */
	many = calloc((size_t)rl.rlim_cur + 1, sizeof(*many));
	ck_assert_ptr_nonnull(many);
	ck_assert_int_eq(urnet_poll(many, (nfds_t)rl.rlim_cur + 1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	free(many);
	ck_assert_int_eq(urnet_poll((struct pollfd *)8, 1, 1), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

/* ---------------------------------------------------------------- many */

#define MANY 1000

static void need_fds(int n)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < (rlim_t)n) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n ? rl.rlim_max : (rlim_t)n;
		setrlimit(RLIMIT_NOFILE, &rl);
		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= (rlim_t)n, "needs %d descriptors", n);
}

struct one_poll {
	int fd;
	pthread_t th;
	int ret;
	short revents;
};

static void *one_poll_main(void *arg)
{
	struct one_poll *o = arg;
	struct pollfd pf = { .fd = o->fd, .events = POLLIN };

	o->ret = urnet_poll(&pf, 1, -1);
	o->revents = pf.revents;
	return NULL;
}

struct many_poll {
	struct pollfd *pf;
	nfds_t n;
	_Atomic pid_t tid;
	_Atomic bool done;
	int ret;
};

static void *many_poll_main(void *arg)
{
	struct many_poll *m = arg;

	atomic_store(&m->tid, test_gettid());
	m->ret = urnet_poll(m->pf, m->n, -1);
	atomic_store(&m->done, true);
	return NULL;
}

START_TEST(a_thousand_fds_in_one_poll)
{
	static int sv[MANY][2];
	static struct pollfd pf[MANY];
	struct many_poll m = { .pf = pf, .n = MANY };
	pthread_t th;
	int hit = 777;

	need_fds(4 * MANY + 64);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
		pf[i] = (struct pollfd){ .fd = sv[i][0], .events = POLLIN };
	}
	ck_assert_int_eq(urnet_poll(pf, MANY, 0), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, many_poll_main, &m), 0);
	ck_assert(test_wait_blocked(&m.tid, &m.done, false));
	ck_assert_int_eq(urnet_write(sv[hit][1], "x", 1), 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(m.ret, 1);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(pf[i].revents, i == hit ? POLLIN : 0);
	for (int i = 0; i < MANY; i++) {
		urnet_close(sv[i][0]);
		urnet_close(sv[i][1]);
	}
}
END_TEST

START_TEST(a_thousand_threads_each_in_its_own_poll)
{
	static int sv[MANY][2];
	static struct one_poll o[MANY];
	pthread_attr_t attr;

	need_fds(4 * MANY + 64);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
		o[i].fd = sv[i][0];
		ck_assert_int_eq(pthread_create(&o[i].th, &attr, one_poll_main, &o[i]), 0);
	}
	pthread_attr_destroy(&attr);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(urnet_write(sv[i][1], "x", 1), 1);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(pthread_join(o[i].th, NULL), 0);
		ck_assert_int_eq(o[i].ret, 1);
		ck_assert_int_eq(o[i].revents, POLLIN);
		urnet_close(sv[i][0]);
		urnet_close(sv[i][1]);
	}
}
END_TEST

START_TEST(select_near_fd_setsize)
{
	int p[2], q[2], lo = FD_SETSIZE - 4;
	struct poller w = { .kind = P_SELECT, .timeout_ms = -1 };
	fd_set rd, lrd;
	struct timeval zero = { 0, 0 };
	char b;

	need_fds(FD_SETSIZE + 64);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
	ck_assert_int_eq(urnet_dup2(p[0], lo), lo);
	ck_assert_int_eq(urnet_dup2(q[0], FD_SETSIZE - 1), FD_SETSIZE - 1);
	poller_add(&w, lo, POLLIN);
	poller_add(&w, FD_SETSIZE - 1, POLLIN);
	poller_start(&w);
	ck_assert_int_eq(urnet_write(q[1], "x", 1), 1);
	poller_join(&w);
	ck_assert_int_eq(w.ret, 1);
	ck_assert(FD_ISSET(FD_SETSIZE - 1, &w.rd));
	ck_assert(!FD_ISSET(lo, &w.rd));
	ck_assert_int_eq(urnet_read(q[0], &b, 1), 1);
	/* A number in the sets that nobody holds: EBADF, as from the kernel. */
	FD_ZERO(&rd);
	FD_SET(lo, &rd);
	FD_SET(FD_SETSIZE - 2, &rd);
	lrd = rd;
	ck_assert_int_eq(select(FD_SETSIZE, &lrd, NULL, NULL, &zero), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(urnet_select(FD_SETSIZE, &rd, NULL, NULL, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
	urnet_close(lo);
	urnet_close(FD_SETSIZE - 1);
	urnet_close(p[0]);
	urnet_close(p[1]);
	urnet_close(q[0]);
	urnet_close(q[1]);
}
END_TEST

static Suite *poll_suite(void)
{
	Suite *s = suite_create("compat_poll");
	TCase *t;

	t = tcase_create("kernel");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, poll_answers_as_the_kernel_for_every_state_and_event_bit);
	tcase_add_test(t, poll_of_all_states_at_once_answers_as_the_kernel);
	tcase_add_test(t, select_answers_as_the_kernel_for_every_state_and_set);
	tcase_add_test(t, bad_arguments_fail_as_the_kernel_says);
	suite_add_tcase(s, t);

	t = tcase_create("wait");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, poll_on_a_mixed_set_is_woken_by_each_kind_of_fd);
	tcase_add_test(t, select_is_woken_by_data_and_reports_only_that_fd);
	tcase_add_test(t, close_from_another_thread_wakes_poll_with_pollnval);
	tcase_add_loop_test(t, close_from_another_thread_wakes_select_with_ebadf, 0, 2);
	tcase_add_test(t, timeout_zero_answers_at_once_without_the_engine);
	tcase_add_test(t, timeout_of_one_ms_ends_an_idle_wait_with_zero);
	suite_add_tcase(s, t);

	t = tcase_create("signals");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, a_signal_handler_ends_the_wait_with_eintr_even_with_sa_restart,
			    0, 8);
	tcase_add_loop_test(t, ppoll_and_pselect_mask_delivers_a_pending_signal_with_eintr, 0, 2);
	tcase_add_loop_test(t, ppoll_mask_lets_a_signal_arriving_in_the_wait_interrupt_it, 0, 2);
	suite_add_tcase(s, t);

	t = tcase_create("many");
	tcase_add_checked_fixture(t, cu_setup, cu_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, a_thousand_fds_in_one_poll);
	tcase_add_test(t, a_thousand_threads_each_in_its_own_poll);
	tcase_add_test(t, select_near_fd_setsize);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return test_run_suite(poll_suite());
}
