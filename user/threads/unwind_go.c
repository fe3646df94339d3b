// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Go frames in thread stacks, from the binary's .gopclntab.
 *
 * Go binaries carry no .eh_frame, and -ldflags='-s -w' removes the symbols
 * and the .debug_frame too; the runtime's assembly (runtime.futex,
 * runtime.usleep, ...) keeps no frame pointer. libdw then has nothing to
 * step with. But the runtime needs, for its own tracebacks and the GC, the
 * pclntab: a name, file:line, inline tree and SP delta (pcsp) for every pc
 * of every Go function, assembly included. So Go code is stepped the way
 * Go's traceback does it: the return address is at sp + delta, the caller's
 * sp just above it. Each frame is named from the same table, its inlined
 * calls first, as goroutine stacks are (go/goroutines.c), so a stripped and
 * an unstripped build give the same frames.
 *
 * The walk ends where Go's own traceback ends: at the functions that start
 * or switch a stack (unwinder__go_outermost). When a return address leads
 * out of Go code (into C, through cgo), the walk hands back to libdw.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include "go/elf.h"
#include "threads/unwind_priv.h"

/* Inline frames shown per physical Go frame, as in go/goroutines.c. */
#define GO_INLINE_FRAMES 16

/* One module's Go binary, opened at first use; bin NULL: not Go. */
struct unwind_gomod {
	Dwfl_Module *mod;
	struct go_binary *bin;
	Dwarf_Addr bias; /* live address - link-time address */
};

/* A section named like the pclntab (".gopclntab"; in relro data for PIE
 * builds up to Go 1.25), seen in the section headers libelf has already
 * read: libc and friends are not opened a second time. */
static bool has_pclntab_section(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    (!strcmp(name, ".gopclntab") || !strcmp(name, ".data.rel.ro.gopclntab")))
			return true;
	}
	return false;
}

/* The module's file as libdwfl opened it (through /proc/PID/root or
 * map_files), read as a Go binary when it has a usable pclntab. */
static struct go_binary *open_go(Dwfl_Module *mod)
{
	const char *mainfile = NULL;
	struct go_binary *b;
	Dwarf_Addr bias;
	Elf *elf;

	if (!(elf = dwfl_module_getelf(mod, &bias)) || !has_pclntab_section(elf))
		return NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	if (!mainfile || mainfile[0] != '/')
		return NULL;
	b = go_binary__open(mainfile, NULL, NULL, 0);
	if (b && go_binary__pclntab_version(b) == 0) {
		go_binary__free(b);
		b = NULL;
	}
	return b;
}

static const struct unwind_gomod *go_module(struct unwinder *u, uint64_t addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, addr);
	struct unwind_gomod *m;
	Dwarf_Addr bias = 0;

	if (!mod)
		return NULL;
	for (int i = 0; i < u->ngomods; i++)
		if (u->gomods[i].mod == mod)
			return u->gomods[i].bin ? &u->gomods[i] : NULL;
	m = realloc(u->gomods, (u->ngomods + 1) * sizeof(*m));
	if (!m)
		return NULL;
	u->gomods = m;
	m = &u->gomods[u->ngomods++];
	m->mod = mod;
	m->bin = open_go(mod);
	if (m->bin)
		dwfl_module_getelf(mod, &bias);
	m->bias = bias;
	return m->bin ? m : NULL;
}

void unwinder__go_free(struct unwinder *u)
{
	for (int i = 0; i < u->ngomods; i++)
		go_binary__free(u->gomods[i].bin);
	free(u->gomods);
	u->gomods = NULL;
	u->ngomods = 0;
}

/* The module whose pclntab has a function at pc (pc - 1 for a return
 * address, as for every lookup), or NULL: C code, JIT, no Go binary. */
static const struct unwind_gomod *go_code(struct unwinder *u, uint64_t pc, bool activation)
{
	uint64_t addr = activation ? pc : pc - 1;
	const struct unwind_gomod *m = go_module(u, addr);
	struct go_func_info fi;

	if (!m || go_binary__lookup(m->bin, addr - m->bias, &fi) == -ENOENT)
		return NULL;
	return m;
}

bool unwinder__go_owns(struct unwinder *u, uint64_t pc, bool activation)
{
	return go_code(u, pc, activation) != NULL;
}

/* Push pc's frames: the calls inlined at pc, innermost first, then the
 * physical function (the one the offset is from). */
