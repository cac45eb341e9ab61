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
#include "iotimeout.h"
#include "libc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

bool urnet__call_begin(struct urnet__call *c, int fd)
{
	struct urnet__fdent *e = urnet__fd_enter(fd);
	enum urnet__fdkind kind;

	if (!e)
		return false;
	kind = urnet__fd_kind(e, fd);
	if (!urnet__fdkind_served(kind)) {
		urnet__fd_leave(e);
		return false;
	}
	c->dgram = kind == URNET__FDK_DGRAM;
	c->fd = fd;
	c->ent = e;
	c->ready = NULL;
	c->prepared[0] = c->prepared[1] = false;
	c->flags_known = false;
	c->plain = false;
	c->progress = false;
	c->check_when_swept = false;
	c->connecting = false;
	c->no_kernel_wait = false;
	return true;
}

void urnet__call_end(struct urnet__call *c)
{
	if (c->ent)
		urnet__fd_leave(c->ent);
	c->ent = NULL;
}

/*
 * Cancellation leaves the waiting frames through a longjmp that
 * AddressSanitizer does not see: their redzones below hi, the frame of
 * the call's entry, would stay poisoned for whatever runs there next.
 */
static void unpoison_below(void *hi)
{
#if defined(__SANITIZE_ADDRESS__)
	size_t span = 256 * 1024;

	__asan_unpoison_memory_region((char *)hi - span, span);
#else
	(void)hi;
#endif
}

void urnet__call_cleanup(void *arg)
{
	struct urnet__call *c = arg;

	unpoison_below(c->stack_hi);
	urnet__call_end(c);
}

int urnet__call_to_kernel(struct urnet__call *c)
{
	if (urnet__fd_closing(c->ent))
		return -EBADF;
	urnet__call_end(c);
	return 0;
}

