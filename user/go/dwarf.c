// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * runtime.g and runtime.m field offsets from the binary's own DWARF.
 *
 * The Go linker writes DWARF for every runtime type unless -w was given; it
 * is zlib-compressed (.zdebug_* up to 1.17, SHF_COMPRESSED since), which
 * libdw handles. DWARF is the ground truth for the binary at hand; the
 * per-version table in runtime.c is only the fallback for -w builds.
 */
#include <errno.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "go/elf_priv.h"

/* Top-level struct types we need, found in one pass over all units. */
struct wanted {
	const char *name;
	Dwarf_Die die;
	bool found;
};

static void find_structs(Dwarf *dw, struct wanted *w, int nw)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	int left = nw;

	while (left && !dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				const char *name;

				if (dwarf_tag(&die) != DW_TAG_structure_type ||
				    !(name = dwarf_diename(&die)))
					continue;
				for (int i = 0; i < nw; i++)
					if (!w[i].found && !strcmp(name, w[i].name)) {
						w[i].die = die;
						w[i].found = true;
						left--;
					}
			} while (left && dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
}

/* Offset of member name in st (and its type DIE), or -1. */
static int member(Dwarf_Die *st, const char *name, Dwarf_Die *type)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m))
		return -1;
	do {
		Dwarf_Attribute a;
		Dwarf_Word off;
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member || !(n = dwarf_diename(&m)) || strcmp(n, name))
			continue;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &off) ||
		    off > INT32_MAX)
			return -1;
		if (type && (!dwarf_attr(&m, DW_AT_type, &a) || !dwarf_formref_die(&a, type)))
			return -1;
		return off;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
}

