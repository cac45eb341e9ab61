/* SPDX-License-Identifier: MIT */
/*
 * Dial and listen options: struct urnet_options checked, completed with
 * urnet's defaults, and applied to a new socket between socket() and
 * bind()/connect(), where the control callback also runs.  The struct
 * carries its size so that a program built against an older, shorter one
 * keeps working: fields past its size take their defaults.
 */
#include "config.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>

#include "libc.h"
#include "sockopts.h"

/* A caller must know at least the fields of the first version. */
#define OPTS_MIN_SIZE offsetof(struct urnet_options, reserved)

void urnet_options_init(struct urnet_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->v6only = -1;
	o->nodelay = -1;
	o->keepalive = -1;
}

static bool tristate(int v)
{
	return v >= -1 && v <= 1;
}

static int check(const struct urnet_options *o)
{
	for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
		if (o->reserved[i])
			return -EINVAL;
	if (!tristate(o->v6only) || !tristate(o->nodelay) || !tristate(o->keepalive))
		return -EINVAL;
	if (o->backlog < 0 || o->rcvbuf < 0 || o->sndbuf < 0 || o->user_timeout_ms < 0 ||
	    o->keepalive_idle_s < 0 || o->keepalive_interval_s < 0 || o->keepalive_count < 0 ||
	    o->fallback_delay_ns < 0)
		return -EINVAL;
	return 0;
}

int urnet__opts_load(const struct urnet_options *user, urnet_engine *e, enum urnet__net net,
		     bool for_listen, struct urnet__opts *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	urnet_options_init(&out->o);
	if (user) {
		if (user->size < OPTS_MIN_SIZE)
			return -EINVAL;
		memcpy(&out->o, user, user->size < sizeof(*user) ? user->size : sizeof(*user));
		out->o.size = sizeof(out->o);
	}
	ret = check(&out->o);
	if (ret)
		return ret;
	if (!out->o.engine)
		out->o.engine = e;
	if (out->o.local_addr && !for_listen) {
		ret = urnet__parse_address(net, out->o.local_addr, true, &out->local);
		if (ret)
			return ret;
		out->has_local = true;
	}
	return 0;
}

static int setopt(int fd, int level, int name, int value)
{
	return urnet__libc()->setsockopt(fd, level, name, &value, sizeof(value)) ? -errno : 0;
}

/* Set when asked (value > 0, or a tristate other than -1). */
static int setopt_if(int fd, bool want, int level, int name, int value)
{
	return want ? setopt(fd, level, name, value) : 0;
}

/* The IP options, and the TCP ones on a TCP socket. */
static int apply_ip(const struct urnet_options *o, int fd, int family, bool tcp)
{
	int ret = 0;

	if (family == AF_INET6 && o->v6only >= 0)
		ret = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only);
	if (!ret)
		ret = setopt_if(fd, o->reuseport, SOL_SOCKET, SO_REUSEPORT, 1);
	if (ret || !tcp)
		return ret;
	ret = setopt_if(fd, o->nodelay >= 0, IPPROTO_TCP, TCP_NODELAY, o->nodelay);
	if (!ret)
		ret = setopt_if(fd, o->user_timeout_ms > 0, IPPROTO_TCP, TCP_USER_TIMEOUT,
				o->user_timeout_ms);
	if (!ret)
		ret = setopt_if(fd, o->keepalive >= 0, SOL_SOCKET, SO_KEEPALIVE, o->keepalive);
	if (!ret)
		ret = setopt_if(fd, o->keepalive_idle_s > 0, IPPROTO_TCP, TCP_KEEPIDLE,
				o->keepalive_idle_s);
	if (!ret)
		ret = setopt_if(fd, o->keepalive_interval_s > 0, IPPROTO_TCP, TCP_KEEPINTVL,
				o->keepalive_interval_s);
	if (!ret)
		ret = setopt_if(fd, o->keepalive_count > 0, IPPROTO_TCP, TCP_KEEPCNT,
				o->keepalive_count);
	return ret;
}

static const char *net_name(int family, bool dgram)
{
	if (dgram)
		return family == AF_INET ? "udp4" : family == AF_INET6 ? "udp6" : "unixgram";
	return family == AF_INET ? "tcp4" : family == AF_INET6 ? "tcp6" : "unix";
}

static int control(const struct urnet_options *o, int fd, const struct urnet__sockaddr *sa,
		   bool dgram)
{
	char addr[URNET__ADDRSTRLEN];

	if (!o->control)
		return 0;
	urnet__format_sockaddr(&sa->u.sa, sa->len, addr, sizeof(addr));
	errno = 0;
	if (!o->control(fd, net_name(sa->u.sa.sa_family, dgram), addr, o->control_arg))
		return 0;
	/* A callback that failed without saying why still fails the call. */
	return errno > 0 ? -errno : -EPERM;
}

int urnet__opts_apply(const struct urnet__opts *opts, int fd, enum urnet__net net,
		      const struct urnet__sockaddr *sa, bool for_listen)
{
	const struct urnet_options *o = &opts->o;
	bool tcp = !urnet__net_is_unix(net) && !urnet__net_is_dgram(net);
	int ret = 0;

	/* Request/response traffic wants no Nagle; the nodelay option undoes it. */
	if (tcp && !for_listen)
		ret = setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!ret)
		ret = setopt_if(fd, o->rcvbuf > 0, SOL_SOCKET, SO_RCVBUF, o->rcvbuf);
	if (!ret)
		ret = setopt_if(fd, o->sndbuf > 0, SOL_SOCKET, SO_SNDBUF, o->sndbuf);
	/* TCP's options mean nothing to a unix socket: they are ignored there. */
	if (!ret && !urnet__net_is_unix(net))
		ret = apply_ip(o, fd, sa->u.sa.sa_family, tcp);
	if (!ret)
		ret = control(o, fd, sa, urnet__net_is_dgram(net));
	if (!ret && opts->has_local && !for_listen) {
		if (opts->local.u.sa.sa_family != sa->u.sa.sa_family)
			return -EAFNOSUPPORT;
		if (bind(fd, &opts->local.u.sa, opts->local.len))
			ret = -errno;
	}
	return ret;
}

int urnet__opts_socket(const struct urnet__opts *o, enum urnet__net net,
		       const struct urnet__sockaddr *sa, bool for_listen)
{
	int fd = urnet__libc()->socket(sa->u.sa.sa_family,
				       (urnet__net_is_dgram(net) ? SOCK_DGRAM : SOCK_STREAM) |
				       SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = urnet__opts_apply(o, fd, net, sa, for_listen);
	if (ret) {
		urnet__libc()->close(fd);
		return ret;
	}
	return fd;
}