static int push_go_frames(struct unwinder *u, const struct unwind_gomod *m, struct walk *w,
			  uint64_t pc, bool activation)
{
	uint64_t link = (activation ? pc : pc - 1) - m->bias;
	struct go_frame gf[GO_INLINE_FRAMES];
	struct go_func_info fi;
	char *module;
	int n;

	n = go_binary__frames(m->bin, link, gf, GO_INLINE_FRAMES);
	if (n < 1 || go_binary__lookup(m->bin, link, &fi))
		return -EINVAL;
	/* A deep inline chain keeps its innermost calls and the physical
	 * frame, which is what the step and the offset are about. */
	if (gf[n - 1].inlined)
		gf[n - 1] = (struct go_frame){ .function = fi.function, .file = fi.file,
					       .line = fi.line };
	module = unwinder__module_name(m->mod);
	for (int i = 0; i < n; i++) {
		struct pw_frame f = {
			.pc = pc,
			.function = strdup(gf[i].function),
			.offset = gf[i].inlined ? 0 : pc - m->bias - fi.entry,
			.module = module ? strdup(module) : NULL,
			.file = gf[i].file ? strdup(gf[i].file) : NULL,
			.line = gf[i].line,
		};

		if (!f.function || (module && !f.module) || (gf[i].file && !f.file) ||
		    w->out->nframes >= w->max_frames || pw_stack__push(w->out, &f)) {
			bool full = w->out->nframes >= w->max_frames;

			free(f.function);
			free(f.module);
			free(f.file);
			free(module);
			if (full) {
				w->out->truncated = true;
				return 1;
			}
			return -ENOMEM;
		}
	}
	free(module);
	return 0;
}

static int go_stop(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* End the walk with a sentence in w->error. */
static int go_stop(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&w->error, fmt, ap) < 0) {
		w->error = NULL;
		w->err = -ENOMEM;
	}
	va_end(ap);
	return DWARF_CB_ABORT;
}

int unwinder__go_walk(struct walk *w, struct pw_regs *r, bool *activation)
{
	struct unwinder *u = w->u;

	for (;;) {
		const struct unwind_gomod *m = go_code(u, r->ip, *activation);
		const struct pw_frame *last;
		uint64_t lookup = *activation ? r->ip : r->ip - 1;
		Dwarf_Word ret, bp;
		int32_t delta;
		int err;

		if (!m)
			return DWARF_CB_OK; /* not Go code: libdw goes on from r */
		if (w->out->nframes >= w->max_frames) {
			w->out->truncated = true;
			return DWARF_CB_ABORT;
		}
		/* The sp grows by 8 at least per step: a repeat is corrupt. */
		if (w->out->nframes > 0 && r->ip == w->last_pc && r->sp == w->last_sp)
			return go_stop(w, "unwinding loops on the same frame");
		w->last_pc = r->ip;
		w->last_sp = r->sp;
		err = push_go_frames(u, m, w, r->ip, *activation);
		if (err > 0)
			return DWARF_CB_ABORT; /* max_frames */
		if (err == -ENOMEM) {
			w->err = err;
			return DWARF_CB_ABORT;
		}
		if (err)
			return go_stop(w, "the Go pclntab names no function at 0x%" PRIx64
				       " (corrupt table)", (uint64_t)r->ip);
		last = &w->out->frames[w->out->nframes - 1];
		w->last_kind = PW_CFI_YES; /* known and named: no "no CFI" reason */
		if (unwinder__go_outermost(last->function))
			return DWARF_CB_ABORT;
		if (go_binary__sp_delta(m->bin, lookup - m->bias, &delta))
			return go_stop(w, "the SP-delta table of %s is unreadable", last->function);
		if (!unwinder__memory_read(u->dwfl, r->sp + (uint64_t)delta, &ret, u)) {
			if (u->bad_err == ESRCH)
				return go_stop(w, "the thread exited while its stack was being read");
			if (u->bad_err == EFAULT && u->copy)
				return go_stop(w, "the stack copied at thread creation ends before "
					       "0x%" PRIx64, u->bad_addr);
			return go_stop(w, "cannot read the stack at 0x%" PRIx64 " to unwind past %s (%s)",
				       u->bad_addr, last->function, strerror(u->bad_err));
		}
		if (ret == 0)
			return DWARF_CB_ABORT; /* no caller: the end */
		/*
		 * A Go function with a frame saves the caller's bp right below
		 * its return address; a frameless one leaves bp alone. Only a C
		 * frame without CFI after this one would follow it.
		 */
		if (delta >= 8 && unwinder__memory_read(u->dwfl, r->sp + (uint64_t)delta - 8, &bp, u))
			r->bp = bp;
		u->bad_err = 0;
		r->sp += (uint64_t)delta + 8;
		r->ip = ret;
		*activation = false;
	}
}
