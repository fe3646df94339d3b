// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threads/growth.h"

struct site {
	uint64_t key;
	uint64_t last_sweep;          /* the sweep that last saw it */
	int counts[GROWTH_LOOKS];     /* oldest first */
	int looks;                    /* how many of counts are filled */
};

struct growth {
	struct site *v;
	int n, cap;
	uint64_t sweep;
};

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	while (s && *s)
		h = mix(h, (unsigned char)*s++);
	return mix(h, 0);
}

/* What makes a group: process, wait, stack (by pc) and idleness, as
 * report.c groups: idle pool workers and the threads a leak strands can
 * share a stack and differ by name only (an idle rule's comm=), and two
 * groups on one site would push two counts per look. */
static uint64_t site_key(const struct pw_flagged *t)
{
	uint64_t h = mix(0, t->pid);

	h = mix_str(h, t->idle_match);
	h = mix(h, t->wait.class);
	h = mix_str(h, t->wait.syscall);
	h = mix_str(h, t->wait.op);
	for (int i = 0; i < t->stack.nframes; i++)
		h = mix(h, t->stack.frames[i].pc);
	return h;
}

static struct site *find(struct growth *g, uint64_t key)
{
	for (int i = 0; i < g->n; i++)
		if (g->v[i].key == key)
			return &g->v[i];
	return NULL;
}

static void push(struct site *s, int count)
{
	if (s->looks == GROWTH_LOOKS)
		memmove(s->counts, s->counts + 1, (GROWTH_LOOKS - 1) * sizeof(int));
	else
		s->looks++;
	s->counts[s->looks - 1] = count;
}

static bool rising(const struct site *s)
{
	if (s->looks < GROWTH_LOOKS)
		return false;
	for (int i = 1; i < GROWTH_LOOKS; i++)
		if (s->counts[i] <= s->counts[i - 1])
			return false;
	return true;
}

struct growth *growth__new(void)
{
	return calloc(1, sizeof(struct growth));
}

int growth__observe(struct growth *g, struct pw_report *r)
{
	int w = 0;

	if (!g)
		return 0;
	g->sweep++;
	for (int k = 0; k < r->ngroups; k++) {
		struct pw_group *gr = &r->groups[k];
		uint64_t key = site_key(&r->threads[gr->first]);
		struct site *s = find(g, key);

		if (!s) {
			if (g->n == g->cap) {
				int cap = g->cap ? g->cap * 2 : 64;
				struct site *v = realloc(g->v, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				g->v = v;
				g->cap = cap;
			}
			s = &g->v[g->n++];
			*s = (struct site){ .key = key };
		}
		/* A site missed by a sweep in between starts over. */
		if (s->looks && s->last_sweep != g->sweep - 1)
			s->looks = 0;
		s->last_sweep = g->sweep;
		push(s, gr->count);
		if (rising(s))
			for (int i = 0; i < gr->count; i++)
				r->threads[gr->first + i].site_count = gr->count;
	}
	/* Forget sites this sweep did not see: their history has a gap. */
	for (int i = 0; i < g->n; i++)
		if (g->v[i].last_sweep == g->sweep)
			g->v[w++] = g->v[i];
	g->n = w;
	return 0;
}

void growth__free(struct growth *g)
{
	if (!g)
		return;
	free(g->v);
	free(g);
}
