// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * User stack unwinding with libdw, without ptrace.
 *
 * dwfl normally gets thread state through dwfl_linux_proc_attach(), which
 * PTRACE_ATTACHes and so wakes the very threads we want to observe. Instead
 * we attach our own Dwfl_Thread_Callbacks: the registers come from BPF
 * (pt_regs saved at syscall entry), memory from /proc/PID/mem (readable by
 * root without stopping anything) or from a stack copy, and CFI and symbols
 * from the mapped files and their /usr/lib/debug files.
 *
 * A Dwfl accepts dwfl_attach_state() only once, so one unwinder serves every
 * thread of its process: unwinder__unwind() stores the thread's registers
 * in the unwinder and the callbacks read them from there.
 *
 * Unusual binaries: a deleted file or a memfd is opened through
 * /proc/PID/map_files; code in no ELF file (JIT) keeps its address and ends
 * the stack with a sentence saying why; without CFI, frames found through
 * rbp are kept only if they follow a call instruction, and a frameless leaf
 * is stepped over through [sp] (see unwinder__frameless_leaf). Module files
 * and symbols are in unwind_symbols.c, stepping without CFI in unwind_nocfi.c.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "threads/unwind_priv.h"

static pid_t unwinder__next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	/* Only the requested thread exists as far as libdw is concerned. */
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->tid;
}

static bool unwinder__get_thread(Dwfl *dwfl, pid_t tid, void *arg,
				 void **thread_argp)
{
	struct unwinder *u = arg;

	if (tid != u->tid)
		return false;
	*thread_argp = u;
	return true;
}

static bool unwinder__bad_read(struct unwinder *u, uint64_t addr, int err)
{
	u->bad_addr = addr;
	u->bad_err = err;
	return false;
}

bool unwinder__memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t sp = u->copy_sp;
	ssize_t n;

	if (u->copy) {
		/*
		 * The copy was taken at clone time and the live stack has
		 * changed since: reading it would mix two moments. Fail
		 * instead and let the stack end there.
		 */
		if (addr < sp || u->copy_len < sizeof(*result) ||
		    addr - sp > u->copy_len - sizeof(*result))
			return unwinder__bad_read(u, addr, EFAULT);
		memcpy(result, u->copy + (addr - sp), sizeof(*result));
		return true;
	}
	if (addr >= u->window_start && u->window_len >= sizeof(*result) &&
	    addr - u->window_start <= u->window_len - sizeof(*result)) {
		memcpy(result, u->window + (addr - u->window_start), sizeof(*result));
		return true;
	}
	/* pread takes a signed offset: kernel-half addresses are invalid. */
	if (addr > INT64_MAX)
		return unwinder__bad_read(u, addr, EINVAL);
	n = pread(u->mem_fd, result, sizeof(*result), (off_t)addr);
	if (n == sizeof(*result))
		return true;
	/* A short read (0) means the address space is gone: the task exited. */
	return unwinder__bad_read(u, addr, n < 0 ? errno : ESRCH);
}

static bool unwinder__set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	const struct pw_regs *r = u->regs;
	/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, rip. */
	const Dwarf_Word dw[DW_X86_64_NREGS] = {
		r->ax, r->dx, r->cx, r->bx, r->si, r->di, r->bp, r->sp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
		r->ip,
	};

	if (!dwfl_thread_state_registers(thread, 0, DW_X86_64_NREGS, dw))
		return false;
	dwfl_thread_state_register_pc(thread, r->ip);
	return true;
}

/*
 * Read the live stack from sp to the end of the page after sp's: a short
 * read (the stack's top is in sp's page) keeps what was read; a failed one
 * leaves no window, and every read goes to /proc/PID/mem as before.
 */
static void unwinder__read_window(struct unwinder *u, uint64_t sp)
{
	uint64_t end = (sp & ~(uint64_t)4095) + sizeof(u->window);
	ssize_t n;

	u->window_len = 0;
	if (sp > INT64_MAX || end <= sp || end > INT64_MAX)
		return;
	n = pread(u->mem_fd, u->window, end - sp, (off_t)sp);
	if (n > 0) {
		u->window_start = sp;
		u->window_len = n;
	}
}

static const Dwfl_Thread_Callbacks unwinder__thread_callbacks = {
	.next_thread = unwinder__next_thread,
	.get_thread = unwinder__get_thread,
	.memory_read = unwinder__memory_read,
	.set_initial_registers = unwinder__set_initial_registers,
};

/* "pthread_cond_wait (libc.so.6)", "0x7f0012345678 (memfd:jit)", "0x7f0012345678" */
static void unwinder__where(const struct pw_frame *f, char *buf, size_t len)
{
	if (f->function)
		snprintf(buf, len, "%s (%s)", f->function, f->module);
	else if (f->module)
		snprintf(buf, len, "0x%" PRIx64 " (%s)", f->pc, f->module);
	else
		snprintf(buf, len, "0x%" PRIx64, f->pc);
}

