/* SPDX-License-Identifier: MIT */
/*
 * Provided buffer rings on an engine's ring.  Registering and unregistering
 * go to the engine thread, the ring's single issuer; they ride on a NOP
 * whose prep makes the register call.  Returning buffers needs no system
 * call, only stores into the shared ring, and the engine thread is the
 * ring's one producer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine.h"

#define URNET__BUF_RING_MAX	32768

struct urnet_buf_ring {
	urnet_engine *e;
	struct io_uring_buf_ring *ring;	/* shared with the kernel, page aligned */
	size_t ring_bytes;
	char *bufs;
	size_t size;
	unsigned count;
	unsigned short bgid;
};

struct reg_job {
	urnet_buf_ring *br;
	bool unregister;
	int res;
};

static char *buf_addr(const urnet_buf_ring *br, unsigned bid)
{
	return br->bufs + (size_t)bid * br->size;
}

/* Queue buffer bid at offset off past the ring's tail (engine thread). */
static void buf_add(urnet_buf_ring *br, unsigned bid, int off)
{
	io_uring_buf_ring_add(br->ring, buf_addr(br, bid), (unsigned)br->size,
			      (unsigned short)bid, io_uring_buf_ring_mask(br->count), off);
}

/* Memory and engine reference; the group is no longer registered. */
static void buf_ring_release(urnet_buf_ring *br)
{
	if (br->ring)
		munmap(br->ring, br->ring_bytes);
	free(br->bufs);
	if (br->e)
		urnet__engine_put(br->e);
	free(br);
}

/* Engine thread. */
static void reg_run(struct reg_job *j)
{
	urnet_buf_ring *br = j->br;
	struct io_uring *ring = urnet__engine_ring(br->e);
	struct io_uring_buf_reg reg;
	unsigned i;

	if (j->unregister) {
		j->res = io_uring_unregister_buf_ring(ring, br->bgid);
		return;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br->ring;
	reg.ring_entries = br->count;
	reg.bgid = br->bgid;
	j->res = io_uring_register_buf_ring(ring, &reg, 0);
	if (j->res)
		return;
	io_uring_buf_ring_init(br->ring);
	for (i = 0; i < br->count; i++)
		buf_add(br, i, (int)i);
	io_uring_buf_ring_advance(br->ring, (int)br->count);
}

static void reg_prep(struct io_uring_sqe *sqe, void *arg)
{
	reg_run(arg);
	io_uring_prep_nop(sqe);
}

static int reg_on_engine(urnet_buf_ring *br, bool unregister)
{
	struct reg_job j = { br, unregister, 0 };
	int ret;

	if (urnet__engine_on_thread(br->e)) {
		reg_run(&j);
		return j.res;
	}
	ret = urnet_engine_call(br->e, reg_prep, &j, 0);
	return ret < 0 ? ret : j.res;
}

urnet_buf_ring *urnet_buf_ring_new(urnet_engine *e, unsigned short bgid, unsigned count,
				   size_t size)
{
	urnet_buf_ring *br;
	void *mem;
	int ret;

	if (!e || !count || count > URNET__BUF_RING_MAX || (count & (count - 1)) || !size ||
	    size > UINT32_MAX || (size_t)count > SIZE_MAX / size) {
		errno = EINVAL;
		return NULL;
	}
	if (urnet__engine_is_syscall(e)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	br = calloc(1, sizeof(*br));
	if (!br)
		return NULL;
	br->count = count;
	br->size = size;
	br->bgid = bgid;
	br->ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
	mem = mmap(NULL, br->ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	br->ring = mem == MAP_FAILED ? NULL : mem;
	br->bufs = malloc((size_t)count * size);
	if (!br->ring || !br->bufs) {
		buf_ring_release(br);
		errno = ENOMEM;
		return NULL;
	}
	/* Held until free, so that a free after the engine's close is defined. */
	urnet__engine_get(e);
	br->e = e;
	ret = reg_on_engine(br, false);
	if (ret) {
		buf_ring_release(br);
		errno = -ret;
		return NULL;
	}
	return br;
}

void *urnet_buf_ring_buf(const urnet_buf_ring *br, unsigned bid)
{
	if (!br || bid >= br->count)
		return NULL;
	return buf_addr(br, bid);
}

int urnet_buf_ring_put(urnet_buf_ring *br, unsigned bid)
{
	if (!br || bid >= br->count)
		return -EINVAL;
	if (!urnet__engine_on_thread(br->e))
		return -EPERM;
	buf_add(br, bid, 0);
	io_uring_buf_ring_advance(br->ring, 1);
	return 0;
}

int urnet_buf_ring_free(urnet_buf_ring *br)
{
	int ret;

	if (!br)
		return -EINVAL;
	ret = reg_on_engine(br, true);
	/* A stopped engine took its ring, and the group, with it. */
	if (ret && ret != -ESHUTDOWN)
		return ret;
	buf_ring_release(br);
	return 0;
}
