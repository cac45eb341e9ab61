/* SPDX-License-Identifier: MIT */
/*
 * Entering an fd, learning its blocking state on the first EAGAIN, and
 * waiting on the engine with the kernel's signal and cancellation rules.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "call.h"
#include "fdmode.h"
#include "libc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

bool urnet__call_begin(struct urnet__call *c, int fd)
{
	struct urnet__fdent *e = urnet__fd_enter(fd);

	if (!e)
		return false;
	if (urnet__fd_kind(e, fd) != URNET__FDK_STREAM) {
		urnet__fd_leave(e);
		return false;
	}
	c->fd = fd;
	c->ent = e;
	c->ready = NULL;
	c->prepared[0] = c->prepared[1] = false;
	c->flags_known = false;
	c->plain = false;
	c->recheck_ns = 0;
	c->check_when_swept = false;
	return true;
}

void urnet__call_end(struct urnet__call *c)
{
	if (c->ent)
		urnet__fd_leave(c->ent);
	c->ent = NULL;
}

void urnet__call_cleanup(void *arg)
{
#if defined(__SANITIZE_ADDRESS__)
	/*
	 * Cancellation left the waiting frames through a longjmp that
	 * AddressSanitizer does not see: their redzones below urnet__call_run
	 * would stay poisoned for whatever runs there next.
	 */
	struct urnet__call *c = arg;
	size_t span = 256 * 1024;

	__asan_unpoison_memory_region((char *)c->stack_hi - span, span);
#endif
	urnet__call_end(arg);
}

ssize_t urnet__call_run(int fd, urnet__call_fn fn, void *arg)
{
	struct urnet__call c;
	ssize_t n;

	if (!urnet__call_begin(&c, fd))
		return URNET__PASS;
	c.stack_hi = __builtin_frame_address(0);
	pthread_cleanup_push(urnet__call_cleanup, &c);
	n = fn(&c, arg);
	pthread_cleanup_pop(1);
	return n;
}

static void kernel_done(void *arg)
{
	struct urnet__call *c = arg;

	atomic_fetch_sub(&c->ent->kblocked, 1);
}

ssize_t urnet__call_kernel(struct urnet__call *c, urnet__call_fn fn, void *arg)
{
	ssize_t n;

	atomic_fetch_add(&c->ent->kblocked, 1);
	pthread_cleanup_push(kernel_done, c);
	/* A close that did not see us counted must not find us in the kernel. */
	n = urnet__fd_closing(c->ent) ? -EBADF : fn(c, arg);
	pthread_cleanup_pop(1);
	if (n < 0 && urnet__fd_closing(c->ent))
		return -EBADF;
	return n;
}

int urnet__call_nonblock(struct urnet__call *c)
{
	uint32_t gen, nb;
	int fl;

	if (!c->flags_known) {
		if (!urnet__fd_mode_get(&c->ent->nonblock, &nb)) {
			gen = urnet__fd_mode_gen();
			fl = urnet__libc()->fcntl(c->fd, F_GETFL);
			if (fl < 0)
				return -errno;
			nb = !!(fl & O_NONBLOCK);
			urnet__fd_mode_put(&c->ent->nonblock, gen, nb);
		}
		c->nonblock = nb;
		c->flags_known = true;
	}
	return c->nonblock;
}

/* SO_RCVTIMEO or SO_SNDTIMEO in microseconds; 0: none; -1: zero (fdtable.h). */
static int64_t sock_timeo_us(struct urnet__call *c, int dir)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);
	int opt = dir == URNET__READ ? SO_RCVTIMEO : SO_SNDTIMEO;
	uint32_t gen, us;
	int64_t t;

	if (urnet__fd_timeo_zero(c->ent, dir))
		return -1;
	if (urnet__fd_mode_get(&c->ent->timeo_us[dir], &us))
		return us;
	gen = urnet__fd_mode_gen();
	/* Zero is no timeout; so is one too long for the clock (the kernel's view). */
	if (getsockopt(c->fd, SOL_SOCKET, opt, &tv, &len) < 0 ||
	    tv.tv_sec < 0 || tv.tv_sec > (1L << 30))
		return 0;
	t = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	if (t >= 0 && t <= UINT32_MAX)	/* longer ones are asked for every time */
		urnet__fd_mode_put(&c->ent->timeo_us[dir], gen, (uint32_t)t);
	return t;
}

static int64_t sock_deadline(struct urnet__call *c, int dir)
{
	int64_t us = sock_timeo_us(c, dir);

	if (us < 0)
		return 1;	/* long past: fail with EAGAIN instead of waiting */
	return us > 0 ? urnet_now_ns() + us * 1000 : 0;
}

/*
 * A wait that leaves the identity check for later rechecks after 1 s, then
 * after 2, 4, ... up to 64 s: a number replaced by a raw system call costs
 * its first wait a second or two, and a long idle wait a handful of fstat
 * calls.  On io_uring the engine wakes such waits on that schedule
 * (urnet__ready_wake_long_waits); a timer on each wait would cost the
 * common short one more than all the rest of its bookkeeping.
 */
