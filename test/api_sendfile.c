/* SPDX-License-Identifier: MIT */
/*
 * urnet_conn_sendfile: files of 0, 1 and 64 MiB arrive byte-exact, with
 * and without an offset (which, or the file position, moves by what was
 * sent); a file that shrinks while it is sent ends the call early with
 * errno 0; a reader that stops reading lets the write deadline end the
 * call with a partial count; a close from another thread wakes it; bad
 * arguments fail with the errno of sendfile(2).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api_util.h"

static urnet_conn *c, *s;

static void pair_setup(void)
{
	api_setup();
	api_tcp_pair(&c, &s);
}

static void pair_teardown(void)
{
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
	api_teardown();
}

/* An unlinked temporary file of len reproducible bytes; their checksum in *sum. */
static int make_file(size_t len, uint64_t *sum)
{
	char path[] = "/tmp/urnet-sendfile.XXXXXX";
	unsigned char *buf = malloc(1 << 20);
	uint64_t state = 0x9e3779b97f4a7c15ull + len;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(buf);
	unlink(path);
	*sum = 0;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < (1 << 20) ? len - done : (1 << 20);

		test_fill(buf, n, &state);
		*sum = test_sum(*sum, buf, n);
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	free(buf);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Reads the peer until EOF, counting and summing. */
struct drain {
	urnet_conn *c;
	pthread_t th;
	size_t got;
	uint64_t sum;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	char *buf = malloc(256 * 1024);
	ssize_t n;

	while ((n = urnet_conn_read(d->c, buf, 256 * 1024)) > 0) {
		d->sum = test_sum(d->sum, buf, (size_t)n);
		d->got += (size_t)n;
	}
	free(buf);
	return NULL;
}

static void drain_start(struct drain *d, urnet_conn *conn)
{
	memset(d, 0, sizeof(*d));
	d->c = conn;
	ck_assert_int_eq(pthread_create(&d->th, NULL, drain_main, d), 0);
}

/* Send len bytes of a fresh file with offset NULL or not, and check what arrived. */
static void send_whole(size_t len, bool with_offset)
{
	uint64_t sum;
	int fd = make_file(len, &sum);
	off_t off = 0;
	struct drain d;
	ssize_t n;

	drain_start(&d, s);
	n = urnet_conn_sendfile(c, fd, with_offset ? &off : NULL, len);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_int_eq(urnet_conn_close_write(c), 0);
	ck_assert_int_eq(pthread_join(d.th, NULL), 0);
	ck_assert_uint_eq(d.got, len);
	if (len)
		ck_assert(d.sum == sum);
	/* The offset moves; the file position moves only without one. */
	if (with_offset) {
		ck_assert_int_eq(off, (off_t)len);
		ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	} else {
		ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)len);
	}
	close(fd);
}

START_TEST(empty_file_sends_nothing)
{
	uint64_t sum;
	int fd = make_file(0, &sum);
	off_t off = 0;

	/* More asked than the file has: the end of the file ends it, errno 0. */
	errno = EIO;
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, &off, 100), 0);
	ck_assert_int_eq(errno, 0);
	ck_assert_int_eq(off, 0);
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, NULL, 0), 0);
	close(fd);
	send_whole(0, false);
}
END_TEST

START_TEST(one_byte_file_arrives)
{
	send_whole(1, true);
}
END_TEST

START_TEST(big_file_arrives_byte_exact_with_offset)
{
	send_whole(64u << 20, true);
}
END_TEST

START_TEST(big_file_arrives_byte_exact_from_file_position)
{
	send_whole(64u << 20, false);
}
END_TEST

START_TEST(offset_in_the_middle_sends_the_rest)
{
	uint64_t sum;
	int fd = make_file(10000, &sum);
	unsigned char want[4000], got[4000];
	off_t off = 6000;

	ck_assert_int_eq(pread(fd, want, sizeof(want), 6000), 4000);
	/* Asking for more than is left stops at the end of the file. */
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, &off, 100000), 4000);
	ck_assert_int_eq(errno, 0);
	ck_assert_int_eq(off, 10000);
	ck_assert(api_read_full(s, got, sizeof(got)));
	ck_assert_mem_eq(got, want, sizeof(want));
	close(fd);
}
END_TEST

/* A thread blocked in urnet_conn_sendfile, and what it returned. */
struct sender {
	int fd;
	size_t count;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	ssize_t ret;
	int err;
	off_t off;
};

static void *sender_main(void *arg)
{
	struct sender *x = arg;

	atomic_store(&x->tid, test_gettid());
	x->ret = urnet_conn_sendfile(c, x->fd, &x->off, x->count);
	x->err = errno;
	atomic_store(&x->done, true);
	return NULL;
}

