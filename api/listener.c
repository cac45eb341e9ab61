/* SPDX-License-Identifier: MIT */
/*
 * The listener object: a non-blocking listening socket whose accepts park
 * on the engine's readiness counter.  Any number of threads may accept on
 * one listener at once; each readiness wakes them all and the losers of
 * the accept4() race simply park again.
 */
#include "config.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"
#include "sockopts.h"

/* The kernel clamps it to net.core.somaxconn. */
#define LISTEN_BACKLOG 65535

static void listener_destroy(urnet_listener *l)
{
	int saved = errno;

	urnet__ready_destroy(&l->ready);
	urnet__libc()->close(l->fd);
	free(l->unlink_path);
	free(l);
	errno = saved;
}

static void listener_release(urnet_listener *l)
{
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		listener_destroy(l);
}

static bool listener_enter(urnet_listener *l)
{
	if (!l) {
		errno = EINVAL;
		return false;
	}
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	if (atomic_load_explicit(&l->closed, memory_order_acquire)) {
		listener_release(l);
		errno = ECANCELED;
		return false;
	}
	return true;
}

static int setopt(int fd, int level, int name, int value)
{
	return urnet__libc()->setsockopt(fd, level, name, &value, sizeof(value));
}

/* "tcp"/"udp" on ":port" wants a dual-stack socket; a kernel without IPv6 gets IPv4. */
static int bound_socket_open(enum urnet__net net, struct urnet__sockaddr *sa, int type)
{
	int fd = urnet__libc()->socket(sa->u.sa.sa_family, type, 0);
	in_port_t port = sa->u.in6.sin6_port;

	if (fd < 0 && errno == EAFNOSUPPORT && sa->wildcard && urnet__net_is_any_ip(net)) {
		memset(&sa->u, 0, sizeof(sa->u));
		sa->u.in4.sin_family = AF_INET;
		sa->u.in4.sin_port = port;
		sa->u.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		sa->len = sizeof(sa->u.in4);
		fd = urnet__libc()->socket(AF_INET, type, 0);
	}
	return fd;
}

static int bound_socket_bind(int fd, enum urnet__net net, const struct urnet__sockaddr *sa,
			     const struct urnet__opts *o)
{
	bool stream = !urnet__net_is_dgram(net);
	int ret;

	if (!urnet__net_is_unix(net)) {
		/*
		 * Restarted servers must not wait for TIME_WAIT to clear.  Not
		 * for UDP, where it would let a second socket share the port.
		 */
		if (stream && setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1))
			return -1;
		if (sa->u.sa.sa_family == AF_INET6 &&
		    setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
			   !(sa->wildcard && urnet__net_is_any_ip(net))))
			return -1;
		/* Accepted sockets inherit it: request/response traffic wants no Nagle. */
		if (stream && setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1))
			return -1;
	}
	/* The caller's options override the defaults above. */
	ret = o ? urnet__opts_apply(o, fd, net, sa, true) : 0;
	if (ret) {
		errno = -ret;
		return -1;
	}
	return bind(fd, &sa->u.sa, sa->len);
}

void urnet__bound_socket_close(int fd, char *unlink_path)
{
	int saved = errno;

	if (unlink_path)
		unlink(unlink_path);
	free(unlink_path);
	urnet__libc()->close(fd);
	errno = saved;
}

int urnet__bound_socket(enum urnet__net net, struct urnet__sockaddr *sa, const char *address,
			const struct urnet__opts *o, char **unlink_path)
{
	int type = (urnet__net_is_dgram(net) ? SOCK_DGRAM : SOCK_STREAM) |
		   SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd = bound_socket_open(net, sa, type);

	*unlink_path = NULL;
	if (fd < 0)
		return -1;
	if (bound_socket_bind(fd, net, sa, o))
		goto fail;
	/* A file-system socket is ours from bind on: remove it with the object. */
	if (urnet__net_is_unix(net) && address[0] != '@') {
		*unlink_path = strdup(address);
		if (!*unlink_path) {
			unlink(address);
			errno = ENOMEM;
			goto fail;
		}
	}
	return fd;
fail:
	urnet__bound_socket_close(fd, NULL);
	return -1;
}

urnet_listener *urnet__listener_new(urnet_engine *e, urnet_engine *conn_engine, int fd)
{
	urnet_listener *l = calloc(1, sizeof(*l));
	struct urnet__sockaddr sa = { .len = sizeof(sa.u) };
	int ret;

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	ret = urnet__ready_init(&l->ready, e, fd);
	if (ret) {
		free(l);
		errno = -ret;
		return NULL;
	}
	atomic_init(&l->refs, 1);
	atomic_init(&l->closed, 0);
	atomic_init(&l->shut, 0);
	atomic_init(&l->deadline, 0);
	l->fd = fd;
	l->conn_engine = conn_engine;
	if (!getsockname(fd, &sa.u.sa, &sa.len))
		urnet__format_sockaddr(&sa.u.sa, sa.len, l->addr, sizeof(l->addr));
	return l;
}

