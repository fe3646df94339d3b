/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef PW_GO_REMOTE_H
#define PW_GO_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read n ranges [addr[i], addr[i] + len[i]) of process pid into dst[i]
 * with few syscalls (process_vm_readv, no stop, no attach); ok[i] says
 * which ones were read whole.
 */
void go_read_many(pid_t pid, const uint64_t *addr, const size_t *len, uint8_t **dst, bool *ok,
		  size_t n);

/*
 * Read n 8-byte words at addr through read(ctx, addr, buf, len) (0 or a
 * negative errno) into a new array (*out, to free). The buffer grows only
 * as chunks are read: a corrupt or torn length (runtime.allgs says 16M
 * goroutines) costs one failed read, not a 128 MB allocation made before
 * anything was read. 0, -ENOMEM, or the read's error.
 */
int go_read_words(int (*read)(void *ctx, uint64_t addr, void *buf, size_t len), void *ctx,
		  uint64_t addr, size_t n, uint64_t **out);

/* Load bias of pid's executable (exe_fd, open): where its first PT_LOAD
 * landed minus its vaddr. 0, -ENOEXEC (not ELF), -ESRCH (gone). */
int go_load_bias(pid_t pid, int exe_fd, uint64_t *bias);

#endif
