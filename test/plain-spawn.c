/* SPDX-License-Identifier: MIT */
/*
 * Children that share the parent's memory, run under urnet-run by
 * test/preload-spawn.sh (a plain libc program, built without urnet).
 * In each mode a thread of the parent is blocked in recv (or accept)
 * while a child made with vfork(), clone(CLONE_VM) or posix_spawn()
 * changes its own fd table before exec; the parent's blocked calls must
 * go on waiting and then complete normally, and the child must not hang:
 *   plain-spawn vfork-close-range  the child's close_range(3, ~0U, 0)
 *   plain-spawn vfork-dup2         dup2 over the number a parent thread is
 *                                  blocked on, and over its peer
 *   plain-spawn vfork-close        close() of every number from 3 up
 *   plain-spawn vfork-fcntl        close, fcntl(F_DUPFD) into the freed
 *                                  number, a read there, F_SETFL, F_SETFD
 *                                  and ioctl(FIONBIO)
 *   plain-spawn clone-vm           the same as vfork-close-range through a
 *                                  raw clone(CLONE_VM | CLONE_VFORK)
 *   plain-spawn clone-copy         a raw clone without CLONE_VM (a fork
 *                                  that runs no fork handlers): the child
 *                                  closes the blocked number, and waits in
 *                                  recv (SO_RCVTIMEO) on a pair of its own
 *   plain-spawn spawn              200 posix_spawn() with file actions
 *                                  (addclose, adddup2, addclosefrom_np)
 *                                  while 50 threads are blocked in accept
 *                                  and 50 in recv; then every one of those
 *                                  connections echoes a checksummed message
 * ThreadSanitizer's runtime turns vfork() into fork(): there the vfork
 * modes run a forked child instead, and still pass.
 * Prints what it saw (the same bare and under urnet-run); exit 0 on success.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plain_util.h"

extern char **environ;


/* ---------------------------------------------------------------- one blocked reader */

struct reader {
	int fd;
	pid_t tid;
	pthread_t th;
	_Atomic int done;
	ssize_t n;
	int err;
	char buf[8];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct timeval tv = { 0, 10000 };

