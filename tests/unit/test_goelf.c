// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Go binary reader (user/go/image.c, elf.c, pclntab.c, allgs.c, dwarf.c,
 * runtime.c) on real Go binaries.
 *
 *   test_goelf                  version-independent checks, then the Go
 *                               fixtures $GOELF_FIXTURES (default
 *                               build/fixtures/go) idle-go126, idle-go119,
 *                               idle-go127
 *   test_goelf BIN [REF]        checks on BIN; with REF, an unstripped build
 *                               of the same source by the same toolchain:
 *                               same functions and lines, same allgs place
 *   test_goelf --exact BIN REF  REF is BIN before `strip`: same addresses
 *   test_goelf --frames BIN PC  print "function file:line" per logical frame
 *   test_goelf --layout BIN     print the DWARF layouts and the binary's wait
 *                               reasons (to write a new release's tables)
 *
 * Each checked file is also truncated and randomly damaged in memory
 * (GOELF_FUZZ_ROUNDS rounds, default 20): opening and using the copies
 * must not crash (run under ASan to see more than crashes).
 * Skips (passes with a note) when the fixtures are not built.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "go/elf_priv.h"
#include "go/infer.h"
#include "unit.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void check_tables(void)
{
	CHECK(go_version_minor("go1.19.8") == 19);
	CHECK(go_version_minor("go1.22rc1") == 22);
	CHECK(go_version_minor("devel go1.24-abc") == -1);
	CHECK(go_version_minor(NULL) == -1);
	CHECK(go_version_minor("go1.") == -1);
	CHECK(!strcmp(go_wait_reason_name("go1.19.8", 14), "chan receive"));
	CHECK(!strcmp(go_wait_reason_name("go1.26.1", 19), "chan receive"));
	CHECK(!strcmp(go_wait_reason_name("go1.26.1", 0), ""));
	CHECK(!strcmp(go_wait_reason_name("go1.21.0", 21), "sync.Mutex.Lock"));
	CHECK(!strcmp(go_wait_reason_name("go1.24.3", 24), "sync.WaitGroup.Wait"));
	CHECK(go_wait_reason_name("go1.26.1", 47) == NULL);
	CHECK(go_wait_reason_name("go1.14.1", 1) == NULL);
	CHECK(go_wait_reason_name("go1.99.0", 1) == NULL);
	CHECK(!strcmp(go_status_name(4), "_Gwaiting"));
	CHECK(!strcmp(go_status_name(GO_GSCAN | 4), "_Gscanwaiting"));
	CHECK(!strcmp(go_status_name(9), "_Gpreempted"));
	CHECK(go_status_name(GO_GSCAN | 6) == NULL);
	CHECK(go_status_name(12) == NULL);
	CHECK(go_status_name(0x2004) == NULL);

	struct go_g_layout l;

	CHECK(go_g_layout_for_version("go1.19.8", &l) == 0 && l.parent_goid == -1 && l.goid == 152);
	CHECK(go_g_layout_for_version("go1.26.8", &l) == 0 && l.parent_goid == 280);
	CHECK(go_g_layout_for_version("go1.14.15", &l) == -ENOTSUP);
	CHECK(go_g_layout_for_version("devel go1.27-x", &l) == -ENOTSUP);
}

static void check_not_go(void)
{
	char err[256];
	int e = 0;
	struct go_binary *b = go_binary__open("/proc/self/exe", &e, err, sizeof(err));
	struct go_func_info fi;
	struct go_allgs a;

	/* This test program is ELF but not Go. */
	CHECK(b && !go_binary__is_go(b) && strstr(err, "not a Go binary"));
	CHECK(b && go_binary__version(b) == NULL);
	CHECK(b && go_binary__lookup(b, 0x401000, &fi) == -ENOENT);
	CHECK(b && go_binary__find_allgs(b, &a, err, sizeof(err)) == -ENOENT);
	go_binary__free(b);
	b = go_binary__open("/etc/hostname", &e, err, sizeof(err));
	CHECK(!b && e == -ENOEXEC && strstr(err, "not an ELF file"));
	b = go_binary__open("/nonexistent/x", &e, err, sizeof(err));
	CHECK(!b && e == -ENOENT);
}

/* Symbol and pclntab names are the same but for the ".abi0" suffix of
 * assembly functions, "·" spelled "." in the symbol table, and array
 * lengths shortened to "[...]" in the pclntab before 1.20. */
static bool same_name(const char *sym, const char *fn)
{
	while (*sym && *fn) {
		if (!strncmp(fn, "[...]", 5) && *sym == '[' && strchr(sym, ']')) {
			fn += 5;
			sym = strchr(sym, ']') + 1;
		} else if (!strncmp(fn, "\xc2\xb7", 2) && *sym == '.') {
			fn += 2;
			sym++;
		} else if (*sym++ != *fn++) {
			return false;
		}
	}
	return !*fn && (!*sym || !strcmp(sym, ".abi0"));
}

/* Every function symbol of .symtab is a pclntab function with that entry
 * and name (runtime.text is an alias of the first function). */
static void check_against_symtab(const struct go_binary *b)
{
	bool is64 = gelf_getclass(b->elf) == ELFCLASS64;
	unsigned entsz = is64 ? 24 : 16, nfunc = 0, entry_ok = 0, name_ok = 0;

	if (!b->symtab || !is64)
		return;
	for (uint64_t off = 0; off + entsz <= b->symtab->size; off += entsz) {
		const uint8_t *e = b->map + b->symtab->offset + off;
		const char *name = (const char *)b->map + b->strtab->offset + go_le32(e);
		uint64_t value = go_le64(e + 8);
		struct go_func_info fi;

		if (ELF64_ST_TYPE(e[4]) != STT_FUNC || !strcmp(name, "runtime.text") ||
		    go_binary__lookup(b, value, &fi))
			continue;
		nfunc++;
		entry_ok += fi.entry == value;
		name_ok += same_name(name, fi.function);
		if (!same_name(name, fi.function))
			fprintf(stderr, "  symbol %s, pclntab %s\n", name, fi.function);
	}
	printf("  symtab: %u functions, %u same entry, %u same name\n", nfunc, entry_ok, name_ok);
	CHECK(nfunc > 1000);
	CHECK(entry_ok == nfunc);
	CHECK(name_ok == nfunc);
}

/* The binary's own runtime.waitReasonStrings against the table. */
static void check_wait_reasons(const struct go_binary *b, const char *version)
{
	uint64_t size, addr = go_binary__symbol(b, "runtime.waitReasonStrings", &size);
	unsigned n = size / 16, same = 0;

	if (!addr || !n)
		return;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *h = go_binary__bytes(b, addr + 16 * i, 16), *s;
		const char *want = go_wait_reason_name(version, i);
		uint64_t len = h ? go_le64(h + 8) : 0;

		s = len ? go_binary__bytes(b, go_le64(h), len) : (const uint8_t *)"";
		if (s && want && strlen(want) == len && !memcmp(want, s, len))
			same++;
		else
			fprintf(stderr, "  wait reason %u: table \"%s\", binary \"%.*s\"\n", i,
				want ? want : "(none)", (int)len, s ? (const char *)s : "");
	}
	printf("  wait reasons: %u of %u match the binary\n", same, n);
	const char *const *names;
	CHECK(go_binary__wait_reasons((struct go_binary *)b, &names, NULL) == (int)n);
	CHECK(same == n);
	CHECK(go_wait_reason_name(version, n) == NULL);
}

