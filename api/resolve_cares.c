/* SPDX-License-Identifier: MIT */
/*
 * The lookups of resolve.c with c-ares: see there for what is looked up
 * where.  Kept apart so that only liburnet.so links libcares.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "resolve.h"

#include <arpa/inet.h>
#include <ares.h>
#include <ctype.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "libc.h"
#include "waitset.h"

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* c-ares's socket calls, made to the C library itself, never an interposer. */
static ares_socket_t s_socket(int domain, int type, int proto, void *u)
{
	(void)u;
	/* With these functions set, c-ares leaves the socket's flags to us. */
	return urnet__libc()->socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

static int s_close(ares_socket_t fd, void *u)
{
	(void)u;
	return urnet__libc()->close(fd);
}

static int s_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *u)
{
	(void)u;
	return urnet__libc()->connect(fd, sa, len);
}

static ares_ssize_t s_recvfrom(ares_socket_t fd, void *buf, size_t n, int flags,
			       struct sockaddr *sa, ares_socklen_t *len, void *u)
{
	(void)u;
	return urnet__libc()->recvfrom(fd, buf, n, flags, sa, len);
}

/* sendmsg rather than writev: a DNS server closing its TCP end must not raise SIGPIPE. */
static ares_ssize_t s_sendv(ares_socket_t fd, const struct iovec *iov, int cnt, void *u)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	(void)u;
	return urnet__libc()->sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct ares_socket_functions socket_fns = {
	.asocket = s_socket,
	.aclose = s_close,
	.aconnect = s_connect,
	.arecvfrom = s_recvfrom,
	.asendv = s_sendv,
};

struct lookup {
	struct urnet__waitset ws;
	int watch_err;
	bool done;
	int status;
	struct ares_addrinfo *res;
};

/*
 * Making a c-ares channel costs about 75 us (it reads its files and seeds
 * its random query ids), as much as a whole lookup: so each thread keeps
 * its channel for the next lookup, as long as the configuration file is
 * the same file, unchanged (stat() on every lookup), and no socket of it
 * stays open between lookups (c-ares closes them when its last query
 * ends; one left open would never reach the next lookup's waitset).
 */
#define CACHE_SOCKS 16

struct chan_cache {
	bool ok, named, no_servers, missing;
	ares_channel ch;
	char conf[512];
	struct stat st;
	struct lookup *cur;		/* the lookup under way: where sockets go */
	int socks[CACHE_SOCKS], nsocks;
	bool lost_track;		/* more sockets than socks[] holds */
};

static _Thread_local struct chan_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void cache_drop(struct chan_cache *c)
{
	if (!c->ok)
		return;
	c->ok = false;
	ares_destroy(c->ch);	/* its sockets' callbacks may still reach c->cur */
	c->nsocks = 0;
	c->lost_track = false;
}

/* Thread exit: the channel goes with the thread. */
static void cache_exit(void *arg)
{
	struct chan_cache *c = arg;

	c->cur = NULL;
	cache_drop(c);
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_exit);
}

static void track(struct chan_cache *c, int fd, bool open)
{
	int i;

	for (i = 0; i < c->nsocks && c->socks[i] != fd; i++)
		;
	if (open && i == c->nsocks) {
		if (c->nsocks < CACHE_SOCKS)
			c->socks[c->nsocks++] = fd;
		else
			c->lost_track = true;
	} else if (!open && i < c->nsocks) {
		c->socks[i] = c->socks[--c->nsocks];
	}
}

static void sock_state(void *data, ares_socket_t fd, int rd, int wr)
{
	struct chan_cache *c = data;
	int ret;

	track(c, fd, rd || wr);
	if (!c->cur)
		return;
	ret = urnet__waitset_watch(&c->cur->ws, fd, rd, wr);
	if (ret && !c->cur->watch_err)
		c->cur->watch_err = ret;
}

static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct lookup *l = arg;

	(void)timeouts;
	l->done = true;
	l->status = status;
	l->res = res;
}

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" to c-ares's "ip:port" form; false if not one. */
static bool server_entry(const char *tok, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN + 2];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon = NULL;
	bool v6 = false;
	size_t n;
	long port = 53;

	if (tok[0] == '[') {
		const char *end = strchr(tok, ']');

		if (!end || (end[1] && end[1] != ':'))
			return false;
		n = (size_t)(end - tok - 1);
		tok++;
		colon = end[1] ? end + 1 : NULL;
		v6 = true;
	} else if (strchr(tok, ':') == strrchr(tok, ':') && strchr(tok, ':')) {
		colon = strchr(tok, ':');
		n = (size_t)(colon - tok);
	} else {
		n = strlen(tok);
		v6 = strchr(tok, ':') != NULL;
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, tok, n);
	host[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1)
		return false;
	if (colon) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || port < 1 || port > 65535)
			return false;
	}
	return (size_t)snprintf(out, size, v6 ? "[%s]:%ld" : "%s:%ld", host, port) < size;
}

