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
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>

#include "parkwatch.h"
#include "unwind.h"

/* x86_64 DWARF register numbers that the frame callback looks at. */
#define DW_X86_64_RBP 6
#define DW_X86_64_RSP 7
#define DW_X86_64_NREGS 17 /* rax..r15 and the return address column (rip) */

struct unwinder {
	pid_t pid;
	int mem_fd;
	Dwfl *dwfl;
	int nmodules;

	/* The thread being unwound now, read by the callbacks. */
	pid_t tid;
	const struct pw_regs *regs;
	const unsigned char *copy;
	size_t copy_len;

	/* Last failed read since the last good frame (libdw cannot say). */
	uint64_t bad_addr;
	int bad_err; /* errno of the read, or EFAULT outside the stack copy */
};

/* State of one walk, shared by the frame callback and unwinder__unwind(). */
struct walk {
	struct unwinder *u;
	struct pw_stack *out;
	int max_frames;
	int err;             /* -errno that aborted the walk */
	char reason[128];    /* why the walk was cut short, when it was */
	uint64_t last_pc, last_sp;
	bool last_rbp_zero;  /* the outermost frame had rbp == 0 */
};

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

static bool unwinder__memory_read(Dwfl *dwfl, Dwarf_Addr addr,
				  Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t sp = u->regs ? u->regs->sp : 0;
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

static const Dwfl_Thread_Callbacks unwinder__thread_callbacks = {
	.next_thread = unwinder__next_thread,
	.get_thread = unwinder__get_thread,
	.memory_read = unwinder__memory_read,
	.set_initial_registers = unwinder__set_initial_registers,
};

/*
 * The paths in /proc/PID/maps are in the target's mount namespace: in a
 * container the same path here may be another file, and symbols would be
 * silently wrong. Open them through /proc/PID/root (the same file for a
 * process in our namespace); fall back to libdwfl for "(deleted)" files.
 * userdata is the unwinder, set on every module before any ELF is loaded.
 */
static int unwinder__find_elf(Dwfl_Module *mod, void **userdata,
			      const char *name, Dwarf_Addr base,
			      char **file_name, Elf **elfp)
{
	struct unwinder *u = *userdata;
	char *path;
	int fd;

	if (u && name[0] == '/' &&
	    asprintf(&path, "/proc/%d/root%s", u->pid, name) >= 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*file_name = path;
			return fd;
		}
		free(path);
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name,
					elfp);
}

static const Dwfl_Callbacks unwinder__proc_callbacks = {
	.find_elf = unwinder__find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

/* "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6", "[vdso: 42]" -> "[vdso]" */
static char *unwinder__module_name(Dwfl_Module *mod)
{
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	const char *slash;

	if (!name)
		return NULL;
	if (!strncmp(name, "[vdso", 5))
		return strdup("[vdso]");
	slash = strrchr(name, '/');
	return strdup(slash ? slash + 1 : name);
}

static bool unwinder__cu_has(Dwarf_Die *cu, Dwarf_Addr addr)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t r = 0;

	while ((r = dwarf_ranges(cu, r, &base, &lo, &hi)) > 0)
		if (addr >= lo && addr < hi)
			return true;
	return false;
}

/*
 * Source line of addr. libdwfl 0.188 finds the CU through .debug_aranges
 * only, and takes the last CU starting below addr without checking its end:
 * Go emits no aranges, and in a cgo binary Go code lands in the C CU before
 * it. So check the CU's own ranges, and search all CUs when it is wrong.
 */
static const char *unwinder__srcline(Dwfl_Module *mod, Dwarf_Addr addr,
				     int *lineno)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Line *line;

	if (!cu || !unwinder__cu_has(cu, addr - bias)) {
		cu = NULL;
		while ((cu = dwfl_module_nextcu(mod, cu, &bias)) &&
		       !unwinder__cu_has(cu, addr - bias))
			;
	}
	line = cu ? dwarf_getsrc_die(cu, addr - bias) : NULL;
	if (!line || dwarf_lineno(line, lineno) != 0)
		return NULL;
	return dwarf_linesrc(line, NULL, NULL);
}

/*
 * Fill f for pc. A return address points after the call, possibly into the
 * next function or line, so look up pc - 1 for those; f->pc and f->offset
 * still describe the real pc.
 */
static int unwinder__symbolize(Dwfl *dwfl, uint64_t pc, bool activation,
			       struct pw_frame *f)
{
	Dwarf_Addr addr = activation ? pc : pc - 1;
	Dwfl_Module *mod;
	const char *name, *file;
	GElf_Off off;
	GElf_Sym sym;
	int lineno = 0;

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	mod = dwfl_addrmodule(dwfl, addr);
	if (!mod)
		return 0;
	f->module = unwinder__module_name(mod);
	if (!f->module)
		goto err;
	name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (name) {
		/* "pthread_cond_wait@@GLIBC_2.3.2": the version is noise here. */
		f->function = strndup(name, strcspn(name + 1, "@") + 1);
		if (!f->function)
			goto err;
		f->offset = off + (pc - addr);
	}
	file = unwinder__srcline(mod, addr, &lineno);
	if (file) {
		f->file = strdup(file);
		if (!f->file)
			goto err;
		f->line = lineno;
	}
	return 0;
err:
	free(f->module);
	free(f->function);
	memset(f, 0, sizeof(*f));
	return -ENOMEM;
}

