/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * --go-precise: entry uprobes on the Go runtime's park (runtime.gopark),
 * ready (runtime.ready) and exit (runtime.gdestroy, runtime.goexit0 before
 * 1.21) in the executables of the -p targets, recording per goroutine when
 * it last parked and was last readied (bpf/goprecise.bpf.c). The goroutine
 * sweep asks here for exact park times; goroutines parked before attach
 * have none and keep the sweep's own durations.
 */
#ifndef PW_GOPRECISE_H
#define PW_GOPRECISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct go_precise_opts {
	const pid_t *pids;        /* the -p targets: each must be a Go program */
	int npids;
	uint32_t max_goroutines;  /* map size: goroutines tracked at once */
	const char *btf_path;
	bool verbose;             /* probe placement on stderr */
};

struct go_precise;

/*
 * Load and attach. 0, or -errno with a sentence in err: -ENOEXEC (a target
 * is not a Go program, or one too old for the register ABI: a usage error)
 * or anything else (BPF refused, binary unreadable: an environment error).
 */
int go_precise__open(const struct go_precise_opts *o, struct go_precise **out, char *err,
		     size_t errlen);

/*
 * When the goroutine at gaddr in pid, seen waiting by a snapshot taken at
 * at_ns (CLOCK_MONOTONIC), parked: if a probe saw that park (before at_ns,
 * not readied between it and at_ns) with the wait reason the snapshot read
 * (version and wait_reason as the snapshot gives them; a wait the runtime
 * enters without gopark, e.g. a GC stack scan, does not match). 0 when not
 * known. p may be NULL.
 */
uint64_t go_precise__parked_since(const struct go_precise *p, uint32_t pid, uint64_t gaddr,
				  uint64_t at_ns, const char *version, const char *wait_reason);

/* Counters on stderr: all of them when verbose, else only a full map. */
void go_precise__print_stats(const struct go_precise *p, bool verbose, FILE *f);
void go_precise__close(struct go_precise *p);

#endif
