/* SPDX-License-Identifier: MIT */
/*
 * Network names and address strings: parsing into sockaddrs and formatting
 * back, and the checks a host name passes before it is looked up.  Only
 * numeric addresses and "localhost" are turned into addresses here; names
 * are looked up by resolve.c, on the engine.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

/* Room for "ffff:...:255.255.255.255%" plus an interface name. */
#define HOST_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 1)

int urnet__parse_network(const char *network, enum urnet__net *net)
{
	static const struct {
		const char *name;
		enum urnet__net net;
	} nets[] = {
		{ "tcp", URNET__NET_TCP },
		{ "tcp4", URNET__NET_TCP4 },
		{ "tcp6", URNET__NET_TCP6 },
		{ "unix", URNET__NET_UNIX },
		{ "udp", URNET__NET_UDP },
		{ "udp4", URNET__NET_UDP4 },
		{ "udp6", URNET__NET_UDP6 },
		{ "unixgram", URNET__NET_UNIXGRAM },
	};

	if (!network)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if (!strcmp(network, nets[i].name)) {
			*net = nets[i].net;
			return 0;
		}
	}
	return -EAFNOSUPPORT;
}

static int parse_unix(const char *address, struct urnet__sockaddr *out)
{
	size_t max = sizeof(out->u.un.sun_path);
	size_t n = strnlen(address, max + 1);
	bool abstract = address[0] == '@';

	/* A path needs its NUL inside sun_path; an abstract name does not. */
	if (n == 0 || (abstract && n == 1) || n > max || (!abstract && n == max))
		return -EINVAL;
	out->u.un.sun_family = AF_UNIX;
	memcpy(out->u.un.sun_path, address, n);
	if (abstract) {
		out->u.un.sun_path[0] = '\0';
		out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

static int parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

static int parse_zone(const char *zone, uint32_t *scope)
{
	unsigned long v = 0;
	size_t i;

	if (!zone[0])
		return -EINVAL;
	for (i = 0; zone[i] >= '0' && zone[i] <= '9' && i < 10; i++)
		v = v * 10 + (unsigned long)(zone[i] - '0');
	if (!zone[i] && v <= UINT32_MAX) {
		*scope = (uint32_t)v;
		return 0;
	}
	*scope = if_nametoindex(zone);
	return *scope ? 0 : -EINVAL;
}

static void set_loopback(enum urnet__net net, struct urnet__sockaddr *out)
{
	if (urnet__net_is_ip6(net)) {
		out->u.in6.sin6_family = AF_INET6;
		out->u.in6.sin6_addr = in6addr_loopback;
		out->len = sizeof(out->u.in6);
	} else {
		out->u.in4.sin_family = AF_INET;
		out->u.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		out->len = sizeof(out->u.in4);
	}
}

/* Listening on ":port" with "tcp" or "udp" means dual stack; listener.c falls back to IPv4. */
static void set_wildcard(enum urnet__net net, struct urnet__sockaddr *out)
{
	out->wildcard = true;
	if (urnet__net_is_ip4(net)) {
		out->u.in4.sin_family = AF_INET;
		out->u.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		out->len = sizeof(out->u.in4);
	} else {
		out->u.in6.sin6_family = AF_INET6;
		out->u.in6.sin6_addr = in6addr_any;
		out->len = sizeof(out->u.in6);
	}
}

static int parse_host(enum urnet__net net, char *host, bool for_listen,
		      struct urnet__sockaddr *out)
{
	struct in_addr in4;
	char *zone;

	if (!host[0]) {
		if (for_listen)
			set_wildcard(net, out);
		else
			set_loopback(net, out);
		return 0;
	}
	if (!strcasecmp(host, "localhost")) {
		set_loopback(net, out);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in4) == 1) {
		if (urnet__net_is_ip6(net))
			return -EAFNOSUPPORT;
		out->u.in4.sin_family = AF_INET;
		out->u.in4.sin_addr = in4;
		out->len = sizeof(out->u.in4);
		return 0;
	}
	zone = strchr(host, '%');
	if (zone)
		*zone++ = '\0';
	if (inet_pton(AF_INET6, host, &out->u.in6.sin6_addr) != 1)
		return -EINVAL;
	if (zone && parse_zone(zone, &out->u.in6.sin6_scope_id))
		return -EINVAL;
	if (urnet__net_is_ip4(net))
		return -EAFNOSUPPORT;
	out->u.in6.sin6_family = AF_INET6;
	out->len = sizeof(out->u.in6);
	return 0;
}

int urnet__split_hostport(const char *address, char *host, size_t size, in_port_t *port)
{
	const char *h = address, *end, *colon;
	size_t n;

	if (address[0] == '[') {
		h = address + 1;
		end = strchr(h, ']');
		if (!end || end == h || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon || memchr(address, ':', (size_t)(colon - address)))
			return -EINVAL;
		end = colon;
	}
	n = (size_t)(end - h);
	if (n >= size)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	if (memchr(host, '[', n) || memchr(host, ']', n))
		return -EINVAL;
	return parse_port(colon + 1, port);
}

int urnet__check_hostname(const char *name)
{
	size_t len = strlen(name), label = 0;

	/* One trailing dot says the name is absolute; it is not counted. */
	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > URNET__NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return -EINVAL;	/* an empty label */
			label = 0;
			continue;
		}
		/* Letters, digits, '-' and '_' (service names): no IDN, no spaces. */
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return -EINVAL;
		if (++label > URNET__LABEL_MAX)
			return -EINVAL;
	}
	return label ? 0 : -EINVAL;	/* "name.." ends in an empty label */
}

