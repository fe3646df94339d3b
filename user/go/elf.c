// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Go executables: open, sections, build info, symbols, text start.
 *
 * The whole file is mapped private and copy-on-write: libelf's elf_memory()
 * may convert data in place, and the pclntab is read where it lies instead
 * of being copied. Section offsets are checked against the file size once
 * here, so that every later read only has to stay inside its section.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "go/elf_priv.h"

/* Build info header (cmd/go, debug/buildinfo): 14-byte magic, pointer size,
 * flags, then either two pointers to Go strings (up to 1.17) or, with flag
 * bit 1, two varint-length-prefixed strings right after the 32 bytes. */
static const char buildinfo_magic[] = "\xff Go buildinf:";
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR 32
#define BUILDINFO_INLINE 0x2
#define BUILDINFO_BIGENDIAN 0x1
/* Longest string we accept from build info: the module list of a large
 * program is a few KiB; anything near this is a corrupt length. */
#define GOSTRING_MAX (1u << 20)


static int load_sections(struct go_binary *b, char *err, size_t errlen)
{
	size_t n, shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrnum(b->elf, &n) || elf_getshdrstrndx(b->elf, &shstrndx)) {
		go_errf(err, errlen, "%s: corrupt ELF section table: %s", b->name, elf_errmsg(-1));
		return -ENOEXEC;
	}
	b->secs = calloc(n ? n : 1, sizeof(*b->secs));
	if (!b->secs)
		return -ENOMEM;
	while ((scn = elf_nextscn(b->elf, scn)) && b->nsecs < n) {
		struct go_section *s = &b->secs[b->nsecs++];
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh)) {
			go_errf(err, errlen, "%s: corrupt section header: %s", b->name, elf_errmsg(-1));
			return -ENOEXEC;
		}
		name = elf_strptr(b->elf, shstrndx, sh.sh_name);
		s->name = name ? name : "";
		s->addr = sh.sh_addr;
		s->size = sh.sh_size;
		s->offset = sh.sh_offset;
		s->type = sh.sh_type;
		s->flags = sh.sh_flags;
		s->in_file = sh.sh_type != SHT_NOBITS && sh.sh_offset <= b->size &&
			     sh.sh_size <= b->size - sh.sh_offset;
		if (sh.sh_type == SHT_SYMTAB && s->in_file && sh.sh_link < n)
			b->symtab = s; /* strtab resolved below: secs not complete yet */
	}
	if (b->symtab) {
		Elf_Scn *ss = elf_getscn(b->elf, b->symtab - b->secs + 1);
		GElf_Shdr sh;

		/* secs[i] is section i+1: section 0 (SHN_UNDEF) is skipped by
		 * elf_nextscn. */
		if (ss && gelf_getshdr(ss, &sh) && sh.sh_link >= 1 && sh.sh_link - 1 < b->nsecs &&
		    b->secs[sh.sh_link - 1].in_file)
			b->strtab = &b->secs[sh.sh_link - 1];
		else
			b->symtab = NULL;
	}
	return 0;
}

uint64_t go_binary__symbol(const struct go_binary *b, const char *name, uint64_t *size)
{
	bool is64 = gelf_getclass(b->elf) == ELFCLASS64;
	uint64_t entsz = is64 ? 24 : 16;
	const uint8_t *strs;
	size_t namelen = strlen(name);

	if (size)
		*size = 0;
	if (!b->symtab || !b->strtab)
		return 0;
	strs = b->map + b->strtab->offset;
	for (uint64_t off = 0; off + entsz <= b->symtab->size; off += entsz) {
		const uint8_t *e = b->map + b->symtab->offset + off;
		uint32_t st_name = go_le32(e);

		if (st_name >= b->strtab->size || b->strtab->size - st_name <= namelen)
			continue;
		if (memcmp(strs + st_name, name, namelen + 1))
			continue;
		if (size)
			*size = is64 ? go_le64(e + 16) : go_le32(e + 8);
		return is64 ? go_le64(e + 8) : go_le32(e + 4);
	}
	return 0;
}

