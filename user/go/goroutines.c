// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "go/elf.h"
#include "go/goroutines.h"
#include "go/infer.h"
#include "go/remote.h"
#include "go/stacks.h"

#define G_STATUS_IDLE 0
#define G_STATUS_RUNNING 2
#define G_STATUS_WAITING 4
#define G_STATUS_DEAD 6
#define G_STATUS_DEADEXTRA 11 /* 1.26: a dead g kept for a cgo callback's M */
#define MAX_GS (1 << 24)      /* more goroutines than any sane process */
#define STACK_WINDOW 1024     /* bytes of each stack read in one batch: the
				 parked frames on top; deeper ones are read
				 one by one */
#define CHUNK 1024            /* gs read and described per batch (one
				 process_vm_readv takes 1024 ranges): the
				 raw gs and stack windows of 100k goroutines
				 would be 140 MiB at once */

struct go_process {
	pid_t pid;
	int mem;                  /* /proc/PID/mem */
	struct go_binary *bin;
	uint64_t bias;            /* load bias of a PIE executable, else 0 */
	char *exe_name;           /* module name for frames */
	struct go_g_layout lay;
	struct go_allgs allgs;
	char version[32];
	struct go_chan_layout cl;  /* for go/wait.c; cl.source NULL: unknown */
	char cl_err[256];
	char lay_label[192];      /* lay.source when inferred */
	/* Wait reason names when the tables do not know the version: the
	 * binary's own (go_binary__wait_reasons). */
	const char *const *wait_names;
	int nwait_names;
	const char *reasons[256]; /* g.waitreason (a byte) -> name, NULL unknown:
				   * resolved once, not per goroutine */
	struct go_syms *syms;     /* pc -> frames (go/stacks.c) */
	/* Memory from a callback instead of the pid (go_process__open_memory). */
	go_mem_read_fn read_fn;
	void *read_ctx;
	bool owns_bin;
};

pid_t go_process__pid(const struct go_process *p)
{
	return p->pid;
}

