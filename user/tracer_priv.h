/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The tracer's insides, shared by tracer.c (load, attach, sweep, close) and
 * tracer_tree.c (command mode's process tree and its probes). */
#ifndef PW_TRACER_PRIV_H
#define PW_TRACER_PRIV_H

#include "parkwatch.skel.h"
#include "tracer.h"
#include "detach.h"

struct tracer {
	struct parkwatch_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **iters; /* one per -p pid, or one for all */
	int niters;
	event_cb cb;
	void *cb_ctx;
	struct bpf_link *end_probes[4];
	int nend_probes;
	struct exe_probe *exe_probes; /* command mode: per-executable probes */
	int nexe_probes;
	struct detacher *detacher;
	int multi_uprobes; /* uprobe multi-links: 0 untried, 1 work, -1 refused */
	int ncpus;
};

struct exe_probe {
	struct pw_exe_key exe;
	struct detach_item probe;
};

/* Before load: command mode's multi-link program, where the kernel has
 * uprobe multi-links (6.6); t->multi_uprobes says whether it does. */
void tracer__prepare_multi_uprobes(struct tracer *t, bool command);

#endif
