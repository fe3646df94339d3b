/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What blocked goroutines wait on, read from the live process like the
 * goroutines themselves (no stop): the channel of a chan send/receive or
 * select (g.waiting -> sudog.c -> hchan: element type and size, buffer
 * length/capacity, closed, how many wait to send and to receive), and the
 * sync.Mutex / RWMutex / WaitGroup semaphore of a goroutine queued in
 * semacquire (found in runtime.semtable, which needs .symtab).
 */
#ifndef PW_GOWAIT_H
#define PW_GOWAIT_H

#include "go/goroutines.h"

/*
 * Set s->g[i].wait for the waiting goroutines of s whose object can be
 * found. Memory that changed or cannot be read leaves a goroutine without
 * one (or with a note); it never fails the snapshot. 0 or -ENOMEM.
 */
int go_wait__annotate(const struct go_process *p, struct go_snapshot *s);

#endif
