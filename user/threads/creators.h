/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Clone events kept in userspace, one per live thread created while
 * watching: the creator's registers and stack top, unwound only if the
 * child is ever flagged. Pruned after every sweep against the live threads.
 */
#ifndef PW_CREATORS_H
#define PW_CREATORS_H

#include <stddef.h>
#include <stdint.h>
#include "parkwatch.h"

struct creators;

struct creators *creators__new(void);
/* Keep a copy of ev (a newer event for the same tid replaces the old). */
int creators__add(struct creators *c, const struct pw_clone_event *ev);
/* Forget thread tid (it exited). */
void creators__remove(struct creators *c, uint32_t tid);
/* The event that created thread tid in its current incarnation (born at or
 * after start_ns, the thread's own start time), or NULL. */
const struct pw_clone_event *creators__find(const struct creators *c, uint32_t tid,
					    uint64_t start_ns);
/* Forget threads not in live[] (sorted tids) that were born before
 * sweep_start_ns: they have exited. */
void creators__prune(struct creators *c, const uint32_t *live, size_t nlive,
		     uint64_t sweep_start_ns);
size_t creators__count(const struct creators *c);
void creators__free(struct creators *c);

#endif
