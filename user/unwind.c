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
 * is stepped over through [sp] (see unwinder__frameless_leaf).
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
	uint64_t copy_sp; /* target address of copy[0] */

	/* Identifies the architecture when no mapped file can (see __new). */
	Elf *arch_elf;

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
	char *error;         /* why the walk was cut short, when it was */
	bool pc_failed;      /* libdw could not give a frame's pc */
	uint64_t last_pc, last_sp;
	bool last_rbp_zero;  /* the outermost frame had rbp == 0 */
	int last_kind;       /* enum unwinder__cfi of the outermost frame */
	/*
	 * The walk starts at the caller of a frameless leaf (see
	 * unwinder__frameless_leaf): its first frame is a return address,
	 * not the interrupted instruction libdw takes it for. We symbolize it
	 * as one; libdw still looks up its CFI at pc rather than pc - 1, which
	 * only matters after a call that ends its function (noreturn).
	 */
	bool first_is_return;
	int dwfl_frames;     /* frames libdw has handed us in this walk */
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

#define PW_DELETED " (deleted)"

/* "/usr/lib/libfoo.so (deleted)": how the maps name an unlinked file. */
static bool unwinder__is_deleted(const char *name)
{
	size_t n = strlen(name), k = sizeof(PW_DELETED) - 1;

	return n > k && !strcmp(name + n - k, PW_DELETED);
}

/*
 * Open path only when it is a regular file: the maps also list devices (GPU
 * render nodes, /dev/mem, ...), and opening one can block or have side
 * effects in its driver.
 */
static int unwinder__open_regular(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/*
 * Open the file mapped at base through /proc/PID/map_files/START-END. That
 * link reaches the mapped inode itself, so it works for a deleted file or a
 * memfd, whose path leads nowhere (root only: the kernel asks for
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). libdwfl reports a module from
 * the start of the file's first mapping, so base is the start of a mapping
 * of that very file; the name check guards against the maps having changed
 * since they were reported.
 */
static int unwinder__open_map_file(struct unwinder *u, const char *name,
				   Dwarf_Addr base, char **file_name)
{
	uint64_t start = 0, end = 0, ino;
	char path[64], *line = NULL;
	bool found = false;
	size_t cap = 0;
	ssize_t len;
	int nread, fd;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", u->pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		nread = -1;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*x %*x:%*x %" SCNu64 " %n",
			   &start, &end, &ino, &nread) < 3 || nread < 0)
			continue;
		found = start == base && ino != 0 && !strcmp(line + nread, name);
	}
	free(line);
	fclose(f);
	if (!found)
		return -1;
	if (asprintf(file_name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, u->pid,
		     start, end) < 0) {
		*file_name = NULL;
		return -1;
	}
	fd = unwinder__open_regular(*file_name);
	if (fd < 0) {
		free(*file_name);
		*file_name = NULL;
	}
	return fd;
}

/*
 * The paths in /proc/PID/maps are in the target's mount namespace: in a
 * container the same path here may be another file, and symbols would be
 * silently wrong. Open them through /proc/PID/root (the same file for a
 * process in our namespace). A "(deleted)" path (an upgraded library, a
 * binary removed while it runs, a memfd) and a path we cannot reach are
 * opened through map_files instead. Without the privilege for that, libdwfl
 * rebuilds what it can of a deleted file from the process's memory (our
 * Dwfl is not attached through libdwfl's ptrace callbacks, so it reads
 * /proc/PID/mem and never attaches). A path that is not deleted is not
 * retried in our own namespace: that is the wrong file in a container.
 * userdata is the unwinder, set on every module before any ELF is loaded.
 */
static int unwinder__find_elf(Dwfl_Module *mod, void **userdata,
			      const char *name, Dwarf_Addr base,
			      char **file_name, Elf **elfp)
{
	struct unwinder *u = *userdata;
	bool deleted;
	char *path;
	int fd;

	/* "[vdso: PID]": libdwfl reads the image from memory. */
	if (!u || name[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, name, base,
						file_name, elfp);
	deleted = unwinder__is_deleted(name);
	if (!deleted && asprintf(&path, "/proc/%d/root%s", u->pid, name) >= 0) {
		fd = unwinder__open_regular(path);
		if (fd >= 0) {
			*file_name = path;
			return fd;
		}
		free(path);
	}
	fd = unwinder__open_map_file(u, name, base, file_name);
	if (fd >= 0 || !deleted)
		return fd;
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name,
					elfp);
}

