/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals of layout inference shared by infer.c (runtime.g) and
 * infer_chan.c (channels): the goroutines read once, the check context. */
#ifndef PW_GO_INFER_PRIV_H
#define PW_GO_INFER_PRIV_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "go/infer.h"

#define G_READ 512            /* bytes read per g: more than any g so far */
#define MAX_GS (1 << 22)
#define MAX_CANDS 192
#define GSCAN 0x1000u
#define ST_IDLE 0
#define ST_RUNNABLE 1
#define ST_RUNNING 2
#define ST_SYSCALL 3
#define ST_WAITING 4
#define ST_DEAD 6
#define ST_PREEMPTED 9
#define ST_LEAKED 10
#define ST_DEADEXTRA 11

struct gview {
	uint64_t addr;
	bool ok;
	uint8_t raw[G_READ];
};

struct infer_ctx {
	const struct go_infer_in *in;
	struct gview *gs;
	size_t n;
	const char *const *names;
	int nnames;
	uint64_t now_ns;
	uint64_t *goids;
	int live, parked;
	/* Second stage (deep): checks that read the process again, only for
	 * candidates that passed the others: the frame each parked g's saved
	 * bp points to, read in one batch per candidate. */
	bool deep;
	uint64_t (*frames)[2];
	bool *fok;
	char why[200];
};

#define FAIL(...) do { snprintf(x->why, sizeof(x->why), __VA_ARGS__); return false; } while (0)

static inline int rd(const struct infer_ctx *x, uint64_t addr, void *buf, size_t len)
{
	return pread(x->in->mem, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -EFAULT;
}

static inline uint64_t f64(const uint8_t *raw, int off)
{
	uint64_t v;

	memcpy(&v, raw + off, 8);
	return v;
}

static inline uint32_t f32(const uint8_t *raw, int off)
{
	uint32_t v;

	memcpy(&v, raw + off, 4);
	return v;
}

/* infer_chan.c: the channel layout, checked on goroutines blocked on
 * channels, under the chosen runtime.g layout l. */
void go_infer__chan(struct infer_ctx *x, const struct go_g_layout *l, struct go_chan_layout *out,
		    char *err, size_t errlen);

#endif
