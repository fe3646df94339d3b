// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Heap layouts for a stripped binary of a release without a table (go/elf.h,
 * go_binary__heap_layout_candidates). Nothing here is trusted: go/reach.c
 * keeps a candidate only when the live heap read through it passes every
 * check of go/heap.c's strict mode and every goroutine and channel is found
 * in it. A wrong layout could make a reachable object look unreachable (a
 * false "leaked"), so what cannot be checked is chosen the safe way.
 *
 * What moves between releases (runtime/mheap.go of go1.19.8, go1.26.8,
 * go1.27.3): the offset of mheap_.arenas (after pageAlloc, whose size
 * changes), the slot of allArenas / heapArenas after it, and heapArena.spans
 * (after a 2 MiB bitmap up to 1.19, after a 1 MiB bitmap and 16 KiB
 * noMorePtrs in 1.20-1.21, first since 1.22). The mspan fields parkwatch
 * reads are at the same offsets in 1.19, 1.26 and 1.27: taken as they are,
 * and validated.
 */
#include <errno.h>
#include <string.h>

#include "go/elf_priv.h"

/* heapArena.spans: 1.22+; 1.20-1.21 (bitmap [heapArenaBitmapWords]uintptr,
 * 1 MiB, then noMorePtrs [heapArenaBitmapWords / 8]uint8, 16 KiB: from the
 * sources, no build here); up to 1.19 (the 2 MiB bitmap) */
static const int arena_spans[] = { 0, (1 << 20) + (1 << 14), 2 << 20 };
#define MHEAP_MAX (1 << 17) /* runtime.mheap is ~93 KiB in 1.19-1.27 */

/* Functions that index mheap_.arenas[0] (arenaL1Bits is 0 on amd64): the
 * load is `mov runtime.mheap_+OFF(%rip), reg`. */
static const char *const arena_users[] = {
	"runtime.spanOf", "runtime.spanOfHeap", "runtime.spanOfUnchecked", "runtime.findObject",
	"runtime.(*mheap).sysAlloc", "runtime.markBitsForAddr",
};

/* Distinct mheap_-relative offsets of 64-bit rip-relative loads in f. */
static int loads_of_mheap(const struct go_binary *b, const char *f, uint64_t mheap, int *off,
			  int n, int max)
{
	uint64_t end = 0, start = go_binary__func_entry(b, f, &end);
	const uint8_t *code;

	if (!start || end <= start || end - start > 65536 ||
	    !(code = go_binary__bytes(b, start, end - start)))
		return n;
	for (uint64_t i = 0; i + 7 <= end - start && n < max; i++) {
		uint64_t target;
		int k;

		if ((code[i] != 0x48 && code[i] != 0x4c) || code[i + 1] != 0x8b ||
		    (code[i + 2] & 0xc7) != 0x05)
			continue;
		target = start + i + 7 + (int64_t)(int32_t)go_le32(code + i + 3);
		if (target < mheap + 4096 || target >= mheap + MHEAP_MAX || (target - mheap) % 8)
			continue;
		for (k = 0; k < n && off[k] != (int)(target - mheap); k++)
			;
		if (k == n)
			off[n++] = (int)(target - mheap);
	}
	return n;
}

int go_binary__heap_layout_candidates(const struct go_binary *b, const struct go_g_layout *gl,
				      const struct go_chan_layout *cl, struct go_heap_layout *out,
				      int max, char *err, size_t errlen)
{
	struct go_heap_layout base = {
		.source = "inferred", .span_start = 24, .span_npages = 32, .span_spanclass = 98,
		.span_elemsize = 104, .span_state = 99, .span_size = 136, .span_specials = 128,
		/* runtime.special.offset was uint16 in 1.19, uintptr in 1.26:
		 * 0 asks go/reach.c to try both (only more is marked) */
		.special_offset_size = 0,
		/* the Ms' g0/gsignal are not hidden (only more parked) */
		.m_g0 = -1, .m_gsignal = -1, .m_alllink = -1, .inferred = true,
	};
	int offs[16], noff = 0, n = 0, minor = go_version_minor(b->version);

	if (b->machine != EM_X86_64) {
		go_errf(err, errlen, "heap layout inference is for x86-64 only");
		return 0;
	}
	if (!gl || !cl || gl->sched_bp < 0) {
		go_errf(err, errlen, "no goroutine or channel layout to build a heap layout on");
		return 0;
	}
	base.mheap = go_binary__heap_mheap(b);
	if (!base.mheap) {
		go_errf(err, errlen, "runtime.mheap_ not found (not in .symtab, nor in the code of "
			"runtime.mallocinit)");
		return 0;
	}
	/* g.syscallsp, syscallpc follow g.sched (a gobuf ending with bp) in
	 * every release read here */
	base.g_syscallsp = gl->sched_bp + 8;
	base.g_syscallpc = gl->sched_bp + 16;
	base.g_waiting = cl->g_waiting;
	base.sudog_g = cl->sudog_g;
	base.sudog_elem = cl->sudog_elem;
	base.sudog_c = cl->sudog_c;
	base.sudog_waitlink = cl->sudog_waitlink;
	/* maybeTraceablePtr (16 bytes) since 1.26. Hiding a word too many
	 * could hide a real pointer: 16 only where known. */
	base.sudog_elem_size = base.sudog_c_size = minor >= 26 ? 16 : 8;
	if (base.g_waiting < 0 || base.sudog_c < 0 || base.sudog_elem < 0 ||
	    base.sudog_waitlink < 0) {
		go_errf(err, errlen, "the channel layout lacks g.waiting or sudog fields");
		return 0;
	}
	for (size_t i = 0; i < sizeof(arena_users) / sizeof(arena_users[0]); i++)
		noff = loads_of_mheap(b, arena_users[i], base.mheap, offs, noff, 16);
	for (int i = 0; i < noff; i++)
		for (size_t k = 0; k < sizeof(arena_spans) / sizeof(arena_spans[0]) && n < max; k++) {
			out[n] = base;
			out[n].mheap_arenas = offs[i];
			out[n].arena_spans = arena_spans[k];
			n++;
		}
	if (!n)
		go_errf(err, errlen, "no load of runtime.mheap_.arenas found in the runtime's code");
	return n;
}
