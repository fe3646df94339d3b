// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the .gopclntab section alone (go/pclntab.c): header,
 * function table, names, pc-value tables (file:line, SP deltas), inline
 * trees. The input is the section's bytes, placed at a fixed address with
 * runtime.text where Go's amd64 linker puts it; inline trees are looked up
 * inside the same bytes (gofunc = the section start). Seeds: the sections
 * of the Go fixtures (Go 1.19 and 1.26 formats). Lookups by name are
 * fuzzed through whole files (fuzz_elf, fuzz_allgs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/elf_priv.h"

#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "check failed: %s\n", #cond);             \
			abort();                                                  \
		}                                                                 \
	} while (0)

#define PCLNTAB_ADDR 0x500000ull
#define TEXT_ADDR 0x401000ull

static void probe(const struct go_binary *b, uint64_t pc)
{
	struct go_frame fr[16];
	struct go_func_info fi;
	int32_t delta;
	int n;

	if (go_binary__lookup(b, pc, &fi) == 0) {
		/* A function found contains pc and has a name. */
		FUZZ_CHECK(fi.function && fi.entry <= pc && pc < fi.end);
		FUZZ_CHECK(!fi.file || strlen(fi.file) < b->pcln.size);
	}
	n = go_binary__frames(b, pc, fr, 16);
	FUZZ_CHECK(n <= 16);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(fr[i].function && (fr[i].inlined || i == n - 1));
	if (!go_binary__sp_delta(b, pc, &delta))
		FUZZ_CHECK(delta >= 0 && delta <= (1 << 26));
	/* --prove's stack maps: bounded bitmaps, a sane frame */
	struct go_stack_maps m;
	if (!go_binary__stack_maps(b, pc, &m)) {
		FUZZ_CHECK(m.frame >= 0 && m.frame <= (1 << 26) && m.function);
		FUZZ_CHECK(!m.locals || m.nlocals <= (1 << 24));
		FUZZ_CHECK(!m.args || m.nargs <= (1 << 24));
		FUZZ_CHECK(!m.objects || m.nobjects < (1 << 16));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_section sec = {
		.name = ".gopclntab", .addr = PCLNTAB_ADDR, .size = size, .offset = 0,
		.type = SHT_PROGBITS, .flags = SHF_ALLOC, .in_file = true,
	};
	struct go_binary b = { .map = (uint8_t *)data, .size = size, .secs = &sec, .nsecs = 1,
			       .is_go = true, .version = "go1.19.8" };
	struct go_func_info fi;
	char err[128];
	uint64_t pc;

	if (go_pclntab__parse(&b, data, size, PCLNTAB_ADDR, err, sizeof(err))) {
		FUZZ_CHECK(err[0] && !b.pcln.ver);
		return 0;
	}
	b.text_start = b.pcln.hdr_text ? b.pcln.hdr_text : TEXT_ADDR;
	b.gofunc = PCLNTAB_ADDR;
	/* The first functions, some spread over the text, and a few pcs the
	 * input picks (its last bytes). */
	pc = b.text_start;
	for (int i = 0; i < 4 && !go_binary__lookup(&b, pc, &fi); i++) {
		probe(&b, pc);
		probe(&b, fi.end - 1);
		pc = fi.end;
	}
	for (uint64_t off = 0x1000; off < (1 << 20); off += 0x3f000)
		probe(&b, b.text_start + off);
	if (size >= 8) {
		uint32_t a, c;

		memcpy(&a, data + size - 8, 4);
		memcpy(&c, data + size - 4, 4);
		probe(&b, b.text_start + a);
		probe(&b, b.text_start + (c & 0xfffff));
	}
	return 0;
}