/*
 * Go functions that switch stacks or start one. Their CFI does not describe
 * the switch, so unwinding past them reads unrelated memory: Go's own
 * traceback stops at them too (TOPFRAME and SPWRITE functions).
 */
static bool unwinder__go_outermost(const char *fn)
{
	static const char *const names[] = {
		"runtime.mstart", "runtime.goexit", "runtime.rt0_go",
		"runtime.mcall", "runtime.morestack", "runtime.systemstack",
		"runtime.asmcgocall",
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

static int unwinder__frame(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwfl *dwfl = w->u->dwfl;
	struct pw_frame f;
	Dwarf_Addr pc;
	Dwarf_Word sp, rbp;
	bool activation;
	int err;

	/*
	 * This frame exists, so failed reads before it were recovered from.
	 * Clear before dwfl_frame_pc(): asking for activation unwinds this
	 * frame, and the reads of that step must be kept.
	 */
	w->u->bad_err = 0;
	if (!dwfl_frame_pc(frame, &pc, &activation)) {
		snprintf(w->reason, sizeof(w->reason), "%s", dwfl_errmsg(-1));
		return DWARF_CB_ABORT;
	}
	/* No code lives at 0: a return address of 0 ends the chain. */
	if (pc == 0)
		return DWARF_CB_ABORT;
	if (w->out->nframes >= w->max_frames) {
		w->out->truncated = true;
		return DWARF_CB_ABORT;
	}
	/*
	 * Frame-pointer fallback on garbage can revisit the same frame; a
	 * frame identical to the last one can only repeat forever.
	 */
	if (dwfl_frame_reg(frame, DW_X86_64_RSP, &sp) != 0)
		sp = 0;
	if (w->out->nframes > 0 && pc == w->last_pc && sp == w->last_sp) {
		strcpy(w->reason, "unwinding loops on the same frame");
		return DWARF_CB_ABORT;
	}
	w->last_pc = pc;
	w->last_sp = sp;
	w->last_rbp_zero = dwfl_frame_reg(frame, DW_X86_64_RBP, &rbp) == 0 &&
			   rbp == 0;

	err = unwinder__symbolize(dwfl, pc, activation, &f);
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

/* dwfl_getmodules() callback: give unwinder__find_elf() the unwinder. */
static int unwinder__own_module(Dwfl_Module *mod, void **userdata,
				const char *name, Dwarf_Addr start, void *arg)
{
	struct unwinder *u = arg;

	*userdata = u;
	u->nmodules++;
	return DWARF_CB_OK;
}

struct unwinder *unwinder__new(pid_t pid)
{
	struct unwinder *u;
	char path[64];
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	u->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
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
	/* NULL elf: libdw takes the architecture from the reported modules. */
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &unwinder__thread_callbacks,
			       u)) {
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
	int n;

	*msg = NULL;
	if (u->bad_err == EFAULT && u->copy)
		n = asprintf(msg, "stack copy ends before 0x%" PRIx64, u->bad_addr);
	else if (u->bad_err)
		n = asprintf(msg, "cannot read memory at 0x%" PRIx64 ": %s",
			     u->bad_addr, strerror(u->bad_err));
	else if (w->last_rbp_zero && w->out->nframes > 0 &&
		 w->out->frames[w->out->nframes - 1].function)
		/*
		 * No CFI for the outermost frame and no frame pointer to
		 * follow, in a known function: how a frame-pointer chain
		 * ends (_start and clone clear rbp).
		 */
		return 0;
	else
		n = asprintf(msg, "%s", dwfl_errmsg(-1));
	return n < 0 ? -ENOMEM : 0;
}

int unwinder__unwind(struct unwinder *u, pid_t tid, const struct pw_regs *regs,
		     const void *stack_copy, size_t stack_len, int max_frames,
		     struct pw_stack *out)
{
	struct walk w = { .u = u, .out = out, .max_frames = max_frames };
	int ret, err = 0;

	memset(out, 0, sizeof(*out));
	if (!u || !regs || tid <= 0)
		return -EINVAL;
	if (max_frames <= 0)
		return 0;

	u->tid = tid;
	u->regs = regs;
	u->copy = stack_copy;
	u->copy_len = stack_copy ? stack_len : 0;
	u->bad_err = 0;
	dwfl_errno(); /* clear a stale error so a failure reports its own */

	ret = dwfl_getthread_frames(u->dwfl, tid, unwinder__frame, &w);
	if (w.err) {
		err = w.err;
	} else if (ret == DWARF_CB_ABORT) {
		/* Our callback stopped: normal end, max_frames, or a reason. */
		if (w.reason[0] && !(out->error = strdup(w.reason)))
			err = -ENOMEM;
	} else if (ret != 0 || u->bad_err) {
		/*
		 * libdw treats a return address it could not read like an
		 * undefined one and returns 0 as at the end of the stack; only
		 * our record of the failed read tells the two apart.
		 */
		err = unwinder__why(&w, &out->error);
	}

	/* The registers and copy belong to the caller: don't keep them. */
	u->regs = NULL;
	u->copy = NULL;
	u->tid = 0;
	if (err)
		pw_stack__free(out);
	return err;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->mem_fd >= 0)
		close(u->mem_fd);
	free(u);
}
