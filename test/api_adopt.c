/* SPDX-License-Identifier: MIT */
/*
 * Adopting sockets the program already holds: urnet_conn_from_fd() and
 * urnet_listener_from_fd() round trips (the fd becomes non-blocking and
 * close-on-exec, closing the object closes it), every refusal (with the fd
 * left exactly as it was), and the environment checks of
 * urnet_listen_fds().  test/activate.sh runs real socket activation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "api_util.h"

/* A plain blocking listener on 127.0.0.1, port chosen by the kernel. */
static int plain_listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static void check_owned(int fd)
{
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void check_closed(int fd)
{
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}

static void echo_once(urnet_conn *a, urnet_conn *b)
{
	char buf[16];

	ck_assert_int_eq(urnet_conn_write(a, "adopted", 7), 7);
	ck_assert(api_read_full(b, buf, 7));
	ck_assert(!memcmp(buf, "adopted", 7));
}

START_TEST(conn_from_fd_takes_over_a_connected_tcp_socket)
{
	struct sockaddr_in sa;
	int lfd = plain_listener(&sa), fd = socket(AF_INET, SOCK_STREAM, 0), sfd;
	urnet_conn *c, *s;
	char want[64];

	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(sfd, 0);
	c = urnet_conn_from_fd(fd);
	ck_assert_msg(c, "from_fd: %s", strerror(errno));
	s = urnet_conn_from_fd(sfd);
	ck_assert_ptr_nonnull(s);
	check_owned(fd);
	check_owned(sfd);
	ck_assert_int_eq(urnet_conn_fd(c), fd);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(sa.sin_port));
	ck_assert_str_eq(urnet_conn_remote_addr(c), want);
	echo_once(c, s);
	echo_once(s, c);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	check_closed(fd);
	check_closed(sfd);
	close(lfd);
}
END_TEST

START_TEST(conn_from_fd_takes_over_a_unix_socketpair)
{
	int sv[2];
	urnet_conn *a, *b;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a = urnet_conn_from_fd(sv[0]);
	b = urnet_conn_from_fd(sv[1]);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	echo_once(a, b);
	ck_assert_int_eq(urnet_conn_close(a), 0);
	/* The peer sees the end of the stream through urnet's read. */
	ck_assert_int_eq(urnet_conn_read(b, (char[4]){ 0 }, 4), 0);
	ck_assert_int_eq(urnet_conn_close(b), 0);
	check_closed(sv[0]);
	check_closed(sv[1]);
}
END_TEST

START_TEST(listener_from_fd_accepts_and_reports_its_address)
{
	struct sockaddr_in sa;
	int lfd = plain_listener(&sa);
	urnet_listener *l = urnet_listener_from_fd(lfd);
	urnet_conn *c, *s;
	char want[64];

	ck_assert_msg(l, "from_fd: %s", strerror(errno));
	check_owned(lfd);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(sa.sin_port));
	ck_assert_str_eq(urnet_listener_addr(l), want);
	c = urnet_dial("tcp", want, 10 * SEC);
	ck_assert_ptr_nonnull(c);
	s = urnet_listener_accept(l);
	ck_assert_ptr_nonnull(s);
	echo_once(c, s);
	urnet_conn_close(c);
	urnet_conn_close(s);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	check_closed(lfd);
}
END_TEST

/* fd refused with err: open, and its flags as before. */
static void refused(int fd, bool as_listener, int err)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	errno = 0;
	if (as_listener)
		ck_assert_ptr_null(urnet_listener_from_fd(fd));
	else
		ck_assert_ptr_null(urnet_conn_from_fd(fd));
	ck_assert_msg(errno == err, "fd %d: errno %d (%s), want %d", fd, errno,
		      strerror(errno), err);
	if (fd >= 0 && fl >= 0) {
		ck_assert_int_eq(fcntl(fd, F_GETFL), fl);
		ck_assert_int_eq(fcntl(fd, F_GETFD), fdfl);
	}
}

START_TEST(from_fd_refuses_what_it_cannot_take)
{
	struct sockaddr_in sa;
	int lfd = plain_listener(&sa), pfd[2], udp, unconn, conn, sfd;

	ck_assert_int_eq(pipe(pfd), 0);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	unconn = socket(AF_INET, SOCK_STREAM, 0);
	conn = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(conn, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sfd = accept(lfd, NULL, NULL);
	for (int l = 0; l < 2; l++) {
		refused(-1, l, EBADF);
		refused(INT32_MAX, l, EBADF);
		refused(1 << 20, l, EBADF);
		refused(pfd[0], l, ENOTSOCK);
		refused(udp, l, EINVAL);
		refused(unconn, l, EINVAL);
	}
	refused(lfd, false, EINVAL);
	refused(conn, true, EINVAL);
	refused(sfd, true, EINVAL);
	/* Still usable as they were: blocking, the data goes through. */
	ck_assert_int_eq(write(conn, "x", 1), 1);
	ck_assert_int_eq(read(sfd, (char[1]){ 0 }, 1), 1);
	close(pfd[0]);
	close(pfd[1]);
	close(udp);
	close(unconn);
	close(conn);
	close(sfd);
	close(lfd);
}
END_TEST

START_TEST(listen_fds_ignores_another_process)
{
	urnet_listener *ls[4];
	char pid[32];

	unsetenv("LISTEN_PID");
	ck_assert_int_eq(urnet_listen_fds(0, ls, NULL, 4), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(urnet_listen_fds(1, ls, NULL, 4), 0);
	/* unset_env removes the variables even when they were not ours. */
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
}
END_TEST

START_TEST(listen_fds_refuses_malformed_variables)
{
	static const char *bad[][2] = {
		{ "x", "1" }, { "", "1" }, { "-1", "1" }, { "self", "1" },
		{ NULL, "" }, { NULL, "one" }, { NULL, "-2" }, { NULL, "1x" },
		{ NULL, "99999999999999999999" },
	};
	urnet_listener *ls[4];
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("LISTEN_PID", bad[i][0] ? bad[i][0] : pid, 1);
		setenv("LISTEN_FDS", bad[i][1], 1);
		errno = 0;
		ck_assert_int_eq(urnet_listen_fds(0, ls, NULL, 4), -1);
		ck_assert_msg(errno == EINVAL, "case %zu: %s", i, strerror(errno));
	}
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "5", 1);
	ck_assert_int_eq(urnet_listen_fds(0, ls, NULL, 4), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(urnet_listen_fds(0, ls, NULL, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	setenv("LISTEN_FDS", "0", 1);
	ck_assert_int_eq(urnet_listen_fds(1, ls, NULL, 4), 0);
	ck_assert_ptr_null(getenv("LISTEN_PID"));
}
END_TEST

static Suite *api_adopt_suite(void)
{
	Suite *s = suite_create("api_adopt");
	TCase *tc = tcase_create("adopt");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, conn_from_fd_takes_over_a_connected_tcp_socket);
	tcase_add_test(tc, conn_from_fd_takes_over_a_unix_socketpair);
	tcase_add_test(tc, listener_from_fd_accepts_and_reports_its_address);
	tcase_add_test(tc, from_fd_refuses_what_it_cannot_take);
	tcase_add_test(tc, listen_fds_ignores_another_process);
	tcase_add_test(tc, listen_fds_refuses_malformed_variables);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(api_adopt_suite());
}
