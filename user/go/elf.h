/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Go executables read from the file alone: no process access, nothing is
 * stopped. What the goroutine reader needs to walk a live Go process:
 *
 *   - is it Go, which toolchain built it (.go.buildinfo);
 *   - pc -> function, entry, file:line, inlined frames (.gopclntab, which
 *     survives `-ldflags='-s -w'` because the runtime itself needs it);
 *   - where runtime.allgs/allglen live, also in stripped binaries;
 *   - runtime.g/runtime.m field offsets (DWARF, else a per-version table);
 *   - wait reason and goroutine status names per Go version.
 *
 * Files (user/go/): image.c (sections, bytes), elf.c (open, buildinfo,
 * symbols, text start), version.c (version without build info), reasons.c
 * (the binary's own wait reason strings),
 * pclntab.c (pc tables), allgs.c (allgs from code), dwarf.c (layouts
 * from DWARF), runtime.c (per-version tables). Internals: elf_priv.h.
 *
 * Verified with binaries built here (the idle fixture, plus a small program
 * for 1.15) by go1.15.15, 1.16.15, 1.17.13, 1.18.10, 1.19.8 (Debian),
 * 1.20.14, 1.21.13, 1.22.0, 1.22.12, 1.23.12, 1.24.0, 1.25.0, 1.26.0,
 * 1.26.8 (/usr/local/go; the others through GOTOOLCHAIN) and 1.27.3: default,
 * -ldflags='-s -w', -buildmode=pie and strip(1)ped builds, and for 1.26
 * -linkmode=external (see tests/goelf.bats and tests/unit/test_goelf.c).
 * pclntab formats before 1.15 (magic 0xfffffffb, 1.2-1.14) are parsed the
 * same way as 1.15's but were not verified; they get no inline frames.
 *
 * Addresses are link-time addresses, as in the file. For a PIE executable
 * the caller adds the load bias (mapping start - first PT_LOAD vaddr) to
 * what it reads from here, and subtracts it from live pcs before lookups.
 *
 * All strings returned point into the mapped file or static tables: they
 * stay valid until go_binary__free(). Every table read is bounds-checked:
 * a truncated or hostile file gives errors, never a crash (checked with
 * truncated and bit-flipped copies under ASan). Little-endian ELF only;
 * 32-bit files are handled by the code but were not tested; the allgs code
 * heuristic is x86-64 only. No global state: separate objects may be used
 * from separate threads, one object by one thread at a time (reading DWARF
 * decompresses sections inside the object's Elf handle).
 */
#ifndef PW_GOELF_H
#define PW_GOELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct go_binary;

/*
 * Open an executable. Returns NULL with -errno in *errp (when errp is not
 * NULL) and a sentence in err on failure: ENOENT/EACCES from open(),
 * ENOEXEC for a file that is not ELF (or is truncated/corrupt ELF),
 * ENOTSUP for big-endian ELF. An ELF file that is not Go opens fine:
 * go_binary__is_go() says false and the reason is in err as well. On
 * success err holds a note on what is missing ("" when nothing is), e.g.
 * an unusable .gopclntab.
 */
struct go_binary *go_binary__open(const char *path, int *errp, char *err, size_t errlen);
/*
 * Same from an open fd (e.g. /proc/PID/exe or a /proc/PID/map_files entry):
 * the file is mapped, the fd is not kept nor closed. name is for messages.
 */
struct go_binary *go_binary__open_fd(int fd, const char *name, int *errp, char *err,
				     size_t errlen);
void go_binary__free(struct go_binary *b);

/* True when the file has Go build info or a Go pclntab. */
bool go_binary__is_go(const struct go_binary *b);
/* "go1.19.8", or NULL when unknown: from the build info, else from the
 * runtime's own runtime.buildVersion (found by symbol, or through the code
 * of runtime.schedinit in stripped binaries), checked against the pclntab
 * format (version.c). */
const char *go_binary__version(const struct go_binary *b);
/* Where the version came from: "buildinfo", "runtime.buildVersion
 * (symtab)", "runtime.buildVersion (code: runtime.schedinit)"; NULL when
 * unknown. */
const char *go_binary__version_source(const struct go_binary *b);
/* Main package path ("command-line-arguments" for `go build main.go`) and
 * main module path from the build info; NULL when absent (no module info:
 * `go build file.go` before 1.18, GOPATH builds; no module path in
 * `go build file.go` builds). */
const char *go_binary__main_path(const struct go_binary *b);
const char *go_binary__module_path(const struct go_binary *b);
/* pclntab format: 12 (Go 1.2-1.15), 116 (1.16-1.17), 118 (1.18-1.19),
 * 120 (1.20+), 0 when there is no usable pclntab. */
int go_binary__pclntab_version(const struct go_binary *b);
/* Address of runtime.text, the base of 1.18+ pc offsets, and where it came
 * from: "symtab", "moduledata", "pclntab header" or ".text section". */
uint64_t go_binary__text_start(const struct go_binary *b, const char **source);

/* --- pclntab (pclntab.c) --------------------------------------------- */

struct go_func_info {
	const char *function; /* the physical (outermost) function */
	uint64_t entry;       /* its first instruction */
	uint64_t end;         /* the next function's entry */
	const char *file;     /* source position of pc: inside inlined code */
	int line;             /*   the inlined body's (go_binary__frames) */
};

/*
 * pc -> physical function and source position. 0, or -ENOENT (pc in no
 * function, not Go), -EINVAL (malformed table). file is NULL and line 0
 * when those tables are unreadable.
 */
int go_binary__lookup(const struct go_binary *b, uint64_t pc, struct go_func_info *out);

struct go_frame {
	const char *function;
	const char *file;
	int line;
	bool inlined; /* false only for the last, physical frame */
};

/*
 * pc -> logical frames, innermost first: the functions inlined at pc, then
 * the physical function, each with its own source position (the call site
 * for outer ones), as runtime.CallersFrames gives them. For a return
 * address pass pc - 1, as Go's tracebacks do. Returns the number of frames
 * (>= 1, at most max) or -errno as go_binary__lookup. Without inline
 * information (no FUNCDATA, unreadable inline tree, Go < 1.15, a pre-1.18
 * PIE file whose funcdata pointers were left to relocations) it returns
 * the physical frame alone.
 */
int go_binary__frames(const struct go_binary *b, uint64_t pc, struct go_frame *frames, int max);

/*
 * pc -> bytes the function has pushed on the stack at pc (its pcsp table):
 * the return address is at sp + delta, the caller's sp is sp + delta + 8
 * (amd64). Works for assembly too (runtime.futex, a frameless stub: 0).
 * For a return address pass pc - 1. 0, or -ENOENT (pc in no Go function),
 * -EINVAL (no or malformed table, delta out of range).
 */
int go_binary__sp_delta(const struct go_binary *b, uint64_t pc, int32_t *delta);

/* What the GC knows of a frame at pc (a return address minus 1, or the
 * pc of the innermost frame): the frame size (pcsp), and the pointer
 * bitmaps of its locals ([varp - nlocals*8, varp), varp = sp + frame - 8
 * with frame pointers) and arguments ([argp, argp + nargs*8), argp =
 * sp + frame + 8), FUNCDATA_LocalsPointerMaps / ArgsPointerMaps at
 * PCDATA_StackMapIndex (map 0 where the index is -1, as the runtime does),
 * and its stack objects (records {off, size, ptrBytes, gcdataoff} int32;
 * off < 0 from varp, else from argp). Bitmaps NULL when the function has
 * none (assembly). 0, -ENOENT (not Go code), -EINVAL, -ENOTSUP (pclntab
 * before 1.18: no maps read). */
struct go_stack_maps {
	uint64_t entry;
	const char *function;
	int32_t frame;
	int32_t map_index;       /* PCDATA_StackMapIndex at pc, -1 none */
	uint32_t argsize;        /* _func.args, bytes */
	const uint8_t *locals, *args;
	uint32_t nlocals, nargs; /* bits (words) */
	const uint8_t *objects;  /* 16-byte records */
	uint64_t nobjects;
};
int go_binary__stack_maps(const struct go_binary *b, uint64_t pc, struct go_stack_maps *out);

/* Entry (and end, when not NULL) of a function by its pclntab name, e.g.
 * "runtime.allgadd"; works in stripped binaries. 0 when absent. */
uint64_t go_binary__func_entry(const struct go_binary *b, const char *name, uint64_t *end);

/* --- symbols and data (elf.c) ---------------------------------------- */

/* Value of a .symtab symbol (0 when stripped or absent); size if wanted. */
uint64_t go_binary__symbol(const struct go_binary *b, const char *name, uint64_t *size);
/* The file's bytes at a link-time address, bounds-checked (NULL outside
 * a section with file contents): e.g. a function's first instructions. */
const uint8_t *go_binary__bytes(const struct go_binary *b, uint64_t addr, uint64_t len);
/* Link-time address -> offset in the file (for uprobes), -1 if not code. */
int64_t go_binary__file_offset(const struct go_binary *b, uint64_t vaddr);
/* Has a program interpreter (PT_INTERP): loads the C library's exit(). */
bool go_binary__is_dynamic(const struct go_binary *b);

/* --- runtime.allgs (allgs.c) ----------------------------------------- */

struct go_allgs {
	uint64_t allgs;     /* address of the []*g slice header (ptr, len, cap) */
	uint64_t allglen;   /* address of runtime.allglen (uintptr), 0 if unknown */
	const char *source; /* "symtab" or "code: runtime.allgadd" */
};

/*
 * Find runtime.allgs: from .symtab when present, else from the code of
 * runtime.allgadd (x86-64; heuristic described in allgs.c). 0, or
 * -ENOENT (not found), -ENOTSUP (stripped non-x86-64), with a sentence.
 */
int go_binary__find_allgs(const struct go_binary *b, struct go_allgs *out, char *err,
			  size_t errlen);
/* The code heuristic alone, even when .symtab has the symbols: to check
 * one against the other. */
int go_binary__find_allgs_in_code(const struct go_binary *b, struct go_allgs *out, char *err,
				  size_t errlen);

/* --- runtime.g layout (dwarf.c, runtime.c) ------------------------- */

/* Byte offsets within runtime.g / runtime.m; -1 when the field does not
 * exist in that version (parent_goid before 1.21). */
struct go_g_layout {
	const char *source; /* "dwarf" or "table go1.N" */
	int g_size, m_size;
	int goid, atomicstatus, waitreason, waitsince;
	int sched, sched_sp, sched_pc, sched_bp; /* sched_* are from g's start */
	int gopc, startpc, parent_goid;
	int stack_lo, stack_hi;
	int m;                                   /* g.m (*m) */
	int m_curg, m_procid;                    /* within runtime.m */
};

/* From the binary's DWARF (compressed sections included). -ENOENT without
 * DWARF, -ESRCH when runtime.g or a required field is missing. */
int go_binary__g_layout_dwarf(const struct go_binary *b, struct go_g_layout *out);
/* From the built-in table for version ("go1.19.8": keyed by go1.N). 0 or
 * -ENOTSUP for a version not in the table (see runtime.c). */
int go_g_layout_for_version(const char *version, struct go_g_layout *out);
/* Entry i of the built-in table (for inference, go/infer.c): 0, -EAGAIN
 * when switched off by PARKWATCH_TEST_NO_LAYOUT_TABLE, -ENOENT past the end.
 * *last_minor: the newest release it is for. */
int go_g_layout_table(size_t i, struct go_g_layout *out, int *last_minor);
/* DWARF, else the table for the binary's version, else -ENOTSUP (or
 * -ENOENT when not Go) with a sentence in err. */
int go_binary__g_layout(const struct go_binary *b, struct go_g_layout *out, char *err,
			size_t errlen);

/* --- test binaries (dwarf.c, go/testname.c) ------------------------ */

/* Offsets for naming the test behind a goroutine; -1 when unknown. */
struct go_test_layout {
	const char *source;  /* "dwarf" or "table go1.N" */
	int common_name;     /* testing.common.name (T embeds common first) */
	int g_ancestors;     /* runtime.g.ancestors (*[]ancestorInfo) */
	int ancestor_size, ancestor_goid; /* runtime.ancestorInfo */
};

/* From DWARF: -ENOENT without, -ESRCH when testing.common is missing. */
int go_binary__test_layout_dwarf(const struct go_binary *b, struct go_test_layout *out);

/* --- channel and semaphore layouts (dwarf.c, runtime.c) ----------- */

/* Byte offsets for what a goroutine blocked on a channel or a semaphore
 * points to (go/wait.c); -1 when unknown. Go keeps the channel a parked g
 * waits on in g.waiting -> sudog.c -> hchan; a semaphore's waiters only in
 * runtime.semtable (a treap of sudogs per root, keyed by the sema address
 * in sudog.elem, same-address waiters linked by waitlink). */
struct go_chan_layout {
	const char *source;      /* "dwarf" or "table go1.N" */
	int g_waiting;           /* runtime.g.waiting (*sudog) */
	int sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_c, sudog_waitlink;
	int hchan_qcount, hchan_dataqsiz, hchan_elemsize, hchan_closed, hchan_elemtype;
	int hchan_recvq, hchan_sendq; /* runtime.waitq {first, last *sudog} */
	int semaroot_treap;      /* within runtime.semaRoot */
	int type_str, type_tflag; /* runtime._type / internal/abi.Type */
	int md_types;            /* runtime.moduledata.types, -1 unknown */
};

/* From DWARF: -ENOENT without DWARF, -ESRCH when a struct or field is
 * missing. */
int go_binary__chan_layout_dwarf(const struct go_binary *b, struct go_chan_layout *out);
/* From the built-in table (amd64, go1.15 - go1.27), -ENOTSUP otherwise. */
int go_chan_layout_for_version(const char *version, struct go_chan_layout *out);
/* Entry i of the built-in table, as go_g_layout_table(). */
int go_chan_layout_table(size_t i, struct go_chan_layout *out, int *last_minor);
/* DWARF, else the table, else -ENOTSUP with a sentence in err. */
int go_binary__chan_layout(const struct go_binary *b, struct go_chan_layout *out, char *err,
			   size_t errlen);

/* Link-time address of runtime.firstmoduledata (found by content, also in
 * stripped binaries), 0 when not found. */
uint64_t go_binary__moduledata(const struct go_binary *b);

/* Offsets of the semaphores in package sync (sync.Mutex.sema; since 1.24
 * sync.Mutex wraps internal/sync.Mutex at offset 0, same place), checked
 * with reflect on go1.15 - go1.26; go1.27.3's sources agree. */
#define GO_MUTEX_SEMA 4
#define GO_RWMUTEX_WRITERSEM 8
#define GO_RWMUTEX_READERSEM 12

/* --- the heap (dwarf.c, heap_layout.c) ------------------------------ */

/* What go/heap.c needs to read the runtime's heap metadata from outside:
 * byte offsets, -1 when unknown. Constants that are the same for every
 * version on linux/amd64 (64 MiB arenas, one L2 level, 8 KiB pages,
 * arenaBaseOffset 0xffff800000000000, mSpanInUse = 1) are in go/heap.c. */
struct go_heap_layout {
	const char *source;      /* "dwarf" or "table go1.N" */
	uint64_t mheap;          /* link-time address of runtime.mheap_, 0 unknown */
	int mheap_size;          /* sizeof(runtime.mheap): no heap pointers inside */
	int mheap_arenas;        /* mheap.arenas ([1]*[1<<22]*heapArena) */
	int mheap_all_arenas;    /* mheap.allArenas (<= 1.20) / heapArenas ([]arenaIdx) */
	int arena_spans;         /* heapArena.spans ([8192]*mspan) */
	int span_start, span_npages, span_spanclass, span_elemsize, span_state;
	int span_specials;       /* mspan.specials (*special): finalizers, cleanups */
	int m_g0, m_gsignal, m_alllink; /* runtime.m: its system goroutines, allm's chain */
	int g_syscallsp, g_syscallpc;   /* a goroutine in a syscall: where its frames are */
	int special_offset_size; /* runtime.special.offset: 2 (uint16, 1.19) or 8 */
	int span_size;           /* bytes of runtime.mspan read (to the last field used) */
	int sudog_g, sudog_elem, sudog_c, sudog_waitlink, g_waiting; /* what the pass hides */
	/* bytes of sudog.elem / sudog.c: 8, or 16 since 1.26, where they are
	 * maybeTraceablePtr {vp pointer; vu uintptr}: the copy in vu must be
	 * hidden too from a conservative scan */
	int sudog_elem_size, sudog_c_size;
	/* Recovered, not read: go/heap.c validates everything it reads
	 * strictly and fails rather than drop (go/heap_infer.c). */
	bool inferred;
};

/* From DWARF: -ENOENT without, -ESRCH when a struct or field is missing. */
int go_binary__heap_layout_dwarf(const struct go_binary *b, struct go_heap_layout *out);
/* DWARF, else the built-in table for the version, else -ENOTSUP with a
 * sentence in err. mheap from .symtab, else -ENOENT with a sentence. */
int go_binary__heap_layout(const struct go_binary *b, struct go_heap_layout *out, char *err,
			   size_t errlen);

/* The module's data and bss (link-time [addr, addr+size)): the GC's global
 * roots. noptrdata/noptrbss hold no pointers and are left out. Returns how
 * many ranges were written (at most max). */
/* A stripped binary of a release without a table (or with its table
 * switched off): the layouts worth trying, none trusted until validated on
 * the live heap (go/reach_layout.c). mheap_arenas from the binary's code (loads
 * of runtime.mheap_+OFF in the functions that index mheap_.arenas);
 * mheap_all_arenas is left 0: each candidate is tried at every slot after
 * arenas. sudog and g fields from the goroutine and channel layouts the
 * process already uses (gl, cl). Returns how many (<= max), 0 with a
 * sentence in err. */
int go_binary__heap_layout_candidates(const struct go_binary *b, const struct go_g_layout *gl,
				      const struct go_chan_layout *cl, struct go_heap_layout *out,
				      int max, char *err, size_t errlen);

/* PARKWATCH_TEST_NO_LAYOUT_TABLE switches the table of Go 1.minor off. */
bool go_layout_table_off(int minor);

/* Is the link-time address addr in the module's globals (.data, .bss,
 * .noptrdata, .noptrbss)? */
bool go_binary__in_globals(const struct go_binary *b, uint64_t addr);

int go_binary__root_ranges(const struct go_binary *b, uint64_t *addr, uint64_t *size, int max);

/* --- names (runtime.c) ----------------------------------------------- */

/* runtime.waitReason value -> its string in that Go version ("chan
 * receive", "select", ...). NULL for an unknown version (before 1.15, after
 * the newest verified, unparsable) or a value out of range; "" for 0. */
const char *go_wait_reason_name(const char *version, unsigned reason);

/* The binary's own runtime.waitReasonStrings (by symbol, else through the
 * code of runtime.waitReason.String): the number of names (0 when not
 * found), names[reason] valid until go_binary__free(); source "symtab" or
 * "code: runtime.waitReason.String". Read once, then remembered: not for
 * concurrent first calls. */
int go_binary__wait_reasons(struct go_binary *b, const char *const **names,
			    const char **source);

#define GO_GSCAN 0x1000u /* _Gscan bit: GC is scanning the stack */
/* g.atomicstatus -> "_Gwaiting", "_Gscanwaiting", ...; NULL if unknown.
 * _Gleaked (10) and _Gdeadextra (11) exist since 1.26. */
const char *go_status_name(uint32_t status);

/* "go1.21.3" -> 21 (minor of Go 1.x), -1 when not a release "go1.N..." */
int go_version_minor(const char *version);

#endif
