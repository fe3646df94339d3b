// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Batched reads of another process's memory (go/remote.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
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