static void sender_start(struct sender *x, int fd, size_t count)
{
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->count = count;
	api_small_buffers(c);
	ck_assert_int_eq(pthread_create(&x->th, NULL, sender_main, x), 0);
	ck_assert_msg(test_wait_blocked(&x->tid, &x->done, false), "sendfile never blocked");
}

START_TEST(shrinking_file_ends_early_without_error)
{
	uint64_t sum;
	size_t len = 16u << 20;
	int fd = make_file(len, &sum);
	struct sender x;
	struct drain d;

	sender_start(&x, fd, len);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	drain_start(&d, s);
	ck_assert_int_eq(pthread_join(x.th, NULL), 0);
	ck_assert_int_gt(x.ret, 0);
	ck_assert_int_lt(x.ret, (ssize_t)len);
	ck_assert_int_eq(x.err, 0);
	ck_assert_int_eq(x.off, (off_t)x.ret);
	ck_assert_int_eq(urnet_conn_close_write(c), 0);
	ck_assert_int_eq(pthread_join(d.th, NULL), 0);
	ck_assert_uint_eq(d.got, (size_t)x.ret);
	close(fd);
}
END_TEST

START_TEST(write_deadline_ends_stalled_send_with_partial_count)
{
	uint64_t sum;
	size_t len = 64u << 20;
	int fd = make_file(len, &sum);
	struct sender x;

	/* Nobody reads s: the socket buffers fill, then the deadline passes. */
	sender_start(&x, fd, len);
	ck_assert_int_eq(urnet_conn_set_write_deadline(c, urnet_now_ns() + 50 * MSEC), 0);
	ck_assert_int_eq(pthread_join(x.th, NULL), 0);
	ck_assert_int_gt(x.ret, 0);
	ck_assert_int_lt(x.ret, (ssize_t)len);
	ck_assert_int_eq(x.err, ETIMEDOUT);
	ck_assert_int_eq(x.off, (off_t)x.ret);
	/* Nothing more goes while the deadline has passed. */
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, &x.off, len), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	close(fd);
}
END_TEST

START_TEST(close_from_another_thread_wakes_sendfile)
{
	uint64_t sum;
	size_t len = 64u << 20;
	int fd = make_file(len, &sum);
	struct sender x;

	sender_start(&x, fd, len);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(pthread_join(x.th, NULL), 0);
	ck_assert_int_lt(x.ret, (ssize_t)len);
	ck_assert_int_eq(x.err, ECANCELED);
	/* A fresh pair for the teardown, which closes both. */
	ck_assert_int_eq(urnet_conn_close(s), 0);
	api_tcp_pair(&c, &s);
	close(fd);
}
END_TEST

START_TEST(bad_arguments_fail_like_sendfile)
{
	uint64_t sum;
	int fd = make_file(100, &sum);
	int wr = open("/dev/null", O_WRONLY | O_CLOEXEC);
	off_t off = -1;

	ck_assert_int_eq(urnet_conn_sendfile(NULL, fd, NULL, 10), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, NULL, (size_t)SSIZE_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_conn_sendfile(c, -1, NULL, 10), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(urnet_conn_sendfile(c, wr, NULL, 10), -1);
	ck_assert_int_eq(errno, EINVAL);	/* a character device: not a file */
	ck_assert_int_eq(urnet_conn_sendfile(c, urnet_conn_fd(s), NULL, 10), -1);
	ck_assert_int_eq(errno, EINVAL);	/* a socket */
	ck_assert_int_eq(urnet_conn_sendfile(c, fd, &off, 10), -1);
	ck_assert_int_eq(errno, EINVAL);	/* a negative offset */
	close(wr);
	{
		/* A file opened for writing only cannot be read. */
		char path[] = "/tmp/urnet-sendfile.XXXXXX";
		int tmp = mkstemp(path);

		ck_assert_int_ge(tmp, 0);
		wr = open(path, O_WRONLY | O_CLOEXEC);
		unlink(path);
		close(tmp);
		ck_assert_int_eq(urnet_conn_sendfile(c, wr, NULL, 10), -1);
		ck_assert_int_eq(errno, EBADF);
		close(wr);
	}
	close(fd);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("api_sendfile");
	TCase *tc = tcase_create("sendfile");

	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, empty_file_sends_nothing);
	tcase_add_test(tc, one_byte_file_arrives);
	tcase_add_test(tc, big_file_arrives_byte_exact_with_offset);
	tcase_add_test(tc, big_file_arrives_byte_exact_from_file_position);
	tcase_add_test(tc, offset_in_the_middle_sends_the_rest);
	tcase_add_test(tc, shrinking_file_ends_early_without_error);
	tcase_add_test(tc, write_deadline_ends_stalled_send_with_partial_count);
	tcase_add_test(tc, close_from_another_thread_wakes_sendfile);
	tcase_add_test(tc, bad_arguments_fail_like_sendfile);
	suite_add_tcase(su, tc);
	return test_run_suite(su);
}