#define RECHECK_FIRST_NS	1000000000LL
#define RECHECK_MAX_NS		(64 * RECHECK_FIRST_NS)

static void check_identity_later(struct urnet__call *c)
{
	if (urnet__engine_is_syscall(c->ready->engine)) {
		if (!c->recheck_ns)
			c->recheck_ns = RECHECK_FIRST_NS;
	} else if (!c->check_when_swept) {
		urnet__ready_wake_long_waits(c->ready);
		c->swept = urnet__ready_swept(c->ready);
		c->check_when_swept = true;
	}
}

static int prepare(struct urnet__call *c, int dir, bool check_now)
{
	int nb, saved = errno;

	if (c->prepared[dir])
		return 0;
	nb = urnet__call_nonblock(c);
	if (nb < 0)
		return nb;
	if (nb)
		return -EAGAIN;
	if (check_now && !urnet__fd_revalidate(c->ent, c->fd))
		return URNET__PASS;
	/*
	 * The timeout as it is now, before the engine may have to start: the
	 * kernel reads it once, as the call begins, and a later setsockopt
	 * does not move a call that already waits.
	 */
	c->deadline[dir] = sock_deadline(c, dir);
	if (!c->ready) {
		c->ready = urnet__fd_ready(c->ent, c->fd);
		if (!c->ready) {
			/*
			 * No engine, or no descriptor for its bookkeeping (a
			 * process at its limit that may not be raised): the
			 * kernel can still wait, as it would without urnet.
			 */
			errno = saved;
			return URNET__PASS;
		}
	}
	if (!check_now)
		check_identity_later(c);
	c->prepared[dir] = true;
	errno = saved;
	return 0;
}

int urnet__call_prepare(struct urnet__call *c, int dir)
{
	return prepare(c, dir, true);
}

int urnet__call_prepare_io(struct urnet__call *c, int dir)
{
	return prepare(c, dir, !urnet__fd_new_numbers_tracked());
}

/*
 * The syscall backend sleeps in ppoll(), which the kernel never restarts
 * after a handler, and neither is a futex wait with a timeout.  An untimed
 * blocking socket call is restarted when the handler has SA_RESTART;
 * without knowing which signal ran, restart only if every installed
 * handler asks for it.
 */
static bool handlers_all_restart(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		/* Faults hit the thread that caused them, never one asleep in ppoll. */
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGTRAP || sig == SIGSYS)
			continue;
		if (sigaction(sig, NULL, &sa) < 0)
			continue;	/* SIGKILL, SIGSTOP, the C library's own */
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

static int map_wait(int ret)
{
	switch (ret) {
	case -ETIMEDOUT:
		return -EAGAIN;
	case -ECANCELED:
		return -EBADF;
	default:
		return ret;
	}
}

int urnet__call_wait(struct urnet__call *c, int dir, uint32_t snap)
{
	struct urnet__ready *r = c->ready;
	bool sys = urnet__engine_is_syscall(r->engine);
	int64_t until, recheck_at;
	int ret;

	if (urnet__fd_closing(c->ent))
		return -EBADF;
	for (;;) {
		until = c->deadline[dir];
		recheck_at = c->recheck_ns ? urnet_now_ns() + c->recheck_ns : 0;
		if (recheck_at && (!until || recheck_at < until))
			until = recheck_at;
		/* The sleep is a cancellation point, as the BSD call's is. */
		ret = urnet__ready_wait(r, dir, snap, until,
					URNET__WAIT_EINTR | URNET__WAIT_CANCELPOINT);
		if (c->check_when_swept &&
		    (ret == -ETIMEDOUT || urnet__ready_swept(r) != c->swept)) {
			/* Woken as a long wait, or SO_*TIMEO's EAGAIN: the new file's? */
			c->swept = urnet__ready_swept(r);
			if (!urnet__fd_revalidate(c->ent, c->fd))
				return URNET__PASS;
		}
		if (ret == -ETIMEDOUT && c->recheck_ns) {
			/* Also when SO_*TIMEO expired: an EAGAIN must be the new file's. */
			if (!urnet__fd_revalidate(c->ent, c->fd))
				return URNET__PASS;
			if (until != c->deadline[dir]) {
				if (c->recheck_ns < RECHECK_MAX_NS)
					c->recheck_ns *= 2;
				continue;
			}
		}
		/* A timed futex wait is not restarted either: the recheck made it one. */
		if (ret == -EINTR && (sys || c->recheck_ns) && !c->deadline[dir] &&
		    handlers_all_restart())
			continue;
		break;
	}
	if (ret == -ECANCELED || urnet__fd_closing(c->ent))
		return -EBADF;
	return map_wait(ret);
}
