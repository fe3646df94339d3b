/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals shared by unwind.c (the walk), unwind_symbols.c (module files,
 * names and lines) and unwind_nocfi.c (stepping where there is no CFI). */
#ifndef PW_UNWIND_PRIV_H
#define PW_UNWIND_PRIV_H

#include <elfutils/libdwfl.h>
#include "parkwatch.h"
#include "threads/perfmap.h"
#include "threads/unwind.h"

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

	/* Modules looked at as Go binaries (unwind_go.c). */
	struct unwind_gomod *gomods;
	int ngomods;

	/*
	 * The live stack from the thread's sp to the end of the next page,
	 * read at once: one system call where a walk would make one per word
	 * it reads (most of a sweep's system calls with many threads).
	 */
	unsigned char window[2 * 4096];
	uint64_t window_start;
	size_t window_len; /* 0: none; reads outside go to /proc/PID/mem */

	/* Last failed read since the last good frame (libdw cannot say). */
	uint64_t bad_addr;
	int bad_err; /* errno of the read, or EFAULT outside the stack copy */

	/* JIT code's names (threads/perfmap.h), read at the first pc in no
	 * mapped file. */
	struct perfmap *perfmap;
	bool perfmap_tried;

	/* What is known of each code address (unwind_cache.c), shared by the
	 * sweep's unwinders; the key of each module met so far. */
	struct unwind_cache *cache;
	bool own_cache; /* made by unwinder__new: freed with the unwinder */
	struct {
		Dwfl_Module *mod;
		uint64_t key;
	} *modkeys;
	int nmodkeys;
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
	/* libdw reached Go code: the Go walk goes on from go_regs. */
	bool go_handoff;
	bool go_activation;
	struct pw_regs go_regs;
};

/* What the unwinder has to step out of a frame, from what is known of its pc. */
enum unwinder__cfi {
	PW_CFI_YES,     /* CFI covers the pc */
	PW_CFI_NONE,    /* an ELF file, but no CFI for the pc */
	PW_CFI_NO_ELF,  /* a mapped file that is no ELF we could open */
	PW_CFI_NO_FILE, /* in no mapped file: JIT or anonymous code */
};

/* One code address of a file: what its bytes say there (unwind_cache.c). */
struct unwind_sym {
	uint64_t mod;     /* the file's key in the cache; 0: an empty slot */
	uint64_t off;     /* the address - the start of the module's first mapping */
	char *function;   /* demangled; NULL: no symbol covers it */
	uint64_t sym_off; /* the address - the function's start */
	char *file;       /* source file, NULL: no line information */
	int line;
	enum unwinder__cfi cfi;
};

/* unwind.c: one word of the target at addr (the stack copy first, then
 * /proc/PID/mem); arg is the unwinder. libdw's memory_read callback. */
bool unwinder__memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg);

/* unwind_symbols.c */
/* find_elf opens deleted and memfd files through /proc/PID/map_files. */
extern const Dwfl_Callbacks unwinder__proc_callbacks;
/* Function, module, file:line of pc into *f (activation: pc is the
 * interrupted instruction, else a return address). 0 or -ENOMEM. */
int unwinder__symbolize(struct unwinder *u, uint64_t pc, bool activation, struct pw_frame *f);
/* Fill s (zeroed but for its key) for addr in mod: 0 or -ENOMEM. */
int unwinder__describe(Dwfl_Module *mod, Dwarf_Addr addr, struct unwind_sym *s);
/* addr is the pc of an interrupted frame, or pc - 1 for a return address
 * (the call itself, which may be the last instruction of its function).
 * libdw looks for CFI in .eh_frame, then .debug_frame: so do we. */
enum unwinder__cfi unwinder__cfi_kind(struct unwinder *u, Dwarf_Addr addr);

/* unwind_cache.c: what is known of addr in mod, looked up once per sweep
 * (see there); NULL on ENOMEM (*err). */
const struct unwind_sym *unwinder__lookup(struct unwinder *u, Dwfl_Module *mod, Dwarf_Addr addr,
					  int *err);

/* "libc.so.6", "[vdso]": the module's file name, allocated; NULL on ENOMEM. */
char *unwinder__module_name(Dwfl_Module *mod);

/* unwind_go.c */
/* pc is in a function of a Go binary's pclntab (pc - 1 unless activation). */
bool unwinder__go_owns(struct unwinder *u, uint64_t pc, bool activation);
/*
 * Step through Go frames from r while its pc is Go code, pushing them named.
 * DWARF_CB_OK: r (and *activation) now describe a frame outside Go code for
 * libdw to go on from; DWARF_CB_ABORT: the stack ends (w->error says why
 * when it ends early, w->err on ENOMEM).
 */
int unwinder__go_walk(struct walk *w, struct pw_regs *r, bool *activation);
void unwinder__go_free(struct unwinder *u);

/* unwind_nocfi.c */
/* A Go function that switches or starts a stack: the walk ends there. */
bool unwinder__go_outermost(const char *fn);
/* ret follows a call instruction; *target is its destination when direct. */
bool unwinder__after_call(struct unwinder *u, uint64_t ret, uint64_t *target);
/* r stopped in a frameless leaf without CFI: *caller is the frame to start from. */
bool unwinder__frameless_leaf(struct unwinder *u, const struct pw_regs *r, struct pw_regs *caller);

#endif
