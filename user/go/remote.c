// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Batched reads of another process's memory (go/remote.h). */
#define _GNU_SOURCE
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
