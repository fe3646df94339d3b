// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Another process from outside: batched reads of its memory, where its
 * executable is loaded (go/remote.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "go/remote.h"

/*
 * Read many small remote ranges with few syscalls (process_vm_readv, up to
 * 1024 ranges a call; no stop, no attach). A range that cannot be read is
 * marked failed (ok[i] = false) and the rest still read.
 */
void go_read_many(pid_t pid, const uint64_t *addr, const size_t *len, uint8_t **dst,
		  bool *ok, size_t n)
{
	struct iovec local[1024], remote[1024];
	size_t i = 0;

	while (i < n) {
		size_t k = 0, j;
		ssize_t got;

		for (; k < 1024 && i + k < n; k++) {
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
