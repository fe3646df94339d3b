// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The heap model (go/heap.h). Constants for linux/amd64, the same from Go
 * 1.15 to 1.27 (checked in runtime/malloc.go and mheap.go of go1.19.8,
 * go1.26.8 and go1.27.3): heapArenaBytes 64 MiB, arenaL1Bits 0 (so
 * mheap.arenas has one L2 array), pageSize 8 KiB, pagesPerArena 8192,
 * arenaBaseOffset 0xffff800000000000, mSpanInUse 1, arenaIdx a uint. What
 * moved between versions (the 2 MiB heap bitmap in front of
 * heapArena.spans up to 1.21, allArenas renamed heapArenas in 1.21) comes
 * from the layout's offsets.
 *
 * Everything read is untrusted (the target may be anything, and it changes
 * under us): every count is bounded, a span that does not fit its arena is
 * dropped, and nothing read is used as an index without a check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/heap.h"
#include "go/remote.h"

#define ARENA_SHIFT 26
#define ARENA_BYTES (1ull << ARENA_SHIFT)
#define PAGE_SHIFT 13
#define PAGES_PER_ARENA (ARENA_BYTES >> PAGE_SHIFT)
#define ARENA_BASE_OFFSET 0xffff800000000000ull
#define L2_ENTRIES (1ull << 22)   /* arenaL2Bits 48 - 26 */
#define MAX_ARENAS (1u << 12)     /* 256 GiB of heap: 128 MiB of page indexes */
#define SPAN_IN_USE 1
#define NO_SPAN (-1)
#define RECHECKED (-2)            /* no in-use span here, re-read once already */

struct heap_span {
	uint64_t start, npages, elemsize, nelems;
	uint64_t specials;            /* mspan.specials, 0: none */
	uint64_t marks;               /* first bit of its slots in h->marks */
	bool noscan;
};

struct heap_arena {
	uint64_t idx, addr;           /* arena index; its heapArena's address */
	int32_t *page;                /* PAGES_PER_ARENA span indexes, NO_SPAN;
	                               * NULL: none known (all NO_SPAN) */
};

struct go_heap {
	struct go_heap_layout l;
	const struct go_mem *m;
	struct heap_arena *arenas;    /* sorted by idx */
	uint32_t narenas;
	struct heap_span *spans;
	uint64_t *span_addr;          /* the mspan each came from, sorted at read */
	uint32_t nspans, cap;
	uint64_t *marks;
	uint64_t nmarks, markcap;     /* bits */
	uint64_t late;
};

static void errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

