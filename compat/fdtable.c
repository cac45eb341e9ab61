/* SPDX-License-Identifier: MIT */
/*
 * The fd table: a two-level array of entries indexed by fd number, chunks
 * mapped on first touch so that an entry never moves and no allocator runs
 * inside a read() or close() (the interposer may be called from malloc).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "futex.h"

#define CHUNK_SHIFT	URNET__FD_CHUNK_SHIFT
#define CHUNK_SIZE	URNET__FD_CHUNK_SIZE
#define NCHUNKS		URNET__FD_NCHUNKS

#define FD_REFS		0x0fffffffu
#define FD_CLOSEWAIT	(1u << 29)	/* a closer sleeps until the count drains */
#define FD_ENTWAIT	(1u << 30)	/* callers sleep until the close finished */
#define FD_CLOSING	URNET__FD_CLOSING

struct urnet__fdent *_Atomic urnet__fd_chunks[NCHUNKS];

/*
 * A bulk close (close_range, closefrom) in progress.  Most numbers of its
 * range have no entry, or an idle one, so the range itself is the guard:
 * a call entering a number in it steps back until the kernel is done.
 */
static pthread_mutex_t bulk_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t bulk_seq;	/* odd while one runs; futex word */
static _Atomic unsigned bulk_first, bulk_last;

/*
 * The process this state belongs to: set at load time and in the child
 * handler of fork().  A child made without those handlers, or one that
 * shares our memory (vfork, posix_spawn), runs with another process id.
 */
static _Atomic pid_t owner_pid;

static void become_owner(void)
{
	atomic_store_explicit(&owner_pid, (pid_t)syscall(SYS_getpid), memory_order_relaxed);
}

bool urnet__in_foreign_child(void)
{
	pid_t owner = atomic_load_explicit(&owner_pid, memory_order_relaxed);

	/*
	 * glibc's getpid() does not cache, but ask the kernel directly all the
	 * same.  0: a call from another library's constructor, before ours ran.
	 */
	return __builtin_expect(owner != 0 && (pid_t)syscall(SYS_getpid) != owner, 0);
}

static struct urnet__fdent *slot(int fd, bool create)
{
	struct urnet__fdent *e = urnet__fd_lookup(fd), *c = NULL, *fresh;
	size_t bytes = CHUNK_SIZE * sizeof(*c);
	unsigned i = (unsigned)fd >> CHUNK_SHIFT;

	if (e || !create || (unsigned)fd >= CHUNK_SIZE * NCHUNKS)
		return e;
	fresh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED)
		return NULL;
	/* Another thread may have mapped it meanwhile: keep theirs. */
	if (!atomic_compare_exchange_strong(&urnet__fd_chunks[i], &c, fresh))
		munmap(fresh, bytes);
	else
		c = fresh;
	return &c[(unsigned)fd & (CHUNK_SIZE - 1)];
}

/* Sleep until the close running on e finished.  s: last value seen. */
static void wait_close_done(struct urnet__fdent *e, uint32_t s)
{
	if (!(s & FD_ENTWAIT) &&
	    !atomic_compare_exchange_strong(&e->state, &s, s | FD_ENTWAIT))
		return;		/* state moved: caller re-reads it */
	urnet__futex_wait(&e->state, s | FD_ENTWAIT, 0);
}

/* fd is in the range of a running bulk close; *seq: the futex word's value. */
static bool in_bulk_close(unsigned fd, uint32_t *seq)
{
	*seq = atomic_load(&bulk_seq);
	return (*seq & 1) && fd >= atomic_load(&bulk_first) && fd <= atomic_load(&bulk_last);
}

struct urnet__fdent *urnet__fd_enter(int fd)
{
	struct urnet__fdent *e = slot(fd, true);
	uint32_t s, seq;

