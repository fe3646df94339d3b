/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * User stack unwinding without stopping the target: libdw (dwfl) with our own
 * thread callbacks — registers come from BPF, memory from /proc/PID/mem (or
 * from a stack copy taken at clone time), CFI from the mapped ELF files and
 * their separate debug info. No ptrace anywhere.
 */
#ifndef PW_UNWIND_H
#define PW_UNWIND_H

#include <stddef.h>
#include <sys/types.h>
#include "report/stack.h"

struct pw_regs;
struct unwinder;
struct unwind_cache;

/*
 * Prepare to unwind threads of process pid: report its modules from
 * /proc/PID/maps and open /proc/PID/mem. NULL with errno set on failure
 * (ESRCH when the process is gone).
 * Also ESRCH when it has no address space left (zombie, exiting) or is a
 * kernel thread. Modules are the /proc/PID/maps of this moment: make a new
 * unwinder per sweep to see libraries loaded since.
 */
struct unwinder *unwinder__new(pid_t pid, struct unwind_cache *cache);

/*
 * What the unwinders learn about code addresses (function, line, CFI), kept
 * across threads and processes: give one to every unwinder of a sweep
 * (unwinder__new(pid, NULL): the unwinder keeps its own). Free it after
 * every unwinder that used it.
 */
struct unwind_cache *unwind_cache__new(void);
void unwind_cache__free(struct unwind_cache *c);

/*
 * Unwind one thread from regs. When stack_copy is not NULL, memory reads in
 * [regs->sp, regs->sp + stack_len) are served from the copy and all other
 * reads fail (used for the creator stack captured at clone time); otherwise
 * reads go to /proc/PID/mem. Frames are symbolized (function+offset, module,
 * file:line). Returns 0 (out filled, possibly with out->error set after
 * some frames) or -errno.
 * One call at a time per unwinder (the callbacks share its state). Go stacks
 * end at the runtime's stack-switching functions (mstart, mcall, goexit,
 * systemstack, asmcgocall, ...) like Go's own traceback.
 */
int unwinder__unwind(struct unwinder *u, pid_t tid, const struct pw_regs *regs,
		     const void *stack_copy, size_t stack_len, int max_frames,
		     struct pw_stack *out);

void unwinder__free(struct unwinder *u);

/*
 * A sentence for a stack_error when unwinder__new() failed with err (an
 * errno value): strerror() alone does not say what failed.
 */
const char *unwinder__strerror(int err);

/*
 * Notes on unusual binaries:
 * - ELF files are opened through /proc/PID/root, or through
 *   /proc/PID/map_files when the path is "(deleted)" or unreachable: a
 *   binary deleted while it runs, an upgraded library, a memfd executable
 *   (needs root). Their module names drop the " (deleted)".
 * - A frame in a mapping that is not an ELF file, or in no file at all (JIT
 *   code), keeps its address; the stack ends there with a stack_error
 *   unless a frame pointer chain leads on.
 * - Without CFI the unwinder follows rbp, and keeps a frame found that way
 *   only when its address follows a call instruction. A frameless leaf
 *   without CFI (Go's syscall stubs in binaries built with -ldflags=-w) is
 *   stepped over through the return address at sp. These checks read code
 *   from /proc/PID/mem also when unwinding a stack copy.
 */

#endif
