/* SPDX-License-Identifier: MIT */
/*
 * Adopting sockets the program already holds: a connection accepted or
 * dialed by other code, a listener inherited across exec, and the
 * listeners systemd passes by socket activation (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES).  Every check runs before anything is changed, so that a
 * refused fd is left exactly as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_internal.h"
#include "libc.h"

/* sd_listen_fds(3): passed descriptors start here. */
#define LISTEN_FDS_START 3

struct saved_flags {
	int fl, fd;
};

static int getopt_int(int fd, int name, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, name, v, &len) ? -errno : 0;
}

/*
 * A tcp or unix stream socket, listening or not as wanted: 0 or -errno.
 * A negative fd is EBADF, like every call on one; SO_TYPE tells ENOTSOCK.
 */
static int check_stream(int fd, bool listening)
{
	int type, domain, acc, ret;

	if (fd < 0)
		return -EBADF;
	ret = getopt_int(fd, SO_TYPE, &type);
	if (!ret)
		ret = getopt_int(fd, SO_DOMAIN, &domain);
	if (!ret)
		ret = getopt_int(fd, SO_ACCEPTCONN, &acc);
	if (ret)
		return ret;
	if (type != SOCK_STREAM || (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX))
		return -EINVAL;
	return !!acc == listening ? 0 : -EINVAL;
}

static int own_flags(int fd, struct saved_flags *old)
{
	old->fl = urnet__libc()->fcntl(fd, F_GETFL);
	old->fd = urnet__libc()->fcntl(fd, F_GETFD);
	if (old->fl < 0 || old->fd < 0)
		return -errno;
	if (urnet__libc()->fcntl(fd, F_SETFL, old->fl | O_NONBLOCK) ||
	    urnet__libc()->fcntl(fd, F_SETFD, old->fd | FD_CLOEXEC)) {
		int err = errno;

		urnet__libc()->fcntl(fd, F_SETFL, old->fl);
		return -err;
	}
	return 0;
}

static void restore_flags(int fd, const struct saved_flags *old)
{
	int saved = errno;

	urnet__libc()->fcntl(fd, F_SETFL, old->fl);
	urnet__libc()->fcntl(fd, F_SETFD, old->fd);
	errno = saved;
}

urnet_conn *urnet_conn_from_fd(int fd)
{
	struct urnet__sockaddr peer = { .len = sizeof(peer.u) };
	struct saved_flags old;
	urnet_engine *e;
	urnet_conn *c;
	int ret = check_stream(fd, false);

	/* Not yet (or no longer) connected: nothing to read or write on. */
	if (!ret && getpeername(fd, &peer.u.sa, &peer.len))
		ret = errno == ENOTCONN ? -EINVAL : -errno;
	if (!ret)
		ret = own_flags(fd, &old);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	e = urnet__engine_for_new_socket(NULL);
	c = e ? urnet__conn_new(e, fd, &peer) : NULL;
	if (!c)
		restore_flags(fd, &old);
	return c;
}

static urnet_listener *adopt_listener(int fd, struct saved_flags *old)
{
	urnet_engine *e;
	urnet_listener *l;
	int ret = check_stream(fd, true);

	if (!ret)
		ret = own_flags(fd, old);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	e = urnet__engine_for_new_socket(NULL);
	l = e ? urnet__listener_new(e, NULL, fd) : NULL;
	if (!l)
		restore_flags(fd, old);
	return l;
}

urnet_listener *urnet_listener_from_fd(int fd)
{
	struct saved_flags old;

	return adopt_listener(fd, &old);
}

/* A whole decimal number in [1, max], as systemd writes them. */
static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The i-th ':'-separated entry of LISTEN_FDNAMES, or "unknown" as systemd says. */
static char *fd_name(const char *names, int i)
{
	const char *p = names, *end;

	for (; p && i > 0; i--) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return strdup("unknown");
	end = strchrnul(p, ':');
	return strndup(p, (size_t)(end - p));
}

/* Undo the first n adoptions: the objects go, the fds stay as they were. */
static void unadopt(urnet_listener **ls, struct saved_flags *old, int n)
{
	for (int i = 0; i < n; i++) {
		/* Keep the fd open through close: the descriptor is not ours. */
		int keep = urnet__libc()->dup(ls[i]->fd);

		urnet_listener_close(ls[i]);
		if (keep >= 0) {
			urnet__libc()->dup3(keep, LISTEN_FDS_START + i, 0);
			urnet__libc()->close(keep);
			restore_flags(LISTEN_FDS_START + i, &old[i]);
		}
	}
}

static int activated(urnet_listener **ls, char **names, int max)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	const char *names_s = getenv("LISTEN_FDNAMES");
	struct saved_flags *old;
	long pid, n;
	int i, ret;

	if (!pid_s)
		return 0;
	if (parse_count(pid_s, LONG_MAX, &pid) || parse_count(n_s, INT_MAX - LISTEN_FDS_START, &n))
		return -EINVAL;
	if (pid != (long)getpid())
		return 0;
	if (n > max)
		return -ERANGE;
	if (n > 0 && !ls)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = check_stream(LISTEN_FDS_START + i, true);
		if (ret)
			return ret == -ENOTSOCK || ret == -EBADF ? -EINVAL : ret;
	}
	old = calloc((size_t)n + 1, sizeof(*old));
	if (!old)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ls[i] = adopt_listener(LISTEN_FDS_START + i, &old[i]);
		if (names && ls[i]) {
			names[i] = fd_name(names_s, i);
			if (!names[i]) {
				urnet_listener_close(ls[i]);
				ls[i] = NULL;
				errno = ENOMEM;
			}
		}
		if (!ls[i]) {
			ret = -errno;
			unadopt(ls, old, i);
			for (int j = 0; names && j < i; j++)
				free(names[j]);
			free(old);
			return ret;
		}
	}
	free(old);
	return (int)n;
}

int urnet_listen_fds(int unset_env, urnet_listener **ls, char **names, int max)
{
	int ret;

	if (max < 0) {
		errno = EINVAL;
		return -1;
	}
	ret = activated(ls, names, max);
	/* As sd_listen_fds(): the variables go whatever the outcome. */
	if (unset_env) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}