	if (!e)
		return NULL;
	s = atomic_load(&e->state);
	for (;;) {
		if (s & FD_CLOSING) {
			wait_close_done(e, s);
			s = atomic_load(&e->state);
			continue;
		}
		if (!atomic_compare_exchange_weak(&e->state, &s, s + 1))
			continue;
		/* Counted first, then the check: the bulk closer either sees us or we it. */
		if (!in_bulk_close((unsigned)fd, &seq))
			return e;
		urnet__fd_leave(e);
		urnet__futex_wait(&bulk_seq, seq, 0);
		s = atomic_load(&e->state);
	}
}

static void retire(struct urnet__ready *r)
{
	if (!r)
		return;
	urnet__ready_close(r);
	urnet__ready_destroy(r);
	free(r);
}

void urnet__fd_leave(struct urnet__fdent *e)
{
	uint32_t s = atomic_fetch_sub(&e->state, 1) - 1;

	if (s & FD_REFS)
		return;
	if (s & FD_CLOSEWAIT)
		urnet__futex_wake_all(&e->state);
	else if (atomic_load_explicit(&e->zombie, memory_order_relaxed))
		retire(atomic_exchange(&e->zombie, NULL));
}

/*
 * The number now names another file than the one e was learnt on (it was
 * closed behind our back).  Whatever waits on the old file must stop, and
 * its engine polls go once the last call left (a poll holds the old file
 * open).
 */
static void forget_file(struct urnet__fdent *e)
{
	struct urnet__ready *old = atomic_exchange(&e->ready, NULL);

	if (old) {
		urnet__ready_close(old);
		old = atomic_exchange(&e->zombie, old);
		if (old)	/* a second stale file while the first still drains */
			urnet__ready_close(old);
	}
	atomic_store(&e->kind, URNET__FDK_UNKNOWN);
}

static bool same_file(struct urnet__fdent *e, const struct stat *st)
{
	return st->st_dev == atomic_load_explicit(&e->dev, memory_order_relaxed) &&
	       st->st_ino == atomic_load_explicit(&e->ino, memory_order_relaxed);
}

bool urnet__fd_revalidate(struct urnet__fdent *e, int fd)
{
	struct stat st;
	int saved = errno;

	if (urnet__in_foreign_child())
		return false;
	if (fstat(fd, &st) == 0 && same_file(e, &st))
		return true;
	errno = saved;
	forget_file(e);
	return false;
}

enum urnet__fdkind urnet__fd_kind(struct urnet__fdent *e, int fd)
{
	enum urnet__fdkind k = atomic_load_explicit(&e->kind, memory_order_acquire);
	struct stat st;
	int type = 0, saved = errno;
	socklen_t len = sizeof(type);

	if (k != URNET__FDK_UNKNOWN)
		return k;
	/* What a foreign child learns of its own fds is no answer for ours. */
	if (urnet__in_foreign_child())
		return URNET__FDK_OTHER;
	if (fstat(fd, &st) < 0) {
		/* Not cached: libc reports the EBADF itself. */
		errno = saved;
		return URNET__FDK_OTHER;
	}
	/* A readiness object left from a file closed behind our back. */
	if (atomic_load(&e->ready) && !same_file(e, &st))
		forget_file(e);
	k = URNET__FDK_OTHER;
	if (S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
		k = type == SOCK_STREAM ? URNET__FDK_STREAM
		  : type == SOCK_DGRAM ? URNET__FDK_DGRAM : URNET__FDK_OTHER;
	errno = saved;
	/* A new file: nothing learnt of the old one's mode applies. */
	atomic_store_explicit(&e->nonblock, 0, memory_order_relaxed);
	atomic_store_explicit(&e->timeo_us[0], 0, memory_order_relaxed);
	atomic_store_explicit(&e->timeo_us[1], 0, memory_order_relaxed);
	atomic_store_explicit(&e->timeo_zero, 0, memory_order_relaxed);
	/* Nor how long its waits took: the first wait on a new file is the engine's. */
	atomic_store_explicit(&e->short_wait, 0, memory_order_relaxed);
	atomic_store_explicit(&e->dev, st.st_dev, memory_order_relaxed);
	atomic_store_explicit(&e->ino, st.st_ino, memory_order_relaxed);
	atomic_store_explicit(&e->kind, k, memory_order_release);
	return k;
}

struct urnet__ready *urnet__fd_ready(struct urnet__fdent *e, int fd)
{
	struct urnet__ready *r = atomic_load_explicit(&e->ready, memory_order_acquire);
	struct urnet__ready *cur = NULL;
	urnet_engine *eng;
	int err;

