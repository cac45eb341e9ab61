/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the test suites, loaded with LD_PRELOAD: definitions
 * of C library and liburing calls that fail on demand and otherwise pass
 * through to the real ones.  See faultinject.h for the control interface.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faultinject.h"

#define FI_EXPORT __attribute__((visibility("default")))

FI_EXPORT int faultinject_set(const char *name, int err, long skip, long count,
			      int own_thread);
FI_EXPORT void faultinject_clear(void);
FI_EXPORT unsigned long faultinject_hits(const char *name);

enum fi_id {
	FI_RING_INIT_PARAMS,
	FI_RING_INIT,
	FI_SUBMIT,
	FI_SUBMIT_WAIT,
	FI_EVENTFD,
	FI_PTHREAD_CREATE,
	FI_SOCKET,
	FI_ACCEPT,
	FI_ACCEPT4,
	FI_CONNECT,
	FI_SEND,
	FI_SENDMSG,
	FI_MALLOC,
	FI_COUNT
};

static const char *const fi_names[FI_COUNT] = {
	"io_uring_queue_init_params", "io_uring_queue_init", "io_uring_submit",
	"io_uring_submit_and_wait", "eventfd", "pthread_create", "socket", "accept",
	"accept4", "connect", "send", "sendmsg", "malloc",
};

struct fi_fault {
	_Atomic int armed;
	int err;
	long skip;
	long count;		/* -1: every call after skip */
	pid_t tid;		/* 0: any thread */
	_Atomic long calls;	/* matching calls since armed */
	_Atomic unsigned long hits;
};

static struct fi_fault faults[FI_COUNT];

static pid_t fi_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int fi_lookup(const char *name)
{
	for (int i = 0; i < FI_COUNT; i++)
		if (!strcmp(name, fi_names[i]))
			return i;
	return -1;
}

int faultinject_set(const char *name, int err, long skip, long count, int own_thread)
{
	int i = name ? fi_lookup(name) : -1;
	struct fi_fault *f;

	if (i < 0)
		return -1;
	f = &faults[i];
	atomic_store(&f->armed, 0);
	f->err = err;
	f->skip = skip;
	f->count = count;
	f->tid = own_thread ? fi_gettid() : 0;
	atomic_store(&f->calls, 0);
	atomic_store(&f->hits, 0);
	atomic_store(&f->armed, 1);
	return 0;
}

void faultinject_clear(void)
{
	for (int i = 0; i < FI_COUNT; i++)
		atomic_store(&faults[i].armed, 0);
}

unsigned long faultinject_hits(const char *name)
{
	int i = name ? fi_lookup(name) : -1;

	return i < 0 ? 0 : atomic_load(&faults[i].hits);
}

/* True when this call must fail; *err is the errno to report. */
static bool fi_fire(enum fi_id id, int *err)
{
	struct fi_fault *f = &faults[id];
	long n;

	if (!atomic_load_explicit(&f->armed, memory_order_acquire))
		return false;
	if (f->tid && f->tid != fi_gettid())
		return false;
	n = atomic_fetch_add(&f->calls, 1);
	if (n < f->skip || (f->count >= 0 && n - f->skip >= f->count))
		return false;
	atomic_fetch_add(&f->hits, 1);
	*err = f->err;
	return true;
}

static void *fi_next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p)
		abort();	/* the module was loaded into something without it */
	return p;
}

/* The next definition of name, with the prototype of our own. */
#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)fi_next(#name)

/* ---------------------------------------------------------------- liburing */

int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
			       struct io_uring_params *p)
{
	REAL(io_uring_queue_init_params);
	int err;

	if (fi_fire(FI_RING_INIT_PARAMS, &err))
		return -err;
	return real_io_uring_queue_init_params(entries, ring, p);
}

int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	REAL(io_uring_queue_init);
	int err;

	if (fi_fire(FI_RING_INIT, &err))
		return -err;
	return real_io_uring_queue_init(entries, ring, flags);
}

int io_uring_submit(struct io_uring *ring)
{
	REAL(io_uring_submit);
	int err;

	if (fi_fire(FI_SUBMIT, &err))
		return -err;
	return real_io_uring_submit(ring);
}

int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	REAL(io_uring_submit_and_wait);
	int err;

	if (fi_fire(FI_SUBMIT_WAIT, &err))
		return -err;
	return real_io_uring_submit_and_wait(ring, wait_nr);
}

/* ---------------------------------------------------------------- libc */

