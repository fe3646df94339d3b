// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The heap layout of the reachability pass (go/reach_priv.h). From DWARF or
 * a version table it is trusted; recovered (go/heap_infer.c) it must prove
 * itself on the live process first: a wrong layout can make a reachable
 * object look unreachable, a false "leaked", the worst outcome. So every
 * check must pass, and exactly one candidate may pass them:
 * - mheap_.heapArenas reads as a slice (0 < len <= cap, bounded, sorted
 *   distinct indexes) and every arena it lists has a heapArena;
 * - every span the page tables point to reads as an mspan (state known;
 *   in use: page-aligned start inside the arenas, npages >= 1, the object
 *   size of its size class, covering the pages that point to it, specials
 *   off the heap), and there is at least one;
 * - every goroutine of allgs lies in an in-use span, and so does every
 *   channel a blocked goroutine waits on (sudog.c), as both always are;
 *   the sync object of a semaphore wait (sudog.elem) is in one or a global.
 * Otherwise the pass refuses, with the reason, and no verdict is leaked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/goroutines.h"
#include "go/reach_priv.h"

#define MAX_SLOTS 24 /* slots after mheap_.arenas where heapArenas may be */

/* PARKWATCH_TEST_HEAP_PERTURB=span_elemsize|arena_spans|mheap_arenas:
 * that offset of every inferred candidate moved by one word, for the test
 * that an implausible layout is refused. (The sudog fields come from the
 * channel layout, checked on the live process by go/infer_chan.c.) */
static void perturb(struct go_heap_layout *l)
{
	const char *env = getenv("PARKWATCH_TEST_HEAP_PERTURB");

	if (!env)
		return;
	if (!strcmp(env, "span_elemsize"))
		l->span_elemsize += 8;
	else if (!strcmp(env, "arena_spans"))
		l->arena_spans += 8;
	else if (!strcmp(env, "mheap_arenas"))
		l->mheap_arenas += 8;
}

int reach__layout(struct pass *ps, char *err, size_t errlen)
{
	const struct go_binary *b = go_process__binary(ps->p);
	const struct go_chan_layout *cl;
	char why[256] = "";
	int rc = go_binary__heap_layout(b, &ps->hl, err, errlen);

	if (rc != -ENOTSUP)
		return rc;
	snprintf(why, sizeof(why), "%s", err);
	cl = go_process__chan_layout(ps->p, NULL);
	ps->ncand = go_binary__heap_layout_candidates(b, go_process__g_layout(ps->p), cl, ps->cand,
						      sizeof(ps->cand) / sizeof(ps->cand[0]), err,
						      errlen);
	if (!ps->ncand) {
		char inner[256];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "%s; not inferred: %s", why, inner);
		return -ENOTSUP;
	}
	for (int i = 0; i < ps->ncand; i++)
		perturb(&ps->cand[i]);
	ps->hl = ps->cand[0];
	return 0;
}

static bool in_heap(struct go_heap *h, uint64_t addr)
{
	struct go_heap_obj o;

	return addr && go_heap__find(h, addr, &o);
}

/* Read as h: does every g, every channel waited on, every sync object
 * waited on (heap or global) lie where it must? */
static bool holds_all(const struct pass *ps, struct go_heap *h, const struct gstate *gs, int n,
		      char *why, size_t len)
{
	const struct go_binary *b = go_process__binary(ps->p);
	uint64_t bias = go_process__bias(ps->p);

	for (int i = 0; i < n; i++) {
		if (gs[i].kind == K_SYNC && gs[i].nwait && !in_heap(h, gs[i].wait[0]) &&
		    !go_binary__in_globals(b, gs[i].wait[0] - bias)) {
			snprintf(why, len, "the sync object 0x%llx goroutine %llu waits on is neither "
				 "in the heap nor a global", (unsigned long long)gs[i].wait[0],
				 (unsigned long long)gs[i].goid);
			return false;
		}
		if (gs[i].kind == K_SKIP)
			continue;
		if (!in_heap(h, gs[i].g)) {
			snprintf(why, len, "goroutine %llu's g 0x%llx is in no span in use",
				 (unsigned long long)gs[i].goid, (unsigned long long)gs[i].g);
			return false;
		}
		for (int k = 0; gs[i].kind == K_CHAN && k < gs[i].nwait; k++)
			if (!in_heap(h, gs[i].wait[k])) {
				snprintf(why, len, "the channel 0x%llx goroutine %llu waits on is in "
					 "no span in use", (unsigned long long)gs[i].wait[k],
					 (unsigned long long)gs[i].goid);
				return false;
			}
	}
	return true;
}

