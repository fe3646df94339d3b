// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the heap metadata reader (go/heap.c). The target's
 * memory is the input: address A reads input[(A - MHEAP) mod size] within
 * 1 TiB around a fixed runtime.mheap_ (so arena, span and page-table
 * pointers the input holds are mostly readable), everything else fails. A
 * run reads at most 8 MiB, as a real heap of a few arenas would. The layout
 * is Go 1.26's (go1.26 table); what the model answers must hold together:
 * an object found contains the address asked for, mark bits behave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/heap.h"

#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "check failed: %s\n", #cond);             \
			abort();                                                  \
		}                                                                 \
	} while (0)

#define MHEAP 0xc000000000ull
#define WINDOW (1ull << 40)
#define BUDGET (8u << 20)

struct fake {
	const uint8_t *data;
	size_t size, used;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint8_t *out = buf;

	if (!f->size || len > BUDGET - f->used || addr - (MHEAP - WINDOW) > 2 * WINDOW - len)
		return -14;
	f->used += len;
	for (uint64_t at = (addr - MHEAP) % f->size; len;) {
		size_t k = f->size - at < len ? f->size - at : len;

		memcpy(out, f->data + at, k);
		out += k;
		len -= k;
		at = 0;
	}
	return 0;
}

/* One read of the fake heap through l, and lookups of the words of data. */
static void one(const struct go_heap_layout *l, const uint8_t *data, size_t size)
{
	struct fake f = { data, size, 0 };
	struct go_mem m = { .read = fake_read, .ctx = &f };
	struct go_heap *h;
	struct go_heap_stats st;
	char err[256] = "";

	FUZZ_CHECK(go_heap__arena_count(l, 0, &m) <= 4096);
	f.used = 0;
	if (go_heap__read(l, 0, &m, &h, err, sizeof(err))) {
		FUZZ_CHECK(err[0]);
		return;
	}
	go_heap__stats(h, &st);
	FUZZ_CHECK(st.arenas <= 4096);
	/* strict mode (an inferred layout) keeps only a heap with a span */
	FUZZ_CHECK(!l->inferred || st.spans > 0);
	for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
		struct go_heap_obj o;
		uint64_t a;

		memcpy(&a, data + i, 8);
		if (!go_heap__find(h, a, &o))
			continue;
		FUZZ_CHECK(o.size && o.base <= a && a - o.base < o.size);
		if (go_heap__mark(h, &o)) {
			FUZZ_CHECK(go_heap__marked(h, &o));
			FUZZ_CHECK(!go_heap__mark(h, &o));
		}
	}
	go_heap__free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_heap_layout l = {
		.source = "fuzz", .mheap = MHEAP, .mheap_arenas = 64, .mheap_all_arenas = 96,
		.arena_spans = 0, .span_start = 24, .span_npages = 32, .span_spanclass = 98,
		.span_elemsize = 104, .span_state = 99, .span_size = 136, .span_specials = 128,
		.special_offset_size = 8,
	};

	one(&l, data, size);
	l.inferred = true; /* the strict checks of an inferred layout */
	one(&l, data, size);
	return 0;
}
