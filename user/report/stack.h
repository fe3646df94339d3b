/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A symbolized stack: the one frame model every report format prints. */
#ifndef PW_STACK_H
#define PW_STACK_H

#include <stdint.h>
#include <stdbool.h>

struct pw_frame {
	uint64_t pc;     /* absolute address in the target */
	char *function;  /* symbol name, NULL when unknown */
	uint64_t offset; /* pc - symbol start (0 when function is NULL) */
	char *module;    /* basename of the ELF file, or "[kernel]", NULL if none */
	char *file;      /* source file, NULL without debug info */
	int line;        /* 0 without debug info */
};

struct pw_frames_block;

struct pw_stack {
	struct pw_frame *frames;
	int nframes;
	bool truncated; /* stopped at max_frames, not at the stack's end */
	char *error;    /* why unwinding stopped early, NULL when it did not */
	/* Non-NULL: frames (and their strings) are a read-only block shared
	 * with other stacks (pw_stack__share), freed with its last holder.
	 * 100k goroutines parked at one place hold one copy, not 100k. */
	struct pw_frames_block *shared;
};

void pw_stack__free(struct pw_stack *s);
/* Two stacks are "the same" for grouping when every pc matches. */
bool pw_stack__same(const struct pw_stack *a, const struct pw_stack *b);
/*
 * Append one frame, taking ownership of the strings. Returns 0 or -ENOMEM.
 * On failure nothing is taken: the strings stay the caller's.
 */
int pw_stack__push(struct pw_stack *s, const struct pw_frame *f);
/*
 * Make s's frames a shared block (s keeps holding it), after the first
 * nframes - nextra frames: the last nextra frames are owned by the block
 * but not part of the stack (pw_stack__extra reads them; a goroutine's
 * creation site rides along with its stack this way). Returns 0 or -ENOMEM
 * (s unchanged). The frames must not change afterwards.
 */
int pw_stack__share(struct pw_stack *s, int nextra);
/* dst (empty) holds the same shared frames as src (shared); truncated is
 * copied, error is not. */
void pw_stack__ref(struct pw_stack *dst, const struct pw_stack *src);
/* The i-th extra frame of a shared stack, NULL when there is none. */
const struct pw_frame *pw_stack__extra(const struct pw_stack *s, int i);

#endif