static void check_layout(const struct go_binary *b, const char *version)
{
	struct go_g_layout d, t, any;
	char err[256];
	int r = go_binary__g_layout_dwarf(b, &d);

	CHECK(go_binary__g_layout(b, &any, err, sizeof(err)) == 0);
	if (r == -ENOENT) {
		printf("  no DWARF: layout from %s\n", any.source);
		return;
	}
	CHECK(r == 0);
	CHECK(go_g_layout_for_version(version, &t) == 0);
	/* Compare the offsets, not the source names. */
	d.source = t.source = NULL;
	CHECK(!memcmp(&d, &t, sizeof(d)));
	if (memcmp(&d, &t, sizeof(d)))
		fprintf(stderr, "  DWARF layout of %s differs from the table\n", version);
	CHECK(d.sched_sp == d.sched && d.stack_lo == 0 && d.stack_hi == 8);
	/* What inference reads from code is what DWARF says. */
	int cst, cwr;

	go_infer__code_offsets(b, &cst, &cwr);
	printf("  from code: atomicstatus %d, waitreason %d\n", cst, cwr);
	CHECK(cst == d.atomicstatus && cwr == d.waitreason);
	CHECK((go_version_minor(version) >= 21) == (d.parent_goid > 0));

	/* Same for the channel and semaphore layouts. */
	struct go_chan_layout cd, ct;

	CHECK(go_binary__chan_layout_dwarf(b, &cd) == 0);
	CHECK(go_chan_layout_for_version(version, &ct) == 0);
	cd.source = ct.source = NULL;
	CHECK(!memcmp(&cd, &ct, sizeof(cd)));
	if (memcmp(&cd, &ct, sizeof(cd)))
		fprintf(stderr, "  DWARF channel layout of %s differs from the table\n", version);
}

