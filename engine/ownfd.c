/* SPDX-License-Identifier: MIT */
/*
 * Numbers for urnet's own descriptors: the ring, the engine's wake eventfd
 * and the syscall backend's per-socket eventfds.
 *
 * The kernel hands out the lowest free number, so a descriptor urnet opens
 * on the program's first wait would move the numbers of the program's next
 * socket() or open(), and would count against its RLIMIT_NOFILE: a server
 * at its limit would see a read fail with EMFILE for urnet's bookkeeping.
 * So urnet's descriptors live above the soft limit, where the program's
 * numbers never go: the soft limit is raised to the hard one just long
 * enough to open the descriptor (which may then take a number at or past
 * the old limit if every lower one is in use) or to duplicate it there,
 * and then put back.  The number chosen is the lowest free one from the
 * soft limit up, so the kernel's fd table grows only by what urnet holds.
 * Where the hard limit leaves no room, the descriptor goes to the top of
 * the program's range instead (below 65536, to keep the table small), or,
 * when that is full too, stays at the number the kernel gave it.  Only a
 * process with no free number at all gets none (EMFILE): the callers then
 * let the kernel do the waiting, as it would without urnet.
 *
 * Being out of the program's range, the numbers are also out of its
 * reach: the preload module's close() and close_range()/closefrom() leave
 * them alone (urnet__own_fd_is, urnet__own_fd_spare), as the program would
 * find those numbers unused on bare Linux.
 *
 * Raw system calls throughout: inside the preload module fcntl and close
 * are the interposer's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

#if defined(__SANITIZE_THREAD__)
#include <dlfcn.h>

/*
 * ThreadSanitizer follows descriptors through the calls it intercepts: an
 * eventfd it saw opened must be closed where it sees it, or it takes the
 * next file on that number for the same one and reports races on it.
 * Its close comes first in the lookup order (its runtime is loaded
 * before anything else).
 */
static void raw_close(int fd)
{
	static int (*_Atomic next_close)(int);
	int (*c)(int) = atomic_load(&next_close);

	if (!c) {
		c = (int (*)(int))dlsym(RTLD_DEFAULT, "close");
		atomic_store(&next_close, c);
	}
	if (c)
		c(fd);
	else
		syscall(SYS_close, fd);
}
#else
static void raw_close(int fd)
{
	syscall(SYS_close, fd);
}
#endif

/* How far the soft limit is raised at most while urnet opens its own. */
#define ROOM	4096

/* The set of urnet's own numbers: a bitmap in chunks mapped on first use. */
#define CHUNK_BITS	(1u << 15)
#define NCHUNKS		64u		/* numbers >= 2^21 are not tracked */
#define WORD_BITS	64u

static _Atomic uint64_t *_Atomic chunks[NCHUNKS];
static _Atomic unsigned own_max;	/* above every number ever in the set */

static _Atomic uint64_t *word_of(unsigned fd, bool create)
{
	_Atomic uint64_t *c, *fresh;
	size_t bytes = CHUNK_BITS / 8;

	if (fd >= CHUNK_BITS * NCHUNKS)
		return NULL;
	c = atomic_load_explicit(&chunks[fd / CHUNK_BITS], memory_order_acquire);
	if (!c && create) {
		fresh = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (fresh == MAP_FAILED)
			return NULL;
		if (!atomic_compare_exchange_strong(&chunks[fd / CHUNK_BITS], &c, fresh))
			munmap(fresh, bytes);
		else
			c = fresh;
	}
	return c ? &c[fd % CHUNK_BITS / WORD_BITS] : NULL;
}

bool urnet__own_fd_is(int fd)
{
	_Atomic uint64_t *w;

	if (fd < 0 || (unsigned)fd >= atomic_load_explicit(&own_max, memory_order_relaxed))
		return false;
	w = word_of((unsigned)fd, false);
	return w && (atomic_load_explicit(w, memory_order_relaxed) >> ((unsigned)fd % WORD_BITS) & 1);
}

