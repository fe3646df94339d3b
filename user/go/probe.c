// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include "go/probe.h"

/* Length of a `jbe` (JLS in Go's assembler) at p: 76 rel8 or 0f 86 rel32;
 * 0 when it is not one. Go emits JLS for every stack check; any other
 * instruction there means a prologue this decoder does not know. */
static size_t jbe_len(const uint8_t *p, size_t left)
{
	if (left >= 2 && p[0] == 0x76)
		return 2;
	if (left >= 6 && p[0] == 0x0f && p[1] == 0x86)
		return 6;
	return 0;
}

void go_probe__place(const uint8_t *code, size_t len, struct go_probe_site *out)
{
	/* cmp rsp,[r14+0x10]: REX.WB 3b /r, modrm 01 100 110 (rsp, [r14+d8]),
	 * disp8 0x10 = g.stackguard0. Small frames (<= 128 bytes). */
	static const uint8_t cmp_rsp[] = { 0x49, 0x3b, 0x66, 0x10 };
	/* cmp r12,[r14+0x10] after lea r12,[rsp-N]: frames up to StackBig.
	 * lea changes only r12 and cmp only the flags; the probes read r14,
	 * rax, rcx, so the jbe after them is as good as +0. */
	static const uint8_t cmp_r12[] = { 0x4d, 0x3b, 0x66, 0x10 };
	size_t at = 0;

	*out = (struct go_probe_site){ 0, "no stack check recognised: probe at +0 (single-stepped)" };
	if (len >= 4 && !memcmp(code, cmp_rsp, 4)) {
		at = 4;
	} else if (len >= 5 && code[0] == 0x4c && code[1] == 0x8d && code[3] == 0x24 &&
		   (code[2] == 0x64 || code[2] == 0xa4)) {
		/* lea r12,[rsp+disp]: 4c 8d 64 24 d8 or 4c 8d a4 24 d32 */
		size_t lea = code[2] == 0x64 ? 5 : 8;

		if (len < lea + 4 || memcmp(code + lea, cmp_r12, 4))
			return;
		at = lea + 4;
	} else {
		return;
	}
	if (!jbe_len(code + at, len - at)) {
		out->how = "stack check not followed by jbe: probe at +0 (single-stepped)";
		return;
	}
	out->offset = at;
	out->how = at == 4 ? "stack check jbe (emulated)" : "large-frame stack check jbe (emulated)";
}
