/* SPDX-License-Identifier: MIT */
/*
 * Dial and listen options (urnet_dial_with, urnet_listen_with): every
 * option read back with getsockopt() from the resulting socket, the
 * backlog seen through a unix listener's queue, the control callback's
 * arguments and its error path, and option values that are refused.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "api_util.h"

static int getint(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static void set_everything(struct urnet_options *o)
{
	urnet_options_init(o);
	o->rcvbuf = 65536;
	o->sndbuf = 32768;
	o->nodelay = 0;
	o->user_timeout_ms = 1234;
	o->keepalive = 1;
	o->keepalive_idle_s = 7;
	o->keepalive_interval_s = 3;
	o->keepalive_count = 4;
	o->reuseport = 1;
}

static void check_everything(int fd)
{
	/* The kernel doubles the buffer sizes it is given, for its bookkeeping. */
	ck_assert_int_ge(getint(fd, SOL_SOCKET, SO_RCVBUF), 65536);
	ck_assert_int_ge(getint(fd, SOL_SOCKET, SO_SNDBUF), 32768);
	ck_assert_int_lt(getint(fd, SOL_SOCKET, SO_SNDBUF), 65536 * 2);
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 1234);
	ck_assert_int_eq(getint(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
}

START_TEST(dial_with_sets_every_option_and_binds_the_local_address)
{
	struct urnet_options o;
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	urnet_conn *c, *s;
	int fd;

	ck_assert_ptr_nonnull(l);
	set_everything(&o);
	/* All of 127/8 is this machine: a local address other than the default. */
	o.local_addr = "127.0.0.2:0";
	c = urnet_dial_with(&o, "tcp", urnet_listener_addr(l), 10 * SEC);
	ck_assert_msg(c, "dial_with: %s", strerror(errno));
	fd = urnet_conn_fd(c);
	check_everything(fd);
	ck_assert_int_eq(getint(fd, SOL_SOCKET, SO_REUSEPORT), 1);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_msg(!strncmp(urnet_conn_local_addr(c), "127.0.0.2:", 10), "local %s",
		      urnet_conn_local_addr(c));
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(urnet_conn_remote_addr(s), urnet_conn_local_addr(c));
	urnet_conn_close(c);
	urnet_conn_close(s);
	urnet_listener_close(l);
}
END_TEST

START_TEST(dial_with_defaults_match_dial)
{
	struct urnet_options o;
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	urnet_conn *a, *b;

	urnet_options_init(&o);
	a = urnet_dial_with(&o, "tcp4", urnet_listener_addr(l), 10 * SEC);
	b = urnet_dial_with(NULL, "tcp4", urnet_listener_addr(l), 10 * SEC);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(getint(urnet_conn_fd(a), IPPROTO_TCP, TCP_NODELAY), 1);
	ck_assert_int_eq(getint(urnet_conn_fd(b), IPPROTO_TCP, TCP_NODELAY), 1);
	ck_assert_int_eq(getint(urnet_conn_fd(a), SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(getint(urnet_conn_fd(a), SOL_SOCKET, SO_REUSEPORT), 0);
	urnet_conn_close(a);
	urnet_conn_close(b);
	urnet_listener_close(l);
}
END_TEST

START_TEST(dial_with_v6only_on_tcp6)
{
	struct urnet_options o;
	urnet_listener *l;
	urnet_conn *c;

	if (!api_have_ipv6(SOCK_STREAM))
		return;
	l = urnet_listen("tcp6", "[::1]:0");
	urnet_options_init(&o);
	o.v6only = 1;
	o.local_addr = "[::1]:0";
	c = urnet_dial_with(&o, "tcp6", urnet_listener_addr(l), 10 * SEC);
	ck_assert_msg(c, "dial_with: %s", strerror(errno));
	ck_assert_int_eq(getint(urnet_conn_fd(c), IPPROTO_IPV6, IPV6_V6ONLY), 1);
	urnet_conn_close(c);
	urnet_listener_close(l);
}
END_TEST

START_TEST(listen_with_sets_options_that_accepted_conns_inherit)
{
	struct urnet_options o;
	urnet_listener *l, *l2;
	urnet_conn *c, *s;
	int fd;

	set_everything(&o);
	l = urnet_listen_with(&o, "tcp4", "127.0.0.1:0");
	ck_assert_msg(l, "listen_with: %s", strerror(errno));
	fd = urnet_listener_fd(l);
	check_everything(fd);
	ck_assert_int_eq(getint(fd, SOL_SOCKET, SO_REUSEPORT), 1);
	/* SO_REUSEPORT does what it says: a second listener on the same port. */
	l2 = urnet_listen_with(&o, "tcp4", urnet_listener_addr(l));
	ck_assert_msg(l2, "second listener: %s", strerror(errno));
	ck_assert_str_eq(urnet_listener_addr(l2), urnet_listener_addr(l));
	urnet_listener_close(l2);
	c = urnet_dial("tcp4", urnet_listener_addr(l), 10 * SEC);
	ck_assert_ptr_nonnull(c);
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	check_everything(urnet_conn_fd(s));
	urnet_conn_close(c);
	urnet_conn_close(s);
	urnet_listener_close(l);
}
END_TEST

START_TEST(listen_with_v6only_overrides_dual_stack)
{
	struct urnet_options o;
	urnet_listener *l;

	if (!api_have_ipv6(SOCK_STREAM))
		return;
	l = urnet_listen("tcp", ":0");
	ck_assert_int_eq(getint(urnet_listener_fd(l), IPPROTO_IPV6, IPV6_V6ONLY), 0);
	urnet_listener_close(l);
	urnet_options_init(&o);
	o.v6only = 1;
	l = urnet_listen_with(&o, "tcp", ":0");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(getint(urnet_listener_fd(l), IPPROTO_IPV6, IPV6_V6ONLY), 1);
	urnet_listener_close(l);
}
END_TEST

/*
 * A unix listener queues backlog + 1 connections, then refuses a
 * non-blocking connect with EAGAIN: the backlog reached listen().
 */
START_TEST(listen_with_backlog_bounds_the_queue)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct urnet_options o;
	char name[64];
	int fds[16], n = 0;
	urnet_listener *l;
	socklen_t len;

	snprintf(name, sizeof(name), "@urnet-backlog-%d", (int)getpid());
	urnet_options_init(&o);
	o.backlog = 3;
	l = urnet_listen_with(&o, "unix", name);
	ck_assert_ptr_nonnull(l);
	memcpy(un.sun_path + 1, name + 1, strlen(name) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	for (; n < 16; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&un, len)) {
			ck_assert_int_eq(errno, EAGAIN);
			close(fds[n]);
			break;
		}
	}
	ck_assert_int_eq(n, 4);
	while (n--)
		close(fds[n]);
	urnet_listener_close(l);
}
END_TEST

struct ctl_seen {
	int calls, fd, fail_errno;
	char network[16], address[64];
};

static int control(int fd, const char *network, const char *address, void *arg)
{
	struct ctl_seen *seen = arg;
	int tos = 0x10;

	seen->calls++;
	seen->fd = fd;
	snprintf(seen->network, sizeof(seen->network), "%s", network);
	snprintf(seen->address, sizeof(seen->address), "%s", address);
	if (seen->fail_errno >= 0) {
		errno = seen->fail_errno;
		return -1;
	}
	return setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
}

START_TEST(control_runs_before_connect_and_bind)
{
	struct ctl_seen seen = { .fail_errno = -1 };
	struct urnet_options o;
	urnet_listener *l;
	urnet_conn *c;

	urnet_options_init(&o);
	o.control = control;
	o.control_arg = &seen;
	l = urnet_listen_with(&o, "tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.fd, urnet_listener_fd(l));
	ck_assert_str_eq(seen.network, "tcp4");
	ck_assert_str_eq(seen.address, "127.0.0.1:0");	/* before bind: no port yet */
	c = urnet_dial_with(&o, "tcp", urnet_listener_addr(l), 10 * SEC);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(seen.calls, 2);
	ck_assert_int_eq(seen.fd, urnet_conn_fd(c));
	ck_assert_str_eq(seen.network, "tcp4");
	ck_assert_str_eq(seen.address, urnet_listener_addr(l));
	ck_assert_int_eq(getint(urnet_conn_fd(c), IPPROTO_IP, IP_TOS), 0x10);
	urnet_conn_close(c);
	urnet_listener_close(l);
}
END_TEST

START_TEST(control_failure_fails_the_call_with_its_errno)
{
	struct ctl_seen seen = { .fail_errno = EACCES };
	struct urnet_options o;
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");

	urnet_options_init(&o);
	o.control = control;
	o.control_arg = &seen;
	ck_assert_ptr_null(urnet_dial_with(&o, "tcp4", urnet_listener_addr(l), 10 * SEC));
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(urnet_listen_with(&o, "tcp4", "127.0.0.1:0"));
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(urnet_listen_with(&o, "unix", "@urnet-control-fails"));
	ck_assert_int_eq(errno, EACCES);
	ck_assert_str_eq(seen.network, "unix");
	/* Failing without an errno still fails: EPERM. */
	seen.fail_errno = 0;
	ck_assert_ptr_null(urnet_dial_with(&o, "tcp4", urnet_listener_addr(l), 10 * SEC));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(seen.calls, 4);
	urnet_listener_close(l);
	/* api_teardown: the sockets the callback refused were closed. */
}
END_TEST

START_TEST(bad_options_are_refused)
{
	struct urnet_options o;
	urnet_listener *l = urnet_listen("tcp4", "127.0.0.1:0");
	const char *a = urnet_listener_addr(l);

#define REFUSED(set, err)                                                              \
	do {                                                                           \
		urnet_options_init(&o);                                                \
		set;                                                                   \
		errno = 0;                                                             \
		ck_assert_ptr_null(urnet_dial_with(&o, "tcp4", a, SEC));               \
		ck_assert_msg(errno == err, #set ": dial errno %s", strerror(errno));  \
		ck_assert_ptr_null(urnet_listen_with(&o, "tcp4", "127.0.0.1:0"));      \
		ck_assert_msg(errno == err, #set ": listen errno %s", strerror(errno));\
	} while (0)
	REFUSED(o.size = 0, EINVAL);
	REFUSED(o.size = 8, EINVAL);
	REFUSED(o.reserved[3] = &o, EINVAL);
	REFUSED(o.backlog = -1, EINVAL);
	REFUSED(o.nodelay = 2, EINVAL);
	REFUSED(o.v6only = -2, EINVAL);
	REFUSED(o.keepalive = 7, EINVAL);
	REFUSED(o.rcvbuf = -1, EINVAL);
	REFUSED(o.sndbuf = -5, EINVAL);
	REFUSED(o.user_timeout_ms = -1, EINVAL);
	REFUSED(o.keepalive_idle_s = -1, EINVAL);
	REFUSED(o.keepalive_interval_s = -1, EINVAL);
	REFUSED(o.keepalive_count = -1, EINVAL);
	REFUSED(o.fallback_delay_ns = -1, EINVAL);
#undef REFUSED
	urnet_options_init(&o);
	o.local_addr = "127.0.0.1";
	ck_assert_ptr_null(urnet_dial_with(&o, "tcp4", a, SEC));
	ck_assert_int_eq(errno, EINVAL);
	o.local_addr = "[::1]:0";
	ck_assert_ptr_null(urnet_dial_with(&o, "tcp", a, SEC));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	/* A caller built against the first, shorter struct still works. */
	urnet_options_init(&o);
	o.size = offsetof(struct urnet_options, reserved);
	o.reserved[0] = &o;	/* past its size: not looked at */
	urnet_conn *c = urnet_dial_with(&o, "tcp4", a, 10 * SEC);
	ck_assert_msg(c, "short struct: %s", strerror(errno));
	urnet_conn_close(c);
	urnet_listener_close(l);
}
END_TEST

static Suite *api_options_suite(void)
{
	Suite *s = suite_create("api_options");
	TCase *tc = tcase_create("options");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, dial_with_sets_every_option_and_binds_the_local_address);
	tcase_add_test(tc, dial_with_defaults_match_dial);
	tcase_add_test(tc, dial_with_v6only_on_tcp6);
	tcase_add_test(tc, listen_with_sets_options_that_accepted_conns_inherit);
	tcase_add_test(tc, listen_with_v6only_overrides_dual_stack);
	tcase_add_test(tc, listen_with_backlog_bounds_the_queue);
	tcase_add_test(tc, control_runs_before_connect_and_bind);
	tcase_add_test(tc, control_failure_fails_the_call_with_its_errno);
	tcase_add_test(tc, bad_options_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(api_options_suite());
}
