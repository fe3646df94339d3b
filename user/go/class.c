// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "go/class.h"

#define G_RUNNABLE 1
#define G_RUNNING 2
#define G_WAITING 4
#define SPIN_SWEEPS 3 /* busy at this many snapshots in a row */

/* What was seen of one goroutine at the previous snapshot. */
struct seen {
	uint64_t gaddr, goid;
	uint64_t sched_pc, sched_sp;
	uint64_t parked_since_ns; /* first snapshot it was parked at this place */
	int busy_streak;          /* snapshots in a row running or runnable */
	bool busy_always;         /* and never anything else since first seen */
};

/* Live goroutines per creation site (the go statement's pc). */
struct site {
	uint64_t gopc;
	int counts[GO_GROWTH_SWEEPS + 1]; /* oldest first */
};

struct go_history {
	struct seen *seen;
	int nseen;
	struct site *sites;
	int nsites;
	int sweeps;
};

struct go_history *go_history__new(void)
{
	return calloc(1, sizeof(struct go_history));
}

void go_history__free(struct go_history *h)
{
	if (!h)
		return;
	free(h->seen);
	free(h->sites);
	free(h);
}

int go_history__sweeps(const struct go_history *h)
{
	return h->sweeps;
}

const char *go_class_name(enum go_class c)
{
	switch (c) {
	case GO_CLASS_PARKED: return "parked";
	case GO_CLASS_SPINNING: return "spinning";
	case GO_CLASS_GROWING: return "growing";
	default: return NULL;
	}
}

bool go_wait_is_timed(const char *reason)
{
	return reason && !strcmp(reason, "sleep");
}

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->gaddr != y->gaddr)
		return x->gaddr < y->gaddr ? -1 : 1;
	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

static int cmp_site(const void *a, const void *b)
{
	const struct site *x = a, *y = b;

	return x->gopc < y->gopc ? -1 : x->gopc > y->gopc;
}

/* bsearch over the previous sweep's sorted array, which is NULL before the
 * first sweep: calling bsearch on a NULL base is undefined (UBSan). */
static void *find_sorted(const void *key, const void *base, size_t n, size_t size,
			 int (*cmp)(const void *, const void *))
{
	return n && base ? bsearch(key, base, n, size, cmp) : NULL;
}

static bool counts_as_user(const struct pw_goroutine *g)
{
	return !g->runtime_owned && g->created_by.pc;
}

/* Site counts for this snapshot, shifting in the previous history. */
static int update_sites(struct go_history *h, const struct go_snapshot *s)
{
	struct site *now = calloc(s->n ? s->n : 1, sizeof(*now));
	int n = 0, u = 0;

	if (!now)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (counts_as_user(&s->g[i]))
			now[n++].gopc = s->g[i].created_by.pc;
	qsort(now, n, sizeof(*now), cmp_site);
	for (int i = 0; i < n; i++) { /* unique sites, each with its history */
		struct site *old;

		if (u && now[u - 1].gopc == now[i].gopc) {
			now[u - 1].counts[GO_GROWTH_SWEEPS]++;
			continue;
		}
		now[u] = (struct site){ .gopc = now[i].gopc };
		old = find_sorted(&now[u], h->sites, h->nsites, sizeof(*old), cmp_site);
		if (old)
			memcpy(now[u].counts, old->counts + 1, sizeof(int) * GO_GROWTH_SWEEPS);
		now[u++].counts[GO_GROWTH_SWEEPS] = 1;
	}
	free(h->sites);
	/* Kept until the next sweep: a few sites, not one per goroutine. */
	h->sites = realloc(now, (u ? u : 1) * sizeof(*now)) ?: now;
	h->nsites = u;
	return 0;
}

static bool site_growing(const struct go_history *h, uint64_t gopc, int *count)
{
	struct site key = { .gopc = gopc }, *st = find_sorted(&key, h->sites, h->nsites, sizeof(key),
							     cmp_site);

	if (!st)
		return false;
	for (int i = 0; i < GO_GROWTH_SWEEPS; i++)
		if (st->counts[i] <= 0 || st->counts[i] >= st->counts[i + 1])
			return false;
	*count = st->counts[GO_GROWTH_SWEEPS];
	return true;
}