/*
 * The nameserver lines of path as a c-ares server list ("" for none).
 * 0, or -errno when the file cannot be read.
 */
static int read_servers(const char *path, char *csv, size_t size)
{
	char line[512], entry[INET6_ADDRSTRLEN + 16];
	size_t used = 0;
	FILE *f = fopen(path, "re");

	csv[0] = '\0';
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *tok;

		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "nameserver", 10) || !isspace((unsigned char)p[10]))
			continue;
		tok = strtok(p + 10, " \t\r\n");
		/* Like the C library, a line it cannot read is skipped. */
		if (!tok || !server_entry(tok, entry, sizeof(entry)))
			continue;
		if (used + strlen(entry) + 2 > size)
			break;
		used += (size_t)snprintf(csv + used, size - used, "%s%s", used ? "," : "", entry);
	}
	fclose(f);
	return 0;
}

static int map_status(int status, const char *name, const char *conf, bool no_servers)
{
	/* Not in the hosts file, and nobody to ask: a configuration fault. */
	if (no_servers) {
		urnet__resolve_message("%s: no usable nameserver line in %s", name, conf);
		return -EINVAL;
	}
	urnet__resolve_message("%s: %s", name, ares_strerror(status));
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return -ENOENT;
	case ARES_EBADNAME:
	case ARES_EBADFAMILY:
	case ARES_EBADFLAGS:
	case ARES_EBADHINTS:
	case ARES_EBADSTR:
		return -EINVAL;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EAGAIN;
	}
}