/* A copy of a string from the file if it looks like text, else NULL. */
static char *dup_text(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t')
			return NULL;
	return strndup((const char *)p, len);
}

/* A Go string header (pointer, length) at addr, read up to 1.17 and for
 * runtime.buildVersion: its bytes and length. In PIE files the pointer may
 * still be 0 (it is relocated at load time): then the string is unknown. */
static const uint8_t *read_gostring(const struct go_binary *b, uint64_t addr, unsigned ptrsize,
				    uint64_t *len)
{
	const uint8_t *hdr = go_binary__bytes(b, addr, 2 * ptrsize);

	*len = 0;
	if (!hdr)
		return NULL;
	*len = go_leptr(hdr + ptrsize, ptrsize);
	if (!*len || *len > GOSTRING_MAX)
		return NULL;
	return go_binary__bytes(b, go_leptr(hdr, ptrsize), *len);
}

/* A uvarint-prefixed string in [*p, end): its bytes and length; advances
 * *p past it. */
static const uint8_t *read_varstring(const uint8_t **p, const uint8_t *end, uint64_t *len)
{
	const uint8_t *s;

	*len = 0;
	for (int shift = 0;; shift += 7) {
		if (*p >= end || shift > 63)
			return NULL;
		*len |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			break;
	}
	if (*len > GOSTRING_MAX || *len > (uint64_t)(end - *p))
		return NULL;
	s = *p;
	*p += *len;
	return s;
}

/* The module info string: 16 bytes of binary sentinel on each side, then
 * lines "path\tMAIN", "mod\tMODULE\tVERSION\tSUM", "dep\t...". */
static void parse_modinfo(struct go_binary *b, const uint8_t *mod, uint64_t len)
{
	char *copy, *line, *save = NULL;

	if (!mod || len < 33 || mod[len - 17] != '\n')
		return;
	copy = dup_text(mod + 16, len - 32);
	for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f = strchr(line, '\t'), *e;

		if (!f)
			continue;
		*f++ = 0;
		if ((e = strchr(f, '\t')))
			*e = 0;
		if (!strcmp(line, "path") && !b->main_path)
			b->main_path = strdup(f);
		else if (!strcmp(line, "mod") && !b->module_path)
			b->module_path = strdup(f);
	}
	free(copy);
}

/* Address of the build info header: its section, else a 16-aligned magic in
 * a writable data section (what Go's own reader does without sections). */
static uint64_t find_buildinfo(const struct go_binary *b)
{
	const struct go_section *s = go_binary__section(b, ".go.buildinfo");

	if (s && s->in_file && s->size >= BUILDINFO_HDR &&
	    !memcmp(b->map + s->offset, buildinfo_magic, BUILDINFO_MAGIC_LEN))
		return s->addr;
	for (size_t i = 0; i < b->nsecs; i++) {
		s = &b->secs[i];
		if (!s->in_file || s->type != SHT_PROGBITS || !(s->flags & SHF_WRITE) ||
		    !(s->flags & SHF_ALLOC))
			continue;
		for (uint64_t off = (16 - s->addr % 16) % 16; off + BUILDINFO_HDR <= s->size;
		     off += 16)
			if (!memcmp(b->map + s->offset + off, buildinfo_magic, BUILDINFO_MAGIC_LEN))
				return s->addr + off;
	}
	return 0;
}

/* Returns true when the build info magic was found (the file is Go). */
static bool read_buildinfo(struct go_binary *b)
{
	uint64_t addr = find_buildinfo(b), len = 0, modlen = 0;
	const uint8_t *h, *mod = NULL;
	const struct go_section *s;
	unsigned ptrsize;

	if (!addr || !(s = go_binary__section_at(b, addr, BUILDINFO_HDR)) ||
	    !(h = go_binary__bytes(b, addr, BUILDINFO_HDR)))
		return false;
	ptrsize = h[14];
	if (h[15] & BUILDINFO_INLINE) {
		const uint8_t *p = h + BUILDINFO_HDR, *v;
		const uint8_t *end = b->map + s->offset + s->size;

		if ((v = read_varstring(&p, end, &len))) {
			b->version = len ? dup_text(v, len) : NULL;
			mod = read_varstring(&p, end, &modlen);
		}
	} else if ((ptrsize == 4 || ptrsize == 8) && !(h[15] & BUILDINFO_BIGENDIAN)) {
		const uint8_t *v = read_gostring(b, go_leptr(h + 16, ptrsize), ptrsize, &len);

		b->version = v ? dup_text(v, len) : NULL;
		mod = read_gostring(b, go_leptr(h + 16 + ptrsize, ptrsize), ptrsize, &modlen);
	}
	parse_modinfo(b, mod, modlen);
	return true;
}