static void judge_parked(const struct pw_goroutine *g, const struct seen *now, bool first_look,
			 uint64_t now_ns, uint64_t threshold_ns, uint64_t precise_ns,
			 struct go_verdict *v)
{
	uint64_t observed = now->parked_since_ns && now->parked_since_ns < now_ns ?
			    now_ns - now->parked_since_ns : 0;
	uint64_t gc = g->waitsince_ns && g->waitsince_ns < now_ns ? now_ns - g->waitsince_ns : 0;

	if (g->status != G_WAITING || g->runtime_owned || go_wait_is_timed(g->wait_reason))
		return;
	/* Both are lower bounds: the longer one is the better one. A park the
	 * probes saw is exact and wins (a park after the sweep read the g is
	 * not this park: ignored). */
	v->parked_ns = observed > gc ? observed : gc;
	v->duration_source = !v->parked_ns ? "unknown" : observed >= gc ? "observed" : "gc_waitsince";
	if (precise_ns && precise_ns < now_ns) {
		v->parked_ns = now_ns - precise_ns;
		v->duration_source = "precise";
	}
	if (v->parked_ns ? v->parked_ns >= threshold_ns : first_look || !threshold_ns)
		v->class = GO_CLASS_PARKED;
}

int go_history__observe(struct go_history *h, const struct go_snapshot *s, uint64_t threshold_ns,
			struct go_verdict *v)
{
	return go_history__observe_precise(h, s, threshold_ns, NULL, v);
}

int go_history__observe_precise(struct go_history *h, const struct go_snapshot *s,
				uint64_t threshold_ns, const uint64_t *park_ns, struct go_verdict *v)
{
	struct seen *now = calloc(s->n ? s->n : 1, sizeof(*now));
	bool first_look = h->sweeps == 0;

	if (!now || update_sites(h, s)) {
		free(now);
		return -ENOMEM;
	}
	for (int i = 0; i < s->n; i++) {
		const struct pw_goroutine *g = &s->g[i];
		struct seen *n = &now[i], *old;
		bool busy = g->status == G_RUNNING || g->status == G_RUNNABLE;

		*n = (struct seen){ .gaddr = g->gaddr, .goid = g->goid, .sched_pc = g->sched_pc,
				    .sched_sp = g->sched_sp };
		old = find_sorted(n, h->seen, h->nseen, sizeof(*n), cmp_seen);
		if (g->status == G_WAITING)
			n->parked_since_ns = old && old->parked_since_ns &&
					     old->sched_pc == g->sched_pc &&
					     old->sched_sp == g->sched_sp ? old->parked_since_ns
									  : s->now_ns;
		n->busy_streak = busy ? (old ? old->busy_streak : 0) + 1 : 0;
		n->busy_always = busy && (!old || old->busy_always);

		memset(&v[i], 0, sizeof(v[i]));
		if (counts_as_user(g) && site_growing(h, g->created_by.pc, &v[i].site_count)) {
			v[i].class = GO_CLASS_GROWING;
		} else if (busy && !g->runtime_owned && n->busy_always &&
			   n->busy_streak >= SPIN_SWEEPS) {
			v[i].class = GO_CLASS_SPINNING;
		}
		if (v[i].class == GO_CLASS_NONE) {
			judge_parked(g, n, first_look, s->now_ns, threshold_ns,
				     park_ns ? park_ns[i] : 0, &v[i]);
		} else {
			/* Growing or spinning: still say how long it has waited. */
			struct go_verdict p = {};

			judge_parked(g, n, true, s->now_ns, 0, park_ns ? park_ns[i] : 0, &p);
			v[i].parked_ns = p.parked_ns;
			v[i].duration_source = p.duration_source;
		}
	}
	qsort(now, s->n, sizeof(*now), cmp_seen);
	free(h->seen);
	h->seen = now;
	h->nseen = s->n;
	h->sweeps++;
	return 0;
}

bool go_runtime_function(const char *fn)
{
	return fn && (!strncmp(fn, "runtime.", 8) || !strncmp(fn, "internal/", 9) ||
		      !strchr(fn, '.'));
}