	if (r)
		return r;
	eng = urnet_engine_pick((unsigned)fd);
	if (!eng)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	err = urnet__ready_init(r, eng, fd);
	if (err < 0) {
		free(r);
		errno = -err;
		return NULL;
	}
	if (!atomic_compare_exchange_strong(&e->ready, &cur, r)) {
		urnet__ready_destroy(r);
		free(r);
		r = cur;
	}
	return r;
}

bool urnet__fd_closing(struct urnet__fdent *e)
{
	return atomic_load(&e->state) & FD_CLOSING;
}

void urnet__fd_fresh(int fd)
{
	struct urnet__fdent *e = slot(fd, false);

	if (e && !urnet__in_foreign_child())
		atomic_store(&e->kind, URNET__FDK_UNKNOWN);
}

void urnet__fd_set_timeo_zero(int fd, int dir, bool on)
{
	struct urnet__fdent *e = urnet__fd_enter(fd);

	if (!e)
		return;
	/* Learnt first: learning a file resets what was noted of the last one. */
	if (urnet__fdkind_served(urnet__fd_kind(e, fd))) {
		if (on)
			atomic_fetch_or(&e->timeo_zero, 1u << dir);
		else
			atomic_fetch_and(&e->timeo_zero, ~(1u << dir));
	}
	urnet__fd_leave(e);
}

void urnet__fd_fresh_dup(int oldfd, int newfd)
{
	struct urnet__fdent *old = slot(oldfd, false);
	uint32_t zero = old ? atomic_load(&old->timeo_zero) : 0;

	urnet__fd_fresh(newfd);
	/* A socket option belongs to the file: the new number shares it. */
	for (int dir = 0; dir < 2; dir++)
		if (zero >> dir & 1)
			urnet__fd_set_timeo_zero(newfd, dir, true);
}

bool urnet__fd_fresh_rights(const struct msghdr *msg)
{
	struct cmsghdr *cm;
	bool any = false;

	if (!msg->msg_control)
		return false;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		any = true;
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			urnet__fd_fresh(fd);
		}
	}
	return any;
}

/* Written once by the preload module's constructor, before any thread runs. */
static bool new_numbers_tracked;

void urnet__fd_track_new_numbers(void)
{
	new_numbers_tracked = true;
}

bool urnet__fd_new_numbers_tracked(void)
{
	return new_numbers_tracked;
}

int urnet__fd_close(int fd, int (*release)(void *), void *arg)
{
	struct urnet__fdent *e;
	uint32_t s;
	int ret, err;

	/* The parent's waiters on this number are not the child's to wake. */
	if (urnet__in_foreign_child())
		return release(arg);
	/*
	 * Create the entry if need be: a call that is creating it right now
	 * must either see this close or be waited for by it.
	 */
	e = slot(fd, true);
	if (!e)
		return release(arg);
	/* Claim the close; a concurrent close of the same number goes after. */
	s = atomic_load(&e->state);
	for (;;) {
		if (s & FD_CLOSING) {
			wait_close_done(e, s);
			s = atomic_load(&e->state);
			continue;
		}
		if (atomic_compare_exchange_weak(&e->state, &s, s | FD_CLOSING))
			break;
	}
	if (s & FD_REFS) {
		struct urnet__ready *r = atomic_load(&e->ready);

		if (r)
			urnet__ready_close(r);
		s = atomic_load(&e->state);
		while (s & FD_REFS) {
			if (!(s & FD_CLOSEWAIT) &&
			    !atomic_compare_exchange_strong(&e->state, &s, s | FD_CLOSEWAIT))
				continue;
			urnet__futex_wait(&e->state, s | FD_CLOSEWAIT, 0);
			s = atomic_load(&e->state);
		}
	}
	retire(atomic_exchange(&e->ready, NULL));
	retire(atomic_exchange(&e->zombie, NULL));
	atomic_store(&e->kind, URNET__FDK_UNKNOWN);
	ret = release(arg);
	err = errno;
	s = atomic_fetch_and(&e->state, ~(FD_CLOSING | FD_CLOSEWAIT | FD_ENTWAIT));
	if (s & FD_ENTWAIT)
		urnet__futex_wake_all(&e->state);
	errno = err;
	return ret;
}

