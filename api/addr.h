/* SPDX-License-Identifier: MIT */
/*
 * Private to api/: network names and address strings (addr.c), parsed into
 * sockaddrs and formatted back.  Apart from the conn objects so that the
 * parser builds on its own, as the fuzz harness (test/fuzz_addr.c) does.
 * Not installed.
 */
#ifndef URNET_API_ADDR_H
#define URNET_API_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "visibility.h"

/* Longest text form: "@" + a 107-byte abstract name + NUL, or "[v6%zone]:port". */
#define URNET__ADDRSTRLEN 112

enum urnet__net {
	URNET__NET_TCP,		/* IPv4 or IPv6, as the address says */
	URNET__NET_TCP4,
	URNET__NET_TCP6,
	URNET__NET_UNIX,
	/* Datagram networks: the same address rules as their stream twins. */
	URNET__NET_UDP,
	URNET__NET_UDP4,
	URNET__NET_UDP6,
	URNET__NET_UNIXGRAM,
};

static inline bool urnet__net_is_dgram(enum urnet__net net)
{
	return net >= URNET__NET_UDP;
}

static inline bool urnet__net_is_unix(enum urnet__net net)
{
	return net == URNET__NET_UNIX || net == URNET__NET_UNIXGRAM;
}

/* "tcp" and "udp": IPv4 or IPv6 as the address says, dual stack on ":port". */
static inline bool urnet__net_is_any_ip(enum urnet__net net)
{
	return net == URNET__NET_TCP || net == URNET__NET_UDP;
}

static inline bool urnet__net_is_ip4(enum urnet__net net)
{
	return net == URNET__NET_TCP4 || net == URNET__NET_UDP4;
}

static inline bool urnet__net_is_ip6(enum urnet__net net)
{
	return net == URNET__NET_TCP6 || net == URNET__NET_UDP6;
}

struct urnet__sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
	bool wildcard;		/* host part was empty: listen on every interface */
};

URNET__HIDDEN int urnet__parse_network(const char *network, enum urnet__net *net);
URNET__HIDDEN int urnet__parse_address(enum urnet__net net, const char *address,
				       bool for_listen, struct urnet__sockaddr *out);
/* The host of a tcp address, up to a name's 253 bytes, a dot and a NUL. */
#define URNET__HOST_MAX 256
#define URNET__NAME_MAX 253
#define URNET__LABEL_MAX 63

/*
 * Split "host:port" or "[v6]:port" into host (size bytes with its NUL) and
 * port (network order).  0 or -EINVAL.
 */
URNET__HIDDEN int urnet__split_hostport(const char *address, char *host, size_t size,
					in_port_t *port);
/* A numeric host or "localhost" for dialing (host may be changed): 0 or -errno. */
URNET__HIDDEN int urnet__parse_host(enum urnet__net net, char *host,
				    struct urnet__sockaddr *out);
/*
 * A host name DNS can carry: ASCII letters, digits, '-', '_', labels of
 * 1-63 bytes, 253 bytes in all (plus an optional final dot).  0 or -EINVAL.
 */
URNET__HIDDEN int urnet__check_hostname(const char *name);
/* Which networks a caller takes (urnet__parse_net_address). */
#define URNET__NETS_STREAM	(1u << 0)
#define URNET__NETS_DGRAM	(1u << 1)

/*
 * Both of the above: network, which must be of a kind in nets
 * (-EAFNOSUPPORT otherwise), then address.  0 or -errno.
 */
URNET__HIDDEN int urnet__parse_net_address(const char *network, const char *address,
					   unsigned int nets, bool for_listen,
					   enum urnet__net *net, struct urnet__sockaddr *out);
URNET__HIDDEN void urnet__format_sockaddr(const struct sockaddr *sa, socklen_t len,
					  char *buf, size_t size);

#endif