/* --layout BIN: what a new release's tables need, read from its DWARF and
 * its runtime.waitReasonStrings. */
static int print_layout(const char *path)
{
	struct go_binary *b = go_binary__open(path, NULL, NULL, 0);
	struct go_g_layout d;
	struct go_chan_layout c;
	uint64_t size, addr;

	if (!b || go_binary__g_layout_dwarf(b, &d) || go_binary__chan_layout_dwarf(b, &c)) {
		fprintf(stderr, "%s: no Go DWARF layouts\n", path);
		go_binary__free(b);
		return 1;
	}
	printf("%s\ng_size %d m_size %d goid %d atomicstatus %d waitreason %d waitsince %d "
	       "sched %d sched_sp %d sched_pc %d sched_bp %d gopc %d startpc %d parent_goid %d "
	       "stack_lo %d stack_hi %d m %d m_curg %d m_procid %d\n",
	       go_binary__version(b), d.g_size, d.m_size, d.goid, d.atomicstatus, d.waitreason,
	       d.waitsince, d.sched, d.sched_sp, d.sched_pc, d.sched_bp, d.gopc, d.startpc,
	       d.parent_goid, d.stack_lo, d.stack_hi, d.m, d.m_curg, d.m_procid);
	printf("g_waiting %d sudog g %d next %d prev %d elem %d c %d waitlink %d hchan qcount %d "
	       "dataqsiz %d elemsize %d closed %d elemtype %d recvq %d sendq %d semaroot_treap %d "
	       "type_str %d type_tflag %d md_types %d\n",
	       c.g_waiting, c.sudog_g, c.sudog_next, c.sudog_prev, c.sudog_elem, c.sudog_c,
	       c.sudog_waitlink, c.hchan_qcount, c.hchan_dataqsiz, c.hchan_elemsize,
	       c.hchan_closed, c.hchan_elemtype, c.hchan_recvq, c.hchan_sendq, c.semaroot_treap,
	       c.type_str, c.type_tflag, c.md_types);
	addr = go_binary__symbol(b, "runtime.waitReasonStrings", &size);
	for (unsigned i = 0; addr && i < size / 16; i++) {
		const uint8_t *h = go_binary__bytes(b, addr + 16 * i, 16), *s;
		uint64_t len = h ? go_le64(h + 8) : 0;

		s = len ? go_binary__bytes(b, go_le64(h), len) : NULL;
		printf("%u \"%.*s\"\n", i, s ? (int)len : 0, s ? (const char *)s : "");
	}
	go_binary__free(b);
	return 0;
}

/* Some pc of main.main shows inlined frames ending in main.main. */
static void check_inlining(const struct go_binary *b)
{
	uint64_t end, entry = go_binary__func_entry(b, "main.main", &end);
	struct go_frame fr[16];
	int best = 0;

	for (uint64_t pc = entry; pc < end; pc++) {
		int n = go_binary__frames(b, pc, fr, 16);

		CHECK(n >= 1 && !strcmp(fr[n - 1].function, "main.main") && !fr[n - 1].inlined);
		/* A misread inline tree gives names without positions (the
		 * padding after a function's code has none either). */
		for (int i = 0; n > 1 && i < n; i++)
			CHECK(fr[i].file && fr[i].line > 0 && fr[i].inlined == (i < n - 1));
		if (n > best)
			best = n;
		if (n < 1 || strcmp(fr[n - 1].function, "main.main"))
			break;
	}
	printf("  deepest inlining in main.main: %d frames\n", best);
	CHECK(best >= 2);
}

/* SP deltas (pcsp), what thread stacks of stripped binaries are unwound
 * with: 0 at the entry, a whole number of words inside, and a frame at
 * some pc of main.main; runtime.futex is a frameless assembly stub. */