/* Offset of outer.inner (inner a member of outer's struct type), or -1. */
static int nested(Dwarf_Die *st, const char *outer, const char *inner, int *outer_off)
{
	Dwarf_Die t;
	int o = member(st, outer, &t), i;

	if (outer_off)
		*outer_off = o;
	if (o < 0)
		return -1;
	/* Go names every struct type through a typedef (runtime.gobuf). */
	for (int depth = 0; dwarf_tag(&t) == DW_TAG_typedef && depth < 8; depth++) {
		Dwarf_Attribute a;

		if (!dwarf_attr(&t, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
			return -1;
	}
	if (dwarf_tag(&t) != DW_TAG_structure_type || (i = member(&t, inner, NULL)) < 0 ||
	    (int64_t)o + i > INT32_MAX)
		return -1;
	return o + i;
}

static int struct_size(Dwarf_Die *st)
{
	Dwarf_Word size;

	if (dwarf_aggregate_size(st, &size) || size > INT32_MAX)
		return -1;
	return size;
}

/* The binary's DWARF, NULL without any. A Dwarf per call: layouts are read
 * once per binary, and not caching keeps the object free of lazily
 * initialised state. */
static Dwarf *open_dwarf(const struct go_binary *b)
{
	if (!b->is_go ||
	    (!go_binary__section(b, ".debug_info") && !go_binary__section(b, ".zdebug_info")))
		return NULL;
	return dwarf_begin_elf(b->elf, DWARF_C_READ, NULL);
}

/* Largest runtime.g/m we believe (1.26's g is 456 bytes): the reader
 * allocates g_size per goroutine and reads every field at its offset. */
#define MAX_STRUCT 65536

/* Each field (offset, size) lies inside a struct of size bytes: a DWARF
 * that says otherwise is corrupt, and the readers would read past what
 * they fetched. */
static bool inside(int size, const int *off, const int *len, int n)
{
	for (int i = 0; i < n; i++)
		if (off[i] < 0 || len[i] > size || off[i] > size - len[i])
			return false;
	return true;
}

static bool g_layout_sane(const struct go_g_layout *l)
{
	const int g_off[] = { l->goid, l->atomicstatus, l->waitreason, l->waitsince, l->sched_sp,
			      l->sched_pc, l->sched_bp, l->gopc, l->startpc, l->stack_lo,
			      l->stack_hi, l->m, l->parent_goid < 0 ? 0 : l->parent_goid };
	const int g_len[] = { 8, 4, 1, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 };
	const int m_off[] = { l->m_curg, l->m_procid }, m_len[] = { 8, 8 };

	return l->g_size <= MAX_STRUCT && l->m_size <= MAX_STRUCT &&
	       inside(l->g_size, g_off, g_len, 13) && inside(l->m_size, m_off, m_len, 2);
}

static int fill(Dwarf_Die *g, Dwarf_Die *m, struct go_g_layout *out)
{
	memset(out, 0, sizeof(*out));
	out->source = "dwarf";
	out->g_size = struct_size(g);
	out->m_size = struct_size(m);
	out->goid = member(g, "goid", NULL);
	out->atomicstatus = member(g, "atomicstatus", NULL);
	out->waitreason = member(g, "waitreason", NULL);
	out->waitsince = member(g, "waitsince", NULL);
	out->sched_sp = nested(g, "sched", "sp", &out->sched);
	out->sched_pc = nested(g, "sched", "pc", NULL);
	out->sched_bp = nested(g, "sched", "bp", NULL);
	out->gopc = member(g, "gopc", NULL);
	out->startpc = member(g, "startpc", NULL);
	out->parent_goid = member(g, "parentGoid", NULL); /* 1.21+ */
	out->stack_lo = nested(g, "stack", "lo", NULL);
	out->stack_hi = nested(g, "stack", "hi", NULL);
	out->m = member(g, "m", NULL);
	out->m_curg = member(m, "curg", NULL);
	out->m_procid = member(m, "procid", NULL);
	if (out->g_size < 0 || out->m_size < 0 || out->goid < 0 || out->atomicstatus < 0 ||
	    out->waitreason < 0 || out->waitsince < 0 || out->sched < 0 || out->sched_sp < 0 ||
	    out->sched_pc < 0 || out->sched_bp < 0 || out->gopc < 0 || out->startpc < 0 ||
	    out->stack_lo < 0 || out->stack_hi < 0 || out->m < 0 || out->m_curg < 0 ||
	    out->m_procid < 0 || !g_layout_sane(out))
		return -ESRCH;
	return 0;
}

int go_binary__g_layout_dwarf(const struct go_binary *b, struct go_g_layout *out)
{
	struct wanted w[] = { { .name = "runtime.g" }, { .name = "runtime.m" } };
	Dwarf *dw;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(dw = open_dwarf(b)))
		return -ENOENT;
	find_structs(dw, w, 2);
	ret = w[0].found && w[1].found ? fill(&w[0].die, &w[1].die, out) : -ESRCH;
	dwarf_end(dw);
	return ret;
}

int go_binary__g_layout(const struct go_binary *b, struct go_g_layout *out, char *err,
			size_t errlen)
{
	int ret;

	if (err && errlen)
		err[0] = 0;
	if (!b->is_go) {
		go_errf(err, errlen, "not a Go binary");
		return -ENOENT;
	}
	if (!(ret = go_binary__g_layout_dwarf(b, out)))
		return 0;
	if (!go_g_layout_for_version(b->version, out))
		return 0;
	go_errf(err, errlen, "%s: %s, and no built-in runtime.g layout for this version",
		b->version ? b->version : "unknown Go version",
		ret == -ENOENT ? "no DWARF (built with -w or stripped)"
			       : "DWARF lacks runtime.g fields");
	return -ENOTSUP;
}

/* --- channels and semaphores ----------------------------------------- */

/* go/wait.c reads an hchan and a sudog in one 128-byte read each (up to
 * the last queue / field it uses) and a type's first 64 bytes. */
static bool chan_layout_sane(const struct go_chan_layout *l)
{
	int hspan = (l->hchan_sendq > l->hchan_recvq ? l->hchan_sendq : l->hchan_recvq) + 8;
	const int h_off[] = { l->hchan_qcount, l->hchan_dataqsiz, l->hchan_elemsize,
			      l->hchan_closed, l->hchan_elemtype, l->hchan_recvq, l->hchan_sendq };
	const int h_len[] = { 8, 8, 2, 4, 8, 8, 8 };
	const int s_off[] = { l->sudog_g, l->sudog_next, l->sudog_prev, l->sudog_elem, l->sudog_c,
			      l->sudog_waitlink };
	const int s_len[] = { 8, 8, 8, 8, 8, 8 };

	return hspan <= 128 && inside(hspan, h_off, h_len, 7) && inside(128, s_off, s_len, 6) &&
	       l->g_waiting >= 0 && l->g_waiting <= MAX_STRUCT && l->semaroot_treap <= 4096 &&
	       (l->type_str < 0 || l->type_str + 4 <= 64) &&
	       (l->type_tflag < 0 || l->type_tflag < 64);
}

static int fill_chan(Dwarf_Die *d, struct go_chan_layout *out)
{
	Dwarf_Die *g = &d[0], *sg = &d[1], *hc = &d[2], *wq = &d[3], *sr = &d[4], *ty = &d[5],
		  *md = &d[6];
	int first = member(wq, "first", NULL);

	out->source = "dwarf";
	out->g_waiting = member(g, "waiting", NULL);
	out->sudog_g = member(sg, "g", NULL);
	out->sudog_next = member(sg, "next", NULL);
	out->sudog_prev = member(sg, "prev", NULL);
	out->sudog_elem = member(sg, "elem", NULL);
	out->sudog_c = member(sg, "c", NULL);
	out->sudog_waitlink = member(sg, "waitlink", NULL);
	out->hchan_qcount = member(hc, "qcount", NULL);
	out->hchan_dataqsiz = member(hc, "dataqsiz", NULL);
	out->hchan_elemsize = member(hc, "elemsize", NULL);
	out->hchan_closed = member(hc, "closed", NULL);
	out->hchan_elemtype = member(hc, "elemtype", NULL);
	out->hchan_recvq = member(hc, "recvq", NULL);
	out->hchan_sendq = member(hc, "sendq", NULL);
	if (first != 0) /* the walk reads waitq.first at the queue's start */
		out->hchan_recvq = out->hchan_sendq = -1;
	out->semaroot_treap = member(sr, "treap", NULL);
	/* runtime._type up to 1.20: "str"; internal/abi.Type since: "Str". */
	out->type_str = member(ty, "str", NULL);
	if (out->type_str < 0)
		out->type_str = member(ty, "Str", NULL);
	out->type_tflag = member(ty, "tflag", NULL);
	if (out->type_tflag < 0)
		out->type_tflag = member(ty, "TFlag", NULL);
	out->md_types = member(md, "types", NULL);
	if (out->g_waiting < 0 || out->sudog_g < 0 || out->sudog_next < 0 || out->sudog_prev < 0 ||
	    out->sudog_elem < 0 || out->sudog_c < 0 || out->sudog_waitlink < 0 ||
	    out->hchan_qcount < 0 || out->hchan_dataqsiz < 0 || out->hchan_elemsize < 0 ||
	    out->hchan_closed < 0 || out->hchan_elemtype < 0 || out->hchan_recvq < 0 ||
	    out->hchan_sendq < 0 || out->semaroot_treap < 0 || !chan_layout_sane(out))
		return -ESRCH;
	return 0;
}

int go_binary__chan_layout_dwarf(const struct go_binary *b, struct go_chan_layout *out)
{
	struct wanted w[] = {
		{ .name = "runtime.g" },        { .name = "runtime.sudog" },
		{ .name = "runtime.hchan" },    { .name = "runtime.waitq" },
		{ .name = "runtime.semaRoot" }, { .name = "runtime._type" },
		{ .name = "runtime.moduledata" }, { .name = "internal/abi.Type" },
	};
	Dwarf_Die d[7];
	Dwarf *dw;
	int ret = -ESRCH;

	memset(out, 0xff, sizeof(*out)); /* every offset -1 */
	out->source = NULL;
	if (!(dw = open_dwarf(b)))
		return -ENOENT;
	/* Only one of runtime._type / internal/abi.Type is a struct. */
	find_structs(dw, w, 8);
	if (!w[5].found && w[7].found) {
		w[5] = w[7];
		w[5].found = true;
	}
	if (w[0].found && w[1].found && w[2].found && w[3].found && w[4].found && w[5].found &&
	    w[6].found) {
		for (int i = 0; i < 7; i++)
			d[i] = w[i].die;
		ret = fill_chan(d, out);
	}
	dwarf_end(dw);
	return ret;
}

int go_binary__chan_layout(const struct go_binary *b, struct go_chan_layout *out, char *err,
			   size_t errlen)
{
	int ret;

	if (err && errlen)
		err[0] = 0;
	if (!b->is_go) {
		go_errf(err, errlen, "not a Go binary");
		return -ENOENT;
	}
	if (!(ret = go_binary__chan_layout_dwarf(b, out)))
		return 0;
	if (!go_chan_layout_for_version(b->version, out))
		return 0;
	go_errf(err, errlen, "%s: %s, and no built-in channel layout for this version",
		b->version ? b->version : "unknown Go version",
		ret == -ENOENT ? "no DWARF" : "DWARF lacks runtime.hchan/sudog fields");
	return -ENOTSUP;
}

uint64_t go_binary__moduledata(const struct go_binary *b)
{
	return b->moduledata;
}

/* --- test binaries (go/testname.c) ------------------------------------ */

int go_binary__test_layout_dwarf(const struct go_binary *b, struct go_test_layout *out)
{
	struct wanted w[] = { { .name = "testing.common" }, { .name = "runtime.g" },
			      { .name = "runtime.ancestorInfo" } };
	Dwarf *dw;
	int ret = -ESRCH;

	if (!(dw = open_dwarf(b)))
		return -ENOENT;
	find_structs(dw, w, 3);
	if (w[0].found && w[1].found) {
		out->source = "dwarf";
		out->common_name = member(&w[0].die, "name", NULL);
		out->g_ancestors = member(&w[1].die, "ancestors", NULL);
		out->ancestor_size = w[2].found ? struct_size(&w[2].die) : -1;
		out->ancestor_goid = w[2].found ? member(&w[2].die, "goid", NULL) : -1;
		ret = out->common_name < 0 ? -ESRCH : 0;
	}
	dwarf_end(dw);
	return ret;
}

/* --- the heap (go/heap.c) -------------------------------------------- */

/* runtime.mspan is read up to its last field the heap reader uses. */
static int span_read_size(const struct go_heap_layout *l)
{
	int m = 0;
	const int o[] = { l->span_start, l->span_npages, l->span_elemsize, l->span_spanclass,
			  l->span_state, l->span_specials };

	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if (o[i] + 8 > m)
			m = o[i] + 8;
	return m;
}

/* Size of a member's type (through typedefs), -1 unknown. */
static int type_size(Dwarf_Die *t)
{
	Dwarf_Word size;

	if (dwarf_aggregate_size(t, &size) || size > INT32_MAX)
		return -1;
	return size;
}

int go_binary__heap_layout_dwarf(const struct go_binary *b, struct go_heap_layout *out)
{
	Dwarf_Die t;
	struct wanted w[] = { { .name = "runtime.mheap" }, { .name = "runtime.heapArena" },
			      { .name = "runtime.mspan" },  { .name = "runtime.sudog" },
			      { .name = "runtime.g" },     { .name = "runtime.special" },
			      { .name = "runtime.m" } };
	Dwarf *dw;
	int ret = -ESRCH;

	memset(out, 0xff, sizeof(*out));
	out->source = NULL;
	out->mheap = 0;
	if (!(dw = open_dwarf(b)))
		return -ENOENT;
	find_structs(dw, w, 7);
	if (w[0].found && w[1].found && w[2].found && w[3].found && w[4].found && w[5].found &&
	    w[6].found) {
		out->m_g0 = member(&w[6].die, "g0", NULL);
		out->m_gsignal = member(&w[6].die, "gsignal", NULL);
		out->m_alllink = member(&w[6].die, "alllink", NULL);
		out->mheap_size = struct_size(&w[0].die);
		out->mheap_arenas = member(&w[0].die, "arenas", NULL);
		out->mheap_all_arenas = member(&w[0].die, "heapArenas", NULL); /* 1.21+ */
		if (out->mheap_all_arenas < 0)
			out->mheap_all_arenas = member(&w[0].die, "allArenas", NULL);
		out->arena_spans = member(&w[1].die, "spans", NULL);
		out->span_start = member(&w[2].die, "startAddr", NULL);
		out->span_npages = member(&w[2].die, "npages", NULL);
		out->span_spanclass = member(&w[2].die, "spanclass", NULL);
		out->span_elemsize = member(&w[2].die, "elemsize", NULL);
		out->span_state = member(&w[2].die, "state", NULL);
		out->span_specials = member(&w[2].die, "specials", NULL);
		out->special_offset_size = member(&w[5].die, "offset", &t) == 8 ? type_size(&t) : -1;
		out->sudog_g = member(&w[3].die, "g", NULL);
		out->sudog_elem = member(&w[3].die, "elem", &t);
		out->sudog_elem_size = type_size(&t);
		out->sudog_c = member(&w[3].die, "c", &t);
		out->sudog_c_size = type_size(&t);
		out->sudog_waitlink = member(&w[3].die, "waitlink", NULL);
		out->g_waiting = member(&w[4].die, "waiting", NULL);
		out->g_syscallsp = member(&w[4].die, "syscallsp", NULL);
		out->g_syscallpc = member(&w[4].die, "syscallpc", NULL);
		out->span_size = span_read_size(out);
		if (out->mheap_arenas >= 0 && out->mheap_all_arenas >= 0 && out->arena_spans >= 0 &&
		    out->span_start >= 0 && out->span_npages >= 0 && out->span_spanclass >= 0 &&
		    out->span_elemsize >= 0 && out->span_state >= 0 && out->span_specials >= 0 &&
		    out->m_g0 >= 0 && out->m_gsignal >= 0 && out->m_alllink >= 0 &&
		    out->mheap_size > 0 &&
		    out->g_syscallsp >= 0 && out->g_syscallpc >= 0 &&
		    (out->special_offset_size == 2 || out->special_offset_size == 8) && out->sudog_elem >= 0 && out->sudog_g >= 0 &&
		    out->sudog_c >= 0 && out->sudog_waitlink >= 0 && out->g_waiting >= 0 &&
		    (out->sudog_elem_size == 8 || out->sudog_elem_size == 16) &&
		    (out->sudog_c_size == 8 || out->sudog_c_size == 16) &&
		    out->span_size <= 4096 && out->arena_spans <= (8 << 20)) {
			out->source = "dwarf";
			ret = 0;
		}
	}
	dwarf_end(dw);
	return ret;
}
