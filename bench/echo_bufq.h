/* SPDX-License-Identifier: MIT */
/*
 * The echo connection of the io_uring event loops (echo-uring on raw
 * liburing, echo-engine on urnet's engine), so that both run one
 * algorithm: a multishot recv picks provided buffers, each filled buffer
 * joins the connection's send queue, one send at a time goes out straight
 * from the head buffer, and a buffer fully sent goes back to the ring.
 * How an operation is submitted and a buffer given back is each program's
 * own (struct echo_ops).
 */
#ifndef URNET_BENCH_ECHO_BUFQ_H
#define URNET_BENCH_ECHO_BUFQ_H

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_NR_BUFS	4096		/* power of two */
#define ECHO_BUF_SIZE	4096
#define ECHO_BGID	0

struct echo_conn {
	int fd;
	int recv_armed;
	int send_busy;
	int dead;
	int head, tail;		/* queue of filled buffers to send back, -1 = empty */
	unsigned sent;		/* bytes of the head buffer already sent */
};

struct echo_ops {
	void (*arm_recv)(struct echo_conn *c);	/* multishot recv, buffer group ECHO_BGID */
	void (*send)(struct echo_conn *c, int bid, unsigned off, unsigned len);
	void (*recycle)(int bid);		/* give the buffer back to the kernel */
};

static int echo_buf_next[ECHO_NR_BUFS];	/* send queue links */
static unsigned echo_buf_len[ECHO_NR_BUFS];

static inline void echo_conn_init(struct echo_conn *c, int fd)
{
	c->fd = fd;
	c->recv_armed = c->send_busy = c->dead = 0;
	c->head = c->tail = -1;
	c->sent = 0;
}

static inline void echo_arm_recv(const struct echo_ops *o, struct echo_conn *c)
{
	c->recv_armed = 1;
	o->arm_recv(c);
}

static inline void echo_send_head(const struct echo_ops *o, struct echo_conn *c)
{
	c->send_busy = 1;
	o->send(c, c->head, c->sent, echo_buf_len[c->head] - c->sent);
}

/* Pop the head buffer and give it back to the kernel. */
static inline void echo_queue_pop(const struct echo_ops *o, struct echo_conn *c)
{
	int bid = c->head;

	c->head = echo_buf_next[bid];
	if (c->head < 0)
		c->tail = -1;
	c->sent = 0;
	o->recycle(bid);
}

/* Free the conn once the kernel holds no operation on it. */
static inline void echo_conn_put(const struct echo_ops *o, struct echo_conn *c)
{
	if (!c->dead || c->recv_armed || c->send_busy)
		return;
	while (c->head >= 0)
		echo_queue_pop(o, c);
	close(c->fd);
	free(c);
}

static inline void echo_conn_kill(const struct echo_ops *o, struct echo_conn *c)
{
	if (!c->dead) {
		c->dead = 1;
		shutdown(c->fd, SHUT_RDWR);	/* ends the multishot recv */
	}
	echo_conn_put(o, c);
}

static inline void echo_on_recv(const struct echo_ops *o, struct echo_conn *c, int res,
				unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->recv_armed = 0;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);

		echo_buf_len[bid] = (unsigned)res;
		echo_buf_next[bid] = -1;
		if (c->dead) {
			o->recycle(bid);
		} else {
			if (c->tail >= 0)
				echo_buf_next[c->tail] = bid;
			else
				c->head = bid;
			c->tail = bid;
			if (!c->send_busy)
				echo_send_head(o, c);
		}
	}
	if (c->recv_armed)
		return;
	if (res == -ENOBUFS && !c->dead)	/* all buffers queued for sending */
		echo_arm_recv(o, c);
	else if (res <= 0 || c->dead)
		echo_conn_kill(o, c);
	else
		echo_arm_recv(o, c);
}

static inline void echo_on_send(const struct echo_ops *o, struct echo_conn *c, int res)
{
	c->send_busy = 0;
	if (res < 0 || c->dead) {
		echo_conn_kill(o, c);
		return;
	}
	c->sent += (unsigned)res;
	if (c->sent == echo_buf_len[c->head])
		echo_queue_pop(o, c);
	if (c->head >= 0)
		echo_send_head(o, c);
}

#endif
