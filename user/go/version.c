// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Which Go release built a binary, also when its build info is gone.
 *
 * Some projects remove .go.buildinfo (`go version FILE` then says "not a Go
 * executable"), but the runtime keeps its own copy of the version:
 * runtime.buildVersion, a Go string in the data. Without .symtab it is found
 * through code: runtime.schedinit guarantees the variable is linked in with
 *
 *	if buildVersion == "" { buildVersion = "unknown" }
 *
 * which compiles (amd64, every release 1.15 - 1.27 built here) to a compare
 * of the string's length word with 0, `cmp qword [rip+X], 0` (48 83 3d X 00),
 * and a store of len("unknown"), `mov qword [rip+X], 7` (48 c7 05 X 07 00 00
 * 00), both at the same address X = &buildVersion + 8. Both must be in
 * schedinit (found by name through the pclntab) at the same X, the string
 * they point to must read "go1.N..." (or "devel ..."), and N must fit the
 * pclntab format (its magic says which releases can have written it):
 * a guessed "go1." found anywhere in the file is never used.
 *
 * In a PIE file the string's pointer word is 0 until the dynamic loader
 * relocates it; the R_X86_64_RELATIVE relocation for that word holds the
 * address as its addend.
 */
#include <stdlib.h>
#include <string.h>

#include "go/elf_priv.h"

#define R_X86_64_RELATIVE_TYPE 8
#define VERSION_MAX 64 /* "go1.27.3 X:boringcrypto,..." is far shorter */

/* Releases each pclntab format comes from: Go 1.N with lo <= N <= hi. */
static bool minor_fits_pclntab(int pcln_ver, int minor)
{
	switch (pcln_ver) {
	case 12: return minor >= 2 && minor <= 15;
	case 116: return minor >= 16 && minor <= 17;
	case 118: return minor >= 18 && minor <= 19;
	case 120: return minor >= 20;
	default: return false;
	}
}

uint64_t go_binary__relocated_word(const struct go_binary *b, uint64_t addr)
{
	if (gelf_getclass(b->elf) != ELFCLASS64)
		return 0;
	for (size_t i = 0; i < b->nsecs; i++) {
		const struct go_section *s = &b->secs[i];

		if (s->type != SHT_RELA || !s->in_file)
			continue;
		for (uint64_t off = 0; off + 24 <= s->size; off += 24) {
			const uint8_t *r = b->map + s->offset + off;

			if (go_le64(r) == addr &&
			    (go_le64(r + 8) & 0xffffffff) == R_X86_64_RELATIVE_TYPE)
				return go_le64(r + 16);
		}
	}
	return 0;
}

/* The Go string at addr (pointer, length) when it reads as a Go version. */
static char *version_string_at(const struct go_binary *b, uint64_t addr)
{
	unsigned ps = b->pcln.ptrsize ? b->pcln.ptrsize : 8;
	const uint8_t *hdr = go_binary__bytes(b, addr, 2 * ps), *s;
	uint64_t ptr, len;

	if (!hdr)
		return NULL;
	ptr = go_leptr(hdr, ps);
	len = go_leptr(hdr + ps, ps);
	if (!ptr)
		ptr = go_binary__relocated_word(b, addr);
	if (len < 5 || len > VERSION_MAX || !(s = go_binary__bytes(b, ptr, len)))
		return NULL;
	if (memcmp(s, "go1.", 4) && memcmp(s, "devel ", 6))
		return NULL;
	for (uint64_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return NULL;
	return strndup((const char *)s, len);
}

/* X of `cmp qword [rip+X], 0` and `mov qword [rip+X], 7` in schedinit. */
static uint64_t buildversion_from_code(const struct go_binary *b)
{
	uint64_t end, entry = go_binary__func_entry(b, "runtime.schedinit", &end);
	const uint8_t *code;
	uint64_t cmp_x = 0;

	if (!entry || end <= entry || end - entry > (1u << 20) || b->machine != EM_X86_64 ||
	    !(code = go_binary__bytes(b, entry, end - entry)))
		return 0;
	for (uint64_t i = 0; i + 11 <= end - entry; i++) {
		const uint8_t *p = code + i;
		int32_t disp = (int32_t)go_le32(p + 3);

		/* cmp qword [rip+disp], 0: 8 bytes, rip = next instruction */
		if (p[0] == 0x48 && p[1] == 0x83 && p[2] == 0x3d && p[7] == 0)
			cmp_x = entry + i + 8 + (int64_t)disp;
		/* mov qword [rip+disp], imm32 7: 11 bytes */
		else if (p[0] == 0x48 && p[1] == 0xc7 && p[2] == 0x05 && go_le32(p + 7) == 7 &&
			 cmp_x && cmp_x == entry + i + 11 + (int64_t)disp)
			return cmp_x - 8;
	}
	return 0;
}

/*
 * Fill b->version and b->version_source. The build info (read before, in
 * elf.c) wins; then runtime.buildVersion by symbol, then by code. A version
 * that contradicts the pclntab format is not used, whatever its source.
 */
void go_version__find(struct go_binary *b)
{
	uint64_t addr;
	char *v;

	if (b->version && b->pcln.ver && go_version_minor(b->version) >= 0 &&
	    !minor_fits_pclntab(b->pcln.ver, go_version_minor(b->version))) {
		free(b->version); /* build info from another program's bytes? */
		b->version = NULL;
	}
	if (b->version) {
		b->version_source = "buildinfo";
		return;
	}
	if ((addr = go_binary__symbol(b, "runtime.buildVersion", NULL)) &&
	    (v = version_string_at(b, addr))) {
		b->version = v;
		b->version_source = "runtime.buildVersion (symtab)";
	} else if ((addr = buildversion_from_code(b)) && (v = version_string_at(b, addr))) {
		b->version = v;
		b->version_source = "runtime.buildVersion (code: runtime.schedinit)";
	} else {
		return;
	}
	if (b->pcln.ver && go_version_minor(b->version) >= 0 &&
	    !minor_fits_pclntab(b->pcln.ver, go_version_minor(b->version))) {
		free(b->version);
		b->version = NULL;
		b->version_source = NULL;
	}
}

const char *go_binary__version_source(const struct go_binary *b)
{
	return b ? b->version_source : NULL;
}
