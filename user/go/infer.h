/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * runtime.g (and channel) layouts of a Go release parkwatch has no table
 * for, inferred from the live process instead of refused. See infer.c and
 * tools/doc/go-binaries.md.
 */
#ifndef PW_GO_INFER_H
#define PW_GO_INFER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "go/elf.h"

struct go_infer_in {
	pid_t pid;
	int mem;                    /* /proc/PID/mem, read only */
	struct go_binary *bin;
	uint64_t bias;              /* load bias (PIE) */
	uint64_t allgs, allglen;    /* link-time addresses; allglen 0: unknown */
	const char *version;        /* for the order of candidates; may be NULL */
};

/*
 * Try the candidate layouts against every goroutine of the process; fill
 * *out with the one that passes every check (out->source = label, a
 * sentence kept in the caller's label buffer) and return 0, or -ENOTSUP
 * with the reason in err. The channel layout is inferred the same way from
 * goroutines blocked on channels; *chan_out->source is NULL when it cannot
 * be checked (then wait objects stay unknown), with the reason in chan_err.
 */
int go_infer__layouts(const struct go_infer_in *in, struct go_g_layout *out, char *label,
		      size_t labellen, struct go_chan_layout *chan_out, char *chan_err,
		      size_t chan_errlen, char *err, size_t errlen);

/* The offsets of g.atomicstatus (from runtime.casgstatus) and g.waitreason
 * (from runtime.gopark) the binary's code uses, -1 when not found (amd64
 * only). Files only: tests/unit/test_goelf.c checks them against DWARF. */
void go_infer__code_offsets(const struct go_binary *b, int *atomicstatus, int *waitreason);

#endif
