/* SPDX-License-Identifier: MIT */
/*
 * The packet conn: an unconnected datagram socket ("udp", "udp4", "udp6",
 * "unixgram") bound to an address, with its life cycle, deadlines,
 * addresses and the broadcast and multicast options.  It is a conn inside
 * (conn_internal.h): close, deadlines and waits are the conn's.  The data
 * calls are in packet_io.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"

urnet_packet_conn *urnet_listen_packet_on(urnet_engine *e, const char *network,
					  const char *address)
{
	struct urnet__sockaddr sa;
	enum urnet__net net;
	urnet_conn *c;
	char *path;
	int fd, ret;

	/* Stream networks listen with urnet_listen(). */
	ret = urnet__parse_net_address(network, address, URNET__NETS_DGRAM, true, &net, &sa);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	e = urnet__engine_for_new_socket(e);
	if (!e)
		return NULL;
	fd = urnet__bound_socket(net, &sa, address, NULL, &path);
	if (fd < 0)
		return NULL;
	c = urnet__conn_new(e, fd, NULL);
	if (!c) {
		urnet__bound_socket_close(fd, path);
		return NULL;
	}
	c->dgram = true;
	c->net = net;
	c->unlink_path = path;
	return (urnet_packet_conn *)c;
}

urnet_packet_conn *urnet_listen_packet(const char *network, const char *address)
{
	return urnet_listen_packet_on(NULL, network, address);
}

/* The conn inside; NULL stays NULL, for the conn calls' EINVAL. */
static urnet_conn *conn_of(urnet_packet_conn *p)
{
	return (urnet_conn *)(void *)p;
}

int urnet_packet_close(urnet_packet_conn *p)
{
	return urnet_conn_close(conn_of(p));
}

int urnet_packet_set_deadline(urnet_packet_conn *p, int64_t deadline_ns)
{
	return urnet_conn_set_deadline(conn_of(p), deadline_ns);
}

int urnet_packet_set_read_deadline(urnet_packet_conn *p, int64_t deadline_ns)
{
	return urnet_conn_set_read_deadline(conn_of(p), deadline_ns);
}

int urnet_packet_set_write_deadline(urnet_packet_conn *p, int64_t deadline_ns)
{
	return urnet_conn_set_write_deadline(conn_of(p), deadline_ns);
}

const char *urnet_packet_local_addr(urnet_packet_conn *p)
{
	return urnet_conn_local_addr(conn_of(p));
}

int urnet_packet_fd(urnet_packet_conn *p)
{
	return urnet_conn_fd(conn_of(p));
}

int urnet_packet_set_broadcast(urnet_packet_conn *p, int on)
{
	urnet_conn *c = conn_of(p);
	int v = !!on, ret;

	if (!urnet__conn_enter(c))
		return -1;
	ret = urnet__libc()->setsockopt(c->fd, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v));
	urnet__conn_leave(c);
	return ret;
}

/* ifname NULL or "": the kernel picks the interface (index 0). */
static int group_option(int fd, const char *group, const char *ifname, bool join)
{
	unsigned int ifindex = 0;
	struct ip_mreqn m4;
	struct ipv6_mreq m6;

	if (!group)
		return -EINVAL;
	if (ifname && ifname[0]) {
		ifindex = if_nametoindex(ifname);
		if (!ifindex)
			return -ENODEV;
	}
	memset(&m4, 0, sizeof(m4));
	memset(&m6, 0, sizeof(m6));
	if (inet_pton(AF_INET, group, &m4.imr_multiaddr) == 1) {
		m4.imr_ifindex = (int)ifindex;
		if (urnet__libc()->setsockopt(fd, IPPROTO_IP,
					      join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
					      &m4, sizeof(m4)))
			return -errno;
		return 0;
	}
	if (inet_pton(AF_INET6, group, &m6.ipv6mr_multiaddr) == 1) {
		m6.ipv6mr_interface = ifindex;
		if (urnet__libc()->setsockopt(fd, IPPROTO_IPV6,
					      join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
					      &m6, sizeof(m6)))
			return -errno;
		return 0;
	}
	return -EINVAL;
}

static int group_change(urnet_packet_conn *p, const char *group, const char *ifname, bool join)
{
	urnet_conn *c = conn_of(p);
	int ret;

	if (!urnet__conn_enter(c))
		return -1;
	ret = group_option(c->fd, group, ifname, join);
	urnet__conn_leave(c);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

int urnet_packet_join_group(urnet_packet_conn *p, const char *group, const char *ifname)
{
	return group_change(p, group, ifname, true);
}

int urnet_packet_leave_group(urnet_packet_conn *p, const char *group, const char *ifname)
{
	return group_change(p, group, ifname, false);
}
