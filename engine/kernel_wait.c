/* SPDX-License-Identifier: MIT */
/*
 * The first part of a short wait, slept in the kernel on the fd itself.
 *
 * A thread parked on the engine is woken in two hops: the kernel reports
 * readiness to the engine thread, which then wakes the caller.  A plain
 * blocking call is woken in one, inside the sender's own system call, and
 * on a machine with few cores the second hop is what a conversation of
 * short waits (a ping-pong, a request and its answer, a bulk transfer
 * whose reader has caught up) pays for above all: a wake-up of another
 * thread, often on another CPU.  So a wait whose last wait on the same fd
 * and direction was short first sleeps in ppoll(2) on the fd, for at most
 * the window (URNET_KERNEL_WAIT_US); only a wait that outlasts it goes on
 * to the engine.  Waits that are long keep going straight to the engine,
 * where thousands of them cost the kernel one poll each and no timer, and
 * so does the first wait on an fd, until one was seen to be short.
 *
 * The end of a window that saw nothing is a wake-up for nothing, once per
 * long wait that follows a short one: a signal that lands in the
 * microseconds between it and the sleep on the engine does not end the
 * call (doc/interposer.md, Limits).
 *
 * The window is bounded because the kernel's wait sees only the socket: a
 * close() of the number from another thread, a kick, the engine's stop
 * are seen when it ends (the wait on the engine that follows sees them at
 * once).  Signals end it like any wait: the caller's rules for restarting
 * (SA_RESTART, SO_RCVTIMEO) are applied here as the syscall backend's
 * ppoll applies them.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "kernel_wait.h"

bool urnet__handlers_all_restart(void)
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

static int64_t window_ns(void)
{
	static _Atomic int64_t window = -1;
	int64_t w = atomic_load_explicit(&window, memory_order_relaxed);

	if (w < 0) {
		w = urnet__env_kernel_wait_ns();
		atomic_store_explicit(&window, w, memory_order_relaxed);
	}
	return w;
}

int64_t urnet__kernel_wait_window(const struct urnet__ready *r, int dir)
{
	int64_t w;

	if (r->engine->syscall_backend)
		return 0;
	w = window_ns();
	return w && atomic_load_explicit(&r->last_wait_ns[dir], memory_order_relaxed) <= w ? w : 0;
}

int urnet__kernel_wait(struct urnet__ready *r, int dir, int64_t start, int64_t window,
		       int64_t deadline_ns, unsigned flags)
{
	/*
	 * What a blocking recv or send waits for; urgent data alone is not
	 * (it would report again and again while the read has nothing).
	 */
	struct pollfd p = { .fd = r->fd, .events = dir == URNET__READ ? POLLIN | POLLRDHUP
								       : POLLOUT };
	struct timespec ts;
	int64_t t = window;
	int ret, err;

	if (deadline_ns && deadline_ns - start < t)
		t = deadline_ns - start;
	if (t <= 0)
		return 1;
	ts.tv_sec = t / 1000000000;
	ts.tv_nsec = t % 1000000000;
	urnet__count_kernel_wait();
	/* Raw: a cancellation point only where the caller's wait is one. */
	ret = (int)syscall(SYS_ppoll, &p, 1UL, &ts, NULL, (size_t)(_NSIG / 8));
	err = errno;
	if (ret > 0)
		return 0;
	if (ret < 0 && err == EINTR && (flags & URNET__WAIT_EINTR)) {
		/* The kernel's untimed wait is restarted after an SA_RESTART handler. */
		if (deadline_ns || (flags & URNET__WAIT_ANY_SIGNAL) || !urnet__handlers_all_restart())
			return -EINTR;
	}
	if (deadline_ns && urnet_now_ns() >= deadline_ns)
		return -ETIMEDOUT;
	return 1;
}
