// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The frame model: ownership of the strings and the growing frame array. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/stack.h"

static void pw_frame__free(struct pw_frame *f)
{
	free(f->function);
	free(f->module);
	free(f->file);
}

/* Frames shared by several stacks: the last holder frees them. */
struct pw_frames_block {
	int refs;
	int nframes; /* the stack's frames, then the extra ones */
	int nextra;
	struct pw_frame *frames;
};

static void frames_free(struct pw_frame *frames, int n)
{
	for (int i = 0; i < n; i++)
		pw_frame__free(&frames[i]);
	free(frames);
}

void pw_stack__free(struct pw_stack *s)
{
	if (!s)
		return;
	if (s->shared) {
		if (--s->shared->refs == 0) {
			frames_free(s->shared->frames, s->shared->nframes);
			free(s->shared);
		}
	} else {
		frames_free(s->frames, s->nframes);
	}
	free(s->error);
	/* Leave a valid empty stack behind so a second free or a reuse is safe. */
	memset(s, 0, sizeof(*s));
}

bool pw_stack__same(const struct pw_stack *a, const struct pw_stack *b)
{
	if (a->nframes != b->nframes)
		return false;
	for (int i = 0; i < a->nframes; i++)
		if (a->frames[i].pc != b->frames[i].pc)
			return false;
	return true;
}

int pw_stack__push(struct pw_stack *s, const struct pw_frame *f)
{
	/*
	 * Grow by powers of two starting at 16: most stacks fit in one
	 * allocation, and the capacity is implied by nframes so the struct
	 * does not need a field for it.
	 */
	int n = s->nframes;

	if (s->shared)
		return -EINVAL; /* read-only once shared */
	if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
		size_t cap = n ? (size_t)n * 2 : 16;
		struct pw_frame *frames;

		frames = realloc(s->frames, cap * sizeof(*frames));
		if (!frames)
			return -ENOMEM;
		s->frames = frames;
	}
	s->frames[n] = *f;
	s->nframes = n + 1;
	return 0;
}

int pw_stack__share(struct pw_stack *s, int nextra)
{
	struct pw_frames_block *b;

	if (s->shared || nextra < 0 || nextra > s->nframes)
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (struct pw_frames_block){ .refs = 1, .nframes = s->nframes, .nextra = nextra,
				       .frames = s->frames };
	s->shared = b;
	s->nframes -= nextra;
	return 0;
}

void pw_stack__ref(struct pw_stack *dst, const struct pw_stack *src)
{
	*dst = (struct pw_stack){ .frames = src->frames, .nframes = src->nframes,
				  .truncated = src->truncated, .shared = src->shared };
	if (src->shared)
		src->shared->refs++;
}

const struct pw_frame *pw_stack__extra(const struct pw_stack *s, int i)
{
	if (!s->shared || i < 0 || i >= s->shared->nextra)
		return NULL;
	return &s->frames[s->shared->nframes - s->shared->nextra + i];
}
