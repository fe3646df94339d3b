// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Pins every value of the built-in per-release tables (user/go/runtime.c):
 * runtime.g / runtime.m offsets, the channel and semaphore layouts and the
 * wait reason lists, one row per Go release 1.19 - 1.27. Each row was
 * checked against that release's runtime sources (amd64 offsets computed by
 * hand from the struct definitions) and, where a toolchain is on this
 * machine (1.19.8, 1.22.12, 1.26.8, 1.27.3), against the DWARF of a build;
 * tools/doc/go-binaries.md ("Layout tables: how they were checked") has the
 * sources and the arithmetic. A later edit of a table that does not also
 * change this file fails here.
 */
#include <errno.h>
#include <string.h>
#include "go/elf.h"
#include "unit.h"

struct g_row {
	const char *version; /* the release whose sources were checked */
	int g_size, goid, atomicstatus, waitsince, waitreason, sched_bp, gopc, startpc,
		parent_goid, m_procid, m_curg;
};

/* Offsets within runtime.g / runtime.m (amd64). Common to all rows:
 * stack.lo 0, stack.hi 8, g.m 48, g.sched 56 (gobuf.sp 56, gobuf.pc 64). */
static const struct g_row g_rows[] = {
	/* gobuf {sp pc g ctxt ret lr bp} = 56 bytes: sched.bp at 56+48 */
	{ "go1.19.8", 392, 152, 144, 168, 176, 104, 296, 312, -1, 72, 192 },
	{ "go1.20.6", 392, 152, 144, 168, 176, 104, 296, 312, -1, 72, 192 },
	/* 1.21: sysblocktraced/sysexitticks/traceseq/tracelastp left g
	 * (trace gTraceState), parentGoid in before gopc */
	{ "go1.21.0", 408, 152, 144, 168, 176, 104, 280, 296, 272, 72, 192 },
	{ "go1.22.12", 424, 152, 144, 168, 176, 104, 280, 296, 272, 72, 192 },
	/* 1.23: syscallbp after syscallpc moves everything after it by 8 */
	{ "go1.23.5", 432, 160, 152, 176, 184, 104, 288, 304, 280, 72, 192 },
	/* 1.24: + syncGroup after coroarg (after the fields read) */
	{ "go1.24.0", 440, 160, 152, 176, 184, 104, 288, 304, 280, 72, 192 },
	/* 1.25: gobuf lost ret (48 bytes: bp at 40), m lost the _ uint32
	 * after divmod (procid 64, curg 184) */
	{ "go1.25.3", 440, 152, 144, 168, 176, 96, 280, 296, 272, 64, 184 },
	{ "go1.26.8", 456, 152, 144, 168, 176, 96, 288, 304, 280, 64, 184 },
	{ "go1.27.3", 456, 152, 144, 168, 176, 96, 288, 304, 280, 64, 184 },
};

struct chan_row {
	const char *version;
	int g_waiting, sudog_waitlink, sudog_c, hchan_elemtype, hchan_recvq, hchan_sendq,
		md_types;
};

/* Common to all rows: sudog g 0, next 8, prev 16, elem 24; hchan qcount 0,
 * dataqsiz 8, elemsize 24 (uint16), closed 28; semaRoot.treap 8 (mutex is
 * one word); type str 40, tflag 20. */
static const struct chan_row chan_rows[] = {
	{ "go1.19.8", 328, 64, 80, 32, 56, 72, 280 },
	/* 1.20: moduledata gained covctrs, ecovctrs before types */
	{ "go1.20.6", 328, 64, 80, 32, 56, 72, 296 },
	{ "go1.21.0", 312, 64, 80, 32, 56, 72, 296 },
	{ "go1.22.12", 312, 64, 80, 32, 56, 72, 296 },
	/* 1.23: hchan.timer after closed */
	{ "go1.23.5", 320, 64, 80, 40, 64, 80, 296 },
	{ "go1.24.0", 320, 64, 80, 40, 64, 80, 296 },
	{ "go1.25.3", 312, 64, 80, 40, 64, 80, 296 },
	/* 1.26: one more word in sudog before waitlink */
	{ "go1.26.8", 320, 72, 88, 40, 64, 80, 296 },
	{ "go1.27.3", 320, 72, 88, 40, 64, 80, 296 },
};

/* Wait reasons: how many, and the value of the ones the classifier and
 * the lock/channel annotations depend on. */
struct reason_row {
	const char *version;
	int n;
	int chan_receive, chan_send, select_, semacquire, sleep, mutex_lock, last;
	const char *last_name;
};

