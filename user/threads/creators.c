// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threads/creators.h"

#define NBUCKETS 4096

struct entry {
	struct entry *next;
	struct pw_clone_event ev; /* stack[] trimmed to ev.stack_len */
};

struct creators {
	struct entry *buckets[NBUCKETS];
	size_t count;
};

struct creators *creators__new(void)
{
	return calloc(1, sizeof(struct creators));
}

static struct entry **slot(struct creators *c, uint32_t tid)
{
	struct entry **p = &c->buckets[tid % NBUCKETS];

	while (*p && (*p)->ev.child_tid != tid)
		p = &(*p)->next;
	return p;
}

int creators__add(struct creators *c, const struct pw_clone_event *ev)
{
	size_t len = ev->stack_len > PW_CREATOR_STACK_BYTES ? PW_CREATOR_STACK_BYTES : ev->stack_len;
	size_t size = offsetof(struct entry, ev.stack) + len;
	struct entry **p = slot(c, ev->child_tid), *e;

	/* Only the used part of the stack copy is kept: most are far smaller. */
	e = malloc(size);
	if (!e)
		return -ENOMEM;
	memcpy(&e->ev, ev, offsetof(struct pw_clone_event, stack) + len);
	e->ev.stack_len = len;
	if (*p) { /* tid reused: the newer event wins */
		e->next = (*p)->next;
		free(*p);
	} else {
		e->next = NULL;
		c->count++;
	}
	*p = e;
	return 0;
}

void creators__remove(struct creators *c, uint32_t tid)
{
	struct entry **p = slot(c, tid), *e = *p;

	if (!e)
		return;
	*p = e->next;
	free(e);
	c->count--;
}

const struct pw_clone_event *creators__find(const struct creators *c, uint32_t tid,
					    uint64_t start_ns)
{
	struct entry **p = slot((struct creators *)c, tid);

	/* born_ns is taken after the child's start_time, within the same
	 * clone: an older event for a reused tid is older than start_ns. */
	if (!*p || (*p)->ev.born_ns < start_ns)
		return NULL;
	return &(*p)->ev;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void creators__prune(struct creators *c, const uint32_t *live, size_t nlive,
		     uint64_t sweep_start_ns)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct entry **p = &c->buckets[b];

		while (*p) {
			struct entry *e = *p;

			if (e->ev.born_ns < sweep_start_ns &&
			    !bsearch(&e->ev.child_tid, live, nlive, sizeof(*live), cmp_u32)) {
				*p = e->next;
				free(e);
				c->count--;
			} else {
				p = &e->next;
			}
		}
	}
}

size_t creators__count(const struct creators *c)
{
	return c->count;
}

void creators__free(struct creators *c)
{
	if (!c)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (c->buckets[b]) {
			struct entry *e = c->buckets[b];

			c->buckets[b] = e->next;
			free(e);
		}
	free(c);
}
