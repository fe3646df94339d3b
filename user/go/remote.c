// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Another process from outside: batched reads of its memory, where its
 * executable is loaded (go/remote.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "go/remote.h"

#define BATCH 1024           /* ranges per process_vm_readv (IOV_MAX) */
#define JOIN_GAP 512         /* bytes read in between to join two ranges */
#define JOIN_MAX (64 << 10)  /* largest joined range */
#define BOUNCE (1 << 20)     /* joined ranges land here first, per batch */

/* One process_vm_readv per BATCH ranges, as given. */
static void read_ranges(pid_t pid, const uint64_t *addr, const size_t *len, uint8_t **dst,
			bool *ok, size_t n)
{
	struct iovec local[BATCH], remote[BATCH];
	size_t i = 0;

	while (i < n) {
		size_t k = 0, j;
		ssize_t got;

		for (; k < BATCH && i + k < n; k++) {
			local[k] = (struct iovec){ dst[i + k], len[i + k] };
			remote[k] = (struct iovec){ (void *)addr[i + k], len[i + k] };
		}
		got = process_vm_readv(pid, local, k, remote, k, 0);
		if (got < 0)
			got = 0;
		/* Transfers stop at the first range that fails, never inside
		 * one: those before it are whole; skip it, go on after it. */
		for (j = 0; j < k && (size_t)got >= len[i + j]; j++) {
			ok[i + j] = true;
			got -= len[i + j];
		}
		if (j < k)
			ok[i + j++] = false;
		i += j;
	}
}

#define WORDS_CHUNK 1024 /* 8 KiB a read */

int go_read_words(int (*read)(void *ctx, uint64_t addr, void *buf, size_t len), void *ctx,
		  uint64_t addr, size_t n, uint64_t **out)
{
	uint64_t *v = malloc(8), *nv;
	size_t done = 0, cap = 1;
	int e;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	while (done < n) {
		size_t k = n - done < WORDS_CHUNK ? n - done : WORDS_CHUNK;

		if (done + k > cap) {
			cap = cap * 2 > done + k ? cap * 2 : done + k;
			if (!(nv = realloc(v, cap * 8))) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		if ((e = read(ctx, addr + done * 8, v + done, k * 8))) {
			free(v);
			return e;
		}
		done += k;
	}
	*out = v;
	return 0;
}

/* Whether the range after one ending at end (start start) joins it. */
static bool joins(uint64_t start, uint64_t end, uint64_t addr, size_t len)
{
	return addr >= end && addr - end <= JOIN_GAP && len <= JOIN_MAX &&
	       addr + len > addr && addr + len - start <= JOIN_MAX;
}

/*
 * Read many small remote ranges with few syscalls (no stop, no attach). A
 * range that cannot be read is marked failed (ok[i] = false) and the rest
 * still read. Ranges that follow each other closely in ascending order
 * (Go allocates g's, channels and stacks side by side) are read as one:
 * the kernel's cost is per range and page far more than per byte.
 */
void go_read_many(pid_t pid, const uint64_t *addr, const size_t *len, uint8_t **dst,
		  bool *ok, size_t n)
{
	uint64_t jaddr[BATCH];
	size_t jlen[BATCH], first[BATCH + 1];
	uint8_t *jdst[BATCH], *bounce = malloc(BOUNCE);
	bool jok[BATCH];
	size_t i = 0;

	if (!bounce) {
		read_ranges(pid, addr, len, dst, ok, n);
		return;
	}
	while (i < n) {
		size_t m = 0, used = 0;

		/* Up to BATCH joined ranges: [first[k], first[k + 1]) of the
		 * caller's, one read each (into bounce when more than one). */
		while (i < n && m < BATCH) {
			uint64_t end = addr[i] + len[i];
			size_t j = i + 1;

			if (end >= addr[i])
				while (j < n && joins(addr[i], end, addr[j], len[j]) &&
				       used + (addr[j] + len[j] - addr[i]) <= BOUNCE) {
					end = addr[j] + len[j];
					j++;
				}
			first[m] = i;
			jaddr[m] = addr[i];
			jlen[m] = j - i > 1 ? end - addr[i] : len[i];
			jdst[m] = j - i > 1 ? bounce + used : dst[i];
			used += j - i > 1 ? jlen[m] : 0;
			m++;
			i = j;
		}
		first[m] = i;
		read_ranges(pid, jaddr, jlen, jdst, jok, m);
		for (size_t k = 0; k < m; k++) {
			size_t a = first[k], b = first[k + 1];

			if (b - a == 1) {
				ok[a] = jok[k];
			} else if (jok[k]) {
				for (size_t r = a; r < b; r++) {
					memcpy(dst[r], jdst[k] + (addr[r] - jaddr[k]), len[r]);
					ok[r] = true;
				}
			} else { /* a hole in between: each on its own */
				read_ranges(pid, addr + a, len + a, dst + a, ok + a, b - a);
			}
		}
	}
	free(bounce);
}

/* Load bias: where the executable's first PT_LOAD landed minus its vaddr. */
int go_load_bias(pid_t pid, int exe_fd, uint64_t *bias)
{
	uint64_t first_vaddr = UINT64_MAX, start = 0, off;
	char path[64], line[512], exe[4096];
	Elf *elf = elf_begin(exe_fd, ELF_C_READ_MMAP, NULL);
	size_t nph = 0;
	FILE *f;

	if (!elf || elf_getphdrnum(elf, &nph)) {
		if (elf)
			elf_end(elf);
		return -ENOEXEC;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
			first_vaddr = ph.p_vaddr;
			break;
		}
	}
	elf_end(elf);
	if (first_vaddr == UINT64_MAX)
		return -ENOEXEC;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ESRCH;
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, o;
		int pos = 0;

		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %n", &lo, &o, &pos) < 2 || !pos)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (o == 0 && !strncmp(line + pos, exe, strlen(exe))) {
			start = lo;
			break;
		}
	}
	fclose(f);
	off = start ? start - first_vaddr : 0;
	*bias = off;
	return 0;
}
