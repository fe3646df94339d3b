// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Layout inference for a Go release with no table and no DWARF.
 *
 * Every new Go release may move runtime.g fields; refusing such a binary on
 * its first day helps nobody, guessing silently would report made-up
 * goroutines. So: candidate layouts, each checked against every goroutine
 * the process has, and one is used only when it passes every check.
 *
 * Candidates, most likely first:
 *   - each built-in table layout, the nearest release first;
 *   - the same with the offsets the binary's own code gives (amd64):
 *     g.atomicstatus from the `lock cmpxchg [reg+off]` of runtime.casgstatus,
 *     g.waitreason from the `mov byte [reg+off], cl` of runtime.gopark (its
 *     third argument, the reason, arrives in cl); goid and waitsince move
 *     with atomicstatus as they always have, and so do the fields after
 *     waitreason;
 *   - each of those with the fields after waitreason (gopc, startpc,
 *     parent_goid) 8 or 16 bytes further or nearer: the usual change
 *     between releases is a field added or removed in that stretch.
 *
 * Checks, on every g of runtime.allgs (one failure rejects the candidate):
 *   - atomicstatus is a goroutine status (without the unused 5 and 7);
 *   - live gs: stack bounds lo < hi with hi - lo a power of two between
 *     2 KiB and 1 GiB (Go stacks are); goid non-zero and unique; gopc a pc
 *     in a function the pclntab knows; startpc a function's entry;
 *     waitsince not negative nor in the future; parent_goid not the g's own;
 *   - parked gs (runnable, waiting, preempted): saved sp within the stack
 *     bounds, saved pc in a known function, saved bp within the stack (0
 *     only for gs that never ran, not for waiting ones: gopark saves it),
 *     and the frame it points to holds a return address in a known
 *     function; waiting gs: a wait reason in the binary's own list;
 *   - running and syscall gs: g.m's curg points back to the g (read again
 *     when it does not: the g may just have stopped running), and the M's
 *     procid is a thread of the process;
 *   - at least two live goroutines and one parked one were checked.
 * When several candidates pass and disagree on a field the report uses,
 * nothing is used: the checks could not tell them apart.
 *
 * Channel layouts (for wait objects, go/wait.c) are chosen the same way from
 * the tables, checked on goroutines blocked in chan send/receive: g.waiting
 * is a sudog whose g is the goroutine, whose channel looks like one and has
 * that sudog in the right wait queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "go/elf_priv.h"
#include "go/infer.h"
#include "go/infer_priv.h"
#include "go/remote.h"

struct cand {
	struct go_g_layout l;
	char desc[96];
};

/* --- offsets from code (x86-64) ------------------------------------- */

/* The displacement of a [reg+disp] ModRM operand at p (no SIB, no rip):
 * its value, and the instruction length after the ModRM in *len. */