int urnet__fd_close_range(unsigned first, unsigned last, int (*release)(void *),
			  int (*release_all)(void *), void *arg)
{
	unsigned fd, end = CHUNK_SIZE * NCHUNKS - 1;
	int ret, err;

	/*
	 * Before the lock, which a thread of the parent may hold (the very
	 * thread that called vfork, from a signal handler): the range is in
	 * the child's own table, and the parent's waiters stay as they are.
	 */
	if (urnet__in_foreign_child())
		return release_all(arg);
	pthread_mutex_lock(&bulk_lock);
	atomic_store(&bulk_first, first);
	atomic_store(&bulk_last, last);
	atomic_fetch_add(&bulk_seq, 1);
	if (last < end)
		end = last;
	for (fd = first; fd <= end; fd++) {
		struct urnet__fdent *c = atomic_load(&urnet__fd_chunks[fd >> CHUNK_SHIFT]), *e;
		int n = (int)fd;

		if (!c) {
			fd |= CHUNK_SIZE - 1;	/* skip the whole chunk */
			continue;
		}
		e = &c[(unsigned)fd & (CHUNK_SIZE - 1)];
		if (urnet__own_fd_is(n))
			continue;	/* close_stretch() goes round it too */
		if (atomic_load(&e->ready) || atomic_load(&e->zombie) ||
		    (atomic_load(&e->state) & FD_REFS))
			urnet__fd_close(n, release, &n);
		else
			atomic_store(&e->kind, URNET__FDK_UNKNOWN);
	}
	ret = release_all(arg);
	err = errno;
	atomic_fetch_add(&bulk_seq, 1);
	urnet__futex_wake_all(&bulk_seq);
	pthread_mutex_unlock(&bulk_lock);
	errno = err;
	return ret;
}

/* The parent's engine does not run in a forked child: drop without destroy. */
static void forget(struct urnet__ready *r)
{
	if (!r)
		return;
	urnet__own_fd_close(r->kick_fd);
	free(r);
}

void urnet__fdtable_after_fork(void)
{
	unsigned i, j;

	/* The state is this child's now (see urnet__in_foreign_child). */
	become_owner();
	/* A bulk close another thread of the parent was running is not ours. */
	atomic_store(&bulk_seq, 0);
	pthread_mutex_init(&bulk_lock, NULL);
	for (i = 0; i < NCHUNKS; i++) {
		struct urnet__fdent *c = atomic_load(&urnet__fd_chunks[i]);

		if (!c)
			continue;
		for (j = 0; j < CHUNK_SIZE; j++) {
			forget(atomic_exchange(&c[j].ready, NULL));
			forget(atomic_exchange(&c[j].zombie, NULL));
			atomic_store(&c[j].state, 0);
			atomic_store(&c[j].kind, URNET__FDK_UNKNOWN);
		}
	}
}

/* Registered at load time: a fork handler cannot be added from inside read(). */
__attribute__((constructor)) static void fdtable_init(void)
{
	become_owner();
	pthread_atfork(NULL, NULL, urnet__fdtable_after_fork);
}
