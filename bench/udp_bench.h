/* SPDX-License-Identifier: MIT */
/*
 * What the UDP echo servers share: the bound socket and the argument
 * parsing (every server takes the port, 0 = ephemeral, and prints
 * "port=N" once bound on 127.0.0.1), and for the two io_uring servers the
 * provided-buffer layout of a multishot recvmsg and the reply sent
 * straight from it.  Header-only.
 */
#ifndef URNET_BENCH_UDP_BENCH_H
#define URNET_BENCH_UDP_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams larger than this are not echoed whole (the load sends 64 B). */
#define UDP_BUF_SIZE	2048
/* Readers of the threaded servers unless told. */
#define UDP_THREADS	4
/* Batch size of the recvmmsg/sendmmsg servers. */
#define UDP_BATCH	32

static inline void udp_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/*
 * Socket buffers large enough for 1000 peers' worth of requests: past
 * net.core.rmem_max where the process may (root), else as large as allowed.
 */
static inline void udp_bench_buffers(int fd)
{
	int size = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* argv: PORT [THREADS] [batch].  Returns the port; exits on bad arguments. */
static inline int udp_bench_args(int argc, char **argv, int *threads, int *batch)
{
	int port = argc > 1 ? atoi(argv[1]) : -1;

	if (port < 0 || port > 65535) {
		fprintf(stderr, "usage: %s PORT [THREADS] [batch]\n", argv[0]);
		exit(2);
	}
	if (threads)
		*threads = argc > 2 ? atoi(argv[2]) : UDP_THREADS;
	if (threads && (*threads < 1 || *threads > 256)) {
		fprintf(stderr, "%s: THREADS out of 1..256\n", argv[0]);
		exit(2);
	}
	if (batch)
		*batch = argc > 3 && !strcmp(argv[3], "batch");
	return port;
}

/* The server's socket (type flags as for socket()) on 127.0.0.1; prints "port=N". */
static inline int udp_bench_socket(int argc, char **argv, int flags, int *threads, int *batch)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd, port = udp_bench_args(argc, argv, threads, batch);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		udp_die(argv[0], "socket");
	udp_bench_buffers(fd);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &al))
		udp_die(argv[0], "bind");
	printf("port=%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

/* Run reader() in threads threads, this one included (never returns). */
static inline void udp_bench_readers(const char *prog, int threads, void *(*reader)(void *))
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 1; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, reader, NULL))
			udp_die(prog, "pthread_create");
	}
	reader(NULL);
	exit(0);
}

/* A batch of UDP_BATCH datagrams with their addresses, for recvmmsg/sendmmsg. */
struct udp_batch {
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_in peer[UDP_BATCH];
	char buf[UDP_BATCH][UDP_BUF_SIZE];
};

/* Ready every message for a receive. */
static inline void udp_batch_arm(struct udp_batch *b)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		b->iov[i] = (struct iovec){ b->buf[i], UDP_BUF_SIZE };
		b->mm[i].msg_hdr = (struct msghdr){ .msg_name = &b->peer[i],
						    .msg_namelen = sizeof(b->peer[i]),
						    .msg_iov = &b->iov[i], .msg_iovlen = 1 };
	}
}

/* After a receive of n: each message answers its sender with what it got. */
static inline void udp_batch_echo(struct udp_batch *b, int n)
{
	for (int i = 0; i < n; i++)
		b->iov[i].iov_len = b->mm[i].msg_len;
}

#ifdef URNET_BENCH_UDP_URING
#include <liburing.h>

#define UDP_NR_BUFS	1024
#define UDP_BGID	7

/*
 * The multishot recvmsg's template (only the name and control lengths
 * count) and, per provided buffer, the reply sent straight out of it: the
 * buffer returns to the ring when the send completed.
 */
struct udp_reply {
	struct msghdr msg;
	struct iovec iov;
};

static struct msghdr udp_ms_template = { .msg_namelen = sizeof(struct sockaddr_in) };
static struct udp_reply udp_replies[UDP_NR_BUFS];

/*
 * Turn what multishot recvmsg put into buffer bid (res bytes) into the
 * reply; NULL when the datagram was cut or the buffer holds no datagram.
 */
static inline struct msghdr *udp_ms_reply(void *buf, int res, unsigned bid)
{
	struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &udp_ms_template);
	struct udp_reply *r = &udp_replies[bid];

	if (!o || (o->flags & MSG_TRUNC))
		return NULL;
	r->iov.iov_base = io_uring_recvmsg_payload(o, &udp_ms_template);
	r->iov.iov_len = io_uring_recvmsg_payload_length(o, res, &udp_ms_template);
	r->msg = (struct msghdr){ .msg_name = io_uring_recvmsg_name(o),
				  .msg_namelen = o->namelen, .msg_iov = &r->iov,
				  .msg_iovlen = 1 };
	return &r->msg;
}
#endif

#endif
