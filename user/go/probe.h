/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where to put an entry uprobe on a Go function, from its first bytes.
 *
 * At +0 a Go function starts with its stack check, `cmp rsp,[r14+0x10]`,
 * which the kernel must single-step out of line (~10 us per hit here); the
 * `jbe` right after it is emulated (~0.9 us) and sees the same registers,
 * since a cmp changes only the flags. So when the prologue is a recognised
 * stack check, the probe goes on its conditional jump; otherwise at +0.
 * Pure function: no I/O (unit-tested on byte sequences).
 */
#ifndef PW_GOPROBE_H
#define PW_GOPROBE_H

#include <stddef.h>
#include <stdint.h>

struct go_probe_site {
	uint32_t offset;  /* from the function's entry */
	const char *how;  /* static: what was recognised, or why +0 */
};

/* Decode code[0..len) (the function's first bytes; at most its length).
 * Always succeeds: unrecognised code gives offset 0 with the reason. */
void go_probe__place(const uint8_t *code, size_t len, struct go_probe_site *out);

#endif
