/* SPDX-License-Identifier: MIT */
/*
 * The public dial calls: the network and address checked, the options
 * loaded, the deadline fixed, then one numeric address dialed (dial.c), or
 * a host name looked up (resolve.c) and its addresses raced in the order
 * of RFC 8305, "happy eyeballs": the first family (IPv6 when the name has
 * both) starts at once, the other after the fallback delay or as soon as
 * the first has run out of addresses; the first connection wins and the
 * other attempts are closed.  Within a family, addresses are tried one
 * after the other.  Every wait is on the engine, through a waitset.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "libc.h"
#include "resolve.h"
#include "waitset.h"

/* Go's and RFC 8305's "Connection Attempt Delay" for the second family. */
#define FALLBACK_DELAY_NS 300000000LL

/* The addresses of one family, tried in turn; fd is the attempt in flight. */
struct racer {
	const struct urnet__sockaddr *addrs;
	int n, next;
	int fd;			/* -1: none in flight */
	const struct urnet__sockaddr *cur;
	int err;		/* the last failure, 0 while none */
	bool started;
};

struct race {
	const struct urnet__opts *o;
	enum urnet__net net;
	struct urnet__waitset ws;
	struct racer r[2];	/* primary, fallback */
};

static void racer_drop(struct race *race, struct racer *x)
{
	if (x->fd < 0)
		return;
	urnet__waitset_watch(&race->ws, x->fd, false, false);
	urnet__libc()->close(x->fd);
	x->fd = -1;
}

/*
 * Start x's next address: 1 connected at once, 0 in flight, -1 out of
 * addresses (x->err says why), or a fatal -errno from the waitset.
 */
static int racer_next(struct race *race, struct racer *x)
{
	x->started = true;
	while (x->next < x->n) {
		const struct urnet__sockaddr *sa = &x->addrs[x->next++];
		int fd = urnet__opts_socket(race->o, race->net, sa, false);
		int ret;

		if (fd < 0) {
			x->err = fd;
			continue;
		}
		x->fd = fd;
		x->cur = sa;
		if (!urnet__libc()->connect(fd, &sa->u.sa, sa->len))
			return 1;
		if (errno != EINPROGRESS && errno != EINTR) {
			x->err = -errno;
			racer_drop(race, x);
			continue;
		}
		ret = urnet__waitset_watch(&race->ws, fd, false, true);
		if (ret) {
			racer_drop(race, x);
			return ret;
		}
		return 0;
	}
	return -1;
}

static bool racer_live(const struct racer *x)
{
	return x->fd >= 0 || !x->started || x->next < x->n;
}

/* An event on x's attempt: 1 connected, 0 still going, <0 as racer_next. */
static int racer_event(struct race *race, struct racer *x)
{
	int st = urnet__connect_state(x->fd);

	if (st >= 0)
		return !st;
	x->err = st;
	racer_drop(race, x);
	return racer_next(race, x);
}

/* The winner as a conn; every other attempt closed. */
static urnet_conn *race_won(struct race *race, int w)
{
	struct racer *x = &race->r[w];
	urnet_engine *e = race->o->o.engine ? race->o->o.engine : race->ws.ready.engine;
	urnet_conn *c;
	int fd = x->fd;

	racer_drop(race, &race->r[!w]);
	urnet__waitset_watch(&race->ws, fd, false, false);
	x->fd = -1;
	c = urnet__conn_new(e, fd, x->cur);
	if (!c) {
		int err = errno;

		urnet__libc()->close(fd);
		errno = err;
	}
	return c;
}

static int race_run(struct race *race, int64_t deadline, int64_t fallback_at)
{
	struct epoll_event ev[4];

	for (;;) {
		struct racer *p = &race->r[0], *f = &race->r[1];
		int64_t until = deadline;
		int n, ret;

		/* The first family ran out: the second need not wait for its turn. */
		if (!racer_live(p) && f->n && !f->started) {
			ret = racer_next(race, f);
			if (ret > 0)
				return 2;
			if (ret < -1)
				return ret;
		}
		if (!racer_live(p) && !racer_live(f))
			return -1;
		if (f->n && !f->started && (!until || fallback_at < until))
			until = fallback_at;
		n = urnet__waitset_wait(&race->ws, until, ev, 4);
		if (n < 0)
			return n;
		if (n == 0) {
			if (urnet__expired(deadline))
				return -ETIMEDOUT;
			if (f->n && !f->started && urnet_now_ns() >= fallback_at) {
				ret = racer_next(race, f);
				if (ret > 0)
					return 2;
				if (ret < -1)
					return ret;
			}
			continue;
		}
		for (int i = 0; i < n; i++) {
			for (int k = 0; k < 2; k++) {
				struct racer *x = &race->r[k];

				if (x->fd < 0 || x->fd != ev[i].data.fd)
					continue;
				ret = racer_event(race, x);
				if (ret > 0)
					return k + 1;
				if (ret < -1)
					return ret;
			}
		}
	}
}

