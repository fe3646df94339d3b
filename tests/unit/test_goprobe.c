// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Probe placement from Go prologues: byte sequences as go1.19 and go1.26
 * emit them (copied from `go tool objdump` of the fixtures). */
#include <string.h>
#include "go/probe.h"
#include "unit.h"

#define PLACE(...) do { \
	static const uint8_t c[] = { __VA_ARGS__ }; \
	go_probe__place(c, sizeof(c), &s); \
} while (0)

int main(void)
{
	struct go_probe_site s;

	/* go1.19 runtime.gopark: cmp rsp,[r14+0x10]; jbe rel32; sub rsp,0x18 */
	PLACE(0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0xe9, 0x00, 0x00, 0x00, 0x48, 0x83, 0xec, 0x18);
	CHECK(s.offset == 4 && strstr(s.how, "emulated"));
	/* go1.26 runtime.goexit0: jbe rel8; push rbp */
	PLACE(0x49, 0x3b, 0x66, 0x10, 0x76, 0x18, 0x55);
	CHECK(s.offset == 4);
	/* lea r12,[rsp-0x28]; cmp r12,[r14+0x10]; jbe rel32 */
	PLACE(0x4c, 0x8d, 0x64, 0x24, 0xd8, 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0xeb, 0x03, 0, 0);
	CHECK(s.offset == 9 && strstr(s.how, "large-frame"));
	/* lea r12,[rsp-0x200] (disp32); cmp r12,[r14+0x10]; jbe rel8 */
	PLACE(0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xfe, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x76, 0x10);
	CHECK(s.offset == 12);
	/* huge frame: mov r12,rsp; sub r12,imm32; jb ...: not recognised, +0 */
	PLACE(0x49, 0x89, 0xe4, 0x49, 0x81, 0xec, 0xa8, 0x1f, 0, 0, 0x0f, 0x82, 0xb9, 0, 0, 0);
	CHECK(s.offset == 0 && strstr(s.how, "+0"));
	/* NOSPLIT function: no stack check at all (push rbp; mov rbp,rsp) */
	PLACE(0x55, 0x48, 0x89, 0xe5);
	CHECK(s.offset == 0);
	/* stack check followed by something other than jbe: +0 */
	PLACE(0x49, 0x3b, 0x66, 0x10, 0x74, 0x05);
	CHECK(s.offset == 0 && strstr(s.how, "not followed"));
	/* jbe rel32 cut short by the function's end: +0 */
	PLACE(0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x01);
	CHECK(s.offset == 0);
	/* cmp against another register's stackguard offset: +0 */
	PLACE(0x49, 0x3b, 0x66, 0x18, 0x76, 0x10);
	CHECK(s.offset == 0);
	/* lea r12 but cmp missing, or truncated lea: +0 */
	PLACE(0x4c, 0x8d, 0x64, 0x24, 0xd8, 0x90, 0x90, 0x90, 0x90, 0x76, 0x10);
	CHECK(s.offset == 0);
	PLACE(0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xfe);
	CHECK(s.offset == 0);
	/* empty and tiny inputs */
	go_probe__place(NULL, 0, &s);
	CHECK(s.offset == 0 && s.how);
	PLACE(0x49, 0x3b, 0x66);
	CHECK(s.offset == 0);
	return unit_done("test_goprobe");
}