static int read_mem(const struct go_process *p, uint64_t addr, void *buf, size_t len)
{
	ssize_t n;

	if (p->read_fn)
		return p->read_fn(p->read_ctx, addr, buf, len);
	/* pread takes a signed offset: kernel-half addresses are invalid. */
	if (addr > INT64_MAX)
		return -EFAULT;
	n = pread(p->mem, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EFAULT;
}

static int read_cb(void *p, uint64_t addr, void *buf, size_t len)
{
	return read_mem(p, addr, buf, len);
}

/* Many small ranges: batched from the live process (go/remote.c), or one
 * by one from the fuzz target's memory. */
static void read_many(const struct go_process *p, const uint64_t *addr, const size_t *len,
		      uint8_t **dst, bool *ok, size_t n)
{
	if (!p->read_fn) {
		go_read_many(p->pid, addr, len, dst, ok, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ok[i] = !p->read_fn(p->read_ctx, addr[i], dst[i], len[i]);
}

int go_process__read(const struct go_process *p, uint64_t addr, void *buf, size_t len)
{
	return read_mem(p, addr, buf, len);
}

void go_process__read_many(const struct go_process *p, const uint64_t *addr, const size_t *len,
			   uint8_t **dst, bool *ok, size_t n)
{
	read_many(p, addr, len, dst, ok, n);
}

const struct go_binary *go_process__binary(const struct go_process *p)
{
	return p->bin;
}

const struct go_g_layout *go_process__g_layout(const struct go_process *p)
{
	return &p->lay;
}

uint64_t go_process__bias(const struct go_process *p)
{
	return p->bias;
}

const struct go_chan_layout *go_process__chan_layout(const struct go_process *p,
						     const char **why)
{
	if (p->cl.source)
		return &p->cl;
	if (why)
		*why = p->cl_err;
	return NULL;
}

/* What the binary says: version, layouts (*infer: none known, to be
 * inferred from the live process), wait reason names, where allgs is. */
static int prepare(struct go_process *p, bool *infer, char *err, size_t errlen)
{
	const char *v;

	if (!go_binary__is_go(p->bin))
		return -ENOEXEC;
	v = go_binary__version(p->bin);
	snprintf(p->version, sizeof(p->version), "%s", v ? v : "unknown");
	*infer = go_binary__g_layout(p->bin, &p->lay, err, errlen) != 0;
	/* Not needed to read goroutines: without it, no wait objects. */
	if (!*infer && go_binary__chan_layout(p->bin, &p->cl, p->cl_err, sizeof(p->cl_err)))
		p->cl.source = NULL;
	if (!go_wait_reason_name(p->version, 1))
		p->nwait_names = go_binary__wait_reasons(p->bin, &p->wait_names, NULL);
	for (unsigned r = 0; r < 256; r++)
		p->reasons[r] = p->nwait_names > 0 ? ((int)r < p->nwait_names ? p->wait_names[r] : NULL)
						   : go_wait_reason_name(p->version, r);
	return go_binary__find_allgs(p->bin, &p->allgs, err, errlen);
}

int go_process__open_memory(const struct go_binary *bin, const char *exe_name, uint64_t bias,
			    go_mem_read_fn read_fn, void *ctx, struct go_process **out, char *err,
			    size_t errlen)
{
	struct go_process *p = calloc(1, sizeof(*p));
	bool infer;
	int e;

	if (!p)
		return -ENOMEM;
	p->mem = -1;
	p->bin = (struct go_binary *)bin; /* not owned: not freed */
	p->bias = bias;
	p->read_fn = read_fn;
	p->read_ctx = ctx;
	p->exe_name = strdup(exe_name);
	p->syms = p->exe_name ? go_syms__new(bin, bias, p->exe_name) : NULL;
	if (!p->syms) {
		go_process__free(p);
		return -ENOMEM;
	}
	e = prepare(p, &infer, err, errlen);
	if (!e && infer)
		e = -ENOTSUP; /* inference needs a live process */
	if (e) {
		go_process__free(p);
		return e;
	}
	*out = p;
	return 0;
}

int go_process__open(pid_t pid, struct go_process **out, char *err, size_t errlen)
{
	struct go_process *p = calloc(1, sizeof(*p));
	char path[64], exe[4096];
	int fd = -1, e = 0;
	bool infer;
	ssize_t n;

	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->mem = -1;
	elf_version(EV_CURRENT);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	/* Through /proc: the file the process runs, even deleted or in
	 * another mount namespace. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (fd < 0 || n <= 0) {
		e = errno == ENOENT ? -ESRCH : -errno;
		snprintf(err, errlen, "cannot open the executable of %d: %s", pid, strerror(-e));
		goto fail;
	}
	exe[n] = 0;
	p->exe_name = strdup(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
	p->bin = go_binary__open_fd(fd, exe, &e, err, errlen);
	if (!p->bin) {
		e = e ? e : -ENOEXEC;
		goto fail;
	}
	p->owns_bin = true;
	e = prepare(p, &infer, err, errlen);
	if (e)
		goto fail;
	e = go_load_bias(pid, fd, &p->bias);
	if (e) {
		snprintf(err, errlen, "cannot find where %s is loaded in %d", exe, pid);
		goto fail;
	}
	p->syms = go_syms__new(p->bin, p->bias, p->exe_name);
	if (!p->syms) {
		e = -ENOMEM;
		goto fail;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->mem = open(path, O_RDONLY | O_CLOEXEC);
	if (p->mem < 0) {
		e = errno == ENOENT ? -ESRCH : -errno;
		snprintf(err, errlen, "cannot read the memory of %d: %s", pid, strerror(-e));
		goto fail;
	}
	if (infer) {
		struct go_infer_in in = {
			.pid = pid, .mem = p->mem, .bin = p->bin, .bias = p->bias,
			.allgs = p->allgs.allgs, .allglen = p->allgs.allglen,
			.version = go_binary__version(p->bin),
		};

		e = go_infer__layouts(&in, &p->lay, p->lay_label, sizeof(p->lay_label), &p->cl,
				      p->cl_err, sizeof(p->cl_err), err, errlen);
		if (e == -ENOTSUP)
			e = -EAGAIN; /* a later look may pass (more goroutines...) */
		if (e)
			goto fail;
	}
	close(fd);
	*out = p;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	go_process__free(p);
	return e;
}

void go_process__free(struct go_process *p)
{
	if (!p)
		return;
	if (p->mem >= 0)
		close(p->mem);
	if (p->owns_bin)
		go_binary__free(p->bin);
	go_syms__free(p->syms);
	free(p->exe_name);
	free(p);
}

static uint64_t field(const uint8_t *g, int off, int size)
{
	uint64_t v = 0;

	if (off < 0)
		return 0;
	memcpy(&v, g + off, size);
	return v;
}

/*
 * Walk a parked goroutine's frame pointers from its saved registers:
 * [bp] is the caller's bp, [bp+8] the return address. The stack window read
 * in batch serves most loads; the rest go to /proc/PID/mem. Stops at a
 * frame pointer that does not go up the stack (corrupt or reused memory),
 * or when the pcs make max frames (inlined ones count). The pcs go to
 * pcs[] (room for max); returns how many.
 */
static int walk_stack(const struct go_process *p, const struct pw_goroutine *g,
		      const uint8_t *win, uint64_t win_lo, size_t win_len, uint64_t bp,
		      uint64_t stack_hi, int max, uint64_t *pcs)
{
	int npc = 0, nf;

	pcs[npc++] = g->sched_pc;
	nf = go_syms__nframes(p->syms, g->sched_pc, false);
	while (bp && nf < max && npc < max) {
		uint64_t pair[2];

		/* Differences, not sums: a wild bp near 2^64 must not wrap
		 * into the window (found by tests/fuzz/fuzz_goroutines). */
		if (bp >= win_lo && win_len >= 16 && bp - win_lo <= win_len - 16)
			memcpy(pair, win + (bp - win_lo), 16);
		else if (read_mem(p, bp, pair, 16))
			break;
		if (!pair[1])
			break;
		pcs[npc++] = pair[1];
		nf += go_syms__nframes(p->syms, pair[1], true);
		if (pair[0] <= bp || (stack_hi && pair[0] >= stack_hi))
			break;
		bp = pair[0];
	}
	return npc;
}

/* A running goroutine has no saved stack: say which thread runs it (its
 * M's procid), so the thread view can show the stack. */
static void running_on(const struct go_process *p, struct pw_goroutine *g, const uint8_t *raw)
{
	uint64_t m = field(raw, p->lay.m, 8), procid = 0;

	if (m && p->lay.m_procid >= 0 && !read_mem(p, m + p->lay.m_procid, &procid, 8))
		g->thread_tid = procid;
	if (asprintf(&g->stack.error, "running on thread %u: no saved stack",
		     g->thread_tid) < 0)
		g->stack.error = NULL;
}

static const char *short_status(uint32_t status)
{
	const char *s = go_status_name(status);

	return s && !strncmp(s, "_G", 2) ? s + 2 : s ? s : "unknown";
}

/* The table's name for a reason, else the binary's own. */
static const char *wait_reason(const struct go_process *p, unsigned r)
{
	return p->reasons[r & 255];
}

static void describe(const struct go_process *p, struct pw_goroutine *g, const uint8_t *raw)
{
	const struct go_g_layout *l = &p->lay;
	uint64_t startpc = field(raw, l->startpc, 8);
	struct go_func_info fi;

	g->goid = field(raw, l->goid, 8);
	g->status = field(raw, l->atomicstatus, 4) & ~GO_GSCAN;
	g->status_name = short_status(g->status);
	if (g->status == G_STATUS_WAITING)
		g->wait_reason = wait_reason(p, field(raw, l->waitreason, 1));
	g->waitsince_ns = field(raw, l->waitsince, 8);
	g->sched_pc = field(raw, l->sched_pc, 8);
	g->sched_sp = field(raw, l->sched_sp, 8);
	g->parent_goid = l->parent_goid >= 0 ? (int64_t)field(raw, l->parent_goid, 8) : -1;
	if (g->status == G_STATUS_WAITING && p->cl.source && p->cl.g_waiting + 8 <= l->g_size)
		g->waiting = field(raw, p->cl.g_waiting, 8);
	/* The rest of the creation site comes with the stack (go/stacks.c). */
	g->created_by.pc = field(raw, l->gopc, 8);
	if (startpc && !go_binary__lookup(p->bin, startpc - p->bias, &fi))
		g->start_function = fi.function;
	/* The runtime's own goroutines, as its traceback decides: functions
	 * of package runtime, but for runtime.main. */
	g->runtime_owned = g->start_function && !strncmp(g->start_function, "runtime.", 8) &&
			   strcmp(g->start_function, "runtime.main");
}

/* Buffers of one batch of gs (CHUNK), reused batch after batch. */
struct batch {
	uint64_t *addr;
	size_t *len, *win_len, *widx;
	uint8_t *graw, **dst, *wins;
	bool *ok, *wok;
	uint64_t *pcs; /* one stack's pcs (max_frames) */
	struct go_shapes *shapes;
};

static void batch_free(struct batch *b)
{
	free(b->addr);
	free(b->len);
	free(b->win_len);
	free(b->widx);
	free(b->graw);
	free(b->dst);
	free(b->wins);
	free(b->ok);
	free(b->wok);
	free(b->pcs);
	go_shapes__free(b->shapes);
}

static int batch_alloc(const struct go_process *p, struct batch *b, int max_frames)
{
	memset(b, 0, sizeof(*b));
	b->addr = calloc(CHUNK, sizeof(*b->addr));
	b->len = calloc(CHUNK, sizeof(*b->len));
	b->win_len = calloc(CHUNK, sizeof(*b->win_len));
	b->widx = calloc(CHUNK, sizeof(*b->widx));
	b->graw = calloc(CHUNK, p->lay.g_size);
	b->dst = calloc(CHUNK, sizeof(*b->dst));
	b->wins = calloc(CHUNK, STACK_WINDOW);
	b->ok = calloc(CHUNK, sizeof(*b->ok));
	b->wok = calloc(CHUNK, sizeof(*b->wok));
	b->pcs = calloc(max_frames > 0 ? max_frames : 1, sizeof(*b->pcs));
	b->shapes = go_shapes__new(p->syms);
	if (!b->addr || !b->len || !b->win_len || !b->widx || !b->graw || !b->dst || !b->wins ||
	    !b->ok || !b->wok || !b->pcs || !b->shapes) {
		batch_free(b);
		return -ENOMEM;
	}
	return 0;
}

/* The n gs at ptrs[]: read them in one batch, then a window of every parked
 * stack in a second, then describe each live one into out. 0 or -ENOMEM. */
static int read_batch(const struct go_process *p, struct batch *b, const uint64_t *ptrs,
		      size_t n, int max_frames, struct go_snapshot *out)
{
	const struct go_g_layout *l = &p->lay;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		b->addr[i] = ptrs[i];
		b->len[i] = l->g_size;
		b->dst[i] = b->graw + i * l->g_size;
	}
	read_many(p, b->addr, b->len, b->dst, b->ok, n);
	/* The window ranges go first in the arrays (compacted), widx[] maps
	 * them back. */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *raw = b->graw + i * l->g_size;
		uint64_t sp = field(raw, l->sched_sp, 8), hi = field(raw, l->stack_hi, 8);
		uint32_t st = field(raw, l->atomicstatus, 4) & ~GO_GSCAN;

		b->win_len[i] = 0;
		if (!b->ok[i] || st == G_STATUS_DEAD || st == G_STATUS_IDLE ||
		    st == G_STATUS_RUNNING || st == G_STATUS_DEADEXTRA || !sp || hi <= sp)
			continue;
		b->addr[m] = sp;
		b->len[m] = hi - sp < STACK_WINDOW ? hi - sp : STACK_WINDOW;
		b->dst[m] = b->wins + i * STACK_WINDOW;
		b->widx[m++] = i;
	}
	read_many(p, b->addr, b->len, b->dst, b->wok, m);
	for (size_t j = 0; j < m; j++)
		if (b->wok[j])
			b->win_len[b->widx[j]] = b->len[j];
	for (size_t i = 0; i < n; i++) {
		const uint8_t *raw = b->graw + i * l->g_size;
		struct pw_goroutine *g = &out->g[out->n];
		uint64_t sp, hi;
		int npc = 0;

		if (!b->ok[i])
			continue;
		g->status = field(raw, l->atomicstatus, 4) & ~GO_GSCAN;
		if (g->status == G_STATUS_DEAD || g->status == G_STATUS_IDLE ||
		    g->status == G_STATUS_DEADEXTRA || g->status > 20)
			continue;
		g->pid = p->pid;
		g->gaddr = ptrs[i];
		describe(p, g, raw);
		if (!g->goid) {
			memset(g, 0, sizeof(*g));
			continue; /* a g being set up */
		}
		sp = field(raw, l->sched_sp, 8);
		hi = field(raw, l->stack_hi, 8);
		if (g->status != G_STATUS_RUNNING && g->sched_pc && max_frames > 0)
			npc = walk_stack(p, g, b->wins + i * STACK_WINDOW, sp, b->win_len[i],
					 field(raw, l->sched_bp, 8), hi, max_frames, b->pcs);
		/* Goroutines with the same stack and creation site share one
		 * copy of their frames. */
		if (go_shapes__get(b->shapes, b->pcs, npc, g->created_by.pc, max_frames, &g->stack,
				   &g->created_by))
			return -ENOMEM;
		if (g->status == G_STATUS_RUNNING)
			running_on(p, g, raw);
		out->n++;
	}
	return 0;
}

