/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals shared by the Go binary reader's files. Layers, each calling
 * only those below it: image.c (sections, bytes) < pclntab.c (the table)
 * < elf.c (open, build info, symbols) < allgs.c, dwarf.c. */
#ifndef PW_GOELF_PRIV_H
#define PW_GOELF_PRIV_H

#include <stdarg.h>
#include <gelf.h>
#include "go/elf.h"

struct go_section {
	const char *name;
	uint64_t addr, size;
	uint64_t offset;   /* in the file */
	uint32_t type;     /* SHT_* */
	uint64_t flags;    /* SHF_* */
	bool in_file;      /* file bytes [offset, offset+size) exist */
};

/* The pclntab, parsed once at open. Each table is a window into the
 * section: [start, end of section), so a bad offset cannot reach further. */
struct go_pclntab {
	const uint8_t *data;
	uint64_t size;
	uint64_t addr;        /* link-time address of the header */
	int ver;              /* 12, 116, 118, 120; 0 = none */
	unsigned quantum, ptrsize;
	uint64_t nfunc;
	uint64_t hdr_text;    /* textStart stored in 1.18-1.25 headers, else 0 */
	uint64_t funcnametab, cutab, filetab, pctab, funcdata, functab; /* offsets */
	uint64_t filetab12_n; /* Go 1.2-1.15: entries in the file table */
};

struct go_binary {
	uint8_t *map;
	size_t size;
	Elf *elf;
	char *name;
	uint16_t machine;
	bool is_go;

	struct go_section *secs;
	size_t nsecs;
	const struct go_section *symtab, *strtab;

	char *version, *main_path, *module_path;
	const char *version_source; /* see go_binary__version_source() */
	char **wait_names;   /* runtime.waitReasonStrings (reasons.c), read once */
	int nwait_names;     /* 0: not read yet, -1: not found */
	const char *wait_names_source;

	struct go_pclntab pcln;
	uint64_t text_start;
	const char *text_source;
	uint64_t moduledata; /* runtime.firstmoduledata, 0 if not found */
	uint64_t gofunc;     /* moduledata.gofunc (1.18+), base of funcdata */
};

/* Little-endian loads from a bounds-checked pointer. */
static inline uint32_t go_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t go_le64(const uint8_t *p)
{
	return (uint64_t)go_le32(p) | (uint64_t)go_le32(p + 4) << 32;
}

/* A pointer-sized little-endian word (4 or 8 bytes). */
static inline uint64_t go_leptr(const uint8_t *p, unsigned ptrsize)
{
	return ptrsize == 4 ? go_le32(p) : go_le64(p);
}

/* image.c */
const struct go_section *go_binary__section(const struct go_binary *b, const char *name);
/* The section containing [addr, addr+len), or NULL. */
const struct go_section *go_binary__section_at(const struct go_binary *b, uint64_t addr,
					       uint64_t len);
/* File bytes at link-time address addr (len of them exist), or NULL: NOBITS
 * and out-of-file ranges are NULL too. */
const uint8_t *go_binary__bytes(const struct go_binary *b, uint64_t addr, uint64_t len);
void go_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* pclntab.c: parse the header; 0 or -errno with a sentence. */
int go_pclntab__parse(struct go_binary *b, const uint8_t *data, uint64_t size, uint64_t addr,
		      char *err, size_t errlen);

/* version.c: the version when build info has none (or a wrong one). */
void go_version__find(struct go_binary *b);
/* The addend of the R_X86_64_RELATIVE relocation of the word at addr: what
 * a PIE file's pointer there holds once loaded (the file has 0). 0: none. */
uint64_t go_binary__relocated_word(const struct go_binary *b, uint64_t addr);

/* runtime.mheap_ (link time): .symtab, else the code of
 * runtime.mallocinit; 0 when not found (heap_layout.c). */
uint64_t go_binary__heap_mheap(const struct go_binary *b);

#endif
