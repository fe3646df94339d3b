// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Seed for fuzz_dwarf: a small executable whose DWARF describes structs
 * shaped and named like the Go runtime's (the Makefile renames runtime_X to
 * runtime.X in the built file: C names cannot hold a dot), plus a Go build
 * info section, so that the reader takes it for a Go binary with DWARF.
 * A real Go binary's DWARF is megabytes; this is a few kilobytes, which
 * keeps the fuzzer fast. Field order follows go1.19's runtime.
 */
#include <stdint.h>

struct runtime_stack { uintptr_t lo, hi; };
struct runtime_gobuf { uintptr_t sp, pc, g, ctxt, ret, lr, bp; };
struct runtime_m;
struct runtime_sudog;

struct runtime_g {
	struct runtime_stack stack;
	uintptr_t stackguard0, stackguard1, _panic, _defer;
	struct runtime_m *m;
	struct runtime_gobuf sched;
	uintptr_t syscallsp, syscallpc, stktopsp, param;
	uint32_t atomicstatus, stackLock;
	uint64_t goid, schedlink;
	int64_t waitsince;
	uint8_t waitreason;
	struct runtime_sudog *waiting;
	uint64_t parentGoid;
	uintptr_t gopc, startpc;
};

struct runtime_m { struct runtime_g *g0, *curg; uint64_t procid; };

struct runtime_sudog {
	struct runtime_g *g;
	struct runtime_sudog *next, *prev;
	void *elem;
	int64_t acquiretime, releasetime;
	uint32_t ticket;
	uint8_t isSelect, success;
	struct runtime_sudog *parent, *waitlink, *waittail;
	void *c;
};

struct runtime_waitq { struct runtime_sudog *first, *last; };

struct runtime_hchan {
	uintptr_t qcount, dataqsiz;
	void *buf;
	uint16_t elemsize;
	uint32_t closed;
	void *elemtype;
	uintptr_t sendx, recvx;
	struct runtime_waitq recvq, sendq;
};

struct runtime_semaRoot { uintptr_t lock; struct runtime_sudog *treap; uint32_t nwait; };

struct runtime__type {
	uintptr_t size, ptrdata;
	uint32_t hash;
	uint8_t tflag, align, fieldAlign, kind;
	void *equal, *gcdata;
	int32_t str, ptrToThis;
};

struct runtime_moduledata { void *pcHeader; uintptr_t text, etext, types, etypes; };

/* "\xff Go buildinf:", pointer size 8, flags 2 (strings inline), then the
 * version and module info as length-prefixed strings. */
__attribute__((section(".go.buildinfo"), used, aligned(16)))
static const unsigned char buildinfo[64] = "\xff Go buildinf:\x08\x02"
	"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	"\x08go1.19.8\x00";

struct runtime_g g0;
struct runtime_m m0;
struct runtime_sudog sg0;
struct runtime_hchan ch0;
struct runtime_semaRoot root0;
struct runtime__type t0;
struct runtime_moduledata md0;

int main(void)
{
	return (int)(uintptr_t)&g0 + (int)(uintptr_t)&m0 + (int)(uintptr_t)&sg0 +
	       (int)(uintptr_t)&ch0 + (int)(uintptr_t)&root0 + (int)(uintptr_t)&t0 +
	       (int)(uintptr_t)&md0 == 0;
}
