// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: a whole file opened as a Go binary (go/image.c,
 * go/elf.c: ELF sections, .go.buildinfo, symbols, module data, text start;
 * the pclntab header). Seeds: the stripped Go fixtures and small files.
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_binary *b = fuzz_open(data, size);
	const char *src = NULL, *v;
	struct go_func_info fi;
	uint64_t start, end, sz;

	if (!b)
		return 0;
	v = go_binary__version(b);
	FUZZ_CHECK(!v || strlen(v) < 4096);
	if (go_binary__main_path(b))
		FUZZ_CHECK(strlen(go_binary__main_path(b)) < (1 << 20));
	if (go_binary__module_path(b))
		FUZZ_CHECK(strlen(go_binary__module_path(b)) < (1 << 20));
	/* A version or a pclntab is what makes it Go. */
	FUZZ_CHECK(!go_binary__pclntab_version(b) || go_binary__is_go(b));
	start = go_binary__text_start(b, &src);
	FUZZ_CHECK(!start || src);
	(void)go_binary__moduledata(b);
	(void)go_binary__symbol(b, "runtime.allgs", &sz);
	(void)go_binary__symbol(b, "runtime.semtable", &sz);
	if ((sz = go_binary__func_entry(b, "runtime.main", &end)))
		FUZZ_CHECK(end > sz);
	if (!go_binary__lookup(b, start, &fi))
		FUZZ_CHECK(fi.function && fi.entry <= start && start < fi.end);
	{
		/* --prove's heap layout: DWARF, tables, mheap_ from mallocinit's code */
		struct go_heap_layout hl;
		uint64_t ra[4], rs[4];
		char herr[256];

		if (!go_binary__heap_layout(b, &hl, herr, sizeof(herr)))
			FUZZ_CHECK(hl.mheap && hl.source && hl.span_size > 0 && hl.span_size <= 4096);
		else
			FUZZ_CHECK(herr[0]);
		FUZZ_CHECK(go_binary__root_ranges(b, ra, rs, 4) <= 4);
	}
	go_binary__free(b);
	return 0;
}
