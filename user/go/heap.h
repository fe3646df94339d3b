/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The Go heap of a live process as its own metadata describes it, read from
 * outside (process_vm_readv, nothing stopped): mheap_.heapArenas (the
 * arenas in use) -> mheap_.arenas[0][idx] (the heapArena) -> heapArena.spans
 * (one *mspan per 8 KiB page) -> each in-use mspan's start, pages, object
 * size and noscan bit. Enough to answer "which heap object contains this
 * address", as the GC's findObject does, and to keep one mark bit per object
 * slot for go/reach.c. No pointer bitmaps, no free-slot bits: the marking
 * that uses this model is conservative (see go/reach.c).
 *
 * The target runs on while this is read: a span seen in use may be freed
 * and reused, a span allocated later is unknown. Lookups that land on a page
 * without a known span re-read that page's span once (go_heap__find), so
 * objects allocated after the model was read are still found.
 */
#ifndef PW_GOHEAP_H
#define PW_GOHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "go/elf.h"

/* Remote memory: read one range (0 or -errno); pid > 0 batches many ranges
 * per syscall (go/remote.c), else read is called per range (fuzzing). */
struct go_mem {
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
	pid_t pid;
};

/* Read n ranges; ok[i] says which were read whole. */
void go_mem__read_many(const struct go_mem *m, const uint64_t *addr, const size_t *len,
		       uint8_t **dst, bool *ok, size_t n);

struct go_heap;

struct go_heap_obj {
	uint64_t base, size;
	bool noscan;      /* the span holds no pointers: nothing to scan inside */
	uint32_t span;    /* for go_heap__mark */
	uint64_t index;   /* slot within the span */
};

struct go_heap_stats {
	uint64_t arenas, spans, span_bytes; /* in-use spans and their bytes */
	uint64_t late_spans;                /* found by a re-read (allocated since) */
};

/*
 * Read the heap metadata. l: offsets (go_binary__heap_layout), bias: the
 * load bias of a PIE executable. 0, or -errno with a sentence in err
 * (-EIO unreadable, -EINVAL metadata that does not look like a heap,
 * -ENOMEM).
 */
int go_heap__read(const struct go_heap_layout *l, uint64_t bias, const struct go_mem *m,
		  struct go_heap **out, char *err, size_t errlen);
/* The arenas mheap_.heapArenas lists under layout l, all with a heapArena
 * when l is inferred; -1 when the slice does not read as one. */
int go_heap__arena_count(const struct go_heap_layout *l, uint64_t bias, const struct go_mem *m);
/* The heap object containing addr (interior pointers included): true and
 * *o, or false when addr is in no in-use span's object slot. */
bool go_heap__find(struct go_heap *h, uint64_t addr, struct go_heap_obj *o);
/* Mark o: true when it was not marked before. */
bool go_heap__mark(struct go_heap *h, const struct go_heap_obj *o);
bool go_heap__marked(const struct go_heap *h, const struct go_heap_obj *o);
/* In-use spans known, and span i's specials list (finalizers, cleanups,
 * weak handles, profile records; 0: none), its start and size. */
uint32_t go_heap__nspans(const struct go_heap *h);
uint64_t go_heap__span_specials(const struct go_heap *h, uint32_t i, uint64_t *start,
				uint64_t *bytes);
void go_heap__stats(const struct go_heap *h, struct go_heap_stats *st);
void go_heap__free(struct go_heap *h);

#endif