static void own_add(int fd)
{
	_Atomic uint64_t *w = word_of((unsigned)fd, true);
	unsigned m = atomic_load(&own_max);

	if (!w)
		return;
	atomic_fetch_or(w, 1ull << ((unsigned)fd % WORD_BITS));
	while ((unsigned)fd >= m && !atomic_compare_exchange_weak(&own_max, &m, (unsigned)fd + 1))
		;
}

void urnet__own_fd_forget(int fd)
{
	_Atomic uint64_t *w = fd >= 0 ? word_of((unsigned)fd, false) : NULL;

	if (w)
		atomic_fetch_and(w, ~(1ull << ((unsigned)fd % WORD_BITS)));
}

void urnet__own_fd_close(int fd)
{
	if (fd < 0)
		return;
	/* Out of the set first: once closed the number may be the program's. */
	urnet__own_fd_forget(fd);
	raw_close(fd);
}

int urnet__own_fd_spare(unsigned first, unsigned last, int (*fn)(unsigned, unsigned, void *),
			void *arg)
{
	unsigned top = atomic_load(&own_max), fd, from = first;
	int ret;

	if (first > last)
		return fn(first, last, arg);	/* the kernel's EINVAL */
	for (fd = first; fd <= last && fd < top; fd++) {
		if (!urnet__own_fd_is((int)fd))
			continue;
		if (fd > from && (ret = fn(from, fd - 1, arg)) < 0)
			return ret;
		from = fd + 1;
	}
	if (from > last || from < first)	/* nothing left, or wrapped past ~0u */
		return 0;
	return fn(from, last, arg);
}

/*
 * One raise at a time.  Two threads raising at once would each read the
 * limit, and the one that read the other's raised value, putting it back
 * last, would leave the process with thousands of numbers above the limit
 * it set.  Held across fork too: a child forked in the window would keep
 * the raised limit.
 */
static pthread_mutex_t raise_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t raise_once = PTHREAD_ONCE_INIT;

static void raise_lock_take(void)
{
	pthread_mutex_lock(&raise_lock);
}

static void raise_lock_give(void)
{
	pthread_mutex_unlock(&raise_lock);
}

static void raise_lock_reset(void)
{
	pthread_mutex_init(&raise_lock, NULL);
}

static void raise_lock_hooks(void)
{
	pthread_atfork(raise_lock_take, raise_lock_give, raise_lock_reset);
}

static int own_fd_locked(int (*open_fn)(void *), void *arg)
{
	struct rlimit old, wide;
	bool raised = false;
	rlim_t lim;
	int fd, nfd, base, err;

	if (getrlimit(RLIMIT_NOFILE, &old) < 0)
		return open_fn(arg);
	if (old.rlim_cur < old.rlim_max && old.rlim_cur < INT_MAX - ROOM) {
		wide = old;
		wide.rlim_cur = old.rlim_max - old.rlim_cur > ROOM ? old.rlim_cur + ROOM
								 : old.rlim_max;
		raised = setrlimit(RLIMIT_NOFILE, &wide) == 0;
	}
	fd = open_fn(arg);
	err = errno;
	if (raised) {
		base = (int)old.rlim_cur;
	} else {
		lim = old.rlim_cur < 65536 ? old.rlim_cur : 65536;
		base = (int)(lim - lim / 16);
	}
	if (fd >= 0 && fd < base) {
		nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, base);
		/*
		 * No room up there either (more of urnet's own than the top
		 * sixteenth holds, e.g. an eventfd per socket for thousands of
		 * sockets on the syscall backend): keep the low number.  One of
		 * the program's next numbers is taken, but every call still
		 * works, where failing would fail the program's dial or accept.
		 */
		if (nfd >= 0) {
			raw_close(fd);
			fd = nfd;
		}
	}
	/* A concurrent setrlimit of the program's in this window would be undone. */
	if (raised)
		setrlimit(RLIMIT_NOFILE, &old);
	if (fd >= 0)
		own_add(fd);
	errno = err;
	return fd;
}

int urnet__own_fd(int (*open_fn)(void *), void *arg)
{
	int fd, err;

	pthread_once(&raise_once, raise_lock_hooks);
	raise_lock_take();
	fd = own_fd_locked(open_fn, arg);
	err = errno;
	raise_lock_give();
	errno = err;
	return fd;
}