/* A channel reading conf, with its servers from there (ports and all). */
static int channel_open(const char *conf, bool named, ares_channel *ch, bool *no_servers)
{
	struct ares_options o = {
		.lookups = (char *)"fb",	/* the hosts file, then DNS */
		.sock_state_cb = sock_state,
		.sock_state_cb_data = &cache,
		.resolvconf_path = (char *)conf,
	};
	char csv[1024];
	int ret = read_servers(conf, csv, sizeof(csv));

	/* Only a file the caller named must exist; the system's may be missing. */
	if (ret && named) {
		urnet__resolve_message("resolver configuration %s: %s", conf, strerror(-ret));
		return -EINVAL;
	}
	/*
	 * A named file without servers: the hosts file only.  (c-ares 1.18 would
	 * also leak each query it cannot send.)
	 */
	*no_servers = named && !csv[0];
	if (*no_servers)
		o.lookups = (char *)"f";
	ret = ares_init_options(ch, &o, ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB |
				ARES_OPT_RESOLVCONF);
	if (ret != ARES_SUCCESS) {
		urnet__resolve_message("resolver: %s", ares_strerror(ret));
		return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	ares_set_socket_functions(*ch, &socket_fns, NULL);
	if (csv[0])
		ret = ares_set_servers_ports_csv(*ch, csv);
	else if (named)
		ret = ares_set_servers(*ch, NULL);
	if (ret != ARES_SUCCESS) {
		ares_destroy(*ch);
		urnet__resolve_message("resolver servers: %s", ares_strerror(ret));
		return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* This thread's channel for conf, made again when the file is another or has changed. */
static int channel_get(const char *conf, bool named, ares_channel *ch, bool *no_servers)
{
	struct stat st;
	bool missing = stat(conf, &st) != 0;
	int ret;

	if (cache.ok && cache.named == named && !strcmp(cache.conf, conf) &&
	    cache.missing == missing && (missing || same_file(&st, &cache.st))) {
		*ch = cache.ch;
		*no_servers = cache.no_servers;
		return 0;
	}
	cache_drop(&cache);
	ret = channel_open(conf, named, ch, no_servers);
	if (ret || strlen(conf) >= sizeof(cache.conf))
		return ret;	/* a path too long to keep: used once */
	pthread_once(&cache_key_once, cache_key_init);
	pthread_setspecific(cache_key, &cache);
	strcpy(cache.conf, conf);
	cache.st = st;
	cache.missing = missing;
	cache.named = named;
	cache.no_servers = *no_servers;
	cache.ch = *ch;
	cache.ok = true;
	return 0;
}

/* Until the lookup ends: 0, or why it was cut short (-ETIMEDOUT, -ESHUTDOWN...). */
static int run(struct lookup *l, ares_channel ch, int64_t deadline)
{
	struct epoll_event ev[8];

	while (!l->done) {
		struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
		int64_t until = deadline;
		int n;

		if (l->watch_err)
			return l->watch_err;
		if (tvp) {
			int64_t t = urnet_now_ns() + tvp->tv_sec * 1000000000LL +
				    tvp->tv_usec * 1000LL;

			if (!until || t < until)
				until = t;
		}
		n = urnet__waitset_wait(&l->ws, until, ev, 8);
		if (n < 0)
			return n;
		if (n == 0) {
			if (urnet__expired(deadline))
				return -ETIMEDOUT;
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);	/* timers */
			continue;
		}
		for (int i = 0; i < n && !l->done; i++) {
			int fd = ev[i].data.fd;
			bool rd = ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);

			ares_process_fd(ch, rd ? fd : ARES_SOCKET_BAD,
					ev[i].events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
		}
	}
	return 0;
}

/* IPv6 first (RFC 8305 starts there), each family in the resolver's order. */
static int collect(const struct ares_addrinfo *res, enum urnet__net net, in_port_t port,
		   struct urnet__sockaddr *out, int max)
{
	int n = 0;

	for (int pass = 0; pass < 2; pass++) {
		int family = pass == 0 ? AF_INET6 : AF_INET;

		for (const struct ares_addrinfo_node *a = res ? res->nodes : NULL; a && n < max;
		     a = a->ai_next) {
			if (a->ai_family != family || a->ai_addrlen > sizeof(out[n].u))
				continue;
			if ((urnet__net_is_ip4(net) && family != AF_INET) ||
			    (urnet__net_is_ip6(net) && family != AF_INET6))
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(&out[n].u, a->ai_addr, a->ai_addrlen);
			out[n].len = a->ai_addrlen;
			out[n].u.in4.sin_port = port;	/* sin_port and sin6_port share their offset */
			n++;
		}
	}
	return n;
}

int urnet__resolve(urnet_engine *e, enum urnet__net net, const char *name, in_port_t port,
		   int64_t deadline, struct urnet__sockaddr *out, int max)
{
	const char *conf = secure_getenv("URNET_RESOLV_CONF");
	struct ares_addrinfo_hints hints = {
		.ai_family = urnet__net_is_ip4(net) ? AF_INET :
			     urnet__net_is_ip6(net) ? AF_INET6 : AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		/* CARES_HOSTS may name another hosts file; the order is ours (collect). */
		.ai_flags = ARES_AI_ENVHOSTS | ARES_AI_NOSORT,
	};
	struct lookup l = { .status = ARES_ECANCELLED };
	bool named = conf && conf[0], no_servers = false;
	ares_channel ch;
	int ret;

	if (urnet__check_hostname(name)) {
		urnet__resolve_message("malformed host name");
		return -EINVAL;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS) {
		urnet__resolve_message("resolver: %s", ares_strerror(lib_status));
		return -ENOMEM;
	}
	e = urnet__engine_for_new_socket(e);
	if (!e)
		return -errno;
	ret = urnet__waitset_init(&l.ws, e);
	if (ret)
		return ret;
	cache.cur = &l;
	ret = channel_get(named ? conf : "/etc/resolv.conf", named, &ch, &no_servers);
	if (ret) {
		cache.cur = NULL;
		urnet__waitset_destroy(&l.ws);
		return ret;
	}
	ares_getaddrinfo(ch, name, NULL, &hints, on_result, &l);
	ret = run(&l, ch, deadline);
	/*
	 * Cut short, queries are still out; a socket still open would be
	 * missing from the next lookup's waitset: make a new channel next time.
	 */
	if (ret || cache.nsocks || cache.lost_track || !cache.ok || cache.ch != ch) {
		if (cache.ok && cache.ch == ch)
			cache_drop(&cache);
		else
			ares_destroy(ch);
	}
	cache.cur = NULL;
	urnet__waitset_destroy(&l.ws);
	if (ret) {
		urnet__resolve_message("%s: %s", name, ret == -ETIMEDOUT ? "lookup timed out" :
				       strerror(-ret));
		if (l.res)
			ares_freeaddrinfo(l.res);
		return ret;
	}
	if (l.status != ARES_SUCCESS)
		return map_status(l.status, name, conf, no_servers);
	ret = collect(l.res, net, port, out, max);
	ares_freeaddrinfo(l.res);
	if (!ret) {
		urnet__resolve_message("%s: no address of the family asked", name);
		return -ENOENT;
	}
	return ret;
}
