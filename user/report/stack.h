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

struct pw_stack {
	struct pw_frame *frames;
	int nframes;
	bool truncated; /* stopped at max_frames, not at the stack's end */
	char *error;    /* why unwinding stopped early, NULL when it did not */
};

void pw_stack__free(struct pw_stack *s);
/* Two stacks are "the same" for grouping when every pc matches. */
bool pw_stack__same(const struct pw_stack *a, const struct pw_stack *b);
/*
 * Append one frame, taking ownership of the strings. Returns 0 or -ENOMEM.
 * On failure nothing is taken: the strings stay the caller's.
 */
int pw_stack__push(struct pw_stack *s, const struct pw_frame *f);

#endif