static const struct go_section *pclntab_section(const struct go_binary *b)
{
	const struct go_section *s = go_binary__section(b, ".gopclntab");

	/* PIE builds up to 1.25 put it in relro data: it holds pointers. */
	if (!s)
		s = go_binary__section(b, ".data.rel.ro.gopclntab");
	return s && s->in_file ? s : NULL;
}

/*
 * runtime.firstmoduledata, found by content: its first word points to the
 * pclntab header and the funcnametab, pclntable and ftab slices that follow
 * point into it. Layout (runtime/symtab.go, unchanged from 1.16 to 1.27 up
 * to text): pcHeader, 6 slices, findfunctab, minpc, maxpc, text at word 22;
 * gofunc at word 38 in 1.18-1.19, 40 in 1.20-1.26 (covctrs added), 43 in
 * 1.27 (typedesclen, itaboffset, itabsize added): 43 when epclntab (the
 * pclntab's end) follows it, else 40 (word 40 of 1.27 is a small offset,
 * in no section).
 * Only used for 1.18+ tables, whose pcs are offsets from text.
 */
static void find_moduledata(struct go_binary *b)
{
	static const char *const where[] = { ".go.module", ".noptrdata", ".data" };
	static const unsigned gofunc_words[] = { 38, 43, 40 };
	const struct go_pclntab *t = &b->pcln;
	uint64_t ps = t->ptrsize;

	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		const struct go_section *s = go_binary__section(b, where[w]);

		if (!s || !s->in_file)
			continue;
		for (uint64_t off = 0; off + 23 * ps <= s->size; off += ps) {
			const uint8_t *m = b->map + s->offset + off;
			uint64_t text;

			if (go_leptr(m, ps) != t->addr ||
			    go_leptr(m + 1 * ps, ps) != t->addr + t->funcnametab ||
			    go_leptr(m + 13 * ps, ps) != t->addr + t->funcdata ||
			    go_leptr(m + 16 * ps, ps) != t->addr + t->functab ||
			    go_leptr(m + 17 * ps, ps) != t->nfunc + 1)
				continue;
			b->moduledata = s->addr + off;
			text = go_leptr(m + 22 * ps, ps);
			s = go_binary__section_at(b, text, 1);
			if (s && (s->flags & SHF_EXECINSTR) && text <= go_leptr(m + 20 * ps, ps)) {
				b->text_start = text;
				b->text_source = "moduledata";
			}
			s = go_binary__section_at(b, b->moduledata, 1);
			for (size_t i = 0; s && i < sizeof(gofunc_words) / sizeof(gofunc_words[0]); i++) {
				unsigned gw = gofunc_words[i];
				uint64_t gofunc, epcln;

				if ((gw == 38) != (t->ver < 120) ||
				    b->moduledata - s->addr + (gw + 2) * ps > s->size)
					continue;
				gofunc = go_leptr(m + gw * ps, ps);
				epcln = go_leptr(m + (gw + 1) * ps, ps);
				/* 1.27's word 43 only when epclntab follows it */
				if (gw == 43 && (epcln <= t->addr || epcln > t->addr + t->size))
					continue;
				if (go_binary__section_at(b, gofunc, 1)) {
					b->gofunc = gofunc;
					break;
				}
			}
			return;
		}
	}
}

