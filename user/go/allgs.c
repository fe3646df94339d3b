// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * runtime.allgs and runtime.allglen without a symbol table.
 *
 * Every goroutine ever created is in the slice runtime.allgs; its length is
 * mirrored in runtime.allglen for lock-free readers. `-ldflags=-s` drops
 * .symtab, but the pclntab still names runtime.allgadd, the one function
 * that appends to allgs:
 *
 *     lock(&allglock)
 *     allgs = append(allgs, gp)              // reads and writes ptr, len, cap
 *     ... allgptr ...
 *     atomic.Storeuintptr(&allglen, uintptr(len(allgs)))
 *
 * Heuristic (x86-64 only), over the bytes of allgadd [entry, end):
 *
 *  1. Every offset is tried as the start of a 64-bit RIP-relative
 *     instruction: REX.W prefix (0x48-0x4f), opcode mov load 8b, mov store
 *     89, lea 8d, cmp 39/3b or xchg 87, ModRM with mod=00 rm=101, disp32;
 *     target = address after the 7 bytes + disp32. Trying every offset
 *     instead of decoding the instruction stream keeps unknown opcodes from
 *     derailing the scan; stray matches are filtered by steps 2 and 3.
 *  2. allgs = the one address T in a writable section such that T, T+8 and
 *     T+16 are all read or written by mov: a slice header accessed in full,
 *     which append does and nothing else in allgadd does. Zero or several
 *     such T: failure.
 *  3. allglen = an address L outside [T, T+24) in a writable section,
 *     stored from the register just loaded from T+8 (len(allgs)):
 *       1.16+: mov T+8(%rip),%rX ; lea L(%rip),%rY ; xchg %rX,(%rY)
 *       1.15:  mov T+8(%rip),%rX ; mov %rX,L(%rip)
 *     Several distinct L: allglen stays 0 (unknown), allgs is still given.
 *
 * Verified against .symtab on the idle fixture built with go1.15.15 (a
 * small program), 1.16.15, 1.17.13, 1.18.10, 1.19.8, 1.20.14, 1.21.13,
 * 1.22.12, 1.23.12, 1.24.0, 1.25.0 and 1.26.8, default, stripped (-s -w)
 * and PIE builds (tests/goelf.bats).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "go/elf_priv.h"

#define OP_MOV_LOAD 0x8b
#define OP_MOV_STORE 0x89
#define OP_LEA 0x8d
#define OP_XCHG 0x87
#define RIPREL_LEN 7     /* REX + opcode + ModRM + disp32 */
#define SCAN_MAX 4096    /* allgadd is ~300-500 bytes; don't scan a huge corrupt range */
#define MAX_REFS 512

struct ref {
	uint64_t off;    /* of the instruction, from the function entry */
	uint64_t target;
	uint8_t op;
	uint8_t reg;     /* ModRM.reg with REX.R */
};

static bool writable(const struct go_binary *b, uint64_t addr, uint64_t len)
{
	const struct go_section *s = go_binary__section_at(b, addr, len);

	return s && (s->flags & SHF_WRITE);
}

static int collect(const uint8_t *code, uint64_t len, uint64_t entry, struct ref *refs)
{
	int n = 0;

	for (uint64_t i = 0; i + RIPREL_LEN <= len && n < MAX_REFS; i++) {
		uint8_t rex = code[i], op = code[i + 1], modrm = code[i + 2];

		if ((rex & 0xf8) != 0x48 || (modrm & 0xc7) != 0x05)
			continue;
		if (op != OP_MOV_LOAD && op != OP_MOV_STORE && op != OP_LEA && op != 0x39 &&
		    op != 0x3b && op != OP_XCHG)
			continue;
		refs[n].off = i;
		refs[n].target = entry + i + RIPREL_LEN + (int64_t)(int32_t)go_le32(code + i + 3);
		refs[n].op = op;
		refs[n].reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		n++;
	}
	return n;
}

static bool has_mov(const struct ref *refs, int n, uint64_t target)
{
	for (int i = 0; i < n; i++)
		if (refs[i].target == target &&
		    (refs[i].op == OP_MOV_LOAD || refs[i].op == OP_MOV_STORE))
			return true;
	return false;
}

/* The ref at offset off, if one was collected there. */
static const struct ref *ref_at(const struct ref *refs, int n, uint64_t off)
{
	for (int i = 0; i < n; i++)
		if (refs[i].off == off)
			return &refs[i];
	return NULL;
}

