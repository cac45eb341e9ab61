/* SPDX-License-Identifier: MIT */
/*
 * The list of parked calls written out: the JSON lines that urnet-top
 * reads from the channel, and the table of urnet_dump_waits().  Each fd is
 * described as it is when the list is taken (a number closed meanwhile
 * shows as "-", one reused shows the new socket): the parked threads are
 * never asked anything.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"
#include "waits.h"

struct fd_desc {
	const char *sock;
	char local[112];
	char peer[112];
};

/* Everything one look writes: taken first, then formatted. */
struct view {
	struct urnet_engine_stats st;
	const char *backend;
	unsigned engines;
	struct urnet__wait_rec *recs;	/* longest wait first */
	size_t n;
	int64_t now_ns;
	uint64_t hist[URNET__WK_COUNT][URNET__WAIT_BUCKETS];
};

/* One parked call, described. */
struct line {
	struct fd_desc d;
	char name[32];
};

static const char *sock_kind(int fd)
{
	int dom = 0, type = 0;
	socklen_t l1 = sizeof(dom), l2 = sizeof(type);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l1) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2))
		return "-";
	switch (dom) {
	case AF_INET:
		return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "inet";
	case AF_INET6:
		return type == SOCK_STREAM ? "tcp6" : type == SOCK_DGRAM ? "udp6" : "inet6";
	case AF_UNIX:
		return type == SOCK_STREAM ? "unix" : type == SOCK_DGRAM ? "unix-dgram"
									 : "unix-seqpacket";
	default:
		return "socket";
	}
}

static void addr_text(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	snprintf(out, size, "-");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		if (inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host)))
			snprintf(out, size, "%s:%u", host, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		if (inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host)))
			snprintf(out, size, "[%s]:%u", host, ntohs(a->sin6_port));
	} else if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *a = (const void *)ss;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path)
				      ? len - offsetof(struct sockaddr_un, sun_path) : 0;

		if (plen && a->sun_path[0])
			snprintf(out, size, "%.*s", (int)strnlen(a->sun_path, plen), a->sun_path);
		else if (plen > 1)	/* abstract: shown as ss(8) does */
			snprintf(out, size, "@%.*s", (int)(plen - 1), a->sun_path + 1);
	}
}

static void describe(const struct urnet__wait_rec *r, struct fd_desc *d)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = r->fd;

	d->sock = sock_kind(fd);
	snprintf(d->local, sizeof(d->local), "-");
	snprintf(d->peer, sizeof(d->peer), "-");
	if (d->sock[0] == '-')
		return;
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_text(&ss, len, d->local, sizeof(d->local));
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		addr_text(&ss, len, d->peer, sizeof(d->peer));
	} else if (r->peer_len && r->peer_len <= sizeof(r->peer)) {
		/* Not connected yet: where the call is connecting to. */
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, r->peer, r->peer_len);
		addr_text(&ss, r->peer_len, d->peer, sizeof(d->peer));
	}
}

