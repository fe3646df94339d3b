// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: runtime.g/m, hchan, sudog, ... layouts from a whole
 * file's DWARF (go/dwarf.c, with libdw), then the table fallback
 * (go/runtime.c). A layout it returns must fit the structs it describes:
 * the goroutine reader fetches g_size bytes and reads each field there.
 * Seeds: a small C program whose DWARF is named like Go's runtime types
 * (seed_dwarf.c), and the unstripped fixtures.
 */
#include "fuzz_file.h"

static void check_g(const struct go_g_layout *l)
{
	const int off[] = { l->goid, l->waitsince, l->sched_sp, l->sched_pc, l->sched_bp,
			    l->gopc, l->startpc, l->stack_lo, l->stack_hi, l->m };

	FUZZ_CHECK(l->source && l->g_size > 0 && l->g_size <= 65536);
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		FUZZ_CHECK(off[i] >= 0 && off[i] + 8 <= l->g_size);
	/* atomicstatus is a uint32: the reader takes 4 bytes there */
	FUZZ_CHECK(l->atomicstatus >= 0 && l->atomicstatus + 4 <= l->g_size);
	FUZZ_CHECK(l->waitreason >= 0 && l->waitreason < l->g_size);
	FUZZ_CHECK(l->m_curg >= 0 && l->m_curg + 8 <= l->m_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_binary *b = fuzz_open(data, size);
	struct go_chan_layout cl;
	struct go_g_layout gl;
	char err[256];

	if (!b)
		return 0;
	if (!go_binary__g_layout_dwarf(b, &gl))
		check_g(&gl);
	if (!go_binary__g_layout(b, &gl, err, sizeof(err)))
		check_g(&gl);
	if (!go_binary__chan_layout_dwarf(b, &cl)) {
		FUZZ_CHECK(cl.hchan_sendq >= 0 && cl.hchan_sendq + 8 <= 128);
		FUZZ_CHECK(cl.sudog_waitlink >= 0 && cl.sudog_waitlink + 8 <= 128);
	}
	(void)go_binary__chan_layout(b, &cl, err, sizeof(err));
	{
		/* go/heap.c reads an mspan in span_size bytes and indexes it */
		struct go_heap_layout hl;

		if (!go_binary__heap_layout_dwarf(b, &hl)) {
			FUZZ_CHECK(hl.span_size > 0 && hl.span_size <= 4096);
			FUZZ_CHECK(hl.span_state >= 0 && hl.span_state + 1 <= hl.span_size);
			FUZZ_CHECK(hl.span_spanclass >= 0 && hl.span_spanclass + 1 <= hl.span_size);
			FUZZ_CHECK(hl.span_start >= 0 && hl.span_start + 8 <= hl.span_size);
			FUZZ_CHECK(hl.span_elemsize >= 0 && hl.span_elemsize + 8 <= hl.span_size);
			FUZZ_CHECK(hl.span_specials >= 0 && hl.span_specials + 8 <= hl.span_size);
		}
	}
	go_binary__free(b);
	return 0;
}