static void check_sp_deltas(const struct go_binary *b)
{
	uint64_t end, entry = go_binary__func_entry(b, "main.main", &end);
	uint64_t futex = go_binary__func_entry(b, "runtime.futex", NULL);
	int32_t d, most = 0;

	CHECK(go_binary__sp_delta(b, entry, &d) == 0 && d == 0);
	/* The table ends with the code: the padding up to the next function
	 * has no delta (-EINVAL), and no pc in it is ever on a stack. */
	for (uint64_t pc = entry; pc < end; pc++) {
		if (go_binary__sp_delta(b, pc, &d)) {
			CHECK(pc > entry && go_binary__sp_delta(b, end - 1, &d) == -EINVAL);
			break;
		}
		CHECK(d >= 0 && d % 8 == 0 && d < 65536);
		most = d > most ? d : most;
	}
	CHECK(most >= 16);
	CHECK(futex && go_binary__sp_delta(b, futex, &d) == 0 && d == 0);
	CHECK(go_binary__sp_delta(b, 1, &d) == -ENOENT);
	printf("  main.main frame: %d bytes at most; runtime.futex: frameless\n", most);
}

static struct go_binary *open_checked(const char *path)
{
	char err[256];
	int e;
	struct go_binary *b = go_binary__open(path, &e, err, sizeof(err));

	CHECK(b != NULL);
	if (!b || !go_binary__is_go(b))
		fprintf(stderr, "  %s\n", err);
	return b;
}

static void check_binary(const char *path)
{
	struct go_binary *b = open_checked(path);
	const char *version, *src;
	uint64_t text;
	struct go_func_info fi;
	struct go_allgs a, c;
	uint64_t entry, end;
	char err[256];

	if (!b)
		return;
	version = go_binary__version(b);
	text = go_binary__text_start(b, &src);
	printf("%s: %s (%s), pclntab %d, text 0x%" PRIx64 " (%s), main %s, module %s\n", path,
	       version ? version : "?", go_binary__version_source(b),
	       go_binary__pclntab_version(b), text, src,
	       go_binary__main_path(b), go_binary__module_path(b));
	CHECK(go_binary__is_go(b));
	CHECK(go_version_minor(version) >= 15);
	if (go_version_minor(version) >= 18 && !strcmp(go_binary__version_source(b), "buildinfo"))
		CHECK(go_binary__main_path(b) != NULL);
	entry = go_binary__func_entry(b, "main.main", &end);
	CHECK(entry && end > entry);
	CHECK(go_binary__lookup(b, entry, &fi) == 0);
	CHECK(fi.function && !strcmp(fi.function, "main.main"));
	CHECK(fi.entry == entry && fi.end == end);
	CHECK(ends_with(fi.file, "main.go") && fi.line > 0);
	CHECK(go_binary__lookup(b, end - 1, &fi) == 0 && fi.entry == entry);
	CHECK(go_binary__lookup(b, 1, &fi) == -ENOENT);
	CHECK(go_binary__func_entry(b, "no.such.function", NULL) == 0);
	if (go_binary__symbol(b, "runtime.text", NULL))
		CHECK(text == go_binary__symbol(b, "runtime.text", NULL));
	if (go_binary__pclntab_version(b) >= 118) {
		/* What stripped binaries rely on: the moduledata found by
		 * content, its text and gofunc. */
		uint64_t md = go_binary__symbol(b, "runtime.firstmoduledata", NULL);
		uint64_t gf = go_binary__symbol(b, "go:func.*", NULL);

		gf = gf ? gf : go_binary__symbol(b, "go.func.*", NULL);
		CHECK(b->moduledata && b->gofunc);
		if (md)
			CHECK(b->moduledata == md);
		if (gf)
			CHECK(b->gofunc == gf);
	}

	CHECK(go_binary__find_allgs(b, &a, err, sizeof(err)) == 0);
	if (!a.allgs)
		fprintf(stderr, "  allgs: %s\n", err);
	CHECK(go_binary__find_allgs_in_code(b, &c, err, sizeof(err)) == 0);
	printf("  allgs 0x%" PRIx64 " allglen 0x%" PRIx64 " (%s), from code 0x%" PRIx64
	       " 0x%" PRIx64 "\n", a.allgs, a.allglen, a.source, c.allgs, c.allglen);
	/* With .symtab the heuristic must agree with the symbols. */
	CHECK(c.allgs == a.allgs && c.allglen == a.allglen && c.allglen);

	check_against_symtab(b);
	check_wait_reasons(b, version);
	check_layout(b, version);
	check_inlining(b);
	check_sp_deltas(b);
	go_binary__free(b);
}

