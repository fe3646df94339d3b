/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals of the reachability pass shared by go/reach.c (the pass, the
 * heap marking, the fixed point) and go/reach_stack.c (goroutine stacks
 * frame by frame, the g words that are not pointers). */
#ifndef PW_GOREACH_PRIV_H
#define PW_GOREACH_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "go/elf.h"
#include "go/heap.h"
#include "go/reach.h"

#define G_RUNNING 2
#define G_SYSCALL 3
#define G_WAITING 4
#define G_LEAKED 10          /* 1.26+: the runtime's own profile said so */
#define MAX_WAITS 64         /* select cases followed (the runtime's limit is 65536) */
#define CHUNK (64u << 10)    /* bytes read at once from a root range */
#define BATCH_BYTES (4u << 20)
#define BATCH_OBJS 1024
#define BIG_OBJECT (256u << 10) /* scanned in CHUNKs rather than batched */

enum kind { K_SKIP, K_ROOT, K_CHAN, K_SYNC, K_NIL, K_NOCASES };

struct gstate {
	enum kind kind;
	bool resolved;          /* became a root */
	uint64_t g, goid, waiting, lo, hi, sp, pc;
	uint64_t syscallsp, syscallpc; /* in a syscall: its frames start there */
	uint32_t status;
	uint8_t reason;
	int nwait;
	uint64_t wait[MAX_WAITS]; /* channels, or the sync object's address */
};

struct span_ref {
	uint64_t base, size;
};

struct pass {
	const struct go_process *p;
	struct go_mem mem;
	struct go_heap *heap;
	struct go_heap_layout hl;
	uint64_t *hidden;       /* words Go's profile hides: sudog.c / sudog.elem */
	size_t nhidden, hcap;
	struct span_ref *work;
	size_t nwork, wcap;
	uint8_t *buf;           /* CHUNK */
	struct go_reach_stats *st;
	bool precise;           /* stack maps (pclntab 1.18+), else whole frames */
	struct go_heap_layout cand[24]; /* inferred: the layouts to validate */
	int ncand;
};

static inline uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* reach_layout.c: the heap layout (DWARF, table, else candidates to
 * infer from: ps->hl is then the first, for its sudog and g fields), and
 * the heap read through it; an inferred layout is kept only when exactly
 * one candidate reads a heap that passes every check and holds every g
 * and every channel of gs[0..n). 0 or -errno with a sentence in err. */
int reach__layout(struct pass *ps, char *err, size_t errlen);
int reach__read_heap(struct pass *ps, const struct gstate *gs, int n, char *err, size_t errlen);

/* reach.c: a word the scan must not follow (a hidden sudog field, a g's
 * stack bound); one word taken as a possible pointer (at: where it was
 * read); a remote range scanned whole. 0 or -ENOMEM. */
int reach__push_hidden(struct pass *ps, uint64_t addr);
int reach__scan_word(struct pass *ps, uint64_t at, uint64_t w);
int reach__scan_range(struct pass *ps, uint64_t addr, uint64_t len);

/* reach_stack.c: hide the non-pointer words of the g at g, and of the gs
 * outside allgs; scan a goroutine's stack as the GC would. */
int reach__hide_g_words(struct pass *ps, uint64_t g);
int reach__hide_system_gs(struct pass *ps);
int reach__scan_stack(struct pass *ps, const struct gstate *gs);

#endif