/* Step 3: the allglen store for ref r, or 0. */
static uint64_t allglen_store(const uint8_t *code, uint64_t len, const struct ref *refs, int n,
			      const struct ref *r, uint64_t allgs)
{
	const struct ref *load;
	unsigned value_reg;

	if (r->off < RIPREL_LEN || r->target - allgs < 24)
		return 0;
	if (r->op == OP_MOV_STORE) {
		value_reg = r->reg;
	} else if (r->op == OP_LEA) {
		/* xchg %rX,(%rY): REX.W 87 ModRM(mod=00, reg=X, rm=Y) */
		const uint8_t *x = code + r->off + RIPREL_LEN;
		unsigned rm;

		if (r->off + RIPREL_LEN + 3 > len || (x[0] & 0xf8) != 0x48 || x[1] != OP_XCHG ||
		    (x[2] & 0xc0))
			return 0;
		rm = (x[2] & 7) | ((x[0] & 1) << 3);
		if ((x[2] & 7) == 4 || (x[2] & 7) == 5 || rm != r->reg)
			return 0;
		value_reg = ((x[2] >> 3) & 7) | ((x[0] & 4) << 1);
	} else {
		return 0;
	}
	load = ref_at(refs, n, r->off - RIPREL_LEN);
	if (!load || load->op != OP_MOV_LOAD || load->target != allgs + 8 || load->reg != value_reg)
		return 0;
	return r->target;
}

int go_binary__find_allgs_in_code(const struct go_binary *b, struct go_allgs *out, char *err,
				  size_t errlen)
{
	struct ref *refs;
	uint64_t entry, end, len, allgs = 0, allglen = 0;
	const uint8_t *code;
	int n;

	memset(out, 0, sizeof(*out));
	if (b->machine != EM_X86_64) {
		go_errf(err, errlen, "no runtime.allgs symbol, and finding it from code "
			"is only implemented for x86-64");
		return -ENOTSUP;
	}
	entry = go_binary__func_entry(b, "runtime.allgadd", &end);
	if (!entry || end <= entry) {
		go_errf(err, errlen, "no runtime.allgs symbol, and runtime.allgadd is not "
			"in the pclntab");
		return -ENOENT;
	}
	len = end - entry < SCAN_MAX ? end - entry : SCAN_MAX;
	if (!(code = go_binary__bytes(b, entry, len))) {
		go_errf(err, errlen, "runtime.allgadd at 0x%lx is outside the file",
			(unsigned long)entry);
		return -ENOENT;
	}
	if (!(refs = calloc(MAX_REFS, sizeof(*refs))))
		return -ENOMEM;
	n = collect(code, len, entry, refs);
	for (int i = 0; i < n; i++) {
		uint64_t t = refs[i].target;

		if ((refs[i].op != OP_MOV_LOAD && refs[i].op != OP_MOV_STORE) || t == allgs ||
		    !writable(b, t, 24) || !has_mov(refs, n, t + 8) || !has_mov(refs, n, t + 16))
			continue;
		if (allgs) {
			go_errf(err, errlen, "runtime.allgadd: two slice candidates for "
				"runtime.allgs (0x%lx, 0x%lx)", (unsigned long)allgs,
				(unsigned long)t);
			free(refs);
			return -ENOENT;
		}
		allgs = t;
	}
	if (!allgs) {
		go_errf(err, errlen, "runtime.allgadd: no slice header accessed in full, "
			"runtime.allgs not found");
		free(refs);
		return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		uint64_t l = allglen_store(code, len, refs, n, &refs[i], allgs);

		if (!l || !writable(b, l, 8) || l == allglen)
			continue;
		if (allglen) {
			allglen = 0; /* ambiguous: better unknown than wrong */
			break;
		}
		allglen = l;
	}
	free(refs);
	out->allgs = allgs;
	out->allglen = allglen;
	out->source = "code: runtime.allgadd";
	return 0;
}

int go_binary__find_allgs(const struct go_binary *b, struct go_allgs *out, char *err,
			  size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (!b->is_go) {
		go_errf(err, errlen, "not a Go binary");
		return -ENOENT;
	}
	if ((out->allgs = go_binary__symbol(b, "runtime.allgs", NULL))) {
		out->allglen = go_binary__symbol(b, "runtime.allglen", NULL);
		out->source = "symtab";
		return 0;
	}
	return go_binary__find_allgs_in_code(b, out, err, errlen);
}