	/*
	 * A wait that times out first: the first wait of the process also
	 * starts urnet's engine, sleeping on the way, and could look blocked
	 * before it is.  Only then does the reader say who it is.
	 */
	CHECK(setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
	CHECK(recv(r->fd, r->buf, 4, 0) == -1 && errno == EAGAIN, "the warm-up recv");
	tv.tv_usec = 0;
	CHECK(setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	r->n = recv(r->fd, r->buf, 4, MSG_WAITALL);
	r->err = errno;
	atomic_store(&r->done, 1);
	return NULL;
}

/* A thread blocked in recv on fd, once this returns. */
static void reader_start(struct reader *r, int fd)
{
	r->fd = fd;
	r->tid = 0;
	atomic_store(&r->done, 0);
	CHECK(pthread_create(&r->th, NULL, reader_main, r) == 0, "pthread_create");
	while (!__atomic_load_n(&r->tid, __ATOMIC_SEQ_CST))
		sched_yield();
	CHECK(wait_sleeping(r->tid), "the reader never blocked");
}

/* After the child: still blocked, then it gets what peer sends. */
static void reader_finish(struct reader *r, int peer)
{
	CHECK(!atomic_load(&r->done), "the blocked recv returned while the child ran");
	CHECK(wait_sleeping(r->tid), "the reader is not blocked any more");
	CHECK(send(peer, "ping", 4, MSG_NOSIGNAL) == 4, "send");
	pthread_join(r->th, NULL);
	errno = r->err;
	CHECK(r->n == 4 && !memcmp(r->buf, "ping", 4), "the blocked recv did not get its data");
}

static void child_status(pid_t pid)
{
	int st;

	CHECK(pid > 0, "no child");
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	errno = 0;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed");
}

/* ---------------------------------------------------------------- vfork and clone(CLONE_VM) */

struct scene {
	int sv[2];		/* sv[0]: a parent thread is blocked on it */
	int nul;		/* /dev/null */
	int (*change)(struct scene *s);	/* what the child does before exec */
};

/* The child's part: only what is allowed after vfork (no stdio, _exit). */
static int child_main(void *arg)
{
	struct scene *s = arg;

	if (s->change(s) < 0)
		_exit(3);
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

static int change_close_range(struct scene *s)
{
	(void)s;
	return close_range(3, ~0u, 0);
}

static int change_dup2(struct scene *s)
{
	if (dup2(s->nul, s->sv[0]) != s->sv[0] || dup2(s->nul, s->sv[1]) != s->sv[1])
		return -1;
	return 0;
}

static int change_close(struct scene *s)
{
	(void)s;
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	return 0;
}

static int change_fcntl(struct scene *s)
{
	int fd = s->sv[0], on = 1, fl;
	char c;

	/* A stream socket of the parent's becomes /dev/null in the child. */
	if (close(fd) < 0 || fcntl(s->nul, F_DUPFD, fd) != fd || read(fd, &c, 1) != 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || ioctl(fd, FIONBIO, &on) < 0 ||
	    fcntl(fd, F_SETFD, 0) < 0)
		return -1;
	return 0;
}

static pid_t run_vfork(struct scene *s)
{
	pid_t pid = vfork();

	if (pid == 0)
		child_main(s);
	return pid;
}

static pid_t run_clone_vm(struct scene *s)
{
	size_t size = 256 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	pid_t pid;

	CHECK(stack != MAP_FAILED, "mmap");
	/* CLONE_VFORK: the stack is free again when clone returns. */
	pid = clone(child_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, s);
	munmap(stack, size);
	return pid;
}

static void shared_memory_case(int (*change)(struct scene *), pid_t (*start)(struct scene *))
{
	struct scene s = { .change = change };
	struct reader r;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s.sv) == 0, "socketpair");
	s.nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(s.nul >= 0, "open /dev/null");
	reader_start(&r, s.sv[0]);
	child_status(start(&s));
	reader_finish(&r, s.sv[1]);
	close(s.sv[0]);
	close(s.sv[1]);
	close(s.nul);
	printf("%s: the child exec'd; the parent's blocked recv got its data\n", mode);
}

/* ---------------------------------------------------------------- clone without CLONE_VM */

/* In a copy of the parent that ran no fork handlers: plain libc behaviour. */
static void copy_child(int blocked)
{
	struct timeval tv = { 0, 50000 };
	int sv[2];
	char buf[8];

	if (close(blocked) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		_exit(3);
	/* Waits, then times out: the wait is the C library's. */
	if (recv(sv[0], buf, sizeof(buf), 0) != -1 || errno != EAGAIN)
		_exit(4);
	if (send(sv[1], "pong", 4, 0) != 4 || recv(sv[0], buf, sizeof(buf), 0) != 4)
		_exit(5);
	if (close(sv[0]) < 0 || close(sv[1]) < 0 || close_range(3, ~0u, 0) < 0)
		_exit(6);
	_exit(0);
}

static void clone_copy_case(void)
{
	struct reader r;
	int sv[2];
	long pid;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	reader_start(&r, sv[0]);
	pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
	if (pid == 0)
		copy_child(sv[0]);
	child_status((pid_t)pid);
	reader_finish(&r, sv[1]);
	close(sv[0]);
	close(sv[1]);
	printf("%s: the child ran on its own; the parent's blocked recv got its data\n", mode);
}

/* ---------------------------------------------------------------- posix_spawn under load */

#define HALF	50		/* threads blocked in accept, and as many in recv */
#define SPAWNS	200
#define MSG	1000

static uint32_t checksum(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7);
}

/* Echo one MSG-byte message on fd (the blocked call came first). */
struct blocked {
	int fd;			/* listener or socket */
	bool accepts;
	_Atomic pid_t tid;
	_Atomic bool returned;	/* the blocking call came back */
};

static void echo_once(struct blocked *b, int fd)
{
	unsigned char buf[MSG];
	ssize_t n = recv(fd, buf, MSG, MSG_WAITALL);

	atomic_store(&b->returned, true);
	CHECK(n == MSG, "echo recv");
	CHECK(send(fd, buf, MSG, MSG_NOSIGNAL) == MSG, "echo send");
}

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	int fd;

	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	if (!b->accepts) {
		echo_once(b, b->fd);
		return NULL;
	}
	fd = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
	atomic_store(&b->returned, true);
	CHECK(fd >= 0, "accept");
	echo_once(b, fd);
	close(fd);
	return NULL;
}

