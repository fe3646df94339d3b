// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Stepping where there is no CFI (JIT code, stripped or hand-written
 * assembly): what libdw knows of a pc, whether a return address follows a
 * call instruction, and the frameless leaf stepped over through [sp]. Go's
 * stack-switching functions end the walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "threads/unwind_priv.h"

/*
 * Go functions that switch stacks or start one. Their CFI does not describe
 * the switch, so unwinding past them reads unrelated memory: Go's own
 * traceback stops at them too (TOPFRAME and SPWRITE functions). asmcgocall
 * and cgocallback are the cgo boundary, seen from either side.
 */
bool unwinder__go_outermost(const char *fn)
{
	static const char *const names[] = {
		"runtime.mstart", "runtime.goexit", "runtime.rt0_go",
		"runtime.mcall", "runtime.morestack", "runtime.systemstack",
		"runtime.asmcgocall", "runtime.cgocallback",
	};
	size_t n;

	if (!fn || strncmp(fn, "runtime.", 8))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (!strncmp(fn, names[i], n) &&
		    (!fn[n] || !strcmp(fn + n, ".abi0")))
			return true;
	}
	return false;
}

/*
 * Read code bytes. Always from /proc/PID/mem, also when unwinding a stack
 * copy: the copy holds the stack only, and code does not change with time
 * the way the stack does.
 */
static bool unwinder__read_code(struct unwinder *u, uint64_t addr, void *buf,
				size_t len)
{
	if (addr > INT64_MAX)
		return false;
	return pread(u->mem_fd, buf, len, (off_t)addr) == (ssize_t)len;
}

/*
 * Length of the ff /2 (indirect near call) whose ModRM byte is m[0]: opcode,
 * ModRM, SIB when rm is 4, and the displacement. avail is how many bytes
 * there are from the ff (m[-1]) to the return address. 0 when the ModRM
 * byte does not make a call.
 */
static int unwinder__ff_call_len(const unsigned char *m, int avail)
{
	int mod = m[0] >> 6, rm = m[0] & 7, n = 2;

	if (((m[0] >> 3) & 7) != 2)
		return 0;
	if (mod == 3)
		return 2;
	if (rm == 4) {
		if (avail < 3)
			return 0;
		n++;
		if (mod == 0 && (m[1] & 7) == 5)
			n += 4; /* SIB with no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		n += 4; /* rip-relative */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

/*
 * Is ret the address right after a call instruction, as every return
 * address is? A direct call (e8 rel32) also gives its target in *target,
 * else *target is 0. Indirect calls are ff /2 in any addressing form;
 * prefixes (REX, segment, bnd) come before the opcode and do not move it.
 */
bool unwinder__after_call(struct unwinder *u, uint64_t ret, uint64_t *target)
{
	unsigned char b[8]; /* the longest call, ff /2 + SIB + disp32, is 7 */
	int32_t rel;

	*target = 0;
	if (ret < sizeof(b))
		return false;
	if (!unwinder__read_code(u, ret - sizeof(b), b, sizeof(b))) {
		/* ret - 8 may be before the mapping: a direct call still fits. */
		if (!unwinder__read_code(u, ret - 5, b + 3, 5))
			return false;
		memset(b, 0, 3);
	}
	if (b[3] == 0xe8) {
		memcpy(&rel, b + 4, sizeof(rel));
		*target = ret + (int64_t)rel;
		return true;
	}
	for (int len = 2; len <= 7; len++) {
		const unsigned char *p = b + sizeof(b) - len;

		if (p[0] == 0xff && unwinder__ff_call_len(p + 1, len) == len)
			return true;
	}
	return false;
}

/*
 * A frameless leaf: a function that was interrupted before it pushed
 * anything, typically a syscall stub. Its return address is at [sp], but
 * without CFI libdw can only follow the frame pointer, and rbp still holds
 * the caller's frame: the caller itself is skipped (Go binaries built with
 * -ldflags=-w lose runtime.futexsleep above runtime.futex this way).
 *
 * Only the initial frame can be such a leaf (an outer frame made a call, and
 * with a frame pointer chain it pushed rbp), and only when its pc has no
 * CFI. Take [sp] as the return address when it points right after a direct
 * call to this very function, and [rbp + 8] does not: a function with a
 * frame would have its return address there. Fills *caller with the
 * caller's registers (rbp unchanged, which is what makes it a leaf).
 * A leaf reached by an indirect call, or without a symbol to know where it
 * starts, cannot be checked this way and keeps libdw's frame pointer step.
 */
bool unwinder__frameless_leaf(struct unwinder *u, const struct pw_regs *r, struct pw_regs *caller)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, r->ip);
	const struct unwind_sym *s;
	uint64_t start, target;
	Dwarf_Word ret, fp_ret;
	bool leaf;
	int err;

	if (!mod || !(s = unwinder__lookup(u, mod, r->ip, &err)) || s->cfi != PW_CFI_NONE ||
	    !s->function)
		return false;
	start = r->ip - s->sym_off;
	leaf = unwinder__memory_read(u->dwfl, r->sp, &ret, u) &&
	       unwinder__after_call(u, ret, &target) && target == start &&
	       !(r->bp < UINT64_MAX - 8 &&
		 unwinder__memory_read(u->dwfl, r->bp + 8, &fp_ret, u) &&
		 unwinder__after_call(u, fp_ret, &target) && target == start);
	u->bad_err = 0; /* probes, not part of the walk */
	if (!leaf)
		return false;
	*caller = *r;
	caller->ip = ret;
	caller->sp = r->sp + 8;
	return true;
}