static void thread_name(int tid, char *out, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(out, size, "?");
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* Longest wait first. */
static int by_since(const void *a, const void *b)
{
	const struct urnet__wait_rec *x = a, *y = b;

	return (x->since_ns > y->since_ns) - (x->since_ns < y->since_ns);
}

static int view_take(struct view *v)
{
	size_t cap = urnet__waits_snapshot(NULL, 0) + 64;

	v->engines = urnet__registry_stats(&v->st, &v->backend);
	if (!v->backend)
		v->backend = "none";
	v->recs = calloc(cap, sizeof(*v->recs));
	if (!v->recs)
		return -ENOMEM;
	v->n = urnet__waits_snapshot(v->recs, cap);
	if (v->n > cap)
		v->n = cap;
	v->now_ns = urnet_now_ns();
	qsort(v->recs, v->n, sizeof(*v->recs), by_since);
	urnet__waits_hist(v->hist);
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void line_of(const struct urnet__wait_rec *r, struct line *ln)
{
	describe(r, &ln->d);
	thread_name(r->tid, ln->name, sizeof(ln->name));
}

static int finish(FILE *f)
{
	return fflush(f) || ferror(f) ? -EIO : 0;
}

int urnet__waits_write_json(FILE *f)
{
	struct view v;
	int ret = view_take(&v);

	if (ret)
		return ret;
	fprintf(f, "{\"type\":\"header\",\"pid\":%d,\"backend\":\"%s\",\"engines\":%u,"
		"\"submitted\":%llu,\"completed\":%llu,\"engine_wakeups\":%llu,"
		"\"parked_total\":%llu,\"readiness\":%llu,\"syscall_ops\":%llu,"
		"\"parked_now\":%zu,\"now_ns\":%lld}\n",
		(int)getpid(), v.backend, v.engines, (unsigned long long)v.st.submitted,
		(unsigned long long)v.st.completed, (unsigned long long)v.st.engine_wakeups,
		(unsigned long long)v.st.parked, (unsigned long long)v.st.readiness,
		(unsigned long long)v.st.syscall_ops, v.n, (long long)v.now_ns);
	for (size_t i = 0; i < v.n; i++) {
		const struct urnet__wait_rec *r = &v.recs[i];
		struct line ln;

		line_of(r, &ln);
		fprintf(f, "{\"type\":\"wait\",\"tid\":%d,\"name\":", r->tid);
		json_str(f, ln.name);
		fprintf(f, ",\"fd\":%d,\"sock\":\"%s\",\"local\":", r->fd, ln.d.sock);
		json_str(f, ln.d.local);
		fputs(",\"peer\":", f);
		json_str(f, ln.d.peer);
		fprintf(f, ",\"call\":\"%s\",\"wait_ns\":%lld,\"deadline_ns\":",
			urnet__wait_kind_name(r->kind), (long long)(v.now_ns - r->since_ns));
		if (r->deadline_ns)
			fprintf(f, "%lld}\n", (long long)(r->deadline_ns - v.now_ns));
		else
			fputs("null}\n", f);
	}
	for (unsigned k = 0; k < URNET__WK_COUNT; k++) {
		fprintf(f, "{\"type\":\"hist\",\"call\":\"%s\",\"buckets\":[",
			urnet__wait_kind_name(k));
		for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
			fprintf(f, "%s%llu", b ? "," : "", (unsigned long long)v.hist[k][b]);
		fputs("]}\n", f);
	}
	free(v.recs);
	return finish(f);
}

static void dur_text(int64_t ns, char *out, size_t size)
{
	if (ns < 0)
		snprintf(out, size, "-%lldus", (long long)(-ns / 1000));
	else if (ns < 1000000)
		snprintf(out, size, "%lldus", (long long)(ns / 1000));
	else if (ns < 1000000000)
		snprintf(out, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(out, size, "%.2fs", (double)ns / 1e9);
}

int urnet__waits_write_table(FILE *f)
{
	static const char *const bucket_names[URNET__WAIT_BUCKETS] = {
		"<10us", "<100us", "<1ms", "<10ms", "<100ms", "<1s", "<10s", ">=10s"
	};
	struct view v;
	int ret = view_take(&v);

	if (ret)
		return ret;
	fprintf(f, "pid %d  backend %s  engines %u  submitted %llu  completed %llu  "
		"wakeups %llu  parked now %zu (total %llu)\n",
		(int)getpid(), v.backend, v.engines, (unsigned long long)v.st.submitted,
		(unsigned long long)v.st.completed, (unsigned long long)v.st.engine_wakeups, v.n,
		(unsigned long long)v.st.parked);
	fprintf(f, "%-8s %-15s %5s %-6s %-24s %-24s %-9s %9s %9s\n", "TID", "NAME", "FD",
		"SOCK", "LOCAL", "PEER", "CALL", "WAITED", "DEADLINE");
	for (size_t i = 0; i < v.n; i++) {
		const struct urnet__wait_rec *r = &v.recs[i];
		char waited[24], dl[24] = "-";
		struct line ln;

		line_of(r, &ln);
		dur_text(v.now_ns - r->since_ns, waited, sizeof(waited));
		if (r->deadline_ns)
			dur_text(r->deadline_ns - v.now_ns, dl, sizeof(dl));
		fprintf(f, "%-8d %-15s %5d %-6s %-24s %-24s %-9s %9s %9s\n", r->tid, ln.name,
			r->fd, ln.d.sock, ln.d.local, ln.d.peer, urnet__wait_kind_name(r->kind),
			waited, dl);
	}
	fprintf(f, "%-9s", "WAITS");
	for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
		fprintf(f, " %9s", bucket_names[b]);
	fputc('\n', f);
	for (unsigned k = 0; k < URNET__WK_COUNT; k++) {
		uint64_t any = 0;

		for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
			any |= v.hist[k][b];
		if (!any)
			continue;
		fprintf(f, "%-9s", urnet__wait_kind_name(k));
		for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
			fprintf(f, " %9llu", (unsigned long long)v.hist[k][b]);
		fputc('\n', f);
	}
	free(v.recs);
	return finish(f);
}

int urnet_dump_waits(FILE *f)
{
	if (!f)
		return -EINVAL;
	return urnet__waits_write_table(f);
}