int urnet__parse_host(enum urnet__net net, char *host, struct urnet__sockaddr *out)
{
	return parse_host(net, host, false, out);
}

/*
 * "host:port", "[v6]:port" or ":port".  An IPv6 host needs its brackets so
 * that the port cannot be mistaken for the address's last group.
 */
static int parse_inet(enum urnet__net net, const char *address, bool for_listen,
		      struct urnet__sockaddr *out)
{
	char host[HOST_MAX];
	int ret;

	/* sin_port and sin6_port share their offset. */
	ret = urnet__split_hostport(address, host, sizeof(host), &out->u.in4.sin_port);
	if (ret)
		return ret;
	return parse_host(net, host, for_listen, out);
}

int urnet__parse_address(enum urnet__net net, const char *address, bool for_listen,
			 struct urnet__sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (!address)
		return -EINVAL;
	if (urnet__net_is_unix(net))
		return parse_unix(address, out);
	return parse_inet(net, address, for_listen, out);
}

int urnet__parse_net_address(const char *network, const char *address, unsigned int nets,
			     bool for_listen, enum urnet__net *net, struct urnet__sockaddr *out)
{
	int ret = urnet__parse_network(network, net);

	if (ret)
		return ret;
	if (!(nets & (urnet__net_is_dgram(*net) ? URNET__NETS_DGRAM : URNET__NETS_STREAM)))
		return -EAFNOSUPPORT;
	return urnet__parse_address(*net, address, for_listen, out);
}

static void format_in6(const struct sockaddr_in6 *in6, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	char zone[IF_NAMESIZE + 1] = "";

	/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: show them as IPv4. */
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in6->sin6_port));
		return;
	}
	inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
	if (in6->sin6_scope_id) {
		zone[0] = '%';
		if (!if_indextoname(in6->sin6_scope_id, zone + 1))
			snprintf(zone, sizeof(zone), "%%%u", in6->sin6_scope_id);
	}
	snprintf(buf, size, "[%s%s]:%u", host, zone, ntohs(in6->sin6_port));
}

static void format_un(const struct sockaddr_un *un, socklen_t len, char *buf, size_t size)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t n = len > off ? len - off : 0;

	/* An unnamed socket (the dialing end, usually) has no address: "". */
	if (n == 0) {
		buf[0] = '\0';
	} else if (un->sun_path[0] == '\0') {
		snprintf(buf, size, "@%.*s", (int)(n - 1), un->sun_path + 1);
	} else {
		snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
	}
}

void urnet__format_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[INET_ADDRSTRLEN];
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;

	switch (len >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC) {
	case AF_INET:
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in4->sin_port));
		break;
	case AF_INET6:
		format_in6((const struct sockaddr_in6 *)sa, buf, size);
		break;
	case AF_UNIX:
		format_un((const struct sockaddr_un *)sa, len, buf, size);
		break;
	default:
		buf[0] = '\0';
	}
}