/*
 * Why the walk cannot go past its outermost frame, which has no CFI and no
 * frame pointer chain leading on: a sentence for out->error.
 */
static int unwinder__no_cfi_reason(struct walk *w, char **msg)
{
	const struct pw_frame *f = &w->out->frames[w->out->nframes - 1];
	char where[320];
	int n;

	unwinder__where(f, where, sizeof(where));
	switch (w->last_kind) {
	case PW_CFI_NO_ELF:
		n = asprintf(msg, "cannot open the ELF file of %s (deleted? not ELF?), "
			     "and no frame pointer chain leads on", f->module);
		break;
	case PW_CFI_NO_FILE:
		n = asprintf(msg, "%s is in no mapped file (JIT or anonymous code): "
			     "no CFI there, and no frame pointer chain to follow", where);
		break;
	default:
		n = asprintf(msg, "no CFI for %s, and no frame pointer chain to follow",
			     where);
		break;
	}
	if (n < 0) {
		*msg = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Add the frame at pc. DWARF_CB_ABORT when the stack ends there (a Go
 * stack switch) or on error (w->err).
 */
/* Code in no mapped file: named from the runtime's perf map, if it keeps
 * one (module "[jit]"). 0 or -ENOMEM. */
static int unwinder__jit_name(struct unwinder *u, uint64_t pc, bool activation,
			      struct pw_frame *f)
{
	uint64_t addr = activation ? pc : pc - 1, start;
	const char *name;

	if (!u->perfmap_tried) {
		u->perfmap_tried = true;
		u->perfmap = perfmap__load(u->pid);
	}
	name = perfmap__lookup(u->perfmap, addr, &start);
	if (!name)
		return 0;
	f->function = strdup(name);
	f->module = strdup("[jit]");
	f->offset = pc - start;
	if (f->function && f->module)
		return 0;
	free(f->function);
	free(f->module);
	f->function = f->module = NULL;
	return -ENOMEM;
}

static int unwinder__add(struct walk *w, uint64_t pc, bool activation)
{
	struct pw_frame f;
	int err;

	w->last_kind = unwinder__cfi_kind(w->u, activation ? pc : pc - 1);
	err = unwinder__symbolize(w->u, pc, activation, &f);
	if (!err && !f.module)
		err = unwinder__jit_name(w->u, pc, activation, &f);
	if (!err && (err = pw_stack__push(w->out, &f))) {
		free(f.function);
		free(f.module);
		free(f.file);
	}
	if (err) {
		w->err = err;
		return DWARF_CB_ABORT;
	}
	if (unwinder__go_outermost(w->out->frames[w->out->nframes - 1].function))
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

static int unwinder__frame(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp, rbp;
	uint64_t target;
	bool activation;
	int err;

	/*
	 * This frame exists, so failed reads before it were recovered from.
	 * Clear before dwfl_frame_pc(): asking for activation unwinds this
	 * frame, and the reads of that step must be kept.
	 */
	w->u->bad_err = 0;
	if (!dwfl_frame_pc(frame, &pc, &activation)) {
		w->pc_failed = true;
		return DWARF_CB_ABORT;
	}
	if (w->dwfl_frames++ == 0 && w->first_is_return)
		activation = false;
	/* No code lives at 0: a return address of 0 ends the chain. */
	if (pc == 0)
		return DWARF_CB_ABORT;
	/*
	 * Without CFI the step to this frame followed rbp, which in code
	 * built without frame pointers is any value: a true return address
	 * always follows a call instruction, garbage almost never does.
	 */
	if (w->dwfl_frames > 1 && w->last_kind != PW_CFI_YES &&
	    !unwinder__after_call(w->u, pc, &target)) {
		if ((err = unwinder__no_cfi_reason(w, &w->error)))
			w->err = err;
		return DWARF_CB_ABORT;
	}
	if (w->out->nframes >= w->max_frames) {
		w->out->truncated = true;
		return DWARF_CB_ABORT;
	}
	/* Go code: stepped with the pclntab (unwind_go.c) from here on. */
	if (unwinder__go_owns(w->u, pc, activation)) {
		w->go_handoff = true;
		w->go_activation = activation;
		w->go_regs = *w->u->regs;
		w->go_regs.ip = pc;
		if (dwfl_frame_reg(frame, DW_X86_64_RSP, &sp) == 0)
			w->go_regs.sp = sp;
		if (dwfl_frame_reg(frame, DW_X86_64_RBP, &rbp) == 0)
			w->go_regs.bp = rbp;
		return DWARF_CB_ABORT;
	}
	/*
	 * Frame-pointer fallback on garbage can revisit the same frame; a
	 * frame identical to the last one can only repeat forever.
	 */
	if (dwfl_frame_reg(frame, DW_X86_64_RSP, &sp) != 0)
		sp = 0;
	if (w->out->nframes > 0 && pc == w->last_pc && sp == w->last_sp) {
		if (!(w->error = strdup("unwinding loops on the same frame")))
			w->err = -ENOMEM;
		return DWARF_CB_ABORT;
	}
	w->last_pc = pc;
	w->last_sp = sp;
	w->last_rbp_zero = dwfl_frame_reg(frame, DW_X86_64_RBP, &rbp) == 0 &&
			   rbp == 0;
	return unwinder__add(w, pc, activation);
}

/* dwfl_getmodules() callback: give unwinder__find_elf() the unwinder. */
static int unwinder__own_module(Dwfl_Module *mod, void **userdata,
				const char *name, Dwarf_Addr start, void *arg)
{
	struct unwinder *u = arg;

	*userdata = u;
	u->nmodules++;
	return DWARF_CB_OK;
}

/*
 * An ELF file that is only an x86_64 header: all libdw's backend needs to
 * know the architecture. The image must outlive the Elf, hence static.
 */
static Elf *unwinder__x86_64_elf(void)
{
	static Elf64_Ehdr ehdr = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_ehsize = sizeof(Elf64_Ehdr),
	};

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return elf_memory((char *)&ehdr, sizeof(ehdr));
}

struct unwinder *unwinder__new(pid_t pid, struct unwind_cache *cache)
{
	struct unwinder *u;
	char path[64];
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->pid = pid;
	u->cache = cache;
	if (!u->cache) {
		u->own_cache = true;
		u->cache = unwind_cache__new();
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	u->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!u->cache) {
		err = ENOMEM;
		goto fail;
	}
	if (u->mem_fd < 0) {
		err = errno == ENOENT ? ESRCH : errno;
		goto fail;
	}
	u->dwfl = dwfl_begin(&unwinder__proc_callbacks);
	if (!u->dwfl) {
		err = ENOMEM;
		goto fail;
	}
	dwfl_report_begin(u->dwfl);
	err = dwfl_linux_proc_report(u->dwfl, pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0 && !err)
		err = ENOMEM;
	if (err) {
		/* -1 is a libdwfl error, otherwise an errno (ENOENT: gone). */
		err = err == ENOENT ? ESRCH : err < 0 ? EINVAL : err;
		goto fail;
	}
	/* Empty maps: a zombie, an exiting process or a kernel thread. */
	dwfl_getmodules(u->dwfl, unwinder__own_module, u, 0);
	if (!u->nmodules) {
		err = ESRCH;
		goto fail;
	}
	/*
	 * NULL elf: libdw takes the architecture from the reported modules.
	 * It skips "(deleted)" ones and the vDSO, so a static binary run from
	 * a memfd or deleted since has none to offer. The registers are
	 * x86_64 pt_regs in any case: say so with an ELF header of our own.
	 * A failed attach leaves the Dwfl unattached, so it can be retried.
	 */
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &unwinder__thread_callbacks,
			       u) &&
	    (!(u->arch_elf = unwinder__x86_64_elf()) ||
	     !dwfl_attach_state(u->dwfl, u->arch_elf, pid,
				&unwinder__thread_callbacks, u))) {
		err = ENOEXEC;
		goto fail;
	}
	return u;
fail:
	unwinder__free(u);
	errno = err;
	return NULL;
}

