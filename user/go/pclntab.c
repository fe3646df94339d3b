// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Go's pc/line table (.gopclntab): pc -> function, file:line, inlining.
 *
 * The runtime needs this table for tracebacks and the GC, so it is in every
 * Go binary, stripped or not. Format (Go's debug/gosym/pclntab.go and
 * runtime/symtab.go, read on disk for each version):
 *
 *   header   magic u32, 0, 0, pc quantum u8, pointer size u8, then words:
 *            1.2-1.15  nfunc, then functab right after
 *            1.16-1.17 nfunc nfiles funcname cu file pc funcdata (offsets)
 *            1.18+     nfunc nfiles textStart funcname cu file pc funcdata
 *   functab  nfunc+1 pairs (pc, _func offset): pointer-sized absolute pcs
 *            before 1.18, u32 offsets from runtime.text since; the last pc
 *            is the end of the last function.
 *   _func    entry (pointer, or u32 offset since 1.18), then u32 fields
 *            nameoff args deferreturn pcsp pcfile pcln npcdata [cuOffset
 *            1.16+] [startLine 1.20+], 4 bytes of funcID/flags/nfuncdata,
 *            then pcdata[npcdata] u32 and funcdata[nfuncdata] (pointers,
 *            8-aligned, before 1.18; u32 offsets from moduledata.gofunc
 *            since).
 *   pc-value tables: (value delta, pc delta) uvarint pairs; the value
 *            delta is zig-zag, the pc delta is scaled by the quantum; a
 *            zero value delta after the first pair ends the table.
 *
 * The header and functab are checked at parse time; everything reached
 * through an offset is checked where it is read (section-relative windows).
 */
#include <errno.h>
#include <string.h>

#include "go/elf_priv.h"

#define MAGIC_12 0xfffffffbu
#define MAGIC_116 0xfffffffau
#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u

#define PCDATA_INLTREEINDEX 2
/* FUNCDATA_InlTree: 3 since 1.16; 4 in 1.15 (FUNCDATA_RegPointerMaps was
 * 2). Older layouts are not verified: no inline frames for them. */
#define FUNCDATA_INLTREE 3
#define FUNCDATA_INLTREE_115 4
/* A frame chain longer than this is a corrupt inline tree. */
#define MAX_INLINE_DEPTH 256

struct fn {
	uint64_t off;   /* of the _func in the pclntab */
	uint64_t avail; /* bytes from off to the end of the pclntab */
	uint64_t entry, end;
	unsigned fixed; /* size of the fixed part */
};

static unsigned functab_field(const struct go_pclntab *t)
{
	return t->ver >= 118 ? 4 : t->ptrsize;
}

/* An offset from the pclntab start with n bytes behind it, else NULL. */
static const uint8_t *at(const struct go_pclntab *t, uint64_t off, uint64_t n)
{
	if (off > t->size || n > t->size - off)
		return NULL;
	return t->data + off;
}

/* A NUL-terminated string at off, inside the pclntab. */
static const char *str_at(const struct go_pclntab *t, uint64_t off)
{
	if (off >= t->size || !memchr(t->data + off, 0, t->size - off))
		return NULL;
	return (const char *)t->data + off;
}