static int modrm_disp(const uint8_t *p, const uint8_t *end, int *len)
{
	unsigned mod = p[0] >> 6, rm = p[0] & 7;

	if (rm == 4 || (mod != 1 && mod != 2))
		return -1;
	if (mod == 1) {
		*len = 2;
		return p + 2 <= end ? (int)(int8_t)p[1] : -1;
	}
	*len = 5;
	return p + 5 <= end ? (int)(int32_t)((uint32_t)p[1] | (uint32_t)p[2] << 8 |
					     (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24)
			    : -1;
}

/* First displacement in fn's code of: [lock] [REX] op... ModRM, where the
 * ModRM's reg field is reg (or any when reg < 0). */
static int disp_in(const struct go_binary *b, const char *fn, bool lock, const uint8_t *op,
		   int oplen, int reg)
{
	uint64_t end, entry = go_binary__func_entry(b, fn, &end);
	const uint8_t *code, *stop;
	int len;

	if (!entry || end <= entry || end - entry > 8192 ||
	    !(code = go_binary__bytes(b, entry, end - entry)))
		return -1;
	stop = code + (end - entry);
	for (const uint8_t *p = code; p + oplen + 2 < stop; p++) {
		const uint8_t *q = p;
		int d;

		if (lock && *q++ != 0xf0)
			continue;
		if ((*q & 0xf0) == 0x40) {
			if (*q & 0x0c) /* REX.W or REX.R: not a 32-bit / cl operand */
				continue;
			q++;
		}
		if (memcmp(q, op, oplen))
			continue;
		q += oplen;
		if (reg >= 0 && ((q[0] >> 3) & 7) != reg)
			continue;
		if ((d = modrm_disp(q, stop, &len)) > 0 && d < G_READ - 8)
			return d;
	}
	return -1;
}

/* --- candidates ------------------------------------------------------ */

static bool same_offsets(const struct go_g_layout *a, const struct go_g_layout *b)
{
	struct go_g_layout x = *a, y = *b;

	x.source = y.source = NULL;
	return !memcmp(&x, &y, sizeof(x));
}

static int add(struct cand *c, int n, const struct go_g_layout *l, const char *desc, int shift)
{
	if (n >= MAX_CANDS || l->g_size > G_READ || l->gopc + 8 > G_READ ||
	    l->startpc + 8 > G_READ || l->goid < 0 || l->waitreason < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (same_offsets(&c[i].l, l))
			return n;
	c[n].l = *l;
	if (shift)
		snprintf(c[n].desc, sizeof(c[n].desc), "%.60s, %+d after waitreason", desc, shift);
	else
		snprintf(c[n].desc, sizeof(c[n].desc), "%.60s", desc);
	return n + 1;
}

void go_infer__code_offsets(const struct go_binary *b, int *atomicstatus, int *waitreason)
{
	*atomicstatus = -1;
	*waitreason = -1;
	if (b->machine != EM_X86_64)
		return;
	*atomicstatus = disp_in(b, "runtime.casgstatus", true, (const uint8_t *)"\x0f\xb1", 2, -1);
	*waitreason = disp_in(b, "runtime.gopark", false, (const uint8_t *)"\x88", 1, 1);
}

static int candidates(const struct go_infer_in *in, struct cand *c)
{
	static const int shifts[] = { 0, 8, -8, 16, -16 };
	int st, wr, minor = go_version_minor(in->version), n = 0, nt = 0, last[64];
	struct go_g_layout t[64];

	go_infer__code_offsets(in->bin, &st, &wr);
	for (size_t i = 0; nt < 64; i++) {
		int r = go_g_layout_table(i, &t[nt], &last[nt]);

		if (r == -ENOENT)
			break;
		if (!r)
			nt++;
	}
	/* nearest release first (unknown version: newest first) */
	for (int i = 1; i < nt; i++)
		for (int j = i; j > 0; j--) {
			int dj = minor >= 0 ? abs(minor - last[j]) : -last[j];
			int dk = minor >= 0 ? abs(minor - last[j - 1]) : -last[j - 1];
			struct go_g_layout tl = t[j];
			int tm = last[j];

			if (dj >= dk)
				break;
			t[j] = t[j - 1], last[j] = last[j - 1];
			t[j - 1] = tl, last[j - 1] = tm;
		}
	for (int i = 0; i < nt; i++) {
		struct go_g_layout v[2] = { t[i], t[i] };
		char desc[2][64];
		int nv = 1;

		snprintf(desc[0], sizeof(desc[0]), "%s", t[i].source);
		if (st > 0) {
			int d = st - t[i].atomicstatus;

			v[0].goid += d, v[0].atomicstatus = st, v[0].waitsince += d;
			v[0].waitreason = wr > 0 ? wr : v[0].waitreason + d;
			v[0].gopc += d, v[0].startpc += d, v[0].g_size += d;
			if (v[0].parent_goid >= 0)
				v[0].parent_goid += d;
			snprintf(desc[0], sizeof(desc[0]), "%s with offsets from code", t[i].source);
			snprintf(desc[1], sizeof(desc[1]), "%s", t[i].source);
			nv = 2;
		}
		for (int k = 0; k < nv; k++)
			for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
				struct go_g_layout l = v[k];

				l.gopc += shifts[s], l.startpc += shifts[s], l.g_size += shifts[s];
				if (l.parent_goid >= 0)
					l.parent_goid += shifts[s];
				n = add(c, n, &l, desc[k], shifts[s]);
			}
	}
	return n;
}

/* --- checks ---------------------------------------------------------- */

static bool go_pc(const struct infer_ctx *x, uint64_t pc, uint64_t *entry)
{
	struct go_func_info fi;

	if (!pc || pc < x->in->bias || go_binary__lookup(x->in->bin, pc - x->in->bias, &fi))
		return false;
	if (entry)
		*entry = fi.entry + x->in->bias;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A running or syscall g: its M's curg is the g, its procid a thread. */
static bool check_m(struct infer_ctx *x, const struct go_g_layout *l, const struct gview *g)
{
	uint64_t m = f64(g->raw, l->m), curg = 0, procid = 0;
	uint32_t st;
	char path[64];

	if (!m || rd(x, m + l->m_curg, &curg, 8) || curg != g->addr) {
		/* stopped running since it was read? */
		if (!rd(x, g->addr + l->atomicstatus, &st, 4) &&
		    ((st & ~GSCAN) != ST_RUNNING && (st & ~GSCAN) != ST_SYSCALL))
			return true;
		FAIL("running g %#lx: its M's curg is %#lx", (unsigned long)g->addr,
		     (unsigned long)curg);
	}
	if (rd(x, m + l->m_procid, &procid, 8) || !procid || procid > (1u << 30))
		FAIL("running g %#lx: M procid %lu", (unsigned long)g->addr, (unsigned long)procid);
	snprintf(path, sizeof(path), "/proc/%d/task/%lu", x->in->pid, (unsigned long)procid);
	if (access(path, F_OK))
		FAIL("running g %#lx: M procid %lu is no thread of %d", (unsigned long)g->addr,
		     (unsigned long)procid, x->in->pid);
	return true;
}

/* A parked g: saved registers within its stack, pcs in Go functions. */
static bool check_parked(struct infer_ctx *x, const struct go_g_layout *l, const struct gview *g,
			 uint64_t lo, uint64_t hi)
{
	uint64_t sp = f64(g->raw, l->sched_sp), pc = f64(g->raw, l->sched_pc);
	uint64_t bp = f64(g->raw, l->sched_bp), *frame = x->frames[g - x->gs];

	if (sp < lo || sp >= hi)
		FAIL("parked g %#lx: saved sp %#lx outside its stack", (unsigned long)g->addr,
		     (unsigned long)sp);
	if (!go_pc(x, pc, NULL))
		FAIL("parked g %#lx: saved pc %#lx in no Go function", (unsigned long)g->addr,
		     (unsigned long)pc);
	/* gopark saves bp (frame pointers are always on): only gs that never
	 * ran have none */
	if (!bp && (f32(g->raw, l->atomicstatus) & ~GSCAN) == ST_WAITING)
		FAIL("waiting g %#lx: no saved bp", (unsigned long)g->addr);
	if (bp && (bp < sp || bp + 16 > hi))
		FAIL("parked g %#lx: saved bp %#lx outside its stack", (unsigned long)g->addr,
		     (unsigned long)bp);
	if (x->deep && bp && x->fok[g - x->gs] &&
	    (!go_pc(x, frame[1] - 1, NULL) || (frame[0] && (frame[0] <= bp || frame[0] > hi))))
		FAIL("parked g %#lx: the frame at saved bp holds no Go return address",
		     (unsigned long)g->addr);
	x->parked++;
	return true;
}

static bool check_g(struct infer_ctx *x, const struct go_g_layout *l, const struct gview *g)
{
	uint32_t st = f32(g->raw, l->atomicstatus), base = st & ~GSCAN;
	uint64_t lo, hi, size, goid, entry, v;
	int64_t since;

	if ((st & ~(GSCAN | 0xfu)) || base > ST_DEADEXTRA || base == 5 || base == 7)
		FAIL("g %#lx: status %#x is no goroutine status", (unsigned long)g->addr, st);
	if (base == ST_DEAD || base == ST_IDLE || base == ST_DEADEXTRA)
		return true;
	lo = f64(g->raw, l->stack_lo);
	hi = f64(g->raw, l->stack_hi);
	size = hi - lo;
	if (hi <= lo || (size & (size - 1)) || size < 2048 || size > (1u << 30))
		FAIL("g %#lx: stack [%#lx, %#lx) is no Go stack", (unsigned long)g->addr,
		     (unsigned long)lo, (unsigned long)hi);
	goid = f64(g->raw, l->goid);
	if (!goid || goid > (1ull << 40))
		FAIL("g %#lx: goid %lu", (unsigned long)g->addr, (unsigned long)goid);
	x->goids[x->live++] = goid;
	if (!go_pc(x, f64(g->raw, l->gopc) - 1, NULL))
		FAIL("g %#lx: gopc %#lx in no Go function", (unsigned long)g->addr,
		     (unsigned long)f64(g->raw, l->gopc));
	v = f64(g->raw, l->startpc);
	if (!go_pc(x, v, &entry) || entry != v)
		FAIL("g %#lx: startpc %#lx is no function's entry", (unsigned long)g->addr,
		     (unsigned long)v);
	since = (int64_t)f64(g->raw, l->waitsince);
	if (since < 0 || (uint64_t)since > x->now_ns + 10000000000ull)
		FAIL("g %#lx: waitsince %ld", (unsigned long)g->addr, (long)since);
	if (l->parent_goid >= 0 && ((v = f64(g->raw, l->parent_goid)) == goid || v > (1ull << 40)))
		FAIL("g %#lx: parent goid %lu", (unsigned long)g->addr, (unsigned long)v);
	if (base == ST_WAITING || base == ST_LEAKED) {
		unsigned r = g->raw[l->waitreason];

		if (!r || (x->nnames > 0 && (int)r >= x->nnames))
			FAIL("waiting g %#lx: wait reason %u", (unsigned long)g->addr, r);
	}
	if (base == ST_RUNNABLE || base == ST_WAITING || base == ST_PREEMPTED || base == ST_LEAKED)
		return check_parked(x, l, g, lo, hi);
	if ((base == ST_RUNNING || base == ST_SYSCALL) && x->deep)
		return check_m(x, l, g);
	return true;
}

/* The 16 bytes at each g's saved bp, in one batch (deep checks). */
static void read_frames(struct infer_ctx *x, const struct go_g_layout *l)
{
	uint64_t *addr = calloc(x->n ? x->n : 1, sizeof(*addr));
	size_t *len = calloc(x->n ? x->n : 1, sizeof(*len));
	uint8_t **dst = calloc(x->n ? x->n : 1, sizeof(*dst));
	size_t m = 0, *idx = calloc(x->n ? x->n : 1, sizeof(*idx));
	bool *ok = calloc(x->n ? x->n : 1, sizeof(*ok));

	memset(x->fok, 0, x->n * sizeof(*x->fok));
	if (addr && len && dst && idx && ok) {
		for (size_t i = 0; i < x->n; i++) {
			uint64_t bp = x->gs[i].ok ? f64(x->gs[i].raw, l->sched_bp) : 0;

			if (!bp)
				continue;
			addr[m] = bp, len[m] = 16, dst[m] = (uint8_t *)x->frames[i], idx[m++] = i;
		}
		go_read_many(x->in->pid, addr, len, dst, ok, m);
		for (size_t j = 0; j < m; j++)
			x->fok[idx[j]] = ok[j];
	}
	free(addr), free(len), free(dst), free(idx), free(ok);
}

static bool check(struct infer_ctx *x, const struct go_g_layout *l)
{
	x->live = x->parked = 0;
	x->why[0] = 0;
	if (x->deep)
		read_frames(x, l);
	for (size_t i = 0; i < x->n; i++)
		if (x->gs[i].ok && !check_g(x, l, &x->gs[i]))
			return false;
	if (x->live < 2 || x->parked < 1)
		FAIL("too few goroutines to check (%d live, %d parked)", x->live, x->parked);
	qsort(x->goids, x->live, sizeof(*x->goids), cmp_u64);
	for (int i = 1; i < x->live; i++)
		if (x->goids[i] == x->goids[i - 1])
			FAIL("goid %lu twice", (unsigned long)x->goids[i]);
	return true;
}

/* The fields the report uses agree. */
static bool same_use(const struct go_g_layout *a, const struct go_g_layout *b)
{
	return a->goid == b->goid && a->atomicstatus == b->atomicstatus &&
	       a->waitreason == b->waitreason && a->sched_sp == b->sched_sp &&
	       a->sched_pc == b->sched_pc && a->sched_bp == b->sched_bp && a->gopc == b->gopc &&
	       a->startpc == b->startpc && a->stack_lo == b->stack_lo &&
	       a->stack_hi == b->stack_hi;
}

static int rd_cb(void *x, uint64_t addr, void *buf, size_t len)
{
	return rd(x, addr, buf, len);
}

static int read_gs(struct infer_ctx *x)
{
	const struct go_infer_in *in = x->in;
	uint64_t hdr[3], len, *ptrs;

	if (rd(x, in->allgs + in->bias, hdr, sizeof(hdr)))
		return -ESRCH;
	len = hdr[1];
	if (in->allglen && !rd(x, in->allglen + in->bias, &x->n, 8) && x->n <= len)
		len = x->n;
	if (len > MAX_GS || len > hdr[2])
		return -EINVAL;
	x->n = len;
	/* The list first: nothing is sized by a length not yet read. */
	switch (go_read_words(rd_cb, x, hdr[0], len, &ptrs)) {
	case 0:
		break;
	case -ENOMEM:
		return -ENOMEM;
	default:
		return -ESRCH;
	}
	x->gs = calloc(len ? len : 1, sizeof(*x->gs));
	x->goids = calloc(len ? len : 1, sizeof(*x->goids));
	x->frames = calloc(len ? len : 1, sizeof(*x->frames));
	x->fok = calloc(len ? len : 1, sizeof(*x->fok));
	if (!x->gs || !x->goids || !x->frames || !x->fok) {
		free(ptrs);
		return -ENOMEM;
	}
	{
		uint64_t *addr = calloc(len ? len : 1, sizeof(*addr));
		size_t *lens = calloc(len ? len : 1, sizeof(*lens));
		uint8_t **dst = calloc(len ? len : 1, sizeof(*dst));
		bool *ok = calloc(len ? len : 1, sizeof(*ok));

		if (!addr || !lens || !dst || !ok) {
			free(addr), free(lens), free(dst), free(ok), free(ptrs);
			return -ENOMEM;
		}
		for (size_t i = 0; i < len; i++) {
			x->gs[i].addr = addr[i] = ptrs[i];
			lens[i] = G_READ;
			dst[i] = x->gs[i].raw;
		}
		go_read_many(in->pid, addr, lens, dst, ok, len);
		for (size_t i = 0; i < len; i++)
			x->gs[i].ok = ptrs[i] && ok[i];
		free(addr), free(lens), free(dst), free(ok);
	}
	free(ptrs);
	return 0;
}

/* The first candidate that passes every check into *chosen: 0; -ENOENT
 * when none does (why the first one failed in why); -EEXIST when two pass
 * and disagree on a field the report uses (both named in why). */
static int choose(struct infer_ctx *x, const struct cand *c, int n, int *chosen, char *why,
		  size_t whylen)
{
	*chosen = -1;
	for (int i = 0; i < n; i++) {
		bool ok;

		x->deep = false;
		if ((ok = check(x, &c[i].l))) {
			x->deep = true;
			ok = check(x, &c[i].l);
		}
		if (getenv("PARKWATCH_TEST_INFER_LOG"))
			fprintf(stderr, "parkwatch: infer: %s: %s\n", c[i].desc,
				ok ? "passes every check" : x->why);
		if (!ok) {
			if (!why[0])
				snprintf(why, whylen, "%.95s: %.150s", c[i].desc, x->why);
			continue;
		}
		if (*chosen < 0) {
			*chosen = i;
		} else if (!same_use(&c[*chosen].l, &c[i].l)) {
			snprintf(why, whylen, "%.80s and %.80s both pass every check but differ",
				 c[*chosen].desc, c[i].desc);
			*chosen = -1;
			return -EEXIST;
		}
	}
	return *chosen >= 0 ? 0 : -ENOENT;
}

int go_infer__layouts(const struct go_infer_in *in, struct go_g_layout *out, char *label,
		      size_t labellen, struct go_chan_layout *chan_out, char *chan_err,
		      size_t chan_errlen, char *err, size_t errlen)
{
	struct infer_ctx x = { .in = in };
	struct cand *c = calloc(MAX_CANDS, sizeof(*c));
	struct timespec ts;
	const char *version = in->version ? in->version : "unknown Go version";
	int n, chosen = -1, ret = -ENOTSUP;
	char first_why[256] = "";

	memset(chan_out, 0xff, sizeof(*chan_out));
	chan_out->source = NULL;
	snprintf(chan_err, chan_errlen, "layout inferred, channel layout not checked");
	if (!c)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x.now_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	x.nnames = go_binary__wait_reasons(in->bin, &x.names, NULL);
	n = candidates(in, c);
	if (!n) {
		snprintf(err, errlen, "%s: no built-in layout to start an inference from", version);
		goto out;
	}
	/* A goroutine that changes between two reads can fail a check on its
	 * own: when nothing passes, read them all again (three looks). */
	for (int look = 0; look < 3 && chosen < 0; look++) {
		free(x.gs), free(x.goids), free(x.frames), free(x.fok);
		x.gs = NULL, x.goids = NULL, x.frames = NULL, x.fok = NULL;
		if ((ret = read_gs(&x))) {
			snprintf(err, errlen, "cannot read the goroutines of %d to infer a layout",
				 in->pid);
			goto out;
		}
		first_why[0] = 0;
		ret = choose(&x, c, n, &chosen, first_why, sizeof(first_why));
		if (ret == -EEXIST) {
			snprintf(err, errlen, "%s: layout not inferred: %s", version, first_why);
			ret = -ENOTSUP;
			goto out;
		}
	}
	ret = -ENOTSUP;
	if (chosen < 0) {
		snprintf(err, errlen, "%s: no built-in runtime.g layout, and none of %d candidate "
			 "layouts passes every check on the process (nearest: %s)", version, n,
			 first_why);
		goto out;
	}
	x.deep = true;
	check(&x, &c[chosen].l); /* counts for the label */
	snprintf(label, labellen, "inferred (%s; checked on %d goroutines)", c[chosen].desc,
		 x.live);
	*out = c[chosen].l;
	out->source = label;
	if (getenv("PARKWATCH_TEST_INFER_LOG"))
		fprintf(stderr, "parkwatch: infer: chosen: goid %d atomicstatus %d waitreason %d "
			"waitsince %d sched_sp %d sched_pc %d sched_bp %d gopc %d startpc %d "
			"parent_goid %d stack_lo %d stack_hi %d m %d m_curg %d m_procid %d\n",
			out->goid, out->atomicstatus, out->waitreason, out->waitsince, out->sched_sp,
			out->sched_pc, out->sched_bp, out->gopc, out->startpc, out->parent_goid,
			out->stack_lo, out->stack_hi, out->m, out->m_curg, out->m_procid);
	go_infer__chan(&x, out, chan_out, chan_err, chan_errlen);
	ret = 0;
out:
	free(x.gs);
	free(x.goids);
	free(x.frames);
	free(x.fok);
	free(c);
	return ret;
}