static void find_text_start(struct go_binary *b)
{
	const struct go_section *text = go_binary__section(b, ".text");
	uint64_t v;

	if (b->pcln.ver >= 118)
		find_moduledata(b);
	if ((v = go_binary__symbol(b, "runtime.text", NULL))) {
		b->text_start = v; /* the symbol wins over the content match */
		b->text_source = "symtab";
	} else if (!b->text_source && b->pcln.hdr_text) {
		b->text_start = b->pcln.hdr_text;
		b->text_source = "pclntab header";
	} else if (!b->text_source && text) {
		/* Right for internal linking; with external linking C code
		 * may come first, hence the last resort. */
		b->text_start = text->addr;
		b->text_source = ".text section";
	}
	if (!b->gofunc && b->pcln.ver >= 118) {
		b->gofunc = go_binary__symbol(b, b->pcln.ver >= 120 ? "go:func.*" : "go.func.*", NULL);
	}
}

/*
 * A file that is not readable as Go (no sections, damaged ones) but carries
 * Go's marks in its bytes: the build info magic, the Go build ID note, a
 * pclntab header. Such a process has
 * goroutines that must be reported as unread, never silently skipped.
 * Returns what was found, or NULL.
 */
static const char *go_marks(const struct go_binary *b, char *why, size_t len)
{
	static const uint8_t magics[][4] = {
		{ 0xf1, 0xff, 0xff, 0xff }, { 0xf0, 0xff, 0xff, 0xff },
		{ 0xfa, 0xff, 0xff, 0xff }, { 0xfb, 0xff, 0xff, 0xff },
	};
	const uint8_t *m = b->map, *end = b->map + b->size, *p;

	/* Each mark is checked beyond its needle (the bytes around it), so
	 * that a program holding the needle as a string, like parkwatch,
	 * is not taken for Go. Build info: magic, pointer size, flags. */
	for (p = m; p && (p = memmem(p, end - p, " Go buildinf:", 13)); p++)
		if (p > m && p[-1] == 0xff && end - p >= 15 && (p[13] == 4 || p[13] == 8) &&
		    !(p[14] & ~3)) {
			snprintf(why, len, "a Go build info header");
			return why;
		}
	/* Note: type 4 (NT_GO_BUILD_ID), name "Go\0\0" of size 4. */
	for (p = m; p && (p = memmem(p, end - p, "\x04\0\0\0Go\0\0", 8)); p++)
		if (p - m >= 8 && p[-8] == 4 && !p[-7] && !p[-6] && !p[-5] && p[-4] >= 16 &&
		    !p[-3] && !p[-2] && !p[-1]) {
			snprintf(why, len, "a Go build ID note");
			return why;
		}
	/* pclntab header: magic, two zero bytes, PC quantum, pointer size. */
	for (size_t k = 0; k < sizeof(magics) / sizeof(*magics); k++)
		for (p = m; p && (p = memmem(p, end - p, magics[k], 4)); p++)
			if (end - p >= 8 && !p[4] && !p[5] && (p[6] == 1 || p[6] == 2 || p[6] == 4) &&
			    (p[7] == 4 || p[7] == 8)) {
				snprintf(why, len, "a pclntab header at file offset 0x%zx",
					 (size_t)(p - m));
				return why;
			}
	return NULL;
}

