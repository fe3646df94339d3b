/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Destroying BPF links off the event loop. A uprobe link's detach waits for
 * a kernel grace period (100 ms or more on a busy machine): links whose
 * executable is no longer run go to a thread, and those left at the end
 * are destroyed each on a thread of its own.
 */
#ifndef PW_DETACH_H
#define PW_DETACH_H

#include <stdbool.h>

struct bpf_link;
struct detacher;

/* A libbpf link, or the descriptor of a link libbpf cannot make (a uprobe
 * multi-link: libbpf 1.1 predates them), closed to detach it. */
struct detach_item {
	struct bpf_link *link;
	int fd;
};

void detach_item_destroy(struct detach_item it);

struct detacher *detacher_new(void);
/* Queue it for destruction; false (nothing done) without a thread or memory:
 * the caller destroys it. */
bool detacher_push(struct detacher *d, struct detach_item it);
/* Stop the thread; what it had not begun is destroyed in parallel. NULL ok. */
void detacher_free(struct detacher *d);
/* Around a fork: the queue is held across it, so that the child finds it
 * consistent (not locked by a thread the child does not have). */
void detacher_fork_prepare(struct detacher *d);
void detacher_fork_parent(struct detacher *d);
/* In the child: the thread is not there; the queued links are destroyed
 * here, in parallel, and d freed. The link the thread was destroying at the
 * fork, if any, closes with the child. */
void detacher_fork_child_free(struct detacher *d);
/* Destroy n links at once, one thread each. */
void destroy_parallel(struct detach_item *items, int n);

#endif
