/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The goroutines of a live Go process, read from outside: runtime.allgs and
 * each g through the process's memory (no stop, no signal, no ptrace), the
 * stack by frame pointers from the saved sched registers, symbolized with
 * the binary's own pclntab (so stripped binaries keep names and lines).
 */
#ifndef PW_GOROUTINES_H
#define PW_GOROUTINES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "report/stack.h"

/*
 * What a blocked goroutine waits on (go/wait.c): a channel (from g.waiting
 * -> sudog.c -> hchan) or a semaphore of package sync (from the runtime's
 * semtable). Go does not record who holds a sync.Mutex, nor who will send
 * or receive: there is no target goroutine, only the object.
 */
struct pw_gwait {
	const char *kind;        /* "chan send", "chan receive", "select",
				  * "mutex", "rwmutex lock", "rwmutex rlock",
				  * "waitgroup", "semaphore" (static) */
	uint64_t object;         /* hchan / lock address; 0 when not found */
	const char *note;        /* static: what is not known, or NULL */
	/* Channels (is_chan): read without the channel's lock, one moment. */
	uint64_t elem_size, cap, len;
	int senders, receivers;  /* sudogs in its sendq / recvq */
	int selecting;           /* goroutines in a select whose first case it is */
	int select_cases;        /* select: channels it waits on (the first
				  * is described) */
	/* Locks: goroutines of the snapshot queued on the same object. */
	const char *lock_type;   /* "sync.Mutex", "sync.RWMutex", NULL */
	int queued;
	/* Other goroutines holding this very struct (100k receivers on one
	 * channel share one): read-only then, the last release frees it. */
	int shares;
	bool is_chan;
	bool closed;
	char elem_type[64];      /* "" when the name cannot be read */
	/* (In this order: no padding. 100k goroutines on channels of their
	 * own hold one each.) */
};

static inline void pw_gwait__release(struct pw_gwait *w)
{
	if (w && w->shares)
		w->shares--;
	else
		free(w);
}

struct pw_goroutine {
	uint32_t pid;
	uint64_t goid;
	uint64_t gaddr;          /* the g's address: identity across sweeps */
	uint32_t status;         /* atomicstatus without the _Gscan bit */
	const char *status_name; /* "waiting", "runnable", ... (static) */
	const char *wait_reason; /* static; NULL unless waiting */
	uint64_t waitsince_ns;   /* the runtime's own (set by a GC), 0 if unset */
	uint64_t sched_pc, sched_sp;
	int64_t parent_goid;     /* -1: not recorded (Go < 1.21) */
	struct pw_stack stack;
	struct pw_frame created_by; /* function, file, line of the go statement */
	const char *start_function; /* the goroutine's entry function */
	bool runtime_owned;      /* a runtime goroutine (GC workers, ...) */
	uint32_t thread_tid;     /* running: the thread (M) it runs on, else 0 */
	uint64_t waiting;        /* g.waiting (*sudog), 0 if none or unknown */
	struct pw_gwait *wait;   /* what it waits on (go/wait.c), NULL: unknown */
	char *test;              /* test binaries: the test whose goroutine tree
				  * created it ("TestX/sub"), NULL: none known */
};

/* Free what a goroutine owns (its stack and creation site strings: those
 * of a shared stack's block when the stack is shared, go/stacks.c). */
static inline void pw_goroutine__release(struct pw_goroutine *g)
{
	if (!g->stack.shared) {
		free(g->created_by.function);
		free(g->created_by.file);
		free(g->created_by.module);
	}
	pw_stack__free(&g->stack);
	pw_gwait__release(g->wait);
	free(g->test);
}

/* Give g another stack (a CPU sample of a running goroutine): the creation
 * site's strings lived in the old stack's block when it was shared, so
 * they become g's own first (NULL where a copy fails: the site unnamed). */
static inline void pw_goroutine__set_stack(struct pw_goroutine *g, struct pw_stack st)
{
	if (g->stack.shared) {
		struct pw_frame *c = &g->created_by;

		c->function = c->function ? strdup(c->function) : NULL;
		c->file = c->file ? strdup(c->file) : NULL;
		c->module = c->module ? strdup(c->module) : NULL;
	}
	pw_stack__free(&g->stack);
	g->stack = st;
}

struct go_snapshot {
	struct pw_goroutine *g;
	int n;
	int done;                /* g[0..done) handed back (go_snapshot__done) */
	uint64_t now_ns;         /* CLOCK_MONOTONIC, the runtime's nanotime */
	const char *version;     /* "go1.19.8" (owned by the process handle) */
	const char *version_source; /* "buildinfo", ... (go_binary__version_source) */
	const char *layout_source; /* "dwarf", "table go1.N", "inferred ..." */
};

struct go_process;

/*
 * Recognise and prepare a Go process. Returns 0, -ENOEXEC when it is not a
 * Go program (no message needed), or another -errno with a sentence in err
 * (ESRCH gone, ENOTSUP no known layout for its version, EAGAIN no layout
 * known and none inferred from the process now: a later look may, ...).
 */
int go_process__open(pid_t pid, struct go_process **out, char *err, size_t errlen);
/*
 * Read every live goroutine now. The list may change while it is read: a
 * g that no longer looks valid is skipped, never followed. 0 or -errno
 * (ESRCH when the process exited) with a sentence in err.
 */
int go_process__snapshot(struct go_process *p, int max_frames, struct go_snapshot *out,
			 char *err, size_t errlen);
/*
 * The same over memory that is not a live process's: reads go to read_fn
 * (0, or -errno when [addr, addr+len) is not all readable), bin stays the
 * caller's. For the fuzz target of the memory readers
 * (tests/fuzz/fuzz_goroutines.c).
 */
typedef int (*go_mem_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);
struct go_binary;
int go_process__open_memory(const struct go_binary *bin, const char *exe_name, uint64_t bias,
			    go_mem_read_fn read_fn, void *ctx, struct go_process **out, char *err,
			    size_t errlen);
pid_t go_process__pid(const struct go_process *p);
void go_process__free(struct go_process *p);

/* For go/wait.c: the process's memory (0 or -errno), its binary, load bias,
 * and channel layout (NULL with a sentence in *why when unknown). */
int go_process__read(const struct go_process *p, uint64_t addr, void *buf, size_t len);
/* Many small ranges in few system calls; ok[i]: range i was read. */
void go_process__read_many(const struct go_process *p, const uint64_t *addr, const size_t *len,
			   uint8_t **dst, bool *ok, size_t n);
const struct go_binary *go_process__binary(const struct go_process *p);
uint64_t go_process__bias(const struct go_process *p);
struct go_g_layout;
const struct go_g_layout *go_process__g_layout(const struct go_process *p);
const struct go_chan_layout *go_process__chan_layout(const struct go_process *p,
						     const char **why);

/*
 * The caller is done with g[0..upto): each was moved out or released and
 * is all zeroes now. Their memory goes back to the kernel (the pages read
 * as zeroes again), so a caller moving 100k goroutines into a report does
 * not hold both copies at once. go_snapshot__free still frees the rest.
 */
void go_snapshot__done(struct go_snapshot *s, int upto);
void go_snapshot__free(struct go_snapshot *s);

#endif