/* Section name and offset in it: stable across -s -w, unlike addresses. */
static bool same_place(const struct go_binary *x, uint64_t a, const struct go_binary *y,
		       uint64_t b)
{
	const struct go_section *sa = go_binary__section_at(x, a, 1);
	const struct go_section *sb = go_binary__section_at(y, b, 1);

	return sa && sb && !strcmp(sa->name, sb->name) && a - sa->addr == b - sb->addr;
}

static void check_pair(const char *path, const char *ref_path, bool exact)
{
	static const char *const funcs[] = {
		"main.main", "main.blockForever", "runtime.allgadd", "runtime.gopark",
		"runtime.chanrecv", "runtime.goexit", "runtime.mstart", "runtime.futex",
	};
	struct go_binary *b = open_checked(path), *r = open_checked(ref_path);
	struct go_allgs ab, ar;
	char err[256];

	if (!b || !r)
		goto out;
	printf("%s against %s%s\n", path, ref_path, exact ? " (exact)" : "");
	CHECK(!strcmp(go_binary__version(b), go_binary__version(r)));
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		uint64_t eb, er, endb, endr;
		struct go_func_info fb, fr;

		eb = go_binary__func_entry(b, funcs[i], &endb);
		er = go_binary__func_entry(r, funcs[i], &endr);
		CHECK(eb && er && endb - eb == endr - er);
		if (!eb || !er || go_binary__lookup(b, eb, &fb) || go_binary__lookup(r, er, &fr)) {
			fprintf(stderr, "  %s: not found\n", funcs[i]);
			CHECK(0);
			continue;
		}
		CHECK(!strcmp(fb.function, funcs[i]) && !strcmp(fr.function, funcs[i]));
		CHECK(fb.line == fr.line && fb.file && fr.file && !strcmp(fb.file, fr.file));
		if (exact)
			CHECK(eb == er);
	}
	/* The runtime's wait reason strings: through code in the stripped
	 * file, the same list as the reference's (by symbol there). */
	const char *const *nb, *const *nr;
	const char *srcb, *srcr;
	int kb = go_binary__wait_reasons(b, &nb, &srcb), kr = go_binary__wait_reasons(r, &nr, &srcr);

	printf("  wait reasons: %d (%s), reference %d (%s)\n", kb, srcb, kr, srcr);
	CHECK(kb > 20 && kb == kr);
	for (int i = 0; kb > 0 && i < kb && i < kr; i++)
		CHECK(!strcmp(nb[i], nr[i]));
	CHECK(go_binary__find_allgs(b, &ab, err, sizeof(err)) == 0);
	CHECK(go_binary__find_allgs(r, &ar, err, sizeof(err)) == 0);
	printf("  allgs 0x%" PRIx64 " (%s), reference 0x%" PRIx64 " (%s)\n", ab.allgs, ab.source,
	       ar.allgs, ar.source);
	CHECK(same_place(b, ab.allgs, r, ar.allgs));
	CHECK(same_place(b, ab.allglen, r, ar.allglen));
	if (exact) {
		CHECK(ab.allgs == ar.allgs && ab.allglen == ar.allglen);
		CHECK(go_binary__text_start(b, NULL) == go_binary__text_start(r, NULL));
	}
out:
	go_binary__free(b);
	go_binary__free(r);
}

static int print_frames(const char *path, const char *pcs)
{
	struct go_binary *b = open_checked(path);
	uint64_t pc = strtoull(pcs, NULL, 0);
	struct go_frame fr[32];
	int n;

	if (!b)
		return 1;
	n = go_binary__frames(b, pc, fr, 32);
	for (int i = 0; i < n; i++)
		printf("%s %s:%d\n", fr[i].function, fr[i].file ? fr[i].file : "?", fr[i].line);
	go_binary__free(b);
	return n > 0 ? 0 : 1;
}

/* A copy of the file in a memfd, its first keep bytes, with 64 random bit
 * flips in [lo, lo+len) when seed is not 0: opened and used. */