/* Split found addresses into the two racers: IPv6 first when there is both. */
static void race_split(struct race *race, const struct urnet__sockaddr *a, int n)
{
	int v6 = 0;

	while (v6 < n && a[v6].u.sa.sa_family == AF_INET6)
		v6++;
	memset(race->r, 0, sizeof(race->r));
	race->r[0] = (struct racer){ .addrs = a, .n = v6 ? v6 : n, .fd = -1 };
	race->r[1] = (struct racer){ .addrs = a + v6, .n = v6 ? n - v6 : 0, .fd = -1 };
}

/* A dial with a local address tries only the addresses of its family. */
static int keep_family(const struct urnet__opts *o, struct urnet__sockaddr *a, int n)
{
	int kept = 0;

	for (int i = 0; i < n; i++)
		if (!o->has_local || a[i].u.sa.sa_family == o->local.u.sa.sa_family)
			a[kept++] = a[i];
	return kept;
}

/* Each address in turn, within the one deadline: the first connection, or the first error
 * (the deadline's, when it ends the dial). */
static urnet_conn *dial_serial(const struct urnet__opts *o, enum urnet__net net,
			       const struct urnet__sockaddr *a, int n, int64_t deadline)
{
	int first = 0;

	for (int i = 0; i < n; i++) {
		urnet_conn *c = urnet__dial_addr(o, net, &a[i], deadline);

		if (c)
			return c;
		if (!first || errno == ETIMEDOUT || errno == ESHUTDOWN)
			first = errno;
		if (errno == ETIMEDOUT || errno == ESHUTDOWN)
			break;
	}
	errno = first;
	return NULL;
}

static urnet_conn *dial_name(const struct urnet__opts *o, enum urnet__net net,
			     const char *name, in_port_t port, int64_t deadline)
{
	struct urnet__sockaddr found[URNET__RESOLVE_MAX];
	struct race race = { .o = o, .net = net };
	int64_t delay = o->o.fallback_delay_ns ? o->o.fallback_delay_ns : FALLBACK_DELAY_NS;
	urnet_engine *e = urnet__engine_for_new_socket(o->o.engine);
	urnet_conn *c = NULL;
	int n, ret;

	if (!e)
		return NULL;
	n = urnet__resolve(e, net, name, port, deadline, found, URNET__RESOLVE_MAX);
	/* Built without a resolver: a name is not an address, as before names were. */
	if (n == -ENOSYS)
		n = -EINVAL;
	if (n > 0 && !(n = keep_family(o, found, n))) {
		urnet__resolve_message("%s: no address of the local address's family", name);
		n = -EAFNOSUPPORT;
	}
	if (n < 0) {
		errno = -n;
		return NULL;
	}
	race_split(&race, found, n);
	/*
	 * One family: nothing to race, its addresses are tried in turn.  A
	 * datagram socket connects without a word to the peer: the first
	 * address (IPv6 when there is one) wins at once.
	 */
	if (!race.r[1].n || urnet__net_is_dgram(net))
		return dial_serial(o, net, found, n, deadline);
	ret = urnet__waitset_init(&race.ws, e);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	ret = racer_next(&race, &race.r[0]);
	if (ret == 0 || ret == -1)
		ret = race_run(&race, deadline, urnet_now_ns() + delay);
	else if (ret > 0)
		ret = 1;
	if (ret > 0) {
		c = race_won(&race, ret - 1);
	} else {
		/* The first family's failure tells most, as in Go. */
		errno = ret < -1 ? -ret : race.r[0].err ? -race.r[0].err : -race.r[1].err;
		if (!errno)
			errno = ECONNREFUSED;
		racer_drop(&race, &race.r[0]);
		racer_drop(&race, &race.r[1]);
	}
	urnet__waitset_destroy(&race.ws);
	return c;
}

static urnet_conn *dial_with(const struct urnet_options *user, urnet_engine *e,
			     const char *network, const char *address, int64_t timeout_ns)
{
	struct urnet__sockaddr sa;
	struct urnet__opts o;
	enum urnet__net net;
	int64_t deadline;
	int ret;

	ret = urnet__parse_network(network, &net);
	if (!ret)
		ret = urnet__dial_deadline(timeout_ns, &deadline);
	if (!ret)
		ret = urnet__opts_load(user, e, net, false, &o);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	ret = urnet__parse_address(net, address, false, &sa);
	/* Not numeric, not localhost: a host name, when it splits as host:port. */
	if (ret == -EINVAL && !urnet__net_is_unix(net) && address && address[0] != '[') {
		char host[URNET__HOST_MAX];
		in_port_t port;

		if (!urnet__split_hostport(address, host, sizeof(host), &port))
			return dial_name(&o, net, host, port, deadline);
	}
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return urnet__dial_addr(&o, net, &sa, deadline);
}

urnet_conn *urnet_dial_with(const struct urnet_options *o, const char *network,
			    const char *address, int64_t timeout_ns)
{
	return dial_with(o, NULL, network, address, timeout_ns);
}

urnet_conn *urnet_dial_on(urnet_engine *e, const char *network, const char *address,
			  int64_t timeout_ns)
{
	return dial_with(NULL, e, network, address, timeout_ns);
}

urnet_conn *urnet_dial(const char *network, const char *address, int64_t timeout_ns)
{
	return dial_with(NULL, NULL, network, address, timeout_ns);
}