int go_process__snapshot(struct go_process *p, int max_frames, struct go_snapshot *out,
			 char *err, size_t errlen)
{
	const struct go_g_layout *l = &p->lay;
	uint64_t hdr[3], *ptrs = NULL;
	struct batch b = { 0 };
	struct timespec ts;
	char hdr_path[32];
	size_t n;
	int e;

	memset(out, 0, sizeof(*out));
	out->version = p->version;
	out->version_source = go_binary__version_source(p->bin);
	out->layout_source = l->source;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	out->now_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	e = read_mem(p, p->allgs.allgs + p->bias, hdr, sizeof(hdr));
	if (e) {
		snprintf(err, errlen, "cannot read runtime.allgs of %d: %s", p->pid,
			 e == -EFAULT || e == -EIO ? "unreadable" : strerror(-e));
		snprintf(hdr_path, sizeof(hdr_path), "/proc/%d", p->pid);
		return access(hdr_path, F_OK) ? -ESRCH : e;
	}
	n = hdr[1];
	if (p->allgs.allglen) {
		uint64_t allglen;

		/* allglen is what the runtime itself reads without the lock. */
		if (!read_mem(p, p->allgs.allglen + p->bias, &allglen, 8) && allglen <= n)
			n = allglen;
	}
	if (n > MAX_GS || n > hdr[2]) {
		snprintf(err, errlen, "runtime.allgs of %d does not look like a slice (len %llu)",
			 p->pid, (unsigned long long)n);
		return -EINVAL;
	}
	/* The list must be readable before anything is sized by its length:
	 * a torn or corrupt header asks for millions of gs. */
	if ((e = go_read_words(read_cb, p, hdr[0], n, &ptrs))) {
		if (e != -ENOMEM)
			snprintf(err, errlen, "cannot read the goroutine list of %d", p->pid);
		goto out;
	}
	out->g = calloc(n ? n : 1, sizeof(*out->g));
	e = out->g ? batch_alloc(p, &b, max_frames) : -ENOMEM;
	for (size_t at = 0; !e && at < n; at += CHUNK)
		e = read_batch(p, &b, ptrs + at, n - at < CHUNK ? n - at : CHUNK, max_frames, out);
	batch_free(&b);
out:
	free(ptrs);
	if (e)
		go_snapshot__free(out);
	return e;
}

void go_snapshot__done(struct go_snapshot *s, int upto)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)s->g, hi = (uintptr_t)(s->g + (upto < s->n ? upto : s->n));

	if (upto > s->n)
		upto = s->n;
	if (page <= 0 || upto <= s->done)
		return;
	s->done = upto;
	/* Whole pages inside the array only: the allocator's own words
	 * around it stay untouched. */
	lo = (lo + page - 1) & ~(uintptr_t)(page - 1);
	hi &= ~(uintptr_t)(page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void go_snapshot__free(struct go_snapshot *s)
{
	/* Not the entries handed back: they are empty, and touching them
	 * would bring their pages back. */
	for (int i = s->done; i < s->n; i++)
		pw_goroutine__release(&s->g[i]);
	free(s->g);
	memset(s, 0, sizeof(*s));
}