/*
 * Explain a walk that libdw ended with an error: *msg says why, or stays
 * NULL when the error is just how a frame-pointer chain ends.
 */
static int unwinder__why(struct walk *w, char **msg)
{
	struct unwinder *u = w->u;
	const struct pw_frame *f;
	char where[320];
	int n;

	*msg = NULL;
	if (u->bad_err == EFAULT && u->copy) {
		n = asprintf(msg, "the stack copied at thread creation ends before 0x%"
			     PRIx64, u->bad_addr);
		goto out;
	}
	if (u->bad_err == ESRCH) {
		n = asprintf(msg, "the thread exited while its stack was being read");
		goto out;
	}
	if (!w->out->nframes) {
		n = asprintf(msg, "cannot start unwinding (%s)", dwfl_errmsg(-1));
		goto out;
	}
	f = &w->out->frames[w->out->nframes - 1];
	/*
	 * No way past the outermost frame and no frame pointer to follow, in
	 * a known function: how a frame-pointer chain ends (_start and clone
	 * clear rbp).
	 */
	if (!u->bad_err && w->last_rbp_zero && f->function &&
	    (w->last_kind == PW_CFI_YES || w->last_kind == PW_CFI_NONE))
		return 0;
	/* No CFI: the frame pointer fallback failed, its reads included. */
	if (w->last_kind != PW_CFI_YES)
		return unwinder__no_cfi_reason(w, msg);
	unwinder__where(f, where, sizeof(where));
	if (u->bad_err)
		n = asprintf(msg, "cannot read the stack at 0x%" PRIx64
			     " to unwind past %s (%s)", u->bad_addr, where,
			     strerror(u->bad_err));
	else
		n = asprintf(msg, "the CFI of %s does not lead on (%s)", where,
			     dwfl_errmsg(-1));
out:
	if (n < 0) {
		*msg = NULL;
		return -ENOMEM;
	}
	return 0;
}

