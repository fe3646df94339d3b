// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include "go/elf.h"
#include "go/goroutines.h"
#include "go/infer.h"
#include "go/remote.h"

#define G_STATUS_IDLE 0
#define G_STATUS_RUNNING 2
#define G_STATUS_WAITING 4
#define G_STATUS_DEAD 6
#define G_STATUS_DEADEXTRA 11 /* 1.26: a dead g kept for a cgo callback's M */
#define MAX_GS (1 << 24)      /* more goroutines than any sane process */
#define STACK_WINDOW 1024     /* bytes of each stack read in one batch: the
				 parked frames on top; deeper ones are read
				 one by one */
#define SYM_CACHE 4096        /* pcs whose symbolization is remembered */
#define SYM_FRAMES 8          /* inlined frames kept per cached pc */

/* pc -> frames, remembered: 100k goroutines parked at the same few places
 * would otherwise decode the same pclntab entries 100k times. Strings point
 * into the mapped binary. */
struct sym_entry {
	uint64_t key;             /* link-time pc looked up, 0 = empty */
	uint64_t entry;           /* the function's entry */
	int n;                    /* frames, 0 = not a Go function */
	struct go_frame frames[SYM_FRAMES];
};

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
	struct sym_entry *syms;   /* SYM_CACHE entries, direct-mapped */
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

