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

void pw_stack__free(struct pw_stack *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nframes; i++)
		pw_frame__free(&s->frames[i]);
	free(s->frames);
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