int unwinder__unwind(struct unwinder *u, pid_t tid, const struct pw_regs *regs,
		     const void *stack_copy, size_t stack_len, int max_frames,
		     struct pw_stack *out)
{
	struct walk w = { .u = u, .out = out, .max_frames = max_frames };
	struct pw_regs caller, cur;
	bool activation = true;
	int ret = 0, err = 0;

	memset(out, 0, sizeof(*out));
	if (!u || !regs || tid <= 0)
		return -EINVAL;
	if (max_frames <= 0)
		return 0;

	u->tid = tid;
	u->regs = regs;
	u->copy = stack_copy;
	u->copy_len = stack_copy ? stack_len : 0;
	u->copy_sp = regs->sp;
	u->bad_err = 0;
	if (!stack_copy)
		unwinder__read_window(u, regs->sp);

	/*
	 * Go code and other code take turns: the Go walk steps through Go
	 * frames and hands the first other one to libdw, whose walk hands a Go
	 * frame back (a C function called through cgo, a C thread that called
	 * into Go). Each turn adds a frame, so max_frames bounds the turns.
	 */
	cur = *regs;
	for (;;) {
		ret = unwinder__go_walk(&w, &cur, &activation);
		if (ret != DWARF_CB_OK || w.err)
			break;
		u->regs = &cur;
		w.first_is_return = !activation;
		w.dwfl_frames = 0;
		w.go_handoff = false;
		/*
		 * A frameless leaf without CFI: add it here and let libdw start
		 * from its caller, whose pc is a return address.
		 */
		if (activation && unwinder__frameless_leaf(u, &cur, &caller)) {
			w.last_pc = cur.ip;
			w.last_sp = cur.sp;
			ret = unwinder__add(&w, cur.ip, true);
			if (ret == DWARF_CB_OK && w.out->nframes >= max_frames) {
				out->truncated = true;
				ret = DWARF_CB_ABORT;
			}
			u->regs = &caller;
			w.first_is_return = true;
		}
		dwfl_errno(); /* clear a stale error so a failure reports its own */
		if (ret == DWARF_CB_OK)
			ret = dwfl_getthread_frames(u->dwfl, tid, unwinder__frame, &w);
		if (!w.go_handoff || w.err)
			break;
		cur = w.go_regs;
		activation = w.go_activation;
		w.pc_failed = false;
		u->bad_err = 0;
	}
	if (w.err) {
		err = w.err;
	} else if (ret == DWARF_CB_ABORT && !w.pc_failed) {
		/* Our callback stopped: normal end, max_frames, or a reason. */
		out->error = w.error;
		w.error = NULL;
	} else if (ret != 0 || u->bad_err || w.pc_failed) {
		/*
		 * libdw treats a return address it could not read like an
		 * undefined one and returns 0 as at the end of the stack; only
		 * our record of the failed read tells the two apart.
		 */
		err = unwinder__why(&w, &out->error);
	}
	free(w.error);

	/* The registers and copy belong to the caller: don't keep them. */
	u->regs = NULL;
	u->copy = NULL;
	u->copy_sp = 0;
	u->tid = 0;
	u->window_len = 0;
	if (err)
		pw_stack__free(out);
	return err;
}

const char *unwinder__strerror(int err)
{
	switch (err) {
	case ESRCH:
		return "the process has exited";
	case EACCES:
	case EPERM:
		return "not allowed to read the process's memory (/proc/PID/mem)";
	case ENOMEM:
		return "out of memory while preparing to unwind";
	case ENOEXEC:
	case EINVAL:
		return "cannot make sense of the process's memory map (/proc/PID/maps)";
	default:
		return "cannot prepare to unwind this process";
	}
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	unwinder__go_free(u);
	if (u->dwfl)
		dwfl_end(u->dwfl);
	/* After the Dwfl: its backend keeps a pointer to this Elf. */
	if (u->arch_elf)
		elf_end(u->arch_elf);
	if (u->mem_fd >= 0)
		close(u->mem_fd);
	perfmap__free(u->perfmap);
	if (u->own_cache)
		unwind_cache__free(u->cache);
	free(u->modkeys);
	free(u);
}