int reach__read_heap(struct pass *ps, const struct gstate *gs, int n, char *err, size_t errlen)
{
	uint64_t bias = go_process__bias(ps->p);
	struct go_heap_layout chosen;
	/* the reason given is the one of the candidate that went furthest:
	 * 0 no heapArenas slice, 1 refused reading the heap, 2 goroutines */
	char why[256] = "no candidate's mheap_.heapArenas reads as a slice of arenas", msg[256];
	int stage = 0;
	int passed = 0;

	if (!ps->hl.inferred)
		return go_heap__read(&ps->hl, bias, &ps->mem, &ps->heap, err, errlen);
	for (int i = 0; i < ps->ncand; i++) {
		struct go_heap_layout c = ps->cand[i];
		struct go_heap *h = NULL;
		int best = 0, most = 0;

		/* allArenas / heapArenas: the slot listing the most arenas
		 * (1.19 keeps copies of it, sweepArenas and markArenas, that
		 * may list fewer; an arena left out only means more parked) */
		for (int k = 1; k <= MAX_SLOTS; k++) {
			int cnt;

			c.mheap_all_arenas = c.mheap_arenas + 8 * k;
			cnt = go_heap__arena_count(&c, bias, &ps->mem);
			if (cnt > most) {
				most = cnt;
				best = c.mheap_all_arenas;
			}
		}
		if (!best)
			continue;
		c.mheap_all_arenas = best;
		/* Past heapArenas the rest of runtime.mheap is scanned as a
		 * root: its size is unknown, and hiding the globals after it
		 * could lose a root (only more parked this way). */
		c.mheap_size = best + 24;
		if (go_heap__read(&c, bias, &ps->mem, &h, msg, sizeof(msg))) {
			if (stage < 1)
				snprintf(why, sizeof(why), "%s", msg);
			stage = stage < 1 ? 1 : stage;
			continue;
		}
		if (!holds_all(ps, h, gs, n, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "%s", msg);
			stage = 2;
			go_heap__free(h);
			continue;
		}
		if (passed++) {
			go_heap__free(h);
			if (c.mheap_arenas != chosen.mheap_arenas || c.arena_spans != chosen.arena_spans) {
				go_heap__free(ps->heap);
				ps->heap = NULL;
				snprintf(err, errlen, "heap layout not inferred: two layouts pass every "
					 "check (mheap_.arenas at +%d or +%d)", chosen.mheap_arenas,
					 c.mheap_arenas);
				return -ENOTSUP;
			}
			continue;
		}
		chosen = c;
		ps->heap = h;
	}
	if (!passed) {
		snprintf(err, errlen, "heap layout not inferred: no candidate passed the checks on "
			 "the live heap (%d tried; the closest: %s)", ps->ncand, why);
		return -ENOTSUP;
	}
	snprintf(ps->st->heap_layout, sizeof(ps->st->heap_layout),
		 "inferred: mheap_.arenas +%d, heapArenas +%d, heapArena.spans +%d, checked on the "
		 "live heap", chosen.mheap_arenas, chosen.mheap_all_arenas, chosen.arena_spans);
	chosen.source = ps->st->heap_layout;
	ps->hl = chosen;
	return 0;
}
