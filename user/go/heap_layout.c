// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where the runtime's heap metadata and the module's global roots are, from
 * the file alone (go/elf.h, "the heap"). The offsets come from DWARF; the
 * address of runtime.mheap_ from .symtab.
 */
#include <errno.h>
#include <string.h>

#include "go/elf_priv.h"

/*
 * Stripped binaries (-ldflags=-s -w): offsets read from the DWARF of the
 * same releases built here (go1.19.8, go1.26.8, go1.27.3, linux/amd64) and
 * checked against their runtime sources (mheap.go: mheap.arenas,
 * allArenas / heapArenas, heapArena.spans after the 2 MiB bitmap in 1.19;
 * mspan, special; runtime2.go: sudog, g.waiting, m.g0/gsignal/alllink). Other releases moved fields
 * (1.20-1.25 were not built here): no table entry, no guess here; go/heap_infer.c
 * recovers candidates that go/reach_layout.c checks on the live heap.
 */
static const struct go_heap_layout go119 = {
	.mheap_size = 92672, .mheap_arenas = 65936, .mheap_all_arenas = 66016,
	.arena_spans = 2097152, .span_start = 24, .span_npages = 32, .span_spanclass = 98,
	.span_elemsize = 104, .span_state = 99, .span_size = 136, .sudog_g = 0,
	.sudog_elem = 24, .sudog_c = 80, .sudog_waitlink = 64, .g_waiting = 328,
	.sudog_elem_size = 8, .sudog_c_size = 8, .span_specials = 128,
	.special_offset_size = 2, .m_g0 = 0, .m_gsignal = 80, .m_alllink = 336,
	.g_syscallsp = 112, .g_syscallpc = 120,
};

/* 1.26 and 1.27 agree field for field (DWARF of both builds). */
static const struct go_heap_layout go126 = {
	.mheap_size = 93464, .mheap_arenas = 66008, .mheap_all_arenas = 66096,
	.arena_spans = 0, .span_start = 24, .span_npages = 32, .span_spanclass = 98,
	.span_elemsize = 104, .span_state = 99, .span_size = 136, .sudog_g = 0,
	.sudog_elem = 24, .sudog_c = 88, .sudog_waitlink = 72, .g_waiting = 320,
	.sudog_elem_size = 16, .sudog_c_size = 16, .span_specials = 128,
	.special_offset_size = 8, .m_g0 = 0, .m_gsignal = 72, .m_alllink = 352,
	.g_syscallsp = 104, .g_syscallpc = 112,
};

static const struct {
	int minor;
	const char *source;
	const struct go_heap_layout *l;
} tables[] = {
	{ 19, "table go1.19", &go119 },
	{ 26, "table go1.26", &go126 },
	{ 27, "table go1.27", &go126 },
};

/*
 * runtime.mheap_ without .symtab (x86-64): runtime.mallocinit calls
 * mheap_.init() as `lea mheap_(%rip),%rax; call runtime.(*mheap).init`
 * (48 8d 05 rel32, e8 rel32) in every release read here (1.19, 1.26,
 * 1.27). Both functions are named by the pclntab, which stripping keeps.
 */
static uint64_t mheap_from_code(const struct go_binary *b)
{
	uint64_t end = 0, start = go_binary__func_entry(b, "runtime.mallocinit", &end);
	uint64_t init = go_binary__func_entry(b, "runtime.(*mheap).init", NULL), found = 0;
	const uint8_t *code;

	if (b->machine != EM_X86_64 || !start || !init || end <= start || end - start > 65536 ||
	    !(code = go_binary__bytes(b, start, end - start)))
		return 0;
	for (uint64_t i = 0; i + 12 <= end - start; i++) {
		int32_t lea, call;

		if (code[i] != 0x48 || code[i + 1] != 0x8d || code[i + 2] != 0x05 || code[i + 7] != 0xe8)
			continue;
		lea = (int32_t)go_le32(code + i + 3);
		call = (int32_t)go_le32(code + i + 8);
		if (start + i + 12 + (int64_t)call != init)
			continue;
		if (found && found != start + i + 7 + (int64_t)lea)
			return 0; /* two different answers: none */
		found = start + i + 7 + (int64_t)lea;
	}
	return found;
}

uint64_t go_binary__heap_mheap(const struct go_binary *b)
{
	uint64_t a = go_binary__symbol(b, "runtime.mheap_", NULL);

	return a ? a : mheap_from_code(b);
}

int go_binary__heap_layout(const struct go_binary *b, struct go_heap_layout *out, char *err,
			   size_t errlen)
{
	int ret, minor;

	if (err && errlen)
		err[0] = 0;
	if (!b->is_go) {
		go_errf(err, errlen, "not a Go binary");
		return -ENOENT;
	}
	ret = go_binary__heap_layout_dwarf(b, out);
	out->inferred = false; /* read, not recovered (DWARF fills the rest with -1) */
	minor = go_version_minor(b->version);
	for (size_t i = 0; ret && i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].minor == minor && !go_layout_table_off(minor)) {
			*out = *tables[i].l;
			out->source = tables[i].source;
			ret = 0;
		}
	if (ret) {
		go_errf(err, errlen, "%s: %s, and no built-in heap layout for this version",
			b->version ? b->version : "unknown Go version",
			ret == -ENOENT ? "no DWARF (built with -w or stripped)"
				       : "DWARF lacks runtime.mheap/heapArena/mspan fields");
		return -ENOTSUP;
	}
	out->mheap = go_binary__heap_mheap(b);
	if (!out->mheap) {
		go_errf(err, errlen, "runtime.mheap_ not found (not in .symtab, nor in the code of "
			"runtime.mallocinit)");
		return -ENOENT;
	}
	return 0;
}

int go_binary__root_ranges(const struct go_binary *b, uint64_t *addr, uint64_t *size, int max)
{
	static const char *const names[] = { ".data", ".bss" };
	int n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < max; i++) {
		const struct go_section *s = go_binary__section(b, names[i]);

		if (!s || !s->addr || !s->size)
			continue;
		addr[n] = s->addr;
		size[n] = s->size;
		n++;
	}
	return n;
}

bool go_binary__in_globals(const struct go_binary *b, uint64_t addr)
{
	static const char *const names[] = { ".data", ".bss", ".noptrdata", ".noptrbss" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct go_section *s = go_binary__section(b, names[i]);

		if (s && s->addr && addr >= s->addr && addr - s->addr < s->size)
			return true;
	}
	return false;
}