static const Dwfl_Callbacks unwinder__proc_callbacks = {
	.find_elf = unwinder__find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

/*
 * "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6", "[vdso: 42]" ->
 * "[vdso]", "/memfd:jit (deleted)" -> "memfd:jit": the module is the file's
 * name; that it was deleted since is not part of it (the exe line says so).
 */
static char *unwinder__module_name(Dwfl_Module *mod)
{
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	const char *slash;
	size_t len;

	if (!name)
		return NULL;
	if (!strncmp(name, "[vdso", 5))
		return strdup("[vdso]");
	slash = strrchr(name, '/');
	name = slash ? slash + 1 : name;
	len = strlen(name);
	if (unwinder__is_deleted(name))
		len -= sizeof(PW_DELETED) - 1;
	return strndup(name, len);
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

/* What the unwinder has to step out of a frame, from what is known of its pc. */
enum unwinder__cfi {
	PW_CFI_YES,     /* CFI covers the pc */
	PW_CFI_NONE,    /* an ELF file, but no CFI for the pc */
	PW_CFI_NO_ELF,  /* a mapped file that is no ELF we could open */
	PW_CFI_NO_FILE, /* in no mapped file: JIT or anonymous code */
};

static bool unwinder__cfi_covers(Dwarf_CFI *cfi, Dwarf_Addr addr)
{
	Dwarf_Frame *frame;

	if (!cfi || dwarf_cfi_addrframe(cfi, addr, &frame) != 0)
		return false;
	free(frame);
	return true;
}

/*
 * addr is the pc of an interrupted frame, or pc - 1 for a return address
 * (the call itself, which may be the last instruction of its function).
 * libdw looks for CFI in .eh_frame, then .debug_frame: so do we.
 */
static enum unwinder__cfi unwinder__cfi_kind(Dwfl *dwfl, Dwarf_Addr addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
	Dwarf_Addr bias;

	if (!mod)
		return PW_CFI_NO_FILE;
	if (!dwfl_module_getelf(mod, &bias))
		return PW_CFI_NO_ELF;
	if (unwinder__cfi_covers(dwfl_module_eh_cfi(mod, &bias), addr - bias))
		return PW_CFI_YES;
	if (unwinder__cfi_covers(dwfl_module_dwarf_cfi(mod, &bias), addr - bias))
		return PW_CFI_YES;
	return PW_CFI_NONE;
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
static bool unwinder__after_call(struct unwinder *u, uint64_t ret,
				 uint64_t *target)
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
static bool unwinder__frameless_leaf(struct unwinder *u,
				     const struct pw_regs *r,
				     struct pw_regs *caller)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, r->ip);
	uint64_t start, target;
	Dwarf_Word ret, fp_ret;
	GElf_Off off;
	GElf_Sym sym;
	bool leaf;

	if (!mod || unwinder__cfi_kind(u->dwfl, r->ip) != PW_CFI_NONE ||
	    !dwfl_module_addrinfo(mod, r->ip, &off, &sym, NULL, NULL, NULL))
		return false;
	start = r->ip - off;
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
static int unwinder__add(struct walk *w, uint64_t pc, bool activation)
{
	struct pw_frame f;
	int err;

	w->last_kind = unwinder__cfi_kind(w->u->dwfl, activation ? pc : pc - 1);
	err = unwinder__symbolize(w->u->dwfl, pc, activation, &f);
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
	struct pw_regs caller;
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

	/*
	 * A frameless leaf without CFI: add it here and let libdw start from
	 * its caller, whose pc is a return address.
	 */
	if (unwinder__frameless_leaf(u, regs, &caller)) {
		w.last_pc = regs->ip;
		w.last_sp = regs->sp;
		ret = unwinder__add(&w, regs->ip, true);
		if (ret == DWARF_CB_OK && max_frames == 1) {
			out->truncated = true;
			ret = DWARF_CB_ABORT;
		}
		u->regs = &caller;
		w.first_is_return = true;
	}
	dwfl_errno(); /* clear a stale error so a failure reports its own */
	if (ret == DWARF_CB_OK)
		ret = dwfl_getthread_frames(u->dwfl, tid, unwinder__frame, &w);
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
	if (u->dwfl)
		dwfl_end(u->dwfl);
	/* After the Dwfl: its backend keeps a pointer to this Elf. */
	if (u->arch_elf)
		elf_end(u->arch_elf);
	if (u->mem_fd >= 0)
		close(u->mem_fd);
	free(u);
}
