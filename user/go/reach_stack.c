// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Goroutine stacks for the reachability pass (go/reach.h): frame by frame
 * with the pclntab's stack maps, as the GC scans them, and the words of g
 * structures that hold stack bounds rather than pointers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "go/reach_priv.h"

/*
 * The words of a g that hold stack bounds and saved registers (stack.lo/hi,
 * stackguard0/1: the first four words in every version; sched.sp/pc/bp)
 * are integers the GC never follows. stack.hi is one past the stack's
 * end: often the first object of the next span, which a conservative scan
 * would keep alive.
 */
int reach__hide_g_words(struct pass *ps, uint64_t g)
{
	const struct go_g_layout *gl = go_process__g_layout(ps->p);
	const int off[] = { 0, 8, 16, 24, gl->sched_sp, gl->sched_pc, gl->sched_bp };

	for (size_t k = 0; k < sizeof(off) / sizeof(off[0]); k++)
		if (reach__push_hidden(ps, g + off[k]))
			return -ENOMEM;
	return 0;
}

/* The gs that are not in allgs: runtime.g0 and runtime.gcrash (globals),
 * and each M's g0 and gsignal (allm, m.alllink). From .symtab: a stripped
 * binary keeps their bounds visible (conservative: parked, not leaked). */
int reach__hide_system_gs(struct pass *ps)
{
	const struct go_binary *b = go_process__binary(ps->p);
	uint64_t bias = go_process__bias(ps->p), m = 0, allm;
	const char *globals[] = { "runtime.g0", "runtime.gcrash" };

	for (size_t k = 0; k < 2; k++) {
		uint64_t a = go_binary__symbol(b, globals[k], NULL);

		if (a && reach__hide_g_words(ps, a + bias))
			return -ENOMEM;
	}
	allm = go_binary__symbol(b, "runtime.allm", NULL);
	if (!allm || ps->hl.m_g0 < 0 || go_process__read(ps->p, allm + bias, &m, 8))
		return 0;
	for (int n = 0; m && n < 100000; n++) {
		uint64_t g0 = 0, gsig = 0;

		if (go_process__read(ps->p, m + ps->hl.m_g0, &g0, 8) ||
		    go_process__read(ps->p, m + ps->hl.m_gsignal, &gsig, 8))
			break;
		if ((g0 && reach__hide_g_words(ps, g0)) || (gsig && reach__hide_g_words(ps, gsig)))
			return -ENOMEM;
		if (go_process__read(ps->p, m + ps->hl.m_alllink, &m, 8))
			break;
	}
	return 0;
}

/* Words [from, to) of the stack copy st (read from base, up to top): every
 * word, or those whose bit is set in bits (bit 0: the word at from). Words
 * outside the copy are skipped. */
static int scan_stack_words(struct pass *ps, const uint8_t *st, uint64_t base, uint64_t top,
			    uint64_t from, uint64_t to, const uint8_t *bits)
{
	uint64_t k = 0;

	for (uint64_t a = from & ~7ull; a + 8 <= to; a += 8, k++) {
		if (a < base || a + 8 > top || (bits && !(bits[k / 8] & (1u << (k % 8)))))
			continue;
		ps->st->scanned_bytes += 8;
		if (reach__scan_word(ps, a, le64(st + (a - base))))
			return -ENOMEM;
	}
	return 0;
}

/*
 * A stopped goroutine's stack frame by frame, as the GC scans it: the
 * pointer bitmaps of each frame's locals and arguments at its pc, and its
 * stack objects (address-taken locals: scanned whole here, where the GC
 * scans them only when a live pointer refers to them). A frame without
 * maps (assembly, an async preemption point and the frame it interrupted)
 * is scanned whole; an unwinding that goes wrong scans the rest whole.
 * Stale words in slots that are dead at the frame's pc — left there by
 * earlier calls — are what the maps keep out.
 */
static int scan_frames(struct pass *ps, const struct gstate *gs)
{
	const struct go_binary *b = go_process__binary(ps->p);
	uint64_t bias = go_process__bias(ps->p), sp = gs->sp, pc = gs->pc, top = gs->hi;
	uint8_t *st;
	bool whole_next = false;
	int rc = 0;

	if (top - sp > (64u << 20) || !(st = malloc(top - sp)))
		return reach__scan_range(ps, sp, top - sp);
	if (go_process__read(ps->p, sp, st, top - sp)) {
		free(st);
		return 0; /* the stack is gone: the goroutine too */
	}
	for (int n = 0; n < 100000 && !rc; n++) {
		struct go_func_info fi;
		struct go_stack_maps m;
		uint64_t lpc = pc - bias, fp, varp, argp;
		bool whole;

		if (go_binary__lookup(b, lpc, &fi) ||
		    go_binary__stack_maps(b, lpc == fi.entry ? lpc : lpc - 1, &m))
			break; /* not Go code: the rest whole, below */
		fp = sp + m.frame + 8;
		if (fp > top)
			break;
		varp = sp + m.frame;
		if (varp > sp)
			varp -= 8; /* the saved frame pointer */
		argp = fp;
		whole = whole_next || !m.locals || !strcmp(m.function, "runtime.asyncPreempt");
		whole_next = !strcmp(m.function, "runtime.asyncPreempt");
		if (whole)
			rc = scan_stack_words(ps, st, gs->sp, top, sp, fp, NULL);
		else
			rc = scan_stack_words(ps, st, gs->sp, top, varp - (uint64_t)m.nlocals * 8, varp,
					      m.locals);
		if (!rc)
			rc = scan_stack_words(ps, st, gs->sp, top, argp,
					      argp + (m.args ? (uint64_t)m.nargs * 8 : m.argsize),
					      m.args);
		for (uint64_t k = 0; k < m.nobjects && !rc; k++) {
			int32_t off = (int32_t)le32(m.objects + k * 16);
			int32_t size = (int32_t)le32(m.objects + k * 16 + 4);
			uint64_t at = off < 0 ? varp + off : argp + off;

			if (size > 0)
				rc = scan_stack_words(ps, st, gs->sp, top, at, at + size, NULL);
		}
		if (!strcmp(m.function, "runtime.goexit"))
			goto done;
		pc = le64(st + (sp + m.frame - gs->sp));
		sp = fp;
		if (sp >= top)
			goto done;
	}
	if (!rc && sp < top)
		rc = scan_stack_words(ps, st, gs->sp, top, sp, top, NULL);
done:
	free(st);
	return rc;
}

int reach__scan_stack(struct pass *ps, const struct gstate *gs)
{
	uint64_t from = gs->sp;

	if (gs->hi <= gs->lo || gs->hi - gs->lo > (1ull << 30))
		return 0; /* no stack (not started, or freed) */
	/* A running goroutine's saved registers are stale: the whole stack
	 * then, without maps. */
	/* In a syscall, the frames start at syscallsp/syscallpc, as for the
	 * GC (entersyscall saves them; sched may be older). */
	if (gs->status == G_SYSCALL && ps->precise && gs->syscallsp >= gs->lo &&
	    gs->syscallsp < gs->hi && gs->syscallpc) {
		struct gstate at = *gs;

		at.sp = gs->syscallsp;
		at.pc = gs->syscallpc;
		return scan_frames(ps, &at);
	}
	if (gs->status == G_RUNNING || gs->status == G_SYSCALL || from < gs->lo || from >= gs->hi)
		return reach__scan_range(ps, gs->lo, gs->hi - gs->lo);
	return ps->precise ? scan_frames(ps, gs) : reach__scan_range(ps, from, gs->hi - from);
}

