/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The wait-for graph: who each parked thread waits for, read from the
 * target's memory at sweep time (pread on /proc/PID/mem: no probe, no ptrace,
 * nothing woken), and the deadlock cycles and wait chains over the flagged
 * threads. Every edge is validated before it is believed: the owner must be a
 * live thread of the same process and the word must look like the primitive
 * it claims to be; otherwise there is no edge, never a false one.
 */
#ifndef PW_WAITGRAPH_H
#define PW_WAITGRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include "parkwatch.h"

enum pw_wait_kind {
	PW_WAIT_NONE = 0,   /* not looked at (not a futex wait) */
	PW_WAIT_UNKNOWN,    /* a futex word parkwatch could not attribute */
	PW_WAIT_MUTEX,      /* pthread mutex: target = owner */
	PW_WAIT_JOIN,       /* pthread_join: target = the joined thread */
	PW_WAIT_RWLOCK,     /* rwlock: target = the recorded writer, if any */
	PW_WAIT_CONDVAR,    /* condition variable: no owner */
	PW_WAIT_SEMAPHORE,  /* semaphore: no owner */
};

struct pw_wait_edge {
	enum pw_wait_kind kind;
	uint64_t object;      /* address of the object (futex word or struct) */
	uint32_t target_tid;  /* 0: nobody is recorded as able to wake it */
	char target_comm[PW_COMM_LEN];
	const char *note;     /* static: why there is no target, or NULL */
};

/* A deadlock: members[i] waits on objects[i] (kinds[i]), held by members[i+1]
 * (the last by members[0]). members[0] is the smallest tid. */
struct pw_deadlock {
	uint32_t pid;
	int n;
	uint32_t *members;
	uint64_t *objects;
	enum pw_wait_kind *kinds;
};

/* A chain without a cycle: members[0] waits for members[1] ... the last
 * member waits on end (no target, or a target that is not flagged). */
struct pw_wait_chain {
	uint32_t pid;
	int n;
	uint32_t *members;
	uint64_t *objects;          /* objects[i]: what members[i] waits on */
	enum pw_wait_kind *kinds;
	struct pw_wait_edge end;    /* the last member's own edge */
	bool reaches_deadlock;      /* the last member is in a cycle */
};

/* The pure graph: one node per flagged thread. */
struct wg_node {
	uint32_t pid, tid;
	uint32_t target;            /* 0: no edge */
	uint64_t object;
	enum pw_wait_kind kind;
};

/* Cycles over nodes (edges to tids not in nodes are ignored), each once,
 * rotated so the smallest tid is first, sorted by (pid, first tid). 0 or
 * -ENOMEM; *out is malloc'ed (free with waitgraph__free_deadlocks). */
int waitgraph__cycles(const struct wg_node *nodes, int n, struct pw_deadlock **out, int *nout);
void waitgraph__free_deadlocks(struct pw_deadlock *d, int n);

/* Chains of two or more members that do not reach a cycle, one per head (a
 * node with an edge to a node, that no node waits for). end is left zeroed
 * except kind/object/target from the last node. 0 or -ENOMEM. */
int waitgraph__chains(const struct wg_node *nodes, int n, struct pw_wait_chain **out, int *nout);
void waitgraph__free_chains(struct pw_wait_chain *c, int n);

/* Classify a stack's innermost known primitive frame. */
enum pw_wait_kind waitgraph__kind_from_function(const char *fn);

const char *waitgraph__kind_name(enum pw_wait_kind k);

/* Validation of the words read (pure, unit-tested). live(tid, ctx) says
 * whether tid is a live thread of the waiter's process. Return the target
 * tid, or 0 with *why set. */
typedef bool (*wg_live_fn)(uint32_t tid, void *ctx);
/* m: the first 20 bytes of the struct at the futex word (__lock, __count,
 * __owner, __nusers, __kind). pi_wait: the waiter used FUTEX_LOCK_PI*. */
uint32_t waitgraph__mutex_owner(const int32_t m[5], uint32_t waiter, bool pi_wait,
				wg_live_fn live, void *ctx, const char **why);
/* rw: the 56 bytes of a __pthread_rwlock_arch_t as 14 ints. */
uint32_t waitgraph__rwlock_writer(const uint32_t rw[14], uint32_t waiter, wg_live_fn live,
				  void *ctx, bool *valid, const char **why);

struct pw_report;
/* Read each flagged thread's edge (threads only), then the cycles and chains
 * into r->deadlocks / r->chains. Call after report__group. 0 or -ENOMEM. */
int waitgraph__annotate(struct pw_report *r);

#endif