int go_pclntab__parse(struct go_binary *b, const uint8_t *data, uint64_t size, uint64_t addr,
		      char *err, size_t errlen)
{
	struct go_pclntab *t = &b->pcln;
	uint64_t ps, fs, words[8] = {};
	unsigned nwords;
	uint32_t magic;

	memset(t, 0, sizeof(*t));
	if (size < 16) {
		go_errf(err, errlen, ".gopclntab too short");
		return -EINVAL;
	}
	magic = go_le32(data);
	ps = data[7];
	t->data = data;
	t->size = size;
	t->addr = addr;
	t->quantum = data[6];
	t->ptrsize = ps;
	switch (magic) {
	case MAGIC_12: t->ver = 12; nwords = 1; break;
	case MAGIC_116: t->ver = 116; nwords = 7; break;
	case MAGIC_118: t->ver = 118; nwords = 8; break;
	case MAGIC_120: t->ver = 120; nwords = 8; break;
	default:
		go_errf(err, errlen, "unknown .gopclntab magic 0x%08x", magic);
		return -ENOTSUP;
	}
	if (data[4] || data[5] || (ps != 4 && ps != 8) ||
	    (t->quantum != 1 && t->quantum != 2 && t->quantum != 4) || size < 8 + nwords * ps) {
		go_errf(err, errlen, "malformed .gopclntab header");
		t->ver = 0;
		return -EINVAL;
	}
	for (unsigned i = 0; i < nwords; i++)
		words[i] = go_leptr(data + 8 + i * ps, ps);
	t->nfunc = words[0];
	switch (t->ver) {
	case 12:
		/* Names, pc tables and _func offsets are all from the start. */
		t->functab = 8 + ps;
		break;
	case 116:
		t->funcnametab = words[2];
		t->cutab = words[3];
		t->filetab = words[4];
		t->pctab = words[5];
		t->funcdata = t->functab = words[6];
		break;
	default:
		t->hdr_text = words[2];
		t->funcnametab = words[3];
		t->cutab = words[4];
		t->filetab = words[5];
		t->pctab = words[6];
		t->funcdata = t->functab = words[7];
		break;
	}
	fs = functab_field(t);
	if (t->funcnametab > size || t->cutab > size || t->filetab > size || t->pctab > size ||
	    t->functab > size || t->nfunc == 0 || t->nfunc > size / (2 * fs) ||
	    !at(t, t->functab, (2 * t->nfunc + 1) * fs)) {
		go_errf(err, errlen, "malformed .gopclntab: table offsets out of bounds");
		t->ver = 0;
		return -EINVAL;
	}
	if (t->ver == 12) {
		const uint8_t *p = at(t, t->functab + (2 * t->nfunc + 1) * fs, 4);

		/* The file table: u32 count, then u32 string offsets. */
		t->filetab = p ? go_le32(p) : 0;
		p = at(t, t->filetab, 4);
		t->filetab12_n = p ? go_le32(p) : 0;
		if (!at(t, t->filetab, t->filetab12_n * 4))
			t->filetab12_n = 0; /* lookups work, files unknown */
	}
	return 0;
}

static uint64_t functab_word(const struct go_binary *b, uint64_t i)
{
	const struct go_pclntab *t = &b->pcln;
	unsigned fs = functab_field(t);

	/* i <= 2 * nfunc: (2 * nfunc + 1) words checked at parse time. */
	return fs == 4 ? go_le32(t->data + t->functab + i * 4)
		       : go_le64(t->data + t->functab + i * 8);
}

static uint64_t func_pc(const struct go_binary *b, uint64_t i)
{
	uint64_t v = functab_word(b, 2 * i);

	return b->pcln.ver >= 118 ? v + b->text_start : v;
}

/* The _func of functab entry i, with its fixed part readable. */
static int func_get(const struct go_binary *b, uint64_t i, struct fn *f)
{
	const struct go_pclntab *t = &b->pcln;
	unsigned esize = t->ver >= 118 ? 4 : t->ptrsize;
	unsigned nfields = t->ver == 12 ? 7 : t->ver == 120 ? 9 : 8;

	f->off = t->funcdata + functab_word(b, 2 * i + 1);
	f->fixed = esize + 4 * nfields + 4;
	if (f->off < t->funcdata || !at(t, f->off, f->fixed))
		return -EINVAL;
	f->avail = t->size - f->off;
	f->entry = func_pc(b, i);
	f->end = func_pc(b, i + 1);
	return 0;
}

/* u32 field n after the entry: 0 nameoff, 3 pcsp, 4 pcfile, 5 pcln,
 * 6 npcdata, 7 cuOffset. */
static uint32_t func_field(const struct go_pclntab *t, const struct fn *f, unsigned n)
{
	unsigned esize = t->ver >= 118 ? 4 : t->ptrsize;

	return go_le32(t->data + f->off + esize + 4 * n);
}

static const char *func_name(const struct go_pclntab *t, uint32_t nameoff)
{
	return str_at(t, t->funcnametab + nameoff);
}

