/* SPDX-License-Identifier: MIT */
/*
 * Plain libc programs (built without urnet) for blocking datagram
 * sockets, run by test/preload-dgram.sh bare and under the interposer on
 * both engine backends; each mode prints what it observed and the runs
 * must agree:
 *   flags      MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_ERRQUEUE,
 *              O_NONBLOCK, zero-length datagrams and buffers, read/write,
 *              recvmsg's msg_flags, ICMP port unreachable on a connected socket
 *   timeo      SO_RCVTIMEO on recv, recvfrom, recvmsg, recvmmsg; SO_SNDTIMEO
 *              on a unixgram send to a full queue
 *   signals    EINTR and SA_RESTART for a blocked recvfrom, with and without
 *              SO_RCVTIMEO; recvmmsg with a timeout is never restarted, one
 *              with a datagram in hand returns its count
 *   mmsg       sendmmsg and recvmmsg, MSG_WAITFORONE, a zero timeout, vlen 0
 *   shutdown   shutdown() of an unconnected UDP socket (ENOTCONN) still wakes
 *              a blocked recvfrom, which returns 0
 *   close-wake (under the interposer only) close() from another thread wakes
 *              a blocked recvfrom with EBADF, where bare Linux would leave it
 * Exit 0 on success; a failure or a hang (a watchdog ends it) says what
 * went wrong on stderr.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#include "plain_util.h"

static const char *res(ssize_t n, int err)
{
	static char buf[32];

	if (n >= 0)
		snprintf(buf, sizeof(buf), "%zd", n);
	else
		snprintf(buf, sizeof(buf), "-1 %s", strerrorname_np(err));
	return buf;
}

/* Print what expr returned, with its errno. */
#define SHOW(what, expr) do {						\
	ssize_t n_;							\
	errno = 0;							\
	n_ = (expr);							\
	printf("%s: %s\n", what, res(n_, errno));			\
} while (0)

static struct sockaddr_in udp_addr(int fd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0, "getsockname");
	return a;
}

/* A UDP socket bound to an ephemeral loopback port. */
static int udp_bound(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0, "socket");
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	return fd;
}

/* Two UDP sockets connected to each other. */
static void udp_pair(int *a, int *b)
{
	struct sockaddr_in aa, ba;

	*a = udp_bound();
	*b = udp_bound();
	aa = udp_addr(*a);
	ba = udp_addr(*b);
	CHECK(connect(*a, (struct sockaddr *)&ba, sizeof(ba)) == 0, "connect a");
	CHECK(connect(*b, (struct sockaddr *)&aa, sizeof(aa)) == 0, "connect b");
}

static void set_timeo(int fd, int opt, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == 0, "setsockopt timeo");
}

/* ---------------------------------------------------------------- flags */