static void use_damaged(const uint8_t *orig, size_t size, size_t keep, unsigned seed, size_t lo,
			size_t len)
{
	int fd = memfd_create("goelf-fuzz", MFD_CLOEXEC);
	uint8_t *copy = malloc(size);
	struct go_binary *b;
	char err[256];
	int e;

	if (fd < 0 || !copy) {
		CHECK(0);
		goto out;
	}
	memcpy(copy, orig, size);
	srandom(seed);
	for (int i = 0; seed && len && i < 64; i++)
		copy[lo + random() % len] ^= 1u << (random() % 8);
	if (write(fd, copy, keep) != (ssize_t)keep) {
		CHECK(0);
		goto out;
	}
	b = go_binary__open_fd(fd, "damaged", &e, err, sizeof(err));
	if (b) {
		struct go_func_info fi;
		struct go_frame fr[8];
		struct go_g_layout l;
		struct go_allgs a;
		uint64_t end, entry = go_binary__func_entry(b, "main.main", &end);

		for (uint64_t pc = 0x401000; pc < 0x4c0000; pc += 0x333) {
			go_binary__lookup(b, pc, &fi);
			go_binary__frames(b, pc, fr, 8);
		}
		if (entry && end > entry && end - entry < 65536)
			for (uint64_t pc = entry; pc < end; pc++)
				go_binary__frames(b, pc, fr, 8);
		go_binary__find_allgs(b, &a, err, sizeof(err));
		go_binary__find_allgs_in_code(b, &a, err, sizeof(err));
		go_binary__g_layout(b, &l, err, sizeof(err));
		/* the readers of version.c, reasons.c and infer.c's code scan */
		const char *const *names;
		int st, wr, n = go_binary__wait_reasons(b, &names, NULL);

		for (int i = 0; i < n; i++)
			CHECK(names[i] != NULL);
		go_infer__code_offsets(b, &st, &wr);
		if (go_binary__version(b))
			CHECK(go_binary__version_source(b) != NULL);
		go_binary__free(b);
	}
	CHECK(1); /* reaching here is the check */
out:
	free(copy);
	if (fd >= 0)
		close(fd);
}

static void check_damaged(const char *path)
{
	struct go_binary *b = go_binary__open(path, NULL, NULL, 0);
	const char *env = getenv("GOELF_FUZZ_ROUNDS");
	unsigned rounds = env ? strtoul(env, NULL, 10) : 20;
	const struct go_section *pcln, *info;
	size_t size, tail;

	if (!b)
		return;
	size = b->size;
	pcln = go_binary__section(b, ".gopclntab");
	info = go_binary__section(b, ".go.buildinfo");
	tail = size < 4096 ? size : 4096;
	/* Truncated: inside the headers, the pclntab, the data. */
	for (size_t keep = 16; keep < size; keep = keep * 3 + 1)
		use_damaged(b->map, size, keep, 0, 0, 0);
	for (unsigned seed = 1; seed <= rounds; seed++) {
		/* anywhere; the section headers (at the end of Go binaries);
		 * the pclntab, where lookups go; the build info */
		use_damaged(b->map, size, size, seed, 0, size);
		use_damaged(b->map, size, size, seed, size - tail, tail);
		if (pcln && pcln->in_file) {
			uint64_t ft = b->pcln.functab;

			use_damaged(b->map, size, size, seed, pcln->offset,
				    pcln->size < 65536 ? pcln->size : 65536);
			/* functab and _func records */
			if (ft < pcln->size)
				use_damaged(b->map, size, size, seed, pcln->offset + ft,
					    pcln->size - ft);
		}
		if (info && info->in_file)
			use_damaged(b->map, size, size, seed, info->offset, info->size);
	}
	printf("  damaged copies: opened and used without crashing\n");
	go_binary__free(b);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("GOELF_FIXTURES");
	static const char *const fixtures[] = { "idle-go126", "idle-go119", "idle-go127" };
	bool exact = argc > 1 && !strcmp(argv[1], "--exact");

	if (argc == 4 && !strcmp(argv[1], "--frames"))
		return print_frames(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "--layout"))
		return print_layout(argv[2]);
	check_tables();
	check_not_go();
	if (argc > 1 + exact) {
		check_binary(argv[1 + exact]);
		check_damaged(argv[1 + exact]);
		if (argc > 2 + exact)
			check_pair(argv[1 + exact], argv[2 + exact], exact);
		return unit_done("test_goelf");
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/fixtures/go", fixtures[i]);
		if (stat(path, &st)) {
			printf("test_goelf: %s not built (make fixtures): skipped\n", path);
			continue;
		}
		check_binary(path);
		check_damaged(path);
	}
	return unit_done("test_goelf");
}
