// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the readers of a Go process's memory (go/goroutines.c:
 * runtime.allgs, each g, stack windows and frame pointers; go/wait.c:
 * channels, sudogs, the semtable, type names). The binary is real (a Go
 * fixture, $PARKWATCH_FUZZ_GO_BINARY, opened once); the process memory is
 * the input: address A reads input[(A - allgs) mod size] in the 8 MiB
 * around runtime.allgs (which holds the binary's data and bss), so
 * runtime.allgs is the input's first bytes; every other address is
 * unmapped, as most garbage pointers are in a real process. Reads of more
 * than 2 KiB fail too, but for the semtable's: at most 256 goroutines a
 * run, which keeps runs fast.
 *
 * PARKWATCH_FUZZ_WRITE_SEED=FILE writes a plausible memory image (two
 * parked goroutines, one in a channel receive) for the binary and exits:
 * the Makefile makes the seed corpus that way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/elf.h"
#include "go/goroutines.h"
#include "go/wait.h"

#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "check failed: %s\n", #cond);             \
			abort();                                                  \
		}                                                                 \
	} while (0)

#define MAX_FRAMES 32
#define MAX_READ 2048
#define MAPPED (4ull << 20) /* each side of runtime.allgs */

struct fake_mem {
	const uint8_t *data;
	size_t size;
	uint64_t base;
};

static struct fake_mem mem;
static uint64_t semtable_size;
static struct go_binary *bin;
static struct go_process *proc;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fake_mem *m = ctx;
	uint8_t *out = buf;

	if (!m->size || (len > MAX_READ && len != semtable_size) ||
	    addr - (m->base - MAPPED) > 2 * MAPPED - len)
		return -14; /* EFAULT */
	for (uint64_t at = (addr - m->base) % m->size; len;) {
		size_t k = m->size - at < len ? m->size - at : len;

		memcpy(out, m->data + at, k);
		out += k;
		len -= k;
		at = 0;
	}
	return 0;
}

static void put64(uint8_t *img, size_t at, uint64_t v)
{
	memcpy(img + at, &v, 8);
}

/* Two goroutines: parked in a channel receive with a sudog and a channel,
 * and a second one parked in a select. Offsets from the binary's layout. */
static void write_seed(const char *path, uint64_t allgs)
{
	struct go_g_layout l;
	struct go_chan_layout c;
	uint8_t img[8192] = {};
	uint64_t gopark = go_binary__func_entry(bin, "runtime.gopark", NULL);
	uint64_t g1 = 512, g2 = 1536, sg = 3072, ch = 3584, stk = 4096;
	char err[256];
	FILE *f;

	if (go_binary__g_layout(bin, &l, err, sizeof(err)) ||
	    go_binary__chan_layout(bin, &c, err, sizeof(err))) {
		fprintf(stderr, "fuzz_goroutines: %s\n", err);
		exit(1);
	}
	put64(img, 0, allgs + 256);  /* allgs: ptr, len, cap */
	put64(img, 8, 2);
	put64(img, 16, 2);
	put64(img, 256, allgs + g1);
	put64(img, 264, allgs + g2);
	for (int i = 0; i < 2; i++) {
		uint64_t g = i ? g2 : g1;

		put64(img, g + l.goid, 7 + i);
		img[g + l.atomicstatus] = 4; /* _Gwaiting */
		img[g + l.waitreason] = i ? 9 : 14;
		put64(img, g + l.sched_sp, allgs + stk);
		put64(img, g + l.sched_pc, gopark + 0x20);
		put64(img, g + l.sched_bp, allgs + stk + 64);
		put64(img, g + l.stack_lo, allgs + stk - 2048);
		put64(img, g + l.stack_hi, allgs + stk + 2048);
		put64(img, g + l.gopc, gopark + 1);
		put64(img, g + l.startpc, gopark);
		put64(img, g + c.g_waiting, allgs + sg);
	}
	put64(img, stk + 64, allgs + stk + 128); /* frame pointer chain */
	put64(img, stk + 72, gopark + 0x30);
	put64(img, sg + c.sudog_g, allgs + g1);
	put64(img, sg + c.sudog_c, allgs + ch);
	put64(img, ch + c.hchan_dataqsiz, 4);
	put64(img, ch + c.hchan_recvq, allgs + sg);
	f = fopen(path, "w");
	if (!f || fwrite(img, sizeof(img), 1, f) != 1 || fclose(f)) {
		perror(path);
		exit(1);
	}
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("PARKWATCH_FUZZ_GO_BINARY"), *seed;
	struct go_allgs a;
	char err[256];
	int e = 0;

	if (!path) {
		fprintf(stderr, "fuzz_goroutines: set PARKWATCH_FUZZ_GO_BINARY to a Go binary\n");
		exit(1);
	}
	bin = go_binary__open(path, &e, err, sizeof(err));
	if (!bin || go_binary__find_allgs(bin, &a, err, sizeof(err))) {
		fprintf(stderr, "fuzz_goroutines: %s: %s\n", path, err);
		exit(1);
	}
	mem.base = a.allgs;
	go_binary__symbol(bin, "runtime.semtable", &semtable_size);
	if ((seed = getenv("PARKWATCH_FUZZ_WRITE_SEED")))
		write_seed(seed, a.allgs);
	if (go_process__open_memory(bin, "fuzz", 0, fake_read, &mem, &proc, err, sizeof(err))) {
		fprintf(stderr, "fuzz_goroutines: %s\n", err);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_snapshot s;
	char err[256];

	mem.data = data;
	mem.size = size;
	if (go_process__snapshot(proc, MAX_FRAMES, &s, err, sizeof(err)))
		return 0;
	for (int i = 0; i < s.n; i++) {
		const struct pw_goroutine *g = &s.g[i];

		FUZZ_CHECK(g->goid && g->status_name);
		FUZZ_CHECK(g->stack.nframes <= MAX_FRAMES);
	}
	(void)go_wait__annotate(proc, &s);
	go_snapshot__free(&s);
	return 0;
}