void go_mem__read_many(const struct go_mem *m, const uint64_t *addr, const size_t *len,
		       uint8_t **dst, bool *ok, size_t n)
{
	if (m->pid > 0) {
		go_read_many(m->pid, addr, len, dst, ok, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ok[i] = !m->read(m->ctx, addr[i], dst[i], len[i]);
}

static int read_one(const struct go_heap *h, uint64_t addr, void *buf, size_t len)
{
	bool ok = false;
	uint8_t *dst = buf;

	go_mem__read_many(h->m, &addr, &len, &dst, &ok, 1);
	return ok ? 0 : -EIO;
}

/* The listed arena holding addr, NULL when none. */
static struct heap_arena *arena_of(const struct go_heap *h, uint64_t addr)
{
	uint64_t ai = (addr - ARENA_BASE_OFFSET) >> ARENA_SHIFT;
	uint32_t lo = 0, hi = h->narenas;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (h->arenas[mid].idx == ai)
			return &h->arenas[mid];
		if (h->arenas[mid].idx < ai)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A span as read, or false when it is not an in-use heap span that fits
 * in arena a (a freed or half-written one is not trusted). */
static bool parse_span(const struct go_heap *h, const uint8_t *raw, struct heap_span *s)
{
	const struct go_heap_layout *l = &h->l;
	uint64_t bytes;

	if (raw[l->span_state] != SPAN_IN_USE)
		return false;
	s->start = le64(raw + l->span_start);
	s->npages = le64(raw + l->span_npages);
	s->elemsize = le64(raw + l->span_elemsize);
	s->noscan = raw[l->span_spanclass] & 1;
	s->specials = le64(raw + l->span_specials);
	if (!s->npages || s->npages > (1ull << 30) || !s->elemsize ||
	    s->start & ((1ull << PAGE_SHIFT) - 1))
		return false;
	bytes = s->npages << PAGE_SHIFT;
	if (s->elemsize > bytes || s->start + bytes < s->start)
		return false;
	s->nelems = bytes / s->elemsize;
	return true;
}

static int add_span(struct go_heap *h, const struct heap_span *s, uint64_t addr)
{
	if (h->nspans == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 1024;
		struct heap_span *v = realloc(h->spans, ncap * sizeof(*v));
		uint64_t *a;

		if (!v)
			return -ENOMEM;
		h->spans = v;
		if (!(a = realloc(h->span_addr, ncap * sizeof(*a))))
			return -ENOMEM;
		h->span_addr = a;
		h->cap = ncap;
	}
	if (h->nmarks + s->nelems > h->markcap) {
		uint64_t ncap = (h->nmarks + s->nelems) * 2 + 4096;
		uint64_t *m = realloc(h->marks, ((ncap + 63) / 64) * 8);

		if (!m)
			return -ENOMEM;
		memset(m + (h->markcap + 63) / 64, 0, ((ncap + 63) / 64 - (h->markcap + 63) / 64) * 8);
		h->marks = m;
		h->markcap = ncap;
	}
	h->spans[h->nspans] = *s;
	h->spans[h->nspans].marks = h->nmarks;
	h->span_addr[h->nspans] = addr;
	h->nmarks += s->nelems;
	h->nspans++;
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The arena indexes in use and their heapArena addresses. */
static int read_arenas(struct go_heap *h, uint64_t bias, char *err, size_t errlen)
{
	const struct go_heap_layout *l = &h->l;
	uint64_t slice[3], l2, *idx = NULL, *where = NULL;
	size_t *len = NULL;
	uint8_t **dst = NULL;
	bool *ok = NULL;
	int rc = -ENOMEM;
	uint32_t n;

	if (read_one(h, l->mheap + bias + l->mheap_all_arenas, slice, sizeof(slice)) ||
	    read_one(h, l->mheap + bias + l->mheap_arenas, &l2, 8)) {
		errf(err, errlen, "runtime.mheap_ unreadable");
		return -EIO;
	}
	if (slice[1] > MAX_ARENAS || slice[1] > slice[2] || (slice[1] && !slice[0]) || !l2 ||
	    (l->inferred && (!slice[1] || slice[2] > L2_ENTRIES || slice[0] & 7 || l2 & 7))) {
		errf(err, errlen, "runtime.mheap_ does not look like a heap (%llu arenas)",
		     (unsigned long long)slice[1]);
		return -EINVAL;
	}
	n = slice[1];
	idx = calloc(n ? n : 1, 8);
	where = calloc(n ? n : 1, 8);
	len = calloc(n ? n : 1, sizeof(*len));
	dst = calloc(n ? n : 1, sizeof(*dst));
	ok = calloc(n ? n : 1, sizeof(*ok));
	h->arenas = calloc(n ? n : 1, sizeof(*h->arenas));
	if (!idx || !where || !len || !dst || !ok || !h->arenas)
		goto out;
	if (n && read_one(h, slice[0], idx, n * 8ull)) {
		errf(err, errlen, "mheap_.heapArenas unreadable");
		rc = -EIO;
		goto out;
	}
	qsort(idx, n, 8, cmp_u64);
	for (uint32_t i = 0; i < n; i++) {
		if (idx[i] >= L2_ENTRIES || (i && idx[i] == idx[i - 1])) {
			errf(err, errlen, "mheap_.heapArenas holds a bad arena index");
			rc = -EINVAL;
			goto out;
		}
		h->arenas[i].idx = idx[i];
		len[i] = 8;
		dst[i] = (uint8_t *)&where[i];
		idx[i] = l2 + idx[i] * 8;
	}
	go_mem__read_many(h->m, idx, len, dst, ok, n);
	for (uint32_t i = 0; i < n && l->inferred; i++)
		if (!ok[i] || !where[i] || where[i] & 7) {
			errf(err, errlen, "arena %u of mheap_.heapArenas has no heapArena", i);
			rc = -EINVAL;
			goto out;
		}
	for (uint32_t i = 0; i < n; i++)
		if (ok[i] && where[i])
			h->arenas[h->narenas++] = (struct heap_arena){ h->arenas[i].idx, where[i], NULL };
	rc = 0;
out:
	free(idx);
	free(where);
	free(len);
	free(dst);
	free(ok);
	return rc;
}

static int32_t span_index(const struct go_heap *h, uint64_t addr)
{
	uint64_t *hit = h->nspans ? bsearch(&addr, h->span_addr, h->nspans, 8, cmp_u64) : NULL;

	return hit ? (int32_t)(hit - h->span_addr) : NO_SPAN;
}

/* Does span s cover page p of arena a? */
static bool covers(const struct heap_span *s, const struct heap_arena *a, uint64_t p)
{
	uint64_t page_addr = a->idx * ARENA_BYTES + ARENA_BASE_OFFSET + (p << PAGE_SHIFT);

	return page_addr >= s->start && page_addr - s->start < s->npages << PAGE_SHIFT;
}

/* Page tables are read this many arenas at a time (4 MiB). */
#define ARENA_GROUP 64

/* The page -> *mspan tables of arenas [first, first + n) into ptrs
 * (n * PAGES_PER_ARENA words; an unreadable table reads as all nil). */
static void read_page_tables(const struct go_heap *h, uint32_t first, uint32_t n, uint64_t *ptrs)
{
	uint64_t addr[ARENA_GROUP];
	size_t len[ARENA_GROUP];
	uint8_t *dst[ARENA_GROUP];
	bool ok[ARENA_GROUP];

	for (uint32_t k = 0; k < n; k++) {
		addr[k] = h->arenas[first + k].addr + h->l.arena_spans;
		len[k] = PAGES_PER_ARENA * 8;
		dst[k] = (uint8_t *)(ptrs + (uint64_t)k * PAGES_PER_ARENA);
	}
	go_mem__read_many(h->m, addr, len, dst, ok, n);
	for (uint32_t k = 0; k < n; k++)
		if (!ok[k])
			memset(ptrs + (uint64_t)k * PAGES_PER_ARENA, 0, PAGES_PER_ARENA * 8);
}

/* Append the distinct non-nil pointers of v[0..n) to *u (sorted later). */
static int collect(const uint64_t *v, uint64_t n, uint64_t **u, uint64_t *nu, uint64_t *cap)
{
	for (uint64_t k = 0; k < n; k++) {
		if (!v[k] || (k && v[k] == v[k - 1]))
			continue; /* a span covers consecutive pages */
		if (*nu == *cap) {
			uint64_t nc = *cap ? *cap * 2 : 4096, *x = realloc(*u, nc * 8);

			if (!x)
				return -ENOMEM;
			*u = x;
			*cap = nc;
		}
		(*u)[(*nu)++] = v[k];
	}
	return 0;
}

/* Object sizes of Go's size classes (runtime/sizeclasses.go, the same 68
 * classes in 1.19, 1.26 and 1.27): an inferred layout must read spans
 * whose object size is the one of their class. */
static const uint16_t class_size[68] = {
	0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
	6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
	20480, 21760, 24576, 27264, 28672, 32768,
};

/* Strict mode (an inferred layout): a span the page tables point to must
 * read as an mspan: a known state (dead, in use, manual), and when in use a
 * sane extent, the object size of its class, specials off the heap. */
static bool span_plausible(const struct go_heap *h, const uint8_t *raw)
{
	const struct go_heap_layout *l = &h->l;
	struct heap_span s;
	unsigned cls;

	if (!raw || raw[l->span_state] > 2)
		return false;
	if (raw[l->span_state] != SPAN_IN_USE)
		return true;
	if (!parse_span(h, raw, &s) || s.specials & 7)
		return false;
	cls = raw[l->span_spanclass] >> 1;
	if (cls >= sizeof(class_size) / sizeof(class_size[0]))
		return false;
	if (cls ? s.elemsize != class_size[cls] : s.elemsize != s.npages << PAGE_SHIFT)
		return false;
	/* specials come from a fixalloc, never from the heap */
	return !s.specials || !arena_of(h, s.specials);
}

/* Strict mode: the runtime points every page of an in-use span to it
 * (mheap.setSpans): the first and last pages of each span must. */
static bool spans_own_pages(const struct go_heap *h)
{
	for (uint32_t k = 0; k < h->nspans; k++) {
		const struct heap_span *s = &h->spans[k];
		uint64_t ends[2] = { s->start, s->start + ((s->npages - 1) << PAGE_SHIFT) };

		for (int e = 0; e < 2; e++) {
			const struct heap_arena *a = arena_of(h, ends[e]);

			if (!a || !a->page ||
			    a->page[(ends[e] & (ARENA_BYTES - 1)) >> PAGE_SHIFT] != (int32_t)k)
				return false;
		}
	}
	return true;
}

/* Read every distinct span of u[0..n) once, keep the in-use ones. */
static int read_spans(struct go_heap *h, const uint64_t *u, uint64_t n)
{
	enum { BATCH = 1024 };
	size_t len[BATCH];
	uint8_t *dst[BATCH], *raw = malloc((size_t)BATCH * h->l.span_size);
	bool ok[BATCH];
	int rc = 0;

	if (!raw)
		return -ENOMEM;
	for (uint64_t at = 0; at < n && !rc; at += BATCH) {
		uint64_t k = n - at < BATCH ? n - at : BATCH;

		for (uint64_t j = 0; j < k; j++) {
			len[j] = h->l.span_size;
			dst[j] = raw + j * h->l.span_size;
		}
		go_mem__read_many(h->m, u + at, len, dst, ok, k);
		for (uint64_t j = 0; j < k && !rc; j++) {
			struct heap_span s;

			if (h->l.inferred && !span_plausible(h, ok[j] ? dst[j] : NULL))
				rc = -EINVAL;
			else if (ok[j] && parse_span(h, dst[j], &s))
				rc = add_span(h, &s, u[at + j]);
		}
	}
	free(raw);
	return rc;
}

int go_heap__read(const struct go_heap_layout *l, uint64_t bias, const struct go_mem *m,
		  struct go_heap **out, char *err, size_t errlen)
{
	struct go_heap *h = calloc(1, sizeof(*h));
	uint64_t *ptrs = NULL, *u = NULL, nu = 0, ucap = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->l = *l;
	h->m = m;
	if (l->span_size <= 0 || l->span_size > 4096) {
		errf(err, errlen, "runtime.mspan layout out of range");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = read_arenas(h, bias, err, errlen)))
		goto fail;
	rc = -ENOMEM;
	if (!(ptrs = malloc((uint64_t)ARENA_GROUP * PAGES_PER_ARENA * 8)))
		goto fail;
	/* The distinct spans of every arena's page table, each read once.
	 * The page tables are read again to map pages to spans rather than
	 * kept (64 KiB per arena); a page that changed in between is found
	 * by go_heap__find's re-read. */
	for (uint32_t g = 0; g < h->narenas; g += ARENA_GROUP) {
		uint32_t n = h->narenas - g < ARENA_GROUP ? h->narenas - g : ARENA_GROUP;

		read_page_tables(h, g, n, ptrs);
		if (collect(ptrs, (uint64_t)n * PAGES_PER_ARENA, &u, &nu, &ucap))
			goto fail;
	}
	if (nu)
		qsort(u, nu, 8, cmp_u64);
	{
		uint64_t w = 0;

		for (uint64_t k = 0; k < nu; k++)
			if (!w || u[w - 1] != u[k])
				u[w++] = u[k];
		nu = w;
	}
	if ((rc = read_spans(h, u, nu))) {
		if (rc == -EINVAL)
			errf(err, errlen, "a span of the page tables does not read as an mspan");
		goto fail;
	}
	rc = -ENOMEM;
	if (l->inferred && !h->nspans) {
		errf(err, errlen, "no span in use in the page tables");
		rc = -EINVAL;
		goto fail;
	}
	/* add_span kept u's order: span_addr is sorted. */
	for (uint32_t g = 0; g < h->narenas; g += ARENA_GROUP) {
		uint32_t n = h->narenas - g < ARENA_GROUP ? h->narenas - g : ARENA_GROUP;

		read_page_tables(h, g, n, ptrs);
		for (uint32_t i = g; i < g + n; i++) {
			const uint64_t *tab = ptrs + (uint64_t)(i - g) * PAGES_PER_ARENA;
			uint64_t any = 0;

			/* An arena whose page table is all nil (or could not be
			 * read) keeps no table until a lookup needs one: a
			 * corrupt arena count costs no 32 KiB per arena. */
			for (uint64_t p = 0; p < PAGES_PER_ARENA && !any; p++)
				any = tab[p];
			if (!any)
				continue;
			if (!(h->arenas[i].page = malloc(PAGES_PER_ARENA * sizeof(int32_t))))
				goto fail;
			for (uint64_t p = 0; p < PAGES_PER_ARENA; p++) {
				uint64_t sp = tab[p];
				int32_t k = sp ? span_index(h, sp) : NO_SPAN;

				/* a free page may keep pointing to a recycled
				 * mspan (Go's spanOf checks the bounds too) */
				if (k >= 0 && !covers(&h->spans[k], &h->arenas[i], p))
					k = NO_SPAN;
				h->arenas[i].page[p] = k;
			}
		}
	}
	if (l->inferred && !spans_own_pages(h)) {
		errf(err, errlen, "the pages of a span in use do not point to it");
		rc = -EINVAL;
		goto fail;
	}
	free(ptrs);
	free(u);
	*out = h;
	return 0;
fail:
	if (rc == -ENOMEM)
		errf(err, errlen, "out of memory reading the heap metadata");
	free(ptrs);
	free(u);
	go_heap__free(h);
	return rc;
}

/*
 * A page with no known span: the span may have been allocated after the
 * model was read. Re-read the page's *mspan and the mspan once; a new span
 * is appended (span_addr is then no longer sorted: late spans are found
 * through the page table only).
 */
static int32_t recheck(struct go_heap *h, struct heap_arena *a, uint64_t p)
{
	uint8_t raw[4096];
	uint64_t sp = 0;
	struct heap_span s;

	a->page[p] = RECHECKED;
	if (read_one(h, a->addr + h->l.arena_spans + p * 8, &sp, 8) || !sp ||
	    read_one(h, sp, raw, h->l.span_size) || !parse_span(h, raw, &s) || !covers(&s, a, p) ||
	    add_span(h, &s, sp))
		return RECHECKED;
	h->late++;
	/* the other pages of this span */
	for (uint64_t q = 0; q < PAGES_PER_ARENA; q++)
		if (a->page[q] < 0 && covers(&s, a, q))
			a->page[q] = h->nspans - 1;
	return h->nspans - 1;
}

bool go_heap__find(struct go_heap *h, uint64_t addr, struct go_heap_obj *o)
{
	uint64_t ai = (addr - ARENA_BASE_OFFSET) >> ARENA_SHIFT, p, off;
	struct heap_arena *a;
	struct heap_span *s;
	int32_t k;

	if (ai >= L2_ENTRIES || !(a = arena_of(h, addr)))
		return false;
	p = (addr & (ARENA_BYTES - 1)) >> PAGE_SHIFT;
	if (!a->page) { /* nothing known there yet: every page to re-read */
		if (!(a->page = malloc(PAGES_PER_ARENA * sizeof(int32_t))))
			return false;
		for (uint64_t q = 0; q < PAGES_PER_ARENA; q++)
			a->page[q] = NO_SPAN;
	}
	k = a->page[p];
	if (k == NO_SPAN)
		k = recheck(h, a, p);
	if (k < 0)
		return false;
	s = &h->spans[k];
	off = addr - s->start;
	if (addr < s->start || off / s->elemsize >= s->nelems)
		return false; /* the span's tail, past its last slot */
	o->index = off / s->elemsize;
	o->base = s->start + o->index * s->elemsize;
	o->size = s->elemsize;
	o->noscan = s->noscan;
	o->span = k;
	return true;
}

int go_heap__arena_count(const struct go_heap_layout *l, uint64_t bias, const struct go_mem *m)
{
	struct go_heap h = { .l = *l, .m = m };
	int rc = read_arenas(&h, bias, NULL, 0);

	rc = rc ? -1 : (int)h.narenas;
	free(h.arenas);
	return rc;
}

bool go_heap__mark(struct go_heap *h, const struct go_heap_obj *o)
{
	uint64_t bit = h->spans[o->span].marks + o->index;
	uint64_t w = bit / 64, m = 1ull << (bit % 64);

	if (h->marks[w] & m)
		return false;
	h->marks[w] |= m;
	return true;
}

bool go_heap__marked(const struct go_heap *h, const struct go_heap_obj *o)
{
	uint64_t bit = h->spans[o->span].marks + o->index;

	return h->marks[bit / 64] & (1ull << (bit % 64));
}

uint32_t go_heap__nspans(const struct go_heap *h)
{
	return h->nspans;
}

uint64_t go_heap__span_specials(const struct go_heap *h, uint32_t i, uint64_t *start,
				uint64_t *bytes)
{
	*start = h->spans[i].start;
	*bytes = h->spans[i].npages << PAGE_SHIFT;
	return h->spans[i].specials;
}

void go_heap__stats(const struct go_heap *h, struct go_heap_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->arenas = h->narenas;
	st->spans = h->nspans;
	for (uint32_t i = 0; i < h->nspans; i++)
		st->span_bytes += h->spans[i].npages << PAGE_SHIFT;
	st->late_spans = h->late;
}

void go_heap__free(struct go_heap *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->narenas; i++)
		free(h->arenas[i].page);
	free(h->arenas);
	free(h->spans);
	free(h->span_addr);
	free(h->marks);
	free(h);
}
