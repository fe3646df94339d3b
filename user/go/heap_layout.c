// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where the runtime's heap metadata and the module's global roots are, from
 * the file alone (go/elf.h, "the heap"). The offsets come from DWARF; the
 * address of runtime.mheap_ from .symtab.
 */
#include <errno.h>
#include <string.h>

#include "go/elf_priv.h"

int go_binary__heap_layout(const struct go_binary *b, struct go_heap_layout *out, char *err,
			   size_t errlen)
{
	int ret;

	if (err && errlen)
		err[0] = 0;
	if (!b->is_go) {
		go_errf(err, errlen, "not a Go binary");
		return -ENOENT;
	}
	ret = go_binary__heap_layout_dwarf(b, out);
	if (ret) {
		go_errf(err, errlen, "%s: %s, and no built-in heap layout for this version",
			b->version ? b->version : "unknown Go version",
			ret == -ENOENT ? "no DWARF (built with -w or stripped)"
				       : "DWARF lacks runtime.mheap/heapArena/mspan fields");
		return -ENOTSUP;
	}
	out->mheap = go_binary__symbol(b, "runtime.mheap_", NULL);
	if (!out->mheap) {
		go_errf(err, errlen, "runtime.mheap_ is not in .symtab (stripped binary)");
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