/* Load bias: where the executable's first PT_LOAD landed minus its vaddr. */
static int load_bias(pid_t pid, int exe_fd, uint64_t *bias)
{
	uint64_t first_vaddr = UINT64_MAX, start = 0, off;
	char path[64], line[512], exe[4096];
	Elf *elf = elf_begin(exe_fd, ELF_C_READ_MMAP, NULL);
	size_t nph = 0;
	FILE *f;

	if (!elf || elf_getphdrnum(elf, &nph)) {
		if (elf)
			elf_end(elf);
		return -ENOEXEC;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
			first_vaddr = ph.p_vaddr;
			break;
		}
	}
	elf_end(elf);
	if (first_vaddr == UINT64_MAX)
		return -ENOEXEC;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ESRCH;
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, o;
		int pos = 0;

		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %n", &lo, &o, &pos) < 2 || !pos)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (o == 0 && !strncmp(line + pos, exe, strlen(exe))) {
			start = lo;
			break;
		}
	}
	fclose(f);
	off = start ? start - first_vaddr : 0;
	*bias = off;
	return 0;
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
	p->syms = calloc(SYM_CACHE, sizeof(*p->syms));
	p->exe_name = strdup(exe_name);
	if (!p->syms || !p->exe_name) {
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
	p->syms = calloc(SYM_CACHE, sizeof(*p->syms));
	if (!p->syms) {
		free(p);
		return -ENOMEM;
	}
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
	e = load_bias(pid, fd, &p->bias);
	if (e) {
		snprintf(err, errlen, "cannot find where %s is loaded in %d", exe, pid);
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
	free(p->syms);
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

/* A pc in the executable's terms, and its symbolization into frames (the
 * inlined ones first). Return addresses are looked up one byte back, so a
 * call that ends its function is not blamed on the next one. */
static const struct sym_entry *symbolize(const struct go_process *p, uint64_t key)
{
	struct sym_entry *e = &p->syms[(key ^ key >> 12) % SYM_CACHE];
	struct go_func_info fi;

	if (e->key == key)
		return e;
	e->key = key;
	e->n = go_binary__frames(p->bin, key, e->frames, SYM_FRAMES);
	if (e->n < 0)
		e->n = 0;
	e->entry = go_binary__lookup(p->bin, key, &fi) ? key : fi.entry;
	return e;
}

static int push_pc(const struct go_process *p, struct pw_stack *s, uint64_t pc, bool ret_addr,
		   int max_frames)
{
	uint64_t link = pc - p->bias;
	const struct sym_entry *e = symbolize(p, ret_addr ? link - 1 : link);

	if (!e->n) {
		struct pw_frame f = { .pc = pc, .module = strdup(p->exe_name) };

		return pw_stack__push(s, &f);
	}
	for (int i = 0; i < e->n && s->nframes < max_frames; i++) {
		const struct go_frame *gf = &e->frames[i];
		struct pw_frame f = {
			.pc = pc,
			.function = gf->function ? strdup(gf->function) : NULL,
			.offset = gf->inlined ? 0 : link - e->entry,
			.module = strdup(p->exe_name),
			.file = gf->file ? strdup(gf->file) : NULL,
			.line = gf->line,
		};

		if (pw_stack__push(s, &f))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Walk a parked goroutine's frame pointers from its saved registers:
 * [bp] is the caller's bp, [bp+8] the return address. The stack window read
 * in batch serves most loads; the rest go to /proc/PID/mem. Stops at a
 * frame pointer that does not go up the stack (corrupt or reused memory).
 */
static void walk_stack(const struct go_process *p, struct pw_goroutine *g, const uint8_t *win,
		       uint64_t win_lo, size_t win_len, uint64_t bp, uint64_t stack_hi, int max)
{
	push_pc(p, &g->stack, g->sched_pc, false, max);
	while (bp && g->stack.nframes < max) {
		uint64_t pair[2];

		/* Differences, not sums: a wild bp near 2^64 must not wrap
		 * into the window (found by tests/fuzz/fuzz_goroutines). */
		if (bp >= win_lo && win_len >= 16 && bp - win_lo <= win_len - 16)
			memcpy(pair, win + (bp - win_lo), 16);
		else if (read_mem(p, bp, pair, 16))
			break;
		if (!pair[1])
			break;
		push_pc(p, &g->stack, pair[1], true, max);
		if (pair[0] <= bp || (stack_hi && pair[0] >= stack_hi))
			break;
		bp = pair[0];
	}
	if (g->stack.nframes >= max)
		g->stack.truncated = true;
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
	if (p->nwait_names > 0)
		return (int)r < p->nwait_names ? p->wait_names[r] : NULL;
	return go_wait_reason_name(p->version, r);
}

static void describe(const struct go_process *p, struct pw_goroutine *g, const uint8_t *raw)
{
	const struct go_g_layout *l = &p->lay;
	uint64_t gopc = field(raw, l->gopc, 8), startpc = field(raw, l->startpc, 8);
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
	if (gopc && !go_binary__lookup(p->bin, gopc - p->bias - 1, &fi)) {
		g->created_by.pc = gopc;
		g->created_by.function = strdup(fi.function);
		g->created_by.offset = gopc - p->bias - fi.entry;
		g->created_by.file = fi.file ? strdup(fi.file) : NULL;
		g->created_by.line = fi.line;
		g->created_by.module = strdup(p->exe_name);
	}
	if (startpc && !go_binary__lookup(p->bin, startpc - p->bias, &fi))
		g->start_function = fi.function;
	/* The runtime's own goroutines, as its traceback decides: functions
	 * of package runtime, but for runtime.main. */
	g->runtime_owned = g->start_function && !strncmp(g->start_function, "runtime.", 8) &&
			   strcmp(g->start_function, "runtime.main");
}

int go_process__snapshot(struct go_process *p, int max_frames, struct go_snapshot *out,
			 char *err, size_t errlen)
{
	const struct go_g_layout *l = &p->lay;
	uint64_t hdr[3], *ptrs = NULL, *addr = NULL;
	size_t n, *len = NULL, *win_len = NULL, *widx = NULL;
	uint8_t *graw = NULL, **dst = NULL, *wins = NULL;
	bool *ok = NULL, *wok = NULL;
	struct timespec ts;
	char hdr_path[32];
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
	graw = calloc(n ? n : 1, l->g_size);
	addr = calloc(n ? n : 1, sizeof(*addr));
	len = calloc(n ? n : 1, sizeof(*len));
	dst = calloc(n ? n : 1, sizeof(*dst));
	ok = calloc(n ? n : 1, sizeof(*ok));
	wok = calloc(n ? n : 1, sizeof(*wok));
	win_len = calloc(n ? n : 1, sizeof(*win_len));
	widx = calloc(n ? n : 1, sizeof(*widx));
	wins = calloc(n ? n : 1, STACK_WINDOW);
	out->g = calloc(n ? n : 1, sizeof(*out->g));
	if (!ptrs || !graw || !addr || !len || !dst || !ok || !wok || !win_len || !widx || !wins ||
	    !out->g) {
		e = -ENOMEM;
		goto out;
	}
	/* Every g in one batch. */
	for (size_t i = 0; i < n; i++) {
		addr[i] = ptrs[i];
		len[i] = l->g_size;
		dst[i] = graw + i * l->g_size;
	}
	read_many(p, addr, len, dst, ok, n);
	/* Then a window of every parked stack in a second batch: the ranges
	 * go first in the arrays (compacted), widx[] maps them back. */
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *raw = graw + i * l->g_size;
		uint64_t sp = field(raw, l->sched_sp, 8), hi = field(raw, l->stack_hi, 8);
		uint32_t st = field(raw, l->atomicstatus, 4) & ~GO_GSCAN;

		win_len[i] = 0;
		if (!ok[i] || st == G_STATUS_DEAD || st == G_STATUS_IDLE || st == G_STATUS_RUNNING ||
		    st == G_STATUS_DEADEXTRA ||
		    !sp || hi <= sp)
			continue;
		addr[m] = sp;
		len[m] = hi - sp < STACK_WINDOW ? hi - sp : STACK_WINDOW;
		dst[m] = wins + i * STACK_WINDOW;
		widx[m++] = i;
	}
	read_many(p, addr, len, dst, wok, m);
	for (size_t j = 0; j < m; j++)
		if (wok[j])
			win_len[widx[j]] = len[j];
	for (size_t i = 0; i < n; i++) {
		const uint8_t *raw = graw + i * l->g_size;
		struct pw_goroutine *g = &out->g[out->n];
		uint64_t sp, hi;

		if (!ok[i])
			continue;
		g->status = field(raw, l->atomicstatus, 4) & ~GO_GSCAN;
		if (g->status == G_STATUS_DEAD || g->status == G_STATUS_IDLE ||
		    g->status == G_STATUS_DEADEXTRA || g->status > 20)
			continue;
		/* A g being set up has no id yet: skipped before describe()
		 * copies its creation site, or the next g reusing the slot
		 * would overwrite (leak) those strings. */
		if (!field(raw, l->goid, 8))
			continue;
		g->pid = p->pid;
		g->gaddr = ptrs[i];
		describe(p, g, raw);
		sp = field(raw, l->sched_sp, 8);
		hi = field(raw, l->stack_hi, 8);
		if (g->status != G_STATUS_RUNNING && g->sched_pc)
			walk_stack(p, g, wins + i * STACK_WINDOW, sp, win_len[i],
				   field(raw, l->sched_bp, 8), hi, max_frames);
		else if (g->status == G_STATUS_RUNNING)
			running_on(p, g, raw);
		out->n++;
	}
	e = 0;
out:
	free(ptrs);
	free(graw);
	free(addr);
	free(len);
	free(dst);
	free(ok);
	free(wok);
	free(win_len);
	free(widx);
	free(wins);
	if (e)
		go_snapshot__free(out);
	return e;
}

void go_snapshot__free(struct go_snapshot *s)
{
	for (int i = 0; i < s->n; i++)
		pw_goroutine__release(&s->g[i]);
	free(s->g);
	memset(s, 0, sizeof(*s));
}
