// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Batched remote reads (go/remote.c) on this process's own memory: ranges
 * joined or not, a hole inside a joined read, more ranges than one call. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "go/remote.h"
#include "unit.h"

#define N 3000

static uint64_t addr[N];
static size_t len[N];
static uint8_t *dst[N], out[N][64];
static bool ok[N];

static void reset(size_t n)
{
	memset(out, 0xee, sizeof(out));
	for (size_t i = 0; i < n; i++) {
		dst[i] = out[i];
		ok[i] = false;
	}
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t self = getpid();
	bool all = true;

	if (m == MAP_FAILED)
		return 1;
	for (long i = 0; i < 3 * pg; i++)
		m[i] = (uint8_t)(i * 7 + 3);
	munmap(m + pg, pg); /* page 2 is a hole */

	/* Close ascending ranges in page 1 (one joined read), the last one
	 * running into the hole, then one in page 3 and one before them all
	 * (descending: not joined). */
	addr[0] = (uintptr_t)m + 10, len[0] = 16;
	addr[1] = (uintptr_t)m + 100, len[1] = 32;
	addr[2] = (uintptr_t)m + 400, len[2] = 8;
	addr[3] = (uintptr_t)m + pg - 20, len[3] = 40; /* crosses into the hole */
	addr[4] = (uintptr_t)m + 2 * pg + 5, len[4] = 64;
	addr[5] = (uintptr_t)m + 1, len[5] = 4;
	reset(6);
	go_read_many(self, addr, len, dst, ok, 6);
	CHECK(ok[0] && ok[1] && ok[2] && !ok[3] && ok[4] && ok[5]);
	CHECK(!memcmp(out[0], m + 10, 16));
	CHECK(!memcmp(out[1], m + 100, 32));
	CHECK(!memcmp(out[2], m + 400, 8));
	CHECK(!memcmp(out[4], m + 2 * pg + 5, 64));
	CHECK(!memcmp(out[5], m + 1, 4));
	/* nothing written past a range */
	CHECK(out[2][8] == 0xee && out[5][4] == 0xee);

	/* More ranges than one system call takes, side by side in page 1
	 * and in page 3, one unreadable address in the middle. */
	for (size_t i = 0; i < N; i++) {
		uint8_t *base = i < N / 2 ? m : m + 2 * pg;

		addr[i] = (uintptr_t)base + (i % (N / 2)) * 2;
		len[i] = 2;
	}
	addr[N / 4] = 8; /* the zero page: never mapped */
	reset(N);
	go_read_many(self, addr, len, dst, ok, N);
	for (size_t i = 0; i < N; i++)
		if (i == N / 4)
			all = all && !ok[i];
		else
			all = all && ok[i] && !memcmp(out[i], (void *)(uintptr_t)addr[i], 2) &&
			      out[i][2] == 0xee;
	CHECK(all);

	/* A wild address near 2^64 does not wrap into a join. */
	addr[0] = (uintptr_t)m, len[0] = 8;
	addr[1] = UINT64_MAX - 4, len[1] = 8;
	reset(2);
	go_read_many(self, addr, len, dst, ok, 2);
	CHECK(ok[0] && !ok[1]);
	return unit_done("test_remote");
}