static urnet_listener *listen_with(const struct urnet_options *user, urnet_engine *e,
				   const char *network, const char *address)
{
	struct urnet__sockaddr sa;
	struct urnet__opts o;
	enum urnet__net net;
	urnet_engine *le;
	urnet_listener *l;
	char *path = NULL;
	int fd, ret;

	/* Datagram networks listen with urnet_listen_packet(). */
	ret = urnet__parse_net_address(network, address, URNET__NETS_STREAM, true, &net, &sa);
	if (!ret)
		ret = urnet__opts_load(user, e, net, true, &o);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	e = o.o.engine;
	le = urnet__engine_for_new_socket(e);
	if (!le)
		return NULL;
	fd = urnet__bound_socket(net, &sa, address, &o, &path);
	if (fd < 0)
		return NULL;
	if (listen(fd, o.o.backlog ? o.o.backlog : LISTEN_BACKLOG))
		goto fail_unlink;
	l = urnet__listener_new(le, e, fd);
	if (!l)
		goto fail_unlink;
	l->unlink_path = path;
	return l;
fail_unlink:
	urnet__bound_socket_close(fd, path);
	return NULL;
}

urnet_listener *urnet_listen_on(urnet_engine *e, const char *network, const char *address)
{
	return listen_with(NULL, e, network, address);
}

urnet_listener *urnet_listen_with(const struct urnet_options *o, const char *network,
				  const char *address)
{
	return listen_with(o, NULL, network, address);
}

urnet_listener *urnet_listen(const char *network, const char *address)
{
	return urnet_listen_on(NULL, network, address);
}

static urnet_conn *conn_for(urnet_listener *l, int fd, const struct urnet__sockaddr *peer)
{
	urnet_engine *e = urnet__engine_for_new_socket(l->conn_engine);
	urnet_conn *c = e ? urnet__conn_new(e, fd, peer) : NULL;
	int saved;

	if (!c) {
		saved = errno;
		urnet__libc()->close(fd);
		errno = saved;
	}
	return c;
}

static urnet_conn *accept_loop(urnet_listener *l)
{
	struct urnet__ready *r = &l->ready;
	struct urnet__sockaddr peer;

	for (;;) {
		uint32_t snap = urnet__ready_snapshot(r, URNET__READ);
		int64_t deadline = atomic_load(&l->deadline);
		int fd, ret;

		if (atomic_load_explicit(&l->shut, memory_order_relaxed)) {
			errno = ECANCELED;
			return NULL;
		}
		if (urnet__expired(deadline)) {
			errno = ETIMEDOUT;
			return NULL;
		}
		memset(&peer, 0, sizeof(peer));
		peer.len = sizeof(peer.u);
		fd = urnet__libc()->accept4(l->fd, &peer.u.sa, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return conn_for(l, fd, &peer);
		/* A connection reset while queued is not the listener's failure. */
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return NULL;
		ret = urnet__ready_wait(r, URNET__READ, snap, deadline,
				       URNET__WAIT_KIND(URNET__WK_ACCEPT));
		if (ret < 0 && ret != -ETIMEDOUT) {
			errno = -ret;
			return NULL;
		}
	}
}

urnet_conn *urnet_listener_accept(urnet_listener *l)
{
	urnet_conn *c;

	if (!listener_enter(l))
		return NULL;
	c = accept_loop(l);
	listener_release(l);
	return c;
}

const char *urnet_listener_addr(urnet_listener *l)
{
	if (!l) {
		errno = EINVAL;
		return NULL;
	}
	return l->addr;
}

int urnet_listener_fd(urnet_listener *l)
{
	if (!l) {
		errno = EINVAL;
		return -1;
	}
	return l->fd;
}

int urnet_listener_set_deadline(urnet_listener *l, int64_t deadline_ns)
{
	if (deadline_ns < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!listener_enter(l))
		return -1;
	atomic_store(&l->deadline, deadline_ns);
	urnet__ready_kick(&l->ready);
	listener_release(l);
	return 0;
}

/* From now on every accept fails with ECANCELED. */
static void listener_stop(urnet_listener *l)
{
	if (!atomic_exchange(&l->shut, 1))
		urnet__ready_close(&l->ready);
}

int urnet_listener_shutdown(urnet_listener *l)
{
	int ret;

	if (!listener_enter(l))
		return -1;
	listener_stop(l);
	/* A TCP listener resets its queue and refuses from now on. */
	ret = urnet__libc()->shutdown(l->fd, SHUT_RDWR);
	if (ret && errno == ENOTCONN)
		ret = 0;
	listener_release(l);
	return ret;
}

int urnet_listener_close(urnet_listener *l)
{
	if (!l) {
		errno = EINVAL;
		return -1;
	}
	if (atomic_exchange(&l->closed, 1)) {
		errno = EBADF;
		return -1;
	}
	listener_stop(l);
	/* The name goes now, so that a new listener can take the path at once. */
	if (l->unlink_path)
		unlink(l->unlink_path);
	listener_release(l);
	return 0;
}