int eventfd(unsigned int initval, int flags)
{
	REAL(eventfd);
	int err;

	if (fi_fire(FI_EVENTFD, &err)) {
		errno = err;
		return -1;
	}
	return real_eventfd(initval, flags);
}

int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
		   void *arg)
{
	REAL(pthread_create);
	int err;

	if (fi_fire(FI_PTHREAD_CREATE, &err))
		return err;
	return real_pthread_create(th, attr, fn, arg);
}

int socket(int domain, int type, int protocol)
{
	REAL(socket);
	int err;

	if (fi_fire(FI_SOCKET, &err)) {
		errno = err;
		return -1;
	}
	return real_socket(domain, type, protocol);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	REAL(accept);
	int err;

	if (fi_fire(FI_ACCEPT, &err)) {
		errno = err;
		return -1;
	}
	return real_accept(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	REAL(accept4);
	int err;

	if (fi_fire(FI_ACCEPT4, &err)) {
		errno = err;
		return -1;
	}
	return real_accept4(fd, addr, len, flags);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	REAL(connect);
	int err;

	if (fi_fire(FI_CONNECT, &err)) {
		errno = err;
		return -1;
	}
	return real_connect(fd, addr, len);
}

/* err 0 on "send": a short send of at most `count` bytes instead of a failure. */
static bool fi_send_fault(enum fi_id id, size_t *cap, int *err)
{
	struct fi_fault *f = &faults[FI_SEND];

	*cap = 0;
	if (atomic_load_explicit(&f->armed, memory_order_acquire) && f->err == 0) {
		if (f->tid && f->tid != fi_gettid())
			return false;
		*cap = f->count > 0 ? (size_t)f->count : 1;
		atomic_fetch_add(&f->hits, 1);
		return false;
	}
	return fi_fire(id, err);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	REAL(send);
	size_t cap;
	int err;

	if (fi_send_fault(FI_SEND, &cap, &err)) {
		errno = err;
		return -1;
	}
	if (cap && len > cap)
		len = cap;
	return real_send(fd, buf, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	REAL(sendmsg);
	struct msghdr one;
	struct iovec iov;
	size_t cap;
	int err;

	if (fi_send_fault(FI_SENDMSG, &cap, &err)) {
		errno = err;
		return -1;
	}
	if (!cap || !msg)
		return real_sendmsg(fd, msg, flags);
	/* Short send: part of the first non-empty buffer only. */
	one = *msg;
	one.msg_iov = &iov;
	one.msg_iovlen = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len) {
			iov = msg->msg_iov[i];
			if (iov.iov_len > cap)
				iov.iov_len = cap;
			one.msg_iovlen = 1;
			break;
		}
	}
	return real_sendmsg(fd, &one, flags);
}

/* glibc's allocator under its internal names: no dlsym, so no recursion. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size)
{
	int err;

	if (fi_fire(FI_MALLOC, &err)) {
		errno = err;
		return NULL;
	}
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	int err;

	if (fi_fire(FI_MALLOC, &err)) {
		errno = err;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	int err;

	if (fi_fire(FI_MALLOC, &err)) {
		errno = err;
		return NULL;
	}
	return __libc_realloc(p, size);
}

/* ---------------------------------------------------------------- environment */

static int fi_errno(const char *s)
{
	static const struct { const char *name; int err; } errs[] = {
		{ "EPERM", EPERM }, { "ENOMEM", ENOMEM }, { "EMFILE", EMFILE },
		{ "ENFILE", ENFILE }, { "EBUSY", EBUSY }, { "EAGAIN", EAGAIN },
		{ "EINTR", EINTR }, { "ENOSYS", ENOSYS }, { "EACCES", EACCES },
		{ "ECONNRESET", ECONNRESET }, { "ENOBUFS", ENOBUFS }, { "SHORT", 0 },
	};

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (!strcmp(s, errs[i].name))
			return errs[i].err;
	return atoi(s);
}

/* FAULTINJECT="name=ERR[:skip[:count]],..." */
__attribute__((constructor)) static void fi_from_env(void)
{
	const char *env = getenv("FAULTINJECT");
	char spec[512], *save = NULL, *item;

	if (!env || strlen(env) >= sizeof(spec))
		return;
	strcpy(spec, env);
	for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *skip, *count;

		if (!eq)
			continue;
		*eq++ = '\0';
		skip = strchr(eq, ':');
		if (skip)
			*skip++ = '\0';
		count = skip ? strchr(skip, ':') : NULL;
		if (count)
			*count++ = '\0';
		faultinject_set(item, fi_errno(eq), skip ? atol(skip) : 0,
				count ? atol(count) : -1, 0);
	}
}
