// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * seed_pclntab BINARY OUT [CODE]: write a small .gopclntab for fuzz_pclntab made
 * from a real one (Go 1.18+ formats): the functions named below with their
 * names, files, pc-value tables (pcsp, pcfile, pcln, pcdata) and _func
 * records, offsets rewritten, every table in the original format. A real
 * table is hundreds of KiB, and libFuzzer's cost per run grows with the
 * input; this one is a few KiB and keeps every kind of record. Functions
 * between the kept ones are dropped, so a kept one's end is the next kept
 * one's entry, as the format implies.
 *
 * With CODE, also write the 4 KiB of code from runtime.allgadd's entry and
 * print that address: the Makefile builds a small whole-file seed (for
 * fuzz_elf and fuzz_allgs) from the binary with this table and that code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/elf_priv.h"

static const char *const keep[] = {
	"runtime.rt0_go", "runtime.mstart", "runtime.mstart1", "runtime.schedule",
	"runtime.findRunnable", "runtime.mcall", "runtime.morestack", "runtime.goexit",
	"runtime.futex", "runtime.gopark", "runtime.chanrecv", "runtime.allgadd",
	"runtime.newproc1", "main.main", "main.blockedRead",
};
#define NKEEP (sizeof(keep) / sizeof(keep[0]))

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static uint32_t put(struct buf *b, const void *src, size_t n)
{
	uint32_t at = b->n;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			exit(1);
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
	return at;
}

static uint32_t put32(struct buf *b, uint32_t v)
{
	return put(b, &v, 4);
}

/* Length of the pc-value table at p: pairs up to a zero value delta. */
static size_t table_len(const uint8_t *p, const uint8_t *end, int32_t *maxval)
{
	const uint8_t *s = p;
	int32_t v = -1;

	for (int first = 1;; first = 0) {
		uint32_t uv = 0, pcd = 0;

		for (int sh = 0; p < end; sh += 7) {
			uv |= (uint32_t)(*p & 0x7f) << sh;
			if (!(*p++ & 0x80))
				break;
		}
		if (!uv && !first)
			return p - s;
		for (int sh = 0; p < end; sh += 7) {
			pcd |= (uint32_t)(*p & 0x7f) << sh;
			if (!(*p++ & 0x80))
				break;
		}
		v += (uv & 1) ? -(int32_t)((uv + 1) >> 1) : (int32_t)(uv >> 1);
		if (maxval && v > *maxval)
			*maxval = v;
		if (p >= end)
			return p - s;
	}
}

/* Copy pctab table off into pct; its new offset (0 stays 0: no table). */
static uint32_t copy_table(const struct go_pclntab *t, struct buf *pct, uint32_t off,
			   int32_t *maxval)
{
	const uint8_t *p = t->data + t->pctab + off;

	if (!off)
		return 0;
	return put(pct, p, table_len(p, t->data + t->size, maxval));
}

