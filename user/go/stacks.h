/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Goroutine stacks from their pcs: symbolized with the binary's pclntab
 * (each pc once: a direct-mapped cache) and shared (each distinct stack
 * and creation site once per snapshot: 100k goroutines parked at one place
 * hold one block of frames, go/goroutines.c's memory goal).
 */
#ifndef PW_GO_STACKS_H
#define PW_GO_STACKS_H

#include <stdbool.h>
#include <stdint.h>
#include "report/stack.h"

struct go_binary;
struct go_syms;

/* The symbolizer of one process: bin and module stay the caller's. */
struct go_syms *go_syms__new(const struct go_binary *bin, uint64_t bias, const char *module);
void go_syms__free(struct go_syms *y);
/* How many frames (inlined ones included) the absolute pc prints as;
 * ret_addr: pc is a return address (looked up one byte back). */
int go_syms__nframes(struct go_syms *y, uint64_t pc, bool ret_addr);

/* The stacks of one snapshot, each distinct one kept once. */
struct go_shapes;
struct go_shapes *go_shapes__new(struct go_syms *y);
void go_shapes__free(struct go_shapes *t);
/*
 * The stack of pcs[0..npc) (pcs[0] the saved pc, the rest return
 * addresses), at most max_frames frames, with the creation site gopc
 * (0: none): *out gets a reference to the shared frames, *created_by the
 * creation site (strings owned by out's block: pw_goroutine__release knows).
 * 0 or -ENOMEM.
 */
int go_shapes__get(struct go_shapes *t, const uint64_t *pcs, int npc, uint64_t gopc,
		   int max_frames, struct pw_stack *out, struct pw_frame *created_by);

#endif
