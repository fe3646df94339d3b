// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The channel layout of a release with no table (see infer.c): g.waiting,
 * runtime.sudog and runtime.hchan offsets, taken from the tables (newest
 * first) with g.waiting and the sudog fields after elem moved by a field or
 * two, and checked on every goroutine blocked in a channel send or receive.
 */
#include <errno.h>
#include <stdlib.h>

#include "go/infer_priv.h"

/* --- channel layout --------------------------------------------------- */

/* Goroutines blocked in chan send / receive: g.waiting is a sudog of this
 * g, on a channel that looks like one, queued in the matching wait queue. */
static bool check_chan(struct infer_ctx *x, const struct go_g_layout *l, const struct go_chan_layout *c,
		       int *checked)
{
	*checked = 0;
	if (c->g_waiting < 0 || c->g_waiting + 8 > G_READ)
		FAIL("g.waiting beyond the g");
	for (size_t i = 0; i < x->n; i++) {
		const struct gview *g = &x->gs[i];
		uint32_t st = f32(g->raw, l->atomicstatus) & ~GSCAN;
		unsigned r = g->raw[l->waitreason];
		const char *name = (int)r < x->nnames ? x->names[r] : NULL;
		uint64_t sg = f64(g->raw, c->g_waiting), sgg = 0, ch = 0, q, prev, next;
		uint8_t h[128];
		bool send;

		if (!g->ok || st != ST_WAITING || !name ||
		    (strcmp(name, "chan send") && strcmp(name, "chan receive")))
			continue;
		send = !strcmp(name, "chan send");
		if (!sg || rd(x, sg + c->sudog_g, &sgg, 8) || sgg != g->addr)
			FAIL("g %#lx in %s: g.waiting's sudog is not its own", (unsigned long)g->addr,
			     name);
		if (rd(x, sg + c->sudog_c, &ch, 8) || !ch || rd(x, ch, h, sizeof(h)) ||
		    c->hchan_sendq + 8 > (int)sizeof(h))
			FAIL("g %#lx: the sudog's channel is unreadable", (unsigned long)g->addr);
		if (f64(h, c->hchan_qcount) > f64(h, c->hchan_dataqsiz) ||
		    f32(h, c->hchan_closed) > 1 || f32(h, c->hchan_elemsize) > 65536)
			FAIL("g %#lx: the sudog's channel does not look like one",
			     (unsigned long)g->addr);
		/* in the queue: the first, or its prev's next (O(1) per g: a
		 * channel may have 100k waiters) */
		q = f64(h, send ? c->hchan_sendq : c->hchan_recvq);
		if (rd(x, sg + c->sudog_prev, &prev, 8) ||
		    (prev ? rd(x, prev + c->sudog_next, &next, 8) || next != sg : q != sg))
			FAIL("g %#lx: its sudog is not in the channel's %s queue",
			     (unsigned long)g->addr, send ? "send" : "receive");
		(*checked)++;
	}
	if (!*checked)
		FAIL("no goroutine blocked on a channel to check it on");
	return true;
}

/* Newest table first; each with g.waiting and the sudog fields after elem
 * moved as a field added or removed would move them. */
void go_infer__chan(struct infer_ctx *x, const struct go_g_layout *l, struct go_chan_layout *out,
		       char *err, size_t errlen)
{
	static const int gshift[] = { 0, 8, -8, 16, -16 }, sshift[] = { 0, 8, -8 };
	struct go_chan_layout c;
	int last, checked;
	size_t n = 0;

	while (go_chan_layout_table(n, &c, &last) != -ENOENT)
		n++;
	for (size_t i = n; i-- > 0;) {
		struct go_chan_layout t;

		if (go_chan_layout_table(i, &t, &last))
			continue;
		for (size_t a = 0; a < sizeof(gshift) / sizeof(gshift[0]); a++)
			for (size_t b = 0; b < sizeof(sshift) / sizeof(sshift[0]); b++) {
				c = t;
				c.g_waiting += gshift[a];
				c.sudog_c += sshift[b];
				c.sudog_waitlink += sshift[b];
				if (check_chan(x, l, &c, &checked)) {
					*out = c;
					out->source = "inferred";
					return;
				}
				if (getenv("PARKWATCH_TEST_INFER_LOG"))
					fprintf(stderr, "parkwatch: infer: channel table %zu "
						"(%+d, %+d): %s\n", i, gshift[a], sshift[b], x->why);
				snprintf(err, errlen, "layout inferred; channel layout: %s",
					 x->why);
				if (!strncmp(x->why, "no goroutine", 12))
					return;
			}
	}
}