int main(int argc, char **argv)
{
	struct buf names = {}, cutab = {}, files = {}, pct = {}, ftab = {}, funcs = {}, out = {};
	struct go_binary *b;
	const struct go_pclntab *t;
	uint64_t idx[NKEEP], n = 0, words[8];
	char err[256];
	FILE *f;

	if (argc < 3 || argc > 4 || !(b = go_binary__open(argv[1], NULL, err, sizeof(err)))) {
		fprintf(stderr, "usage: seed_pclntab GO_BINARY OUT [CODE]\n");
		return 2;
	}
	t = &b->pcln;
	if (t->ver < 118) {
		fprintf(stderr, "seed_pclntab: %s: pclntab %d, want 118+\n", argv[1], t->ver);
		return 1;
	}
	put(&pct, "\0", 1); /* offset 0 means no table */
	/* Functab indexes of the kept functions, in table (pc) order. */
	for (uint64_t i = 0; i < t->nfunc; i++) {
		uint32_t fo = go_le32(t->data + t->functab + (2 * i + 1) * 4);
		const uint8_t *fn = t->data + t->funcdata + fo;
		const char *name = (const char *)t->data + t->funcnametab + go_le32(fn + 4);

		for (size_t k = 0; k < NKEEP; k++)
			if (!strcmp(name, keep[k]))
				idx[n++] = i;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = idx[k];
		uint32_t fo = go_le32(t->data + t->functab + (2 * i + 1) * 4);
		const uint8_t *fn = t->data + t->funcdata + fo;
		unsigned nfields = t->ver == 120 ? 9 : 8, fixed = 4 + 4 * nfields + 4;
		uint32_t npcdata = go_le32(fn + 4 + 4 * 6), cu = go_le32(fn + 4 + 4 * 7);
		unsigned nfuncdata = fn[fixed - 1];
		uint8_t rec[512];
		size_t len = fixed + 4 * npcdata + 4 * nfuncdata;
		const char *name = (const char *)t->data + t->funcnametab + go_le32(fn + 4);
		int32_t maxfile = -1;
		uint32_t v;

		if (len > sizeof(rec))
			return 1;
		memcpy(rec, fn, len);
		v = put(&names, name, strlen(name) + 1);
		memcpy(rec + 4, &v, 4);
		/* pcsp, pcfile, pcln */
		for (int fld = 3; fld <= 5; fld++) {
			v = copy_table(t, &pct, go_le32(fn + 4 + 4 * fld), fld == 4 ? &maxfile : NULL);
			memcpy(rec + 4 + 4 * fld, &v, 4);
		}
		for (uint32_t j = 0; j < npcdata; j++) {
			v = copy_table(t, &pct, go_le32(fn + fixed + 4 * j), NULL);
			memcpy(rec + fixed + 4 * j, &v, 4);
		}
		/* This function's files: its own stretch of the cutab. */
		v = cutab.n / 4;
		memcpy(rec + 4 + 4 * 7, &v, 4);
		for (int32_t j = 0; j <= maxfile; j++) {
			uint32_t fofs = go_le32(t->data + t->cutab + 4 * ((uint64_t)cu + j));
			const char *file = (const char *)t->data + t->filetab + fofs;

			put32(&cutab, fofs == UINT32_MAX ? UINT32_MAX
							 : put(&files, file, strlen(file) + 1));
		}
		/* functab: entry offset from the original, record offset
		 * from the functab start (fixed up once its size is known). */
		put32(&ftab, go_le32(t->data + t->functab + 2 * i * 4));
		put32(&ftab, funcs.n);
		put(&funcs, rec, len);
		while (funcs.n % 4)
			put(&funcs, "", 1);
	}
	/* The end of the last kept function: the next function's entry. */
	put32(&ftab, go_le32(t->data + t->functab + 2 * (idx[n - 1] + 1) * 4));
	for (uint64_t k = 0; k < n; k++) {
		uint32_t *fo = (uint32_t *)(ftab.p + (2 * k + 1) * 4);

		*fo += ftab.n;
	}
	/* Header: magic, 0, 0, quantum, ptrsize, then the words. */
	put(&out, t->data, 8);
	words[0] = n;
	words[1] = cutab.n / 4;
	words[2] = t->hdr_text;
	words[3] = 8 + 8 * 8;
	words[4] = words[3] + names.n;
	words[5] = words[4] + cutab.n;
	words[6] = words[5] + files.n;
	words[7] = words[6] + pct.n;
	put(&out, words, sizeof(words));
	put(&out, names.p, names.n);
	put(&out, cutab.p, cutab.n);
	put(&out, files.p, files.n);
	put(&out, pct.p, pct.n);
	put(&out, ftab.p, ftab.n);
	put(&out, funcs.p, funcs.n);
	/* The seed must read back: every kept function by its entry. */
	{
		struct go_section sec = { .name = ".gopclntab", .addr = t->addr, .size = out.n,
					  .flags = SHF_ALLOC, .type = SHT_PROGBITS, .in_file = true };
		struct go_binary c = { .map = out.p, .size = out.n, .secs = &sec, .nsecs = 1,
				       .text_start = b->text_start };
		struct go_func_info fi;
		int32_t d;

		if (go_pclntab__parse(&c, out.p, out.n, t->addr, err, sizeof(err)))
			return fprintf(stderr, "seed_pclntab: unreadable: %s\n", err), 1;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t pc = b->text_start + go_le32(ftab.p + 2 * k * 4);

			if (go_binary__lookup(&c, pc, &fi) || !fi.file || fi.line <= 0 ||
			    go_binary__sp_delta(&c, pc, &d) || d) {
				fprintf(stderr, "seed_pclntab: function %llu does not read back\n",
					(unsigned long long)k);
				return 1;
			}
		}
	}
	f = fopen(argv[2], "w");
	if (!f || fwrite(out.p, out.n, 1, f) != 1 || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	fprintf(stderr, "seed_pclntab: %s: %llu functions, %zu bytes\n", argv[2],
		(unsigned long long)n, out.n);
	if (argc == 4) {
		uint64_t entry = go_binary__func_entry(b, "runtime.allgadd", NULL);
		const uint8_t *code = go_binary__bytes(b, entry, 4096);

		f = fopen(argv[3], "w");
		if (!code || !f || fwrite(code, 4096, 1, f) != 1 || fclose(f)) {
			fprintf(stderr, "seed_pclntab: no code of runtime.allgadd\n");
			return 1;
		}
		printf("0x%llx\n", (unsigned long long)entry);
	}
	go_binary__free(b);
	return 0;
}
