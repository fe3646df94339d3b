// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The reachability pass (go/reach.h): heap model (go/heap.c), roots,
 * conservative marking to a fixed point, and the re-read of every leaked
 * goroutine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "go/reach_priv.h"

static int mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return go_process__read(ctx, addr, buf, len);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static bool eq(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* The profile's own classes (runtime/mgc.go isMaybeRunnable; the names of
 * runtime2.go's waitReasonStrings, the same in 1.19 - 1.27 for these). */
static enum kind classify(const struct pw_goroutine *g, uint8_t raw_reason, const char *version)
{
	const char *r = g->wait_reason;

	/* _Gleaked: the runtime's own leak profile ran and found it leaked;
	 * its wait reason is still in the g (the snapshot names it only for
	 * _Gwaiting). Judged again like any blocked goroutine. */
	if (g->status == G_LEAKED && !r)
		r = go_wait_reason_name(version, raw_reason);

	if (g->status != G_WAITING && g->status != G_LEAKED)
		return K_ROOT;
	if (eq(r, "chan receive (nil chan)") || eq(r, "chan send (nil chan)"))
		return K_NIL;
	if (eq(r, "select (no cases)"))
		return K_NOCASES;
	if (eq(r, "chan receive") || eq(r, "chan send") || eq(r, "select"))
		return K_CHAN;
	if (eq(r, "sync.Cond.Wait") || eq(r, "sync.Mutex.Lock") || eq(r, "sync.RWMutex.RLock") ||
	    eq(r, "sync.RWMutex.Lock") || eq(r, "sync.WaitGroup.Wait"))
		return K_SYNC;
	return K_ROOT;
}

int reach__push_hidden(struct pass *ps, uint64_t addr)
{
	if (ps->nhidden == ps->hcap) {
		size_t n = ps->hcap ? ps->hcap * 2 : 256;
		uint64_t *v = realloc(ps->hidden, n * 8);

		if (!v)
			return -ENOMEM;
		ps->hidden = v;
		ps->hcap = n;
	}
	ps->hidden[ps->nhidden++] = addr;
	return 0;
}

/*
 * g's sudog chain (g.waiting, then waitlink): the objects it waits on and
 * the words to hide. False when the chain does not read as this g's (woken
 * and reused since): then the goroutine is treated as one that may run.
 */
static bool walk_sudogs(const struct pass *ps, struct gstate *gs, uint64_t *sudogs, int *nsudogs)
{
	const struct go_heap_layout *l = &ps->hl;
	uint64_t at = gs->waiting;
	uint8_t sg[512];
	int span = 0;
	const int off[] = { l->sudog_g, l->sudog_elem, l->sudog_c, l->sudog_waitlink };

	for (size_t i = 0; i < 4; i++)
		if (off[i] + 8 > span)
			span = off[i] + 8;
	if (span > (int)sizeof(sg))
		return false;
	gs->nwait = 0;
	*nsudogs = 0;
	while (at) {
		if (gs->nwait == MAX_WAITS || go_process__read(ps->p, at, sg, span) ||
		    le64(sg + l->sudog_g) != gs->g)
			return false;
		sudogs[(*nsudogs)++] = at;
		gs->wait[gs->nwait++] = le64(sg + (gs->kind == K_CHAN ? l->sudog_c : l->sudog_elem));
		if (gs->kind == K_SYNC)
			break; /* the profile looks at the first sudog's elem only */
		at = le64(sg + l->sudog_waitlink);
	}
	return gs->nwait > 0;
}

/* Read g's fields now; false when the g cannot be read. */
static bool read_g(const struct pass *ps, uint64_t gaddr, struct gstate *gs)
{
	const struct go_g_layout *gl = go_process__g_layout(ps->p);
	uint8_t *raw = malloc(gl->g_size);
	bool ok = raw && ps->hl.g_waiting + 8 <= gl->g_size &&
		  !go_process__read(ps->p, gaddr, raw, gl->g_size);

	if (ok) {
		gs->g = gaddr;
		gs->goid = le64(raw + gl->goid);
		gs->status = (raw[gl->atomicstatus] | raw[gl->atomicstatus + 1] << 8) & ~0x1000u;
		gs->reason = raw[gl->waitreason];
		gs->lo = le64(raw + gl->stack_lo);
		gs->hi = le64(raw + gl->stack_hi);
		gs->sp = le64(raw + gl->sched_sp);
		gs->pc = le64(raw + gl->sched_pc);
		gs->waiting = le64(raw + ps->hl.g_waiting);
		if (ps->hl.g_syscallpc + 8 <= gl->g_size) {
			gs->syscallsp = le64(raw + ps->hl.g_syscallsp);
			gs->syscallpc = le64(raw + ps->hl.g_syscallpc);
		}
	}
	free(raw);
	return ok;
}

static bool hidden(const struct pass *ps, uint64_t word_addr)
{
	return ps->nhidden && bsearch(&word_addr, ps->hidden, ps->nhidden, 8, cmp_u64);
}

static int push_work(struct pass *ps, uint64_t base, uint64_t size)
{
	if (ps->nwork == ps->wcap) {
		size_t n = ps->wcap ? ps->wcap * 2 : 4096;
		struct span_ref *v = realloc(ps->work, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->work = v;
		ps->wcap = n;
	}
	ps->work[ps->nwork++] = (struct span_ref){ base, size };
	return 0;
}

/* Every aligned word of buf (read from addr): a pointer into a heap object
 * marks it, and queues it for scanning unless noscan. */
int reach__scan_word(struct pass *ps, uint64_t at, uint64_t w)
{
	struct go_heap_obj o;

	if (w < 4096 || !go_heap__find(ps->heap, w, &o) || hidden(ps, at))
		return 0;
	if (go_heap__mark(ps->heap, &o)) {
		ps->st->marked++;
		if (!o.noscan && push_work(ps, o.base, o.size))
			return -ENOMEM;
	}
	return 0;
}

static int scan_words(struct pass *ps, uint64_t addr, const uint8_t *buf, size_t len)
{
	ps->st->scanned_bytes += len;
	for (size_t i = 0; i + 8 <= len; i += 8)
		if (reach__scan_word(ps, addr + i, le64(buf + i)))
			return -ENOMEM;
	return 0;
}

/* A range read in chunks; unreadable chunks are skipped (a stack freed
 * since, a hole in bss never happens). */
int reach__scan_range(struct pass *ps, uint64_t addr, uint64_t len)
{
	addr &= ~7ull;
	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		int rc;

		ps->st->reads++;
		if (go_process__read(ps->p, addr + off, ps->buf, n))
			continue;
		if ((rc = scan_words(ps, addr + off, ps->buf, n)))
			return rc;
	}
	return 0;
}

/* Scan queued objects until none is left, small ones many per read. */
static int drain(struct pass *ps)
{
	uint64_t addr[BATCH_OBJS];
	size_t len[BATCH_OBJS];
	uint8_t *dst[BATCH_OBJS];
	bool ok[BATCH_OBJS];
	uint8_t *big = malloc(BATCH_BYTES);
	int rc = 0;

	if (!big)
		return -ENOMEM;
	while (ps->nwork && !rc) {
		size_t n = 0, used = 0;

		while (ps->nwork && n < BATCH_OBJS) {
			struct span_ref r = ps->work[ps->nwork - 1];

			if (r.size > BIG_OBJECT) {
				if (n)
					break; /* finish the batch first */
				ps->nwork--;
				rc = reach__scan_range(ps, r.base, r.size);
				goto next;
			}
			if (used + r.size > BATCH_BYTES)
				break;
			ps->nwork--;
			addr[n] = r.base;
			len[n] = r.size;
			dst[n] = big + used;
			used += r.size;
			n++;
		}
		ps->st->reads++;
		go_mem__read_many(&ps->mem, addr, len, dst, ok, n);
		for (size_t i = 0; i < n && !rc; i++)
			if (ok[i])
				rc = scan_words(ps, addr[i], dst[i], len[i]);
next:;
	}
	free(big);
	return rc;
}

/*
 * What the runtime keeps alive besides globals and stacks (markrootSpans):
 * the specials of each span. A finalizer keeps everything its object
 * reaches (not the object itself) and its function; a cleanup its function
 * and argument; a weak handle its handle. Conservatively here: the words of
 * every special record (64 bytes: the largest kind) and the contents of
 * every object that has a special.
 */
#define MAX_SPECIALS (1 << 20)
static int scan_specials(struct pass *ps)
{
	const struct go_heap_layout *l = &ps->hl;
	uint32_t n = go_heap__nspans(ps->heap);
	int budget = MAX_SPECIALS, rc = 0;

	for (uint32_t i = 0; i < n && !rc; i++) {
		uint64_t start, bytes, sp = go_heap__span_specials(ps->heap, i, &start, &bytes);
		uint8_t rec[64];

		while (sp && budget-- > 0 && !rc) {
			uint64_t off = 0;
			struct go_heap_obj o;

			if (go_process__read(ps->p, sp, rec, sizeof(rec)))
				break;
			/* an offset is inside its span; an inferred layout
			 * does not know its width: both readings that fit
			 * (in 1.19 the uintptr reading takes in kind, past
			 * a small span) */
			memcpy(&off, rec + 8, l->special_offset_size == 2 ? 2 : 8);
			rc = scan_words(ps, sp + 16, rec + 16, sizeof(rec) - 16);
			if (!rc && off < bytes && go_heap__find(ps->heap, start + off, &o) && !o.noscan)
				rc = push_work(ps, o.base, o.size);
			off = rec[8] | rec[9] << 8;
			if (!rc && !l->special_offset_size && off < bytes &&
			    go_heap__find(ps->heap, start + off, &o) && !o.noscan)
				rc = push_work(ps, o.base, o.size);
			ps->st->specials++;
			sp = le64(rec);
		}
	}
	return rc;
}

/*
 * A global range, without runtime.mheap_: the heap's own metadata is
 * not-in-heap by design (its pointers lead to manually managed memory),
 * but it holds arena bounds as integers (curArena.base, hints) that point
 * at the first object of an arena, which a conservative scan would keep.
 */
static int scan_globals(struct pass *ps, uint64_t addr, uint64_t size)
{
	uint64_t bias = go_process__bias(ps->p), m = ps->hl.mheap, me = m + ps->hl.mheap_size;
	int rc = 0;

	if (ps->hl.mheap_size <= 0 || me <= addr || m >= addr + size)
		return reach__scan_range(ps, addr + bias, size);
	if (m > addr)
		rc = reach__scan_range(ps, addr + bias, m - addr);
	if (!rc && me < addr + size)
		rc = reach__scan_range(ps, me + bias, addr + size - me);
	return rc;
}

/* The profile's test: a wait object marked, or not in the heap at all (a
 * global, a stack) means the goroutine may run. */
static bool may_run(struct pass *ps, const struct gstate *gs)
{
	for (int i = 0; i < gs->nwait; i++) {
		struct go_heap_obj o;

		if (!go_heap__find(ps->heap, gs->wait[i], &o) || go_heap__marked(ps->heap, &o))
			return true;
	}
	return false;
}

/* Still blocked on the same objects, read again after the pass. */
static bool still_same(struct pass *ps, const struct gstate *before)
{
	struct gstate now = { .kind = before->kind };
	uint64_t sudogs[MAX_WAITS];
	int ns;

	if (!read_g(ps, before->g, &now) || now.goid != before->goid ||
	    now.status != before->status || now.reason != before->reason ||
	    now.waiting != before->waiting)
		return false;
	if (before->kind == K_NIL || before->kind == K_NOCASES)
		return true;
	return walk_sudogs(ps, &now, sudogs, &ns) && now.nwait == before->nwait &&
	       !memcmp(now.wait, before->wait, before->nwait * 8);
}

static void evidence(const struct pw_goroutine *g, const struct gstate *gs, char *out, size_t len)
{
	const char *r = g->wait_reason;

	switch (gs->kind) {
	case K_NIL:
		snprintf(out, len, "%s on a nil channel: nothing can wake it",
			 eq(r, "chan send (nil chan)") ? "send" : "receive");
		break;
	case K_NOCASES:
		snprintf(out, len, "select with no cases: nothing can wake it");
		break;
	case K_CHAN:
		if (gs->nwait > 1)
			snprintf(out, len, "select on %d channels, none reachable from a runnable "
				 "goroutine or a global", gs->nwait);
		else
			snprintf(out, len, "chan 0x%llx unreachable from any runnable goroutine or "
				 "global", (unsigned long long)gs->wait[0]);
		break;
	default: {
		const char *dot = r ? strrchr(r, '.') : NULL;

		snprintf(out, len, "%.*s %s 0x%llx unreachable from any runnable goroutine or "
			 "global", dot ? (int)(dot - r) : 4, dot ? r : "sync",
			 eq(r, "sync.Cond.Wait") ? "notify list" : "semaphore",
			 (unsigned long long)gs->wait[0]);
	}
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int go_reach__prove(const struct go_process *p, const struct go_snapshot *s,
		    struct go_reach_result *res, struct go_reach_stats *st, char *err,
		    size_t errlen)
{
	const struct go_binary *b = go_process__binary(p);
	struct pass ps = { .p = p, .st = st };
	struct gstate *gs = calloc(s->n ? s->n : 1, sizeof(*gs));
	uint64_t t0 = now_ns(), raddr[4], rsize[4], sudogs[MAX_WAITS];
	struct go_heap_stats hs;
	int rc = -ENOMEM, nr, ns;
	bool changed;

	memset(st, 0, sizeof(*st));
	memset(res, 0, s->n * sizeof(*res));
	ps.mem = (struct go_mem){ .read = mem_read, .ctx = (void *)p, .pid = go_process__pid(p) };
	if (!gs || !(ps.buf = malloc(CHUNK)))
		goto out;
	if ((rc = reach__layout(&ps, err, errlen)))
		goto out;
	ps.precise = go_binary__pclntab_version(b) >= 118;
	rc = -ENOMEM;
	/* The goroutines first, then the heap: a goroutine that is a leak
	 * candidate now and the same when read again after the pass. */
	for (int i = 0; i < s->n; i++) {
		struct gstate *g = &gs[i];

		if (!read_g(&ps, s->g[i].gaddr, g) || g->goid != s->g[i].goid) {
			g->kind = K_SKIP; /* gone or reused since the snapshot */
			continue;
		}
		g->kind = classify(&s->g[i], g->reason, s->version);
		if ((g->status & ~0x1000u) != s->g[i].status)
			g->kind = K_ROOT;
		if (g->kind != K_CHAN && g->kind != K_SYNC)
			continue;
		if (!walk_sudogs(&ps, g, sudogs, &ns)) {
			g->kind = K_ROOT;
			continue;
		}
		for (int k = 0; k < ns; k++) {
			int off = g->kind == K_CHAN ? ps.hl.sudog_c : ps.hl.sudog_elem;
			int size = g->kind == K_CHAN ? ps.hl.sudog_c_size : ps.hl.sudog_elem_size;

			for (int w = 0; w < size; w += 8)
				if (reach__push_hidden(&ps, sudogs[k] + off + w))
					goto out;
		}
	}
	for (int i = 0; i < s->n; i++)
		if (reach__hide_g_words(&ps, s->g[i].gaddr))
			goto out;
	if (reach__hide_system_gs(&ps))
		goto out;
	if (ps.nhidden)
		qsort(ps.hidden, ps.nhidden, 8, cmp_u64);
	if ((rc = reach__read_heap(&ps, gs, s->n, err, errlen)))
		goto out;
	if (ps.hl.source != st->heap_layout)
		snprintf(st->heap_layout, sizeof(st->heap_layout), "%s", ps.hl.source);
	rc = -ENOMEM;
	nr = go_binary__root_ranges(b, raddr, rsize, 4);
	for (int i = 0; i < nr; i++)
		if (scan_globals(&ps, raddr[i], rsize[i]))
			goto out;
	if (scan_specials(&ps))
		goto out;
	for (int i = 0; i < s->n; i++)
		if (gs[i].kind == K_ROOT && reach__scan_stack(&ps, &gs[i]))
			goto out;
	/* The fixed point: each round roots the goroutines whose wait object
	 * the previous one marked. */
	do {
		if (drain(&ps))
			goto out;
		st->rounds++;
		changed = false;
		for (int i = 0; i < s->n; i++) {
			struct gstate *g = &gs[i];

			if (g->kind != K_CHAN && g->kind != K_SYNC)
				continue;
			if (g->resolved || !may_run(&ps, g))
				continue;
			g->resolved = true;
			changed = true;
			/* drained at once: a chain in goroutine order resolves
			 * in one round rather than one round per link */
			if (reach__scan_stack(&ps, g) || drain(&ps))
				goto out;
		}
	} while (changed);
	for (int i = 0; i < s->n; i++) {
		struct gstate *g = &gs[i];

		if (g->kind != K_CHAN && g->kind != K_SYNC && g->kind != K_NIL &&
		    g->kind != K_NOCASES)
			continue;
		st->candidates++;
		res[i].verdict = GO_REACH_PARKED;
		if (g->resolved)
			continue;
		if (!still_same(&ps, g)) {
			st->unstable++;
			continue;
		}
		res[i].verdict = GO_REACH_LEAKED;
		evidence(&s->g[i], g, res[i].evidence, sizeof(res[i].evidence));
		st->leaked++;
	}
	rc = 0;
out:
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory in the reachability pass");
	if (ps.heap) {
		go_heap__stats(ps.heap, &hs);
		st->arenas = hs.arenas;
		st->spans = hs.spans;
		st->span_bytes = hs.span_bytes;
		st->late_spans = hs.late_spans;
	}
	st->elapsed_ns = now_ns() - t0;
	go_heap__free(ps.heap);
	free(ps.hidden);
	free(ps.work);
	free(ps.buf);
	free(gs);
	return rc;
}