static int go_binary__load(struct go_binary *b, char *err, size_t errlen)
{
	const struct go_section *pcs;
	GElf_Ehdr eh;
	char note[160] = "";
	bool has_buildinfo;
	int ret;

	if (b->size < EI_NIDENT || memcmp(b->map, ELFMAG, SELFMAG)) {
		go_errf(err, errlen, "%s: not an ELF file", b->name);
		return -ENOEXEC;
	}
	if (b->map[EI_DATA] != ELFDATA2LSB) {
		go_errf(err, errlen, "%s: big-endian ELF is not supported", b->name);
		return -ENOTSUP;
	}
	elf_version(EV_CURRENT);
	b->elf = elf_memory((char *)b->map, b->size);
	if (!b->elf || elf_kind(b->elf) != ELF_K_ELF || !gelf_getehdr(b->elf, &eh)) {
		go_errf(err, errlen, "%s: corrupt ELF file: %s", b->name, elf_errmsg(-1));
		return -ENOEXEC;
	}
	b->machine = eh.e_machine;
	if ((ret = load_sections(b, err, errlen))) {
		char why[64], damage[160];

		if (ret != -ENOEXEC || !go_marks(b, why, sizeof(why)))
			return ret;
		snprintf(damage, sizeof(damage), "%s", err);
		go_errf(err, errlen, "looks like Go (%s) but cannot be read as Go: %s", why, damage);
		return -ENOTSUP;
	}

	has_buildinfo = read_buildinfo(b);
	if ((pcs = pclntab_section(b)))
		go_pclntab__parse(b, b->map + pcs->offset, pcs->size, pcs->addr, note, sizeof(note));
	else
		snprintf(note, sizeof(note), "no .gopclntab section");
	b->is_go = has_buildinfo || b->pcln.ver;
	if (!b->is_go) {
		char why[64];

		if (go_marks(b, why, sizeof(why))) {
			go_errf(err, errlen, "%s: looks like Go (%s) but cannot be read as Go: %s "
				"(%zu ELF sections)", b->name, why, note, b->nsecs);
			return -ENOTSUP;
		}
		go_errf(err, errlen, "%s: not a Go binary (no Go build info, %s)", b->name, note);
		return 0;
	}
	if (b->pcln.ver)
		find_text_start(b);
	go_version__find(b); /* needs the pclntab and text start */
	go_errf(err, errlen, "%s", note);
	return 0;
}

struct go_binary *go_binary__open_fd(int fd, const char *name, int *errp, char *err,
				     size_t errlen)
{
	struct go_binary *b = calloc(1, sizeof(*b));
	struct stat st;
	int ret = 0;

	if (err && errlen)
		err[0] = 0;
	if (!b || !(b->name = strdup(name ? name : "(fd)"))) {
		ret = -ENOMEM;
		go_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		go_errf(err, errlen, "%s: %s", b->name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < EI_NIDENT) {
		ret = -ENOEXEC;
		go_errf(err, errlen, "%s: not an ELF file", b->name);
		goto fail;
	}
	b->size = st.st_size;
	/* Private and writable: libelf may write (converting), the file not. */
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		ret = -errno;
		go_errf(err, errlen, "%s: mmap: %s", b->name, strerror(errno));
		goto fail;
	}
	if ((ret = go_binary__load(b, err, errlen)))
		goto fail;
	if (errp)
		*errp = 0;
	return b;
fail:
	if (errp)
		*errp = ret;
	go_binary__free(b);
	return NULL;
}

struct go_binary *go_binary__open(const char *path, int *errp, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct go_binary *b;

	if (fd < 0) {
		if (errp)
			*errp = -errno;
		go_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	b = go_binary__open_fd(fd, path, errp, err, errlen);
	close(fd);
	return b;
}

void go_binary__free(struct go_binary *b)
{
	if (!b)
		return;
	if (b->elf)
		elf_end(b->elf);
	if (b->map)
		munmap(b->map, b->size);
	free(b->secs);
	for (int i = 0; i < b->nwait_names; i++)
		free(b->wait_names[i]);
	free(b->wait_names);
	free(b->version);
	free(b->main_path);
	free(b->module_path);
	free(b->name);
	free(b);
}

bool go_binary__is_go(const struct go_binary *b)
{
	return b && b->is_go;
}

const char *go_binary__version(const struct go_binary *b)
{
	return b ? b->version : NULL;
}

const char *go_binary__main_path(const struct go_binary *b)
{
	return b ? b->main_path : NULL;
}

const char *go_binary__module_path(const struct go_binary *b)
{
	return b ? b->module_path : NULL;
}

int go_binary__pclntab_version(const struct go_binary *b)
{
	return b ? b->pcln.ver : 0;
}

uint64_t go_binary__text_start(const struct go_binary *b, const char **source)
{
	if (source)
		*source = b->text_source;
	return b->text_start;
}
