// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threads/spin.h"

/* A thread that was running at the last look. */
struct busy {
	uint32_t tid;
	uint64_t start_ns;        /* with tid: the same thread, not a reused tid */
	uint64_t nvcsw;
	uint64_t cpu_ns, now_ns;  /* at this look */
	uint64_t first_cpu_ns, first_now_ns; /* at the first look of the streak */
	int looks;
};

struct spin_history {
	struct busy *v;
	size_t n;
};

static int cmp_busy(const void *a, const void *b)
{
	const struct busy *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static const struct busy *find(const struct spin_history *h, uint32_t tid)
{
	struct busy key = { .tid = tid };

	return h->n ? bsearch(&key, h->v, h->n, sizeof(key), cmp_busy) : NULL;
}

struct spin_history *spin_history__new(void)
{
	return calloc(1, sizeof(struct spin_history));
}

int spin_history__observe(struct spin_history *h, const struct pw_task *recs, size_t n)
{
	struct busy *now = malloc((n ? n : 1) * sizeof(*now));
	size_t k = 0;

	if (!now)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pw_task *r = &recs[i];
		const struct busy *old;
		struct busy *b;

		/* state 0 is TASK_RUNNING: on a CPU or waiting for one. */
		if (r->state != 0 || (r->flags & PW_TASK_KTHREAD))
			continue;
		b = &now[k++];
		*b = (struct busy){ .tid = r->tid, .start_ns = r->start_ns, .nvcsw = r->nvcsw,
				    .cpu_ns = r->cpu_ns, .now_ns = r->now_ns,
				    .first_cpu_ns = r->cpu_ns, .first_now_ns = r->now_ns, .looks = 1 };
		old = find(h, r->tid);
		/* Same thread, never slept since (a sleep is a voluntary
		 * switch), and it ran in between. */
		if (old && old->start_ns == r->start_ns && old->nvcsw == r->nvcsw &&
		    r->cpu_ns > old->cpu_ns) {
			b->looks = old->looks + 1;
			b->first_cpu_ns = old->first_cpu_ns;
			b->first_now_ns = old->first_now_ns;
		}
	}
	qsort(now, k, sizeof(*now), cmp_busy);
	free(h->v);
	h->v = now;
	h->n = k;
	return 0;
}

bool spin_history__spinning(const struct spin_history *h, const struct pw_task *rec,
			    struct spin_evidence *e)
{
	const struct busy *b = h ? find(h, rec->tid) : NULL;

	if (!b || b->start_ns != rec->start_ns || b->looks < SPIN_LOOKS)
		return false;
	e->looks = b->looks;
	e->wall_ns = b->now_ns - b->first_now_ns;
	e->cpu_ns = b->cpu_ns - b->first_cpu_ns;
	return true;
}

void spin_history__free(struct spin_history *h)
{
	if (!h)
		return;
	free(h->v);
	free(h);
}