/* Index of the function containing pc, or -ENOENT. */
static int64_t func_find(const struct go_binary *b, uint64_t pc)
{
	uint64_t lo = 0, hi = b->pcln.nfunc;

	if (!b->pcln.ver || pc < func_pc(b, 0) || pc >= func_pc(b, hi))
		return -ENOENT;
	/* Largest i with pc(i) <= pc: the table is sorted by pc. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (func_pc(b, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int read_uvarint(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return -EINVAL;
		*v |= (uint32_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return 0;
	}
	return -EINVAL;
}

/* The value of pc-value table off (in pctab) at target, for a function
 * starting at entry. -ENOENT when there is no table or target is past it. */
static int pcvalue(const struct go_pclntab *t, uint32_t off, uint64_t entry, uint64_t target,
		   int32_t *val)
{
	const uint8_t *p, *end = t->data + t->size;
	uint64_t pc = entry;
	int32_t v = -1;

	if (!off || !(p = at(t, t->pctab + off, 1)))
		return -ENOENT;
	for (bool first = true;; first = false) {
		uint32_t uv, pcd;

		if (read_uvarint(&p, end, &uv))
			return -EINVAL;
		if (!uv && !first)
			return -ENOENT;
		if (read_uvarint(&p, end, &pcd))
			return -EINVAL;
		/* zig-zag: low bit is the sign; wrapping (unsigned) sum, as a
		 * hostile table may overflow */
		v = (int32_t)((uint32_t)v + ((uv & 1) ? ~(uv >> 1) : uv >> 1));
		pc += (uint64_t)pcd * t->quantum;
		if (target < pc) {
			*val = v;
			return 0;
		}
	}
}

static const char *file_name(const struct go_pclntab *t, const struct fn *f, int32_t fno)
{
	const uint8_t *p;
	uint64_t idx;

	if (t->ver == 12) {
		/* fno 0 is no file; entries are offsets from the start */
		if (fno <= 0 || (uint64_t)fno >= t->filetab12_n)
			return NULL;
		return str_at(t, go_le32(t->data + t->filetab + 4 * (uint64_t)fno));
	}
	if (fno < 0)
		return NULL;
	/* Per-CU file numbers, mapped to filetab offsets through cutab. */
	idx = (uint64_t)func_field(t, f, 7) + (uint64_t)fno;
	if (!(p = at(t, t->cutab + idx * 4, 4)) || go_le32(p) == UINT32_MAX)
		return NULL;
	return str_at(t, t->filetab + go_le32(p));
}

static void position(const struct go_pclntab *t, const struct fn *f, uint64_t pc,
		     const char **file, int *line)
{
	int32_t v;

	*file = NULL;
	*line = 0;
	if (!pcvalue(t, func_field(t, f, 4), f->entry, pc, &v))
		*file = file_name(t, f, v);
	if (!pcvalue(t, func_field(t, f, 5), f->entry, pc, &v) && v > 0)
		*line = v;
}

int go_binary__lookup(const struct go_binary *b, uint64_t pc, struct go_func_info *out)
{
	const struct go_pclntab *t = &b->pcln;
	int64_t i = func_find(b, pc);
	struct fn f;

	memset(out, 0, sizeof(*out));
	if (i < 0)
		return i;
	if (func_get(b, i, &f) || !(out->function = func_name(t, func_field(t, &f, 0))))
		return -EINVAL;
	out->entry = f.entry;
	out->end = f.end;
	position(t, &f, pc, &out->file, &out->line);
	return 0;
}

/*
 * Where the function's inline tree is, and its entry size; 0 when it has
 * none. The tree's entries: before 1.20 {parent i16, funcID u8, pad, file,
 * line, func nameoff, parentPc} (20 bytes), since {funcID u8, pad[3],
 * nameOff, parentPc, startLine} (16 bytes).
 */
static uint64_t inline_tree(const struct go_binary *b, const struct fn *f, uint32_t *idxtab,
			    unsigned *esize)
{
	const struct go_pclntab *t = &b->pcln;
	uint32_t npcdata = func_field(t, f, 6);
	unsigned nfuncdata = t->data[f->off + f->fixed - 1];
	unsigned slot;
	uint64_t fd;
	const uint8_t *p;

	*esize = t->ver >= 120 ? 16 : 20;
	if (npcdata <= PCDATA_INLTREEINDEX || nfuncdata <= FUNCDATA_INLTREE ||
	    npcdata > f->avail / 4)
		return 0;
	/* Through at(): avail is not a bound on every corrupt table. */
	if (!(p = at(t, f->off + f->fixed + 4 * (uint64_t)PCDATA_INLTREEINDEX, 4)))
		return 0;
	*idxtab = go_le32(p);
	fd = f->off + f->fixed + 4 * (uint64_t)npcdata;
	if (t->ver >= 118) {
		if (!b->gofunc || !(p = at(t, fd + 4 * FUNCDATA_INLTREE, 4)) ||
		    go_le32(p) == UINT32_MAX)
			return 0;
		return b->gofunc + go_le32(p);
	}
	if (t->ver == 12 && go_version_minor(b->version) != 15)
		return 0;
	slot = t->ver == 12 ? FUNCDATA_INLTREE_115 : FUNCDATA_INLTREE;
	if (nfuncdata <= slot)
		return 0;
	/* Pointers, aligned in memory: the section is, so use addresses. */
	if (t->ptrsize == 8 && ((t->addr + fd) & 4))
		fd += 4;
	p = at(t, fd + (uint64_t)t->ptrsize * slot, t->ptrsize);
	return p ? go_leptr(p, t->ptrsize) : 0; /* 0 in PIE files: relocated */
}

int go_binary__frames(const struct go_binary *b, uint64_t pc, struct go_frame *frames, int max)
{
	const struct go_pclntab *t = &b->pcln;
	int64_t i = func_find(b, pc);
	uint32_t idxtab = 0;
	uint64_t tree = 0;
	unsigned esize;
	struct fn f;
	int n = 0;

	if (i < 0)
		return i;
	if (max < 1 || func_get(b, i, &f))
		return -EINVAL;
	tree = inline_tree(b, &f, &idxtab, &esize);
	while (n < max) {
		struct go_frame *fr = &frames[n++];
		const uint8_t *e;
		int32_t ix;

		position(t, &f, pc, &fr->file, &fr->line);
		/* -1 (or no table) means: pc is in the physical function. */
		if (!tree || n > MAX_INLINE_DEPTH || pcvalue(t, idxtab, f.entry, pc, &ix) || ix < 0 ||
		    !(e = go_binary__bytes(b, tree + (uint64_t)ix * esize, esize))) {
			fr->function = func_name(t, func_field(t, &f, 0));
			fr->inlined = false;
			if (!fr->function)
				return -EINVAL;
			return n;
		}
		fr->function = func_name(t, go_le32(e + (esize == 16 ? 4 : 12)));
		fr->inlined = true;
		if (!fr->function)
			fr->function = "?";
		/* The call site is at parentPc, where the table is evaluated
		 * again for the next frame out. */
		pc = f.entry + (uint32_t)go_le32(e + (esize == 16 ? 8 : 16));
		if (pc >= f.end)
			tree = 0; /* corrupt: end the chain with the physical frame */
	}
	return n;
}

int go_binary__sp_delta(const struct go_binary *b, uint64_t pc, int32_t *delta)
{
	const struct go_pclntab *t = &b->pcln;
	int64_t i = func_find(b, pc);
	struct fn f;
	int err;

	*delta = 0;
	if (i < 0)
		return i;
	if (func_get(b, i, &f))
		return -EINVAL;
	err = pcvalue(t, func_field(t, &f, 3), f.entry, pc, delta);
	if (err == -ENOENT)
		return -EINVAL; /* every Go function has a pcsp table */
	/* A frame is a few MiB at most; a huge or negative delta is corrupt. */
	if (!err && (*delta < 0 || *delta > (1 << 26))) {
		*delta = 0;
		return -EINVAL;
	}
	return err;
}

uint64_t go_binary__func_entry(const struct go_binary *b, const char *name, uint64_t *end)
{
	const struct go_pclntab *t = &b->pcln;

	for (uint64_t i = 0; t->ver && i < t->nfunc; i++) {
		const char *s;
		struct fn f;

		if (func_get(b, i, &f) || !(s = func_name(t, func_field(t, &f, 0))) ||
		    strcmp(s, name))
			continue;
		if (end)
			*end = f.end;
		return f.entry;
	}
	if (end)
		*end = 0;
	return 0;
}

/* --- stack maps (go/reach.c) ------------------------------------------ */

#define PCDATA_STACKMAPINDEX 1
#define FUNCDATA_ARGSPOINTERMAPS 0
#define FUNCDATA_LOCALSPOINTERMAPS 1
#define FUNCDATA_STACKOBJECTS 2

/* Link-time address of funcdata slot k of f (1.18+ layout), 0 if none. */
static uint64_t funcdata_addr(const struct go_binary *b, const struct fn *f, unsigned k)
{
	const struct go_pclntab *t = &b->pcln;
	uint32_t npcdata = func_field(t, f, 6);
	unsigned nfuncdata = t->data[f->off + f->fixed - 1];
	const uint8_t *p;

	if (t->ver < 118 || !b->gofunc || nfuncdata <= k || npcdata > f->avail / 4 ||
	    !(p = at(t, f->off + f->fixed + 4 * (uint64_t)npcdata + 4 * k, 4)) ||
	    go_le32(p) == UINT32_MAX)
		return 0;
	return b->gofunc + go_le32(p);
}

/* Bitmap i of a runtime.stackmap {n, nbit int32; bytedata} at addr. */
static const uint8_t *stackmap_bits(const struct go_binary *b, uint64_t addr, int32_t i,
				    uint32_t *nbit)
{
	const uint8_t *h = addr ? go_binary__bytes(b, addr, 8) : NULL;
	int32_t n, nb;

	*nbit = 0;
	if (!h)
		return NULL;
	n = (int32_t)go_le32(h);
	nb = (int32_t)go_le32(h + 4);
	if (n <= 0 || nb < 0 || nb > (1 << 24) || i < 0 || i >= n)
		return NULL;
	*nbit = nb;
	return go_binary__bytes(b, addr + 8 + (uint64_t)i * ((nb + 7) / 8), (nb + 7) / 8 ? (nb + 7) / 8 : 1);
}

int go_binary__stack_maps(const struct go_binary *b, uint64_t pc, struct go_stack_maps *out)
{
	const struct go_pclntab *t = &b->pcln;
	int64_t i = func_find(b, pc);
	uint64_t objs;
	int32_t idx = -1;
	struct fn f;
	int err;

	memset(out, 0, sizeof(*out));
	if (i < 0)
		return i;
	if (func_get(b, i, &f))
		return -EINVAL;
	out->entry = f.entry;
	out->function = func_name(t, func_field(t, &f, 0));
	if (!out->function)
		return -EINVAL; /* the callers compare names */
	out->argsize = func_field(t, &f, 1);
	err = pcvalue(t, func_field(t, &f, 3), f.entry, pc, &out->frame);
	if (err || out->frame < 0 || out->frame > (1 << 26))
		return -EINVAL;
	if (t->ver < 118)
		return -ENOTSUP;
	if (func_field(t, &f, 6) > PCDATA_STACKMAPINDEX &&
	    pcvalue(t, go_le32(t->data + f.off + f.fixed + 4 * PCDATA_STACKMAPINDEX), f.entry, pc,
		    &idx))
		idx = -1;
	out->map_index = idx;
	/* The runtime takes map 0 where the index is -1 (a prologue). */
	if (idx < 0)
		idx = 0;
	out->locals = stackmap_bits(b, funcdata_addr(b, &f, FUNCDATA_LOCALSPOINTERMAPS), idx,
				    &out->nlocals);
	out->args = stackmap_bits(b, funcdata_addr(b, &f, FUNCDATA_ARGSPOINTERMAPS), idx,
				  &out->nargs);
	objs = funcdata_addr(b, &f, FUNCDATA_STACKOBJECTS);
	if (objs) {
		const uint8_t *h = go_binary__bytes(b, objs, 8);
		uint64_t n = h ? go_le64(h) : 0;

		if (n && n < (1 << 16) && (out->objects = go_binary__bytes(b, objs + 8, n * 16)))
			out->nobjects = n;
	}
	return 0;
}