static const struct reason_row reason_rows[] = {
	/* 1.19: no sync.Mutex.Lock (a sync.Mutex waits in "semacquire") */
	{ "go1.19.8", 27, 14, 15, 9, 18, 19, -1, 26, "debug call" },
	{ "go1.20.6", 32, 14, 15, 9, 18, 19, 21, 31, "stopping the world" },
	{ "go1.21.0", 32, 14, 15, 9, 18, 19, 21, 31, "stopping the world" },
	{ "go1.22.12", 37, 14, 15, 9, 18, 19, 21, 36, "coroutine" },
	{ "go1.23.5", 38, 14, 15, 9, 18, 19, 21, 37, "GC weak to strong wait" },
	/* 1.24: sync.WaitGroup.Wait (24) in the middle, synctest at the end */
	{ "go1.24.0", 44, 14, 15, 9, 18, 19, 21, 43, "select (synctest)" },
	/* 1.25: GOMAXPROCS updater (18) in the middle */
	{ "go1.25.3", 47, 14, 15, 9, 19, 20, 22, 46, "cleanup wait" },
	/* 1.26: the channel and select reasons moved after sleep */
	{ "go1.26.8", 47, 19, 20, 18, 13, 14, 22, 46, "cleanup wait" },
	{ "go1.27.3", 47, 19, 20, 18, 13, 14, 22, 46, "cleanup wait" },
};

static bool named(const char *version, int reason, const char *name)
{
	const char *s = go_wait_reason_name(version, reason);

	return s && !strcmp(s, name);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(g_rows) / sizeof(g_rows[0]); i++) {
		const struct g_row *r = &g_rows[i];
		struct go_g_layout l;
		int before = unit_failed;

		CHECK(go_g_layout_for_version(r->version, &l) == 0);
		CHECK(l.g_size == r->g_size);
		CHECK(l.goid == r->goid);
		CHECK(l.atomicstatus == r->atomicstatus);
		CHECK(l.waitsince == r->waitsince);
		CHECK(l.waitreason == r->waitreason);
		CHECK(l.sched == 56 && l.sched_sp == 56 && l.sched_pc == 64);
		CHECK(l.sched_bp == r->sched_bp);
		CHECK(l.gopc == r->gopc);
		CHECK(l.startpc == r->startpc);
		CHECK(l.parent_goid == r->parent_goid);
		CHECK(l.stack_lo == 0 && l.stack_hi == 8 && l.m == 48);
		CHECK(l.m_procid == r->m_procid);
		CHECK(l.m_curg == r->m_curg);
		if (unit_failed != before)
			fprintf(stderr, "  (g layout of %s)\n", r->version);
	}
	for (size_t i = 0; i < sizeof(chan_rows) / sizeof(chan_rows[0]); i++) {
		const struct chan_row *r = &chan_rows[i];
		struct go_chan_layout c;
		int before = unit_failed;

		CHECK(go_chan_layout_for_version(r->version, &c) == 0);
		CHECK(c.g_waiting == r->g_waiting);
		CHECK(c.sudog_g == 0 && c.sudog_next == 8 && c.sudog_prev == 16 &&
		      c.sudog_elem == 24);
		CHECK(c.sudog_waitlink == r->sudog_waitlink);
		CHECK(c.sudog_c == r->sudog_c);
		CHECK(c.hchan_qcount == 0 && c.hchan_dataqsiz == 8 && c.hchan_elemsize == 24 &&
		      c.hchan_closed == 28);
		CHECK(c.hchan_elemtype == r->hchan_elemtype);
		CHECK(c.hchan_recvq == r->hchan_recvq);
		CHECK(c.hchan_sendq == r->hchan_sendq);
		CHECK(c.semaroot_treap == 8 && c.type_str == 40 && c.type_tflag == 20);
		CHECK(c.md_types == r->md_types);
		if (unit_failed != before)
			fprintf(stderr, "  (channel layout of %s)\n", r->version);
	}
	for (size_t i = 0; i < sizeof(reason_rows) / sizeof(reason_rows[0]); i++) {
		const struct reason_row *r = &reason_rows[i];
		int before = unit_failed;

		CHECK(named(r->version, 0, ""));
		CHECK(named(r->version, r->chan_receive, "chan receive"));
		CHECK(named(r->version, r->chan_send, "chan send"));
		CHECK(named(r->version, r->select_, "select"));
		CHECK(named(r->version, r->semacquire, "semacquire"));
		CHECK(named(r->version, r->sleep, "sleep"));
		CHECK(r->mutex_lock < 0 || named(r->version, r->mutex_lock, "sync.Mutex.Lock"));
		CHECK(named(r->version, r->last, r->last_name));
		CHECK(r->last == r->n - 1);
		CHECK(go_wait_reason_name(r->version, r->n) == NULL);
		if (unit_failed != before)
			fprintf(stderr, "  (wait reasons of %s)\n", r->version);
	}
	/* Every release in the tables has a row above; none after 1.27. */
	CHECK(go_g_layout_for_version("go1.28.0", &(struct go_g_layout){ 0 }) == -ENOTSUP);
	return unit_done("test_golayouts");
}
