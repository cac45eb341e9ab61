/* SPDX-License-Identifier: MIT */
/*
 * The conn object: life cycle, deadlines, socket options and addresses.
 * The data path is in conn_io.c.
 */
#include "config.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"

static _Atomic unsigned int pick_key;

/* Spread new sockets over the shards unless the caller chose an engine. */
urnet_engine *urnet__engine_for_new_socket(urnet_engine *e)
{
	if (e)
		return e;
	return urnet_engine_pick(atomic_fetch_add_explicit(&pick_key, 1,
							   memory_order_relaxed));
}

urnet_conn *urnet__conn_new(urnet_engine *e, int fd, const struct urnet__sockaddr *peer)
{
	urnet_conn *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	ret = urnet__ready_init(&c->ready, e, fd);
	if (ret) {
		free(c);
		errno = -ret;
		return NULL;
	}
	atomic_init(&c->refs, 1);
	atomic_init(&c->closed, 0);
	atomic_init(&c->deadline[URNET__READ], 0);
	atomic_init(&c->deadline[URNET__WRITE], 0);
	pthread_mutex_init(&c->io_lock[URNET__READ], NULL);
	pthread_mutex_init(&c->io_lock[URNET__WRITE], NULL);
	pthread_mutex_init(&c->addr_lock, NULL);
	c->fd = fd;
	if (peer)
		c->peer = *peer;
	return c;
}

/* Last reference gone: nobody can wait on c->ready any more. */
static int conn_destroy(urnet_conn *c)
{
	int ret;

	urnet__ready_destroy(&c->ready);
	/* Linux frees the descriptor even when close() reports EINTR. */
	ret = urnet__libc()->close(c->fd);
	if (ret && errno == EINTR)
		ret = 0;
	pthread_mutex_destroy(&c->io_lock[URNET__READ]);
	pthread_mutex_destroy(&c->io_lock[URNET__WRITE]);
	pthread_mutex_destroy(&c->addr_lock);
	free(c->unlink_path);
	free(c);
	return ret;
}

void urnet__conn_release(urnet_conn *c)
{
	int saved;

	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* The failing call that dropped the last reference reports its own errno. */
	saved = errno;
	conn_destroy(c);
	errno = saved;
}

void urnet__conn_discard(urnet_conn *c)
{
	int saved = errno;

	conn_destroy(c);
	errno = saved;
}

int urnet_conn_close(urnet_conn *c)
{
	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (atomic_exchange(&c->closed, 1)) {
		errno = EBADF;
		return -1;
	}
	urnet__ready_close(&c->ready);
	/* The name goes now, so that a new socket can take the path at once. */
	if (c->unlink_path)
		unlink(c->unlink_path);
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return 0;	/* the last blocked call to leave closes the fd */
	return conn_destroy(c);
}

static int set_deadlines(urnet_conn *c, bool rd, bool wr, int64_t deadline_ns)
{
	if (deadline_ns < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!urnet__conn_enter(c))
		return -1;
	if (rd)
		atomic_store(&c->deadline[URNET__READ], deadline_ns);
	if (wr)
		atomic_store(&c->deadline[URNET__WRITE], deadline_ns);
	/* Blocked calls wake, reload their deadline and sleep again or time out. */
	urnet__ready_kick(&c->ready);
	urnet__conn_leave(c);
	return 0;
}

int urnet_conn_set_deadline(urnet_conn *c, int64_t deadline_ns)
{
	return set_deadlines(c, true, true, deadline_ns);
}

int urnet_conn_set_read_deadline(urnet_conn *c, int64_t deadline_ns)
{
	return set_deadlines(c, true, false, deadline_ns);
}

int urnet_conn_set_write_deadline(urnet_conn *c, int64_t deadline_ns)
{
	return set_deadlines(c, false, true, deadline_ns);
}

static int conn_setsockopt(urnet_conn *c, int level, int name, int value)
{
	int ret;

	if (!urnet__conn_enter(c))
		return -1;
	ret = urnet__libc()->setsockopt(c->fd, level, name, &value, sizeof(value));
	urnet__conn_leave(c);
	return ret;
}

int urnet_conn_set_nodelay(urnet_conn *c, int on)
{
	return conn_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, !!on);
}

int urnet_conn_set_keepalive(urnet_conn *c, int on, int idle_s)
{
	if (idle_s < 0) {
		errno = EINVAL;
		return -1;
	}
	if (on && idle_s > 0) {
		/* Probe every idle_s too, as Go does with its keep-alive period. */
		if (conn_setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, idle_s) ||
		    conn_setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, idle_s))
			return -1;
	}
	return conn_setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, !!on);
}

int urnet_conn_fd(urnet_conn *c)
{
	if (!c) {
		errno = EINVAL;
		return -1;
	}
	return c->fd;
}

static int fill_cache(urnet_conn *c, struct urnet__addr_cache *cache, bool local)
{
	struct urnet__sockaddr sa = { .len = sizeof(sa.u) };
	int ret;

	if (!local && c->peer.len) {
		sa = c->peer;
	} else {
		ret = local ? getsockname(c->fd, &sa.u.sa, &sa.len)
			    : getpeername(c->fd, &sa.u.sa, &sa.len);
		if (ret)
			return -1;
	}
	urnet__format_sockaddr(&sa.u.sa, sa.len, cache->str, sizeof(cache->str));
	atomic_store_explicit(&cache->ready, true, memory_order_release);
	return 0;
}

static const char *conn_addr(urnet_conn *c, bool local)
{
	struct urnet__addr_cache *cache;
	const char *s = NULL;

	if (!urnet__conn_enter(c))
		return NULL;
	cache = local ? &c->local : &c->remote;
	if (atomic_load_explicit(&cache->ready, memory_order_acquire)) {
		s = cache->str;
	} else {
		pthread_mutex_lock(&c->addr_lock);
		if (atomic_load_explicit(&cache->ready, memory_order_relaxed) ||
		    !fill_cache(c, cache, local))
			s = cache->str;
		pthread_mutex_unlock(&c->addr_lock);
	}
	urnet__conn_leave(c);
	return s;
}

const char *urnet_conn_local_addr(urnet_conn *c)
{
	return conn_addr(c, true);
}

const char *urnet_conn_remote_addr(urnet_conn *c)
{
	return conn_addr(c, false);
}
