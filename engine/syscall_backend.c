/* SPDX-License-Identifier: MIT */
/*
 * The syscall backend: the engine where io_uring cannot be set up (or
 * URNET_BACKEND=syscall), so that programs keep working, only without the
 * ring.  Readiness waits poll in the caller (ready.c); what is left for
 * the engine thread is the generic API's asynchronous operations, each an
 * SQE read back as the plain syscall it stands for and run in turn.
 * Blocking calls (urnet_engine_call) run the same way in the caller.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"
#include "libc.h"

bool urnet__syscall_supports(uint8_t opcode)
{
	switch (opcode) {
	case IORING_OP_NOP:
	case IORING_OP_TIMEOUT:
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
	case IORING_OP_RECV:
	case IORING_OP_SEND:
	case IORING_OP_RECVMSG:
	case IORING_OP_SENDMSG:
	case IORING_OP_ACCEPT:
	case IORING_OP_CONNECT:
	case IORING_OP_POLL_ADD:
	case IORING_OP_CLOSE:
	case IORING_OP_FSYNC:
		return true;
	default:
		return false;
	}
}

/* Wait for events on fd until the deadline: 1 ready, or -errno. */
static int poll_until(int fd, short events, int64_t deadline_ns, short *revents)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		struct timespec ts, *tsp = NULL;
		int ret;

		if (deadline_ns > 0) {
			int64_t left = deadline_ns - urnet_now_ns();

			if (left <= 0)
				return -ETIMEDOUT;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		ret = urnet__libc()->ppoll(&p, 1, tsp, NULL);
		if (ret > 0) {
			if (revents)
				*revents = p.revents;
			return 1;
		}
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

static int64_t timespec_ns(const struct __kernel_timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static clockid_t timeout_clock(unsigned timeout_flags)
{
	if (timeout_flags & IORING_TIMEOUT_BOOTTIME)
		return CLOCK_BOOTTIME;
	if (timeout_flags & IORING_TIMEOUT_REALTIME)
		return CLOCK_REALTIME;
	return CLOCK_MONOTONIC;
}

static int run_timeout(const struct io_uring_sqe *sqe, int64_t deadline_ns)
{
	const struct __kernel_timespec *kts = (const void *)(uintptr_t)sqe->addr;
	clockid_t clk = timeout_clock(sqe->timeout_flags);
	struct timespec now, until;
	int64_t when, now_ns;

	if (!kts || sqe->off)	/* completion-count timeouts need a ring */
		return -EINVAL;
	clock_gettime(clk, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	when = timespec_ns(kts);
	if (!(sqe->timeout_flags & IORING_TIMEOUT_ABS))
		when += now_ns;
	if (deadline_ns > 0) {
		/* Both clocks tick alike; compare as time left. */
		int64_t left = deadline_ns - urnet_now_ns();

		if (left < when - now_ns)
			when = now_ns + (left > 0 ? left : 0);
		else
			deadline_ns = 0;
	}
	until.tv_sec = when / 1000000000;
	until.tv_nsec = when % 1000000000;
	for (;;) {
		int ret = clock_nanosleep(clk, TIMER_ABSTIME, &until, NULL);

		if (ret == 0)
			break;
		if (ret != EINTR)
			return -ret;
	}
	return deadline_ns > 0 ? -ETIMEDOUT : -ETIME;
}

static short op_events(uint8_t opcode)
{
	switch (opcode) {
	case IORING_OP_WRITE:
	case IORING_OP_WRITEV:
	case IORING_OP_SEND:
	case IORING_OP_SENDMSG:
		return POLLOUT;
	default:
		return POLLIN;
	}
}

static ssize_t run_io(const struct io_uring_sqe *sqe)
{
	void *addr = (void *)(uintptr_t)sqe->addr;
	bool at_pos = sqe->off == (__u64)-1;

	switch (sqe->opcode) {
	case IORING_OP_READ:
		return at_pos ? urnet__libc()->read(sqe->fd, addr, sqe->len)
			      : pread(sqe->fd, addr, sqe->len, (off_t)sqe->off);
	case IORING_OP_WRITE:
		return at_pos ? urnet__libc()->write(sqe->fd, addr, sqe->len)
			      : pwrite(sqe->fd, addr, sqe->len, (off_t)sqe->off);
	case IORING_OP_READV:
		return at_pos ? urnet__libc()->readv(sqe->fd, addr, (int)sqe->len)
			      : preadv(sqe->fd, addr, (int)sqe->len, (off_t)sqe->off);
	case IORING_OP_WRITEV:
		return at_pos ? urnet__libc()->writev(sqe->fd, addr, (int)sqe->len)
			      : pwritev(sqe->fd, addr, (int)sqe->len, (off_t)sqe->off);
	case IORING_OP_RECV:
		return urnet__libc()->recv(sqe->fd, addr, sqe->len, (int)sqe->msg_flags);
	case IORING_OP_SEND:
		return urnet__libc()->send(sqe->fd, addr, sqe->len, (int)sqe->msg_flags);
	case IORING_OP_RECVMSG:
		return urnet__libc()->recvmsg(sqe->fd, addr, (int)sqe->msg_flags);
	case IORING_OP_SENDMSG:
		return urnet__libc()->sendmsg(sqe->fd, addr, (int)sqe->msg_flags);
	case IORING_OP_ACCEPT:
		return urnet__libc()->accept4(sqe->fd, addr, (socklen_t *)(uintptr_t)sqe->addr2,
			       (int)sqe->accept_flags);
	case IORING_OP_CONNECT:
		return urnet__libc()->connect(sqe->fd, addr, (socklen_t)sqe->off);
	case IORING_OP_CLOSE:
		return urnet__libc()->close(sqe->fd);
	case IORING_OP_FSYNC:
		return (sqe->fsync_flags & IORING_FSYNC_DATASYNC) ? fdatasync(sqe->fd)
								  : fsync(sqe->fd);
	default:
		errno = EOPNOTSUPP;
		return -1;
	}
}

int urnet__syscall_run(urnet_engine *e, const struct io_uring_sqe *sqe, int64_t deadline_ns)
{
	short revents = 0;
	ssize_t ret;

	if (!urnet__syscall_supports(sqe->opcode) || (sqe->flags & IOSQE_FIXED_FILE))
		return -EOPNOTSUPP;
	urnet__engine_count_syscall_op(e);

	switch (sqe->opcode) {
	case IORING_OP_NOP:
		return 0;
	case IORING_OP_TIMEOUT:
		return run_timeout(sqe, deadline_ns);
	case IORING_OP_POLL_ADD:
		if (sqe->len & IORING_POLL_ADD_MULTI)
			return -EOPNOTSUPP;
		ret = poll_until(sqe->fd, (short)sqe->poll32_events, deadline_ns, &revents);
		return ret < 0 ? (int)ret : revents;
	case IORING_OP_CLOSE:
	case IORING_OP_FSYNC:
	case IORING_OP_CONNECT:
		break;
	case IORING_OP_ACCEPT:
		if (sqe->ioprio & IORING_ACCEPT_MULTISHOT)
			return -EOPNOTSUPP;
		/* fall through */
	default:
		/* Wait first so that a deadline can end the call. */
		if (deadline_ns > 0) {
			ret = poll_until(sqe->fd, op_events(sqe->opcode), deadline_ns, NULL);
			if (ret < 0)
				return (int)ret;
		}
		break;
	}
	do {
		ret = run_io(sqe);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret > INT32_MAX ? INT32_MAX : (int)ret;
}

void urnet__syscall_loop(urnet_engine *e)
{
	for (;;) {
		struct urnet__qnode *n = urnet__queue_take_all(&e->queue);

		while (n) {
			struct urnet__qnode *next = n->next;
			struct urnet__op *op = urnet__container_of(n, struct urnet__op, node);

			/* Only async operations come here; blocking calls run inline. */
			if (n->kind == URNET__Q_USER) {
				struct io_uring_sqe sqe;
				int res = -ECANCELED;

				if (!atomic_load_explicit(&e->stopping, memory_order_acquire)) {
					memset(&sqe, 0, sizeof(sqe));
					op->prep(&sqe, op->arg);
					res = urnet__syscall_run(e, &sqe, 0);
				}
				urnet__op_finish(e, op, res, 0);
			}
			n = next;
		}
		if (atomic_load_explicit(&e->stopping, memory_order_acquire) &&
		    urnet__engine_try_exit(e))
			break;
		if (atomic_load_explicit(&e->stopping, memory_order_acquire)) {
			sched_yield();
			continue;
		}
		atomic_store_explicit(&e->sleeping, 1, memory_order_seq_cst);
		/*
		 * A stop between the check above and the store has spent its
		 * wake already (a futex wake is not kept, unlike the ring's
		 * eventfd): look at the flag again.
		 */
		if (!urnet__queue_empty(&e->queue) ||
		    atomic_load_explicit(&e->stopping, memory_order_seq_cst)) {
			atomic_store_explicit(&e->sleeping, 0, memory_order_relaxed);
			continue;
		}
		urnet__futex_wait(&e->sleeping, 1, 0);
	}
}
