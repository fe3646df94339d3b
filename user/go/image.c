// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The bottom of the Go binary reader: the mapped file's sections and the
 * bytes at a link-time address, bounds-checked. Everything above (elf.c,
 * pclntab.c, allgs.c, dwarf.c) reads the file through these, and this file
 * calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "go/elf_priv.h"

void go_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const struct go_section *go_binary__section(const struct go_binary *b, const char *name)
{
	for (size_t i = 0; i < b->nsecs; i++)
		if (!strcmp(b->secs[i].name, name))
			return &b->secs[i];
	return NULL;
}

const struct go_section *go_binary__section_at(const struct go_binary *b, uint64_t addr,
					       uint64_t len)
{
	for (size_t i = 0; i < b->nsecs; i++) {
		const struct go_section *s = &b->secs[i];

		/* Non-alloc sections (debug info, symtab) have address 0 and
		 * must not be mistaken for data at low addresses. */
		if (!(s->flags & SHF_ALLOC) || !s->size)
			continue;
		if (addr >= s->addr && addr - s->addr <= s->size && len <= s->size - (addr - s->addr))
			return s;
	}
	return NULL;
}

const uint8_t *go_binary__bytes(const struct go_binary *b, uint64_t addr, uint64_t len)
{
	const struct go_section *s = go_binary__section_at(b, addr, len);

	if (!s || !s->in_file || s->type == SHT_NOBITS)
		return NULL;
	return b->map + s->offset + (addr - s->addr);
}

/* Link-time address -> file offset through the executable PT_LOAD holding
 * it (the uprobe API takes file offsets); -1 when none does. */
int64_t go_binary__file_offset(const struct go_binary *b, uint64_t vaddr)
{
	size_t n;

	if (!b->elf || elf_getphdrnum(b->elf, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(b->elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return -1;
}

/* Dynamically linked (has a program interpreter)? */
bool go_binary__is_dynamic(const struct go_binary *b)
{
	size_t n;

	if (!b->elf || elf_getphdrnum(b->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(b->elf, i, &ph) && ph.p_type == PT_INTERP)
			return true;
	}
	return false;
}