/* Send a message on fd and check that the same comes back. */
static uint32_t round_trip(int fd, unsigned seed)
{
	unsigned char out[MSG], in[MSG];

	fill(out, MSG, seed);
	CHECK(send(fd, out, MSG, MSG_NOSIGNAL) == MSG, "send");
	CHECK(recv(fd, in, MSG, MSG_WAITALL) == MSG, "recv the echo");
	CHECK(checksum(in, MSG) == checksum(out, MSG) && !memcmp(in, out, MSG),
	      "the echo differs");
	return checksum(in, MSG);
}

static void spawn_case(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct blocked b[2 * HALF];
	pthread_t th[2 * HALF];
	int peer[HALF], l, nul;
	char *argv[] = { "true", NULL };
	uint32_t total = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      listen(l, 2 * HALF) == 0 && getsockname(l, (struct sockaddr *)&a, &al) == 0,
	      "listen");
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(nul >= 0, "open /dev/null");
	for (int i = 0; i < 2 * HALF; i++) {
		b[i].accepts = i < HALF;
		atomic_store(&b[i].tid, 0);
		atomic_store(&b[i].returned, false);
		if (b[i].accepts) {
			b[i].fd = l;
		} else {
			int sv[2];

			CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
			      "socketpair");
			b[i].fd = sv[0];
			peer[i - HALF] = sv[1];
		}
		CHECK(pthread_create(&th[i], NULL, blocked_main, &b[i]) == 0, "pthread_create");
	}
	for (int i = 0; i < 2 * HALF; i++) {
		while (!atomic_load(&b[i].tid))
			sched_yield();
		CHECK(wait_sleeping(atomic_load(&b[i].tid)), "a thread never blocked");
	}
	for (int i = 0; i < SPAWNS; i++) {
		posix_spawn_file_actions_t fa;
		pid_t pid;

		/* Numbers the parent's threads are blocked on, in the child. */
		CHECK(posix_spawn_file_actions_init(&fa) == 0, "file actions");
		CHECK(posix_spawn_file_actions_addclose(&fa, b[HALF + i % HALF].fd) == 0, "addclose");
		CHECK(posix_spawn_file_actions_adddup2(&fa, nul, b[HALF + (i + 1) % HALF].fd) == 0,
		      "adddup2");
		CHECK(posix_spawn_file_actions_adddup2(&fa, nul, l) == 0, "adddup2");
		CHECK(posix_spawn_file_actions_addclosefrom_np(&fa, 3) == 0, "addclosefrom_np");
		errno = posix_spawn(&pid, "/bin/true", &fa, NULL, argv, environ);
		CHECK(errno == 0, "posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
		child_status(pid);
	}
	for (int i = 0; i < 2 * HALF; i++)
		/*
		 * Whether the call came back, not the thread's scheduler state:
		 * a sleeping thread shows 'R' for a moment when anything wakes
		 * it spuriously, bare too.
		 */
		CHECK(!atomic_load(&b[i].returned), "a blocked call returned early");
	for (int i = 0; i < HALF; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		CHECK(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
		total += round_trip(c, (unsigned)i);
		close(c);
		total += round_trip(peer[i], (unsigned)(HALF + i));
	}
	for (int i = 0; i < 2 * HALF; i++) {
		pthread_join(th[i], NULL);
		if (!b[i].accepts) {
			close(b[i].fd);
			close(peer[i - HALF]);
		}
	}
	close(l);
	close(nul);
	printf("%s: %d spawns with %d blocked threads; %d echoes, checksum %08x\n", mode,
	       SPAWNS, 2 * HALF, 2 * HALF, total);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: plain-spawn MODE (see the source)\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "vfork-close-range"))
		shared_memory_case(change_close_range, run_vfork);
	else if (!strcmp(mode, "vfork-dup2"))
		shared_memory_case(change_dup2, run_vfork);
	else if (!strcmp(mode, "vfork-close"))
		shared_memory_case(change_close, run_vfork);
	else if (!strcmp(mode, "vfork-fcntl"))
		shared_memory_case(change_fcntl, run_vfork);
	else if (!strcmp(mode, "clone-vm"))
		shared_memory_case(change_close_range, run_clone_vm);
	else if (!strcmp(mode, "clone-copy"))
		clone_copy_case();
	else if (!strcmp(mode, "spawn"))
		spawn_case();
	else {
		fprintf(stderr, "plain-spawn: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