int urnet__call_nonblock(struct urnet__call *c)
{
	uint32_t gen, nb;
	int fl;

	if (!c->flags_known) {
		if (!urnet__fd_mode_get(&c->ent->nonblock, &nb)) {
			gen = urnet__fd_mode_gen();
			/* A foreign child's fd may be another file: learn, keep nothing. */
			if (gen && urnet__in_foreign_child())
				gen = 0;
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

/*
 * Short waits in the kernel.  A thread parked on the engine is woken in
 * two hops: the kernel reports readiness to the engine thread, which then
 * wakes the caller.  A plain blocking call is woken in one, inside the
 * sender's own system call, and a conversation of short waits (a
 * ping-pong, a request and its answer, a bulk transfer whose two ends keep
 * pace) pays the second hop on every message: a wake-up of another
 * thread, often on another CPU.  So once a wait on an fd was short, the
 * next read or write in that direction is the kernel's blocking call,
 * made whole and exactly as without urnet (signals, SO_*TIMEO, a close
 * from another thread), with one system call whether it waits or not;
 * once a call was long, the next tries and waits on the engine again.
 * The first wait on an fd goes to the engine: nothing says yet that it
 * will be short.
 */
static int64_t short_wait_ns(void)
{
	static _Atomic int64_t ns = -1;
	int64_t v = atomic_load_explicit(&ns, memory_order_relaxed);

	if (v < 0) {
		v = urnet__env_kernel_wait_ns();
		atomic_store_explicit(&ns, v, memory_order_relaxed);
	}
	return v;
}

void urnet__call_note_wait(struct urnet__fdent *e, int dir, int64_t ns)
{
	uint32_t bit = 1u << dir;
	bool was = atomic_load_explicit(&e->short_wait, memory_order_relaxed) & bit;
	bool is = ns <= short_wait_ns();

	/* Called on every call the kernel makes: write only what changed. */
	if (is && !was)
		atomic_fetch_or_explicit(&e->short_wait, bit, memory_order_relaxed);
	else if (!is && was)
		atomic_fetch_and_explicit(&e->short_wait, ~bit, memory_order_relaxed);
}

static bool hinted(struct urnet__fdent *e, int dir)
{
	return short_wait_ns() &&
	       (atomic_load_explicit(&e->short_wait, memory_order_relaxed) & (1u << dir));
}

static bool io_limited(void)
{
	bool limited;

	urnet__io_limit_deadline(URNET__LIMIT_IO, 0, &limited);
	return limited;
}

/*
 * While an engine poll is in the ring it holds the file the number named
 * when it was armed: if that file was closed and the number handed out
 * again where the module could not see it (a raw system call), only a wait
 * on the engine would find out and let go of it.  So before leaving for
 * the kernel, look first (the poll leaves the ring once its reports go
 * unused); a changed file is forgotten, and the kernel's call serves the
 * new one.
 */
static bool poll_armed(struct urnet__fdent *e)
{
	struct urnet__ready *r = atomic_load_explicit(&e->ready, memory_order_acquire);

	return r && (atomic_load_explicit(&r->armed[URNET__READ], memory_order_relaxed) ||
		     atomic_load_explicit(&r->armed[URNET__WRITE], memory_order_relaxed));
}

bool urnet__call_waits_in_kernel(struct urnet__call *c, int dir)
{
	if (c->no_kernel_wait || !hinted(c->ent, dir))
		return false;
	/* A non-blocking fd (or an error learning it): the usual path says so. */
	if (urnet__call_nonblock(c) != 0 || io_limited())
		return false;
	if (c->progress && sock_timeo_us(c, dir) != 0)
		return false;
	if (poll_armed(c->ent))
		urnet__fd_revalidate(c->ent, c->fd);
	return urnet__call_to_kernel(c) == 0;
}

bool urnet__kernel_wait_known(struct urnet__fdent *e, int dir)
{
	uint32_t nb;

	return hinted(e, dir) && urnet__fd_mode_get(&e->nonblock, &nb) && !nb &&
	       !io_limited() && !poll_armed(e);
}

int64_t urnet__kernel_wait_begin(int fd, int dir)
{
	urnet__count_kernel_wait();
	return urnet__waits_park(fd, dir == URNET__READ ? URNET__WK_READ : URNET__WK_WRITE, 0);
}

void urnet__kernel_wait_cleanup(void *stack_hi)
{
	unpoison_below(stack_hi);
	urnet__waits_unpark();
}

ssize_t urnet__kernel_wait_end(struct urnet__fdent *e, int dir, int64_t start, ssize_t n)
{
	urnet__call_note_wait(e, dir, urnet__waits_unpark() - start);
	if (n == -ENOTSOCK) {
		/*
		 * The number names something else now, where the module did not
		 * see it happen (or in a child sharing our memory): the C
		 * library's call, and the next call tries and finds out.
		 */
		urnet__call_note_wait(e, dir, INT64_MAX);
		return URNET__PASS;
	}
	return n;
}

static int64_t sock_deadline(struct urnet__call *c, int dir)
{
	int64_t us = sock_timeo_us(c, dir);

	if (us < 0)
		return 1;	/* long past: fail with EAGAIN instead of waiting */
	return us > 0 ? urnet_now_ns() + us * 1000 : 0;
}

/*
 * A wait that leaves the identity check for later: on io_uring the engine
 * looks now and then whether the number still names the file its poll
 * holds, and wakes the waits only when it does not
 * (urnet__ready_watch_identity), so that a long wait is never woken for
 * nothing (a signal that lands while it is awake for nothing would be
 * lost).  The syscall backend's waits poll the number itself and hold no
 * file: nothing to check there.
 */
static void check_identity_later(struct urnet__call *c)
{
	if (c->check_when_swept || urnet__engine_is_syscall(c->ready->engine))
		return;
	urnet__ready_watch_identity(c->ready,
				    atomic_load_explicit(&c->ent->dev, memory_order_relaxed),
				    atomic_load_explicit(&c->ent->ino, memory_order_relaxed));
	c->swept = urnet__ready_swept(c->ready);
	c->check_when_swept = true;
}

static int prepare(struct urnet__call *c, int dir, bool check_now)
{
	int nb, saved = errno;

	if (c->prepared[dir])
		return 0;
	/*
	 * A child sharing our memory waits in the C library, on its own fd
	 * table: the readiness objects, the engines and the cached modes are
	 * the parent's.  Checked here, where a call is about to wait anyway,
	 * so that a read or write that need not wait costs nothing more.
	 */
	if (urnet__in_foreign_child())
		return URNET__PASS;
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
	c->deadline[dir] = urnet__io_limit_deadline(c->connecting ? URNET__LIMIT_CONNECT
								  : URNET__LIMIT_IO,
						    sock_deadline(c, dir), &c->limited[dir]);
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

int urnet__call_wait(struct urnet__call *c, int dir, uint32_t snap, unsigned kind)
{
	struct urnet__ready *r = c->ready;
	bool sys = urnet__engine_is_syscall(r->engine);
	unsigned flags = URNET__WAIT_EINTR | URNET__WAIT_CANCELPOINT | URNET__WAIT_KIND(kind);
	int ret;

	if (urnet__fd_closing(c->ent))
		return -EBADF;
	if (c->progress)
		flags |= URNET__WAIT_ANY_SIGNAL;
	for (;;) {
		/* The sleep is a cancellation point, as the BSD call's is. */
		ret = urnet__ready_wait(r, dir, snap, c->deadline[dir], flags);
		if (c->check_when_swept &&
		    (ret == -ETIMEDOUT || urnet__ready_swept(r) != c->swept)) {
			/* The number names another file, or SO_*TIMEO's EAGAIN: the new file's? */
			c->swept = urnet__ready_swept(r);
			if (!urnet__fd_revalidate(c->ent, c->fd))
				return URNET__PASS;
		}
		/*
		 * ppoll is never restarted after a handler; the kernel's untimed
		 * wait would be, if nothing has moved yet.
		 */
		if (ret == -EINTR && sys && !c->deadline[dir] && !c->progress &&
		    handlers_all_restart())
			continue;
		break;
	}
	if (ret == -ECANCELED || urnet__fd_closing(c->ent))
		return -EBADF;
	if (ret == -ETIMEDOUT && c->limited[dir])
		urnet__count_io_limit();
	return map_wait(ret);
}