static int flags_case(void)
{
	char buf[64] = "";
	struct iovec v = { buf, 4 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct sockaddr_in gone;
	int a, b, fl, c;

	udp_pair(&a, &b);
	SHOW("recv dontwait, empty", recv(a, buf, sizeof(buf), MSG_DONTWAIT));
	SHOW("recv errqueue, empty", recv(a, buf, sizeof(buf), MSG_ERRQUEUE));
	SHOW("send 10", send(b, "0123456789", 10, 0));
	SHOW("recv peek 4", recv(a, buf, 4, MSG_PEEK));
	SHOW("recv trunc 4", recv(a, buf, 4, MSG_TRUNC));
	printf("got %.4s\n", buf);
	SHOW("send 10", send(b, "abcdefghij", 10, 0));
	SHOW("recvmsg 4", recvmsg(a, &m, 0));
	printf("msg_flags trunc: %d\n", !!(m.msg_flags & MSG_TRUNC));
	SHOW("send 3", send(b, "xyz", 3, 0));
	SHOW("recv waitall 8", recv(a, buf, 8, MSG_WAITALL));
	SHOW("write 0", write(b, "", 0));
	SHOW("read 0", read(a, buf, 0));
	SHOW("read empty datagram", read(a, buf, sizeof(buf)));
	SHOW("send 0", send(b, "", 0, 0));
	SHOW("send 5", send(b, "hello", 5, 0));
	SHOW("recv 0 buffer", recv(a, buf, 0, 0));
	SHOW("recvfrom", recvfrom(a, buf, sizeof(buf), 0, NULL, NULL));
	fl = fcntl(a, F_GETFL);
	CHECK(fcntl(a, F_SETFL, fl | O_NONBLOCK) == 0, "O_NONBLOCK");
	SHOW("recv nonblocking", recv(a, buf, sizeof(buf), 0));
	CHECK(fcntl(a, F_SETFL, fl) == 0, "blocking again");
	/* A peer that is gone: the blocking recv is woken by the ICMP error. */
	c = udp_bound();
	gone = udp_addr(c);
	close(c);
	CHECK(connect(a, (struct sockaddr *)&gone, sizeof(gone)) == 0, "connect to gone");
	SHOW("send to gone", send(a, "?", 1, 0));
	SHOW("recv after icmp", recv(a, buf, sizeof(buf), 0));
	close(a);
	close(b);
	return 0;
}

/* ---------------------------------------------------------------- timeo */

static int timeo_case(void)
{
	struct mmsghdr mm[2];
	struct iovec v[2];
	char buf[64], big[1024] = "";
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 1 };
	int a, b, sv[2];

	udp_pair(&a, &b);
	set_timeo(a, SO_RCVTIMEO, 30);
	v[0] = (struct iovec){ buf, sizeof(buf) };
	v[1] = v[0];
	memset(mm, 0, sizeof(mm));
	mm[0].msg_hdr.msg_iov = &v[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &v[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	SHOW("recv", recv(a, buf, sizeof(buf), 0));
	SHOW("recvfrom", recvfrom(a, buf, sizeof(buf), 0, NULL, NULL));
	SHOW("recvmsg", recvmsg(a, &m, 0));
	SHOW("recvmmsg", recvmmsg(a, mm, 2, 0, NULL));
	SHOW("read", read(a, buf, sizeof(buf)));
	/* One datagram in hand: the timeout ends the wait for the second with the count. */
	SHOW("send", send(b, "one", 3, 0));
	SHOW("recvmmsg with one", recvmmsg(a, mm, 2, 0, NULL));
	close(a);
	close(b);

	/* A unixgram sender blocks on a full receiver. */
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	while (send(sv[0], big, sizeof(big), MSG_DONTWAIT) == (ssize_t)sizeof(big))
		;
	printf("filled: %s\n", strerrorname_np(errno));
	set_timeo(sv[0], SO_SNDTIMEO, 30);
	SHOW("send to full", send(sv[0], big, sizeof(big), 0));
	SHOW("write to full", write(sv[0], big, sizeof(big)));
	SHOW("recv makes room", recv(sv[1], big, sizeof(big), 0));
	SHOW("send again", send(sv[0], big, sizeof(big), 0));
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* ---------------------------------------------------------------- threads */

enum op { OP_RECVFROM, OP_RECVMMSG, OP_RECVMMSG_TIMEOUT };

struct blocker {
	enum op op;
	int fd;
	unsigned vlen;
	_Atomic pid_t tid;
	pthread_t th;
	ssize_t ret;
	int err;
	char buf[64];
};

static _Atomic int handled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void *blocker_main(void *arg)
{
	struct blocker *b = arg;
	struct timespec ts = { 30, 0 };
	struct mmsghdr mm[4];
	struct iovec v[4];

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 4; i++) {
		v[i] = (struct iovec){ b->buf, sizeof(b->buf) };
		mm[i].msg_hdr.msg_iov = &v[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	switch (b->op) {
	case OP_RECVFROM:
		b->ret = recvfrom(b->fd, b->buf, sizeof(b->buf), 0, NULL, NULL);
		break;
	case OP_RECVMMSG:
		b->ret = recvmmsg(b->fd, mm, b->vlen, 0, NULL);
		break;
	case OP_RECVMMSG_TIMEOUT:
		b->ret = recvmmsg(b->fd, mm, b->vlen, 0, &ts);
		break;
	}
	b->err = errno;
	return NULL;
}

static void start(struct blocker *b)
{
	atomic_store(&b->tid, 0);
	CHECK(pthread_create(&b->th, NULL, blocker_main, b) == 0, "pthread_create");
	while (!atomic_load(&b->tid))
		usleep(1000);
	blocked(b->tid);
}

static void finish(struct blocker *b, const char *what)
{
	pthread_join(b->th, NULL);
	printf("%s: %s\n", what, res(b->ret, b->err));
}

/* Signal b's thread; wait until the handler ran and the thread sleeps or returned. */
static void poke(struct blocker *b)
{
	int before = atomic_load(&handled);

	pthread_kill(b->th, SIGUSR1);
	while (atomic_load(&handled) == before)
		usleep(1000);
}

static void handler(bool restart)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = restart ? SA_RESTART : 0 };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
}

/*
 * After a signal, either the call returned (EINTR) or it went back to
 * sleep (restarted), and a datagram sent now ends it.
 */
static void signal_case(const char *what, enum op op, unsigned vlen, bool restart,
			long rcvtimeo_ms, int queued)
{
	struct blocker b = { .op = op, .vlen = vlen };
	int a, s;

	handler(restart);
	udp_pair(&a, &s);
	if (rcvtimeo_ms)
		set_timeo(a, SO_RCVTIMEO, rcvtimeo_ms);
	for (int i = 0; i < queued; i++)
		CHECK(send(s, "q", 1, 0) == 1, "send queued");
	b.fd = a;
	start(&b);
	poke(&b);
	/* Either way the thread ends: back asleep, it takes this datagram. */
	usleep(0);
	CHECK(send(s, "late", 4, 0) == 4, "send late");
	finish(&b, what);
	close(a);
	close(s);
}

static int signals_case(void)
{
	signal_case("recvfrom, handler", OP_RECVFROM, 1, false, 0, 0);
	signal_case("recvfrom, SA_RESTART", OP_RECVFROM, 1, true, 0, 0);
	signal_case("recvfrom, SA_RESTART, SO_RCVTIMEO", OP_RECVFROM, 1, true, 20000, 0);
	signal_case("recvmmsg, SA_RESTART", OP_RECVMMSG, 1, true, 0, 0);
	signal_case("recvmmsg timeout, SA_RESTART", OP_RECVMMSG_TIMEOUT, 1, true, 0, 0);
	signal_case("recvmmsg one in hand, SA_RESTART", OP_RECVMMSG, 3, true, 0, 1);
	return 0;
}

/* ---------------------------------------------------------------- mmsg */

static int mmsg_case(void)
{
	struct mmsghdr out[8], in[16];
	struct iovec ov[8], iv[16];
	char obuf[8][16], ibuf[16][16];
	struct timespec zero = { 0, 0 };
	int a, b;

	udp_pair(&a, &b);
	memset(out, 0, sizeof(out));
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 8; i++) {
		ov[i] = (struct iovec){ obuf[i], (size_t)snprintf(obuf[i], sizeof(obuf[i]), "m%d", i) };
		out[i].msg_hdr.msg_iov = &ov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	for (int i = 0; i < 16; i++) {
		iv[i] = (struct iovec){ ibuf[i], sizeof(ibuf[i]) };
		in[i].msg_hdr.msg_iov = &iv[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	SHOW("sendmmsg 8", sendmmsg(b, out, 8, 0));
	SHOW("recvmmsg waitforone 16", recvmmsg(a, in, 16, MSG_WAITFORONE, NULL));
	for (int i = 0; i < 8; i++)
		printf(" %u:%.*s", in[i].msg_len, (int)in[i].msg_len, ibuf[i]);
	printf("\n");
	SHOW("sendmmsg 3", sendmmsg(b, out, 3, 0));
	SHOW("recvmmsg 3", recvmmsg(a, in, 3, 0, NULL));
	SHOW("sendmmsg 1", sendmmsg(b, out, 1, 0));
	SHOW("recvmmsg 4, zero timeout", recvmmsg(a, in, 4, 0, &zero));
	printf("timeout left: %ld.%09ld\n", (long)zero.tv_sec, zero.tv_nsec);
	SHOW("recvmmsg vlen 0", recvmmsg(a, in, 0, 0, NULL));
	SHOW("sendmmsg vlen 0", sendmmsg(b, out, 0, 0));
	zero.tv_nsec = 1000000000;
	SHOW("recvmmsg bad timeout", recvmmsg(a, in, 1, 0, &zero));
	SHOW("recvmmsg dontwait", recvmmsg(a, in, 4, MSG_DONTWAIT, NULL));
	close(a);
	close(b);
	return 0;
}

/* ---------------------------------------------------------------- wake-ups */

static int shutdown_case(void)
{
	struct blocker b = { .op = OP_RECVFROM };

	b.fd = udp_bound();
	start(&b);
	SHOW("shutdown", shutdown(b.fd, SHUT_RDWR));
	finish(&b, "blocked recvfrom");
	SHOW("recvfrom after", recvfrom(b.fd, b.buf, sizeof(b.buf), MSG_DONTWAIT, NULL, NULL));
	SHOW("blocking recvfrom after", recvfrom(b.fd, b.buf, sizeof(b.buf), 0, NULL, NULL));
	SHOW("blocking recv after", recv(b.fd, b.buf, sizeof(b.buf), 0));
	close(b.fd);
	return 0;
}

static int close_wake_case(void)
{
	struct blocker b = { .op = OP_RECVFROM };

	b.fd = udp_bound();
	start(&b);
	SHOW("close", close(b.fd));
	finish(&b, "blocked recvfrom");
	return 0;
}

/* A recvfrom that has to wait, woken by a datagram: each mode starts with one. */
static void wait_for_datagram(void)
{
	struct blocker b = { .op = OP_RECVFROM };
	int s;

	udp_pair(&b.fd, &s);
	start(&b);
	CHECK(send(s, "wake", 4, 0) == 4, "send wake");
	finish(&b, "blocked recvfrom, then a datagram");
	close(b.fd);
	close(s);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{ "flags", flags_case }, { "timeo", timeo_case }, { "signals", signals_case },
		{ "mmsg", mmsg_case }, { "shutdown", shutdown_case },
		{ "close-wake", close_wake_case },
	};

	if (argc != 2)
		return 2;
	mode = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	watchdog(30);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(mode, modes[i].name)) {
			wait_for_datagram();
			return modes[i].fn();
		}
	}
	return 2;
}
