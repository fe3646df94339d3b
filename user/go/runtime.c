// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Per-Go-version runtime facts: runtime.g/m layouts for binaries without
 * DWARF, wait reason strings, goroutine status names.
 *
 * Layouts and wait reasons of Go 1.19 - 1.27 were checked against each
 * release's runtime sources, offsets recomputed by hand for amd64, and
 * against the DWARF of builds by the toolchains on this machine (1.19.8,
 * 1.22.12, 1.26.8, 1.27.3); tools/doc/go-binaries.md ("Layout tables: how
 * they were checked") says which source each came from, and
 * tests/unit/test_golayouts.c pins every value. 1.15 - 1.18 come from the
 * DWARF of builds made when they were written. Tables are keyed by Go 1.N:
 * patch releases do not change runtime internals. A version after 1.27
 * gets no answer from the tables (-ENOTSUP, NULL): its layout is inferred
 * from the live process instead (go/infer.c), or refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "go/elf.h"

int go_version_minor(const char *version)
{
	char *end;
	long minor;

	/* "go1.21.3", "go1.22rc1", "go1.23.0-X:nocoverageredesign"; not
	 * "devel go1.24-abcdef": a development tree may differ from any
	 * release. */
	if (!version || strncmp(version, "go1.", 4))
		return -1;
	minor = strtol(version + 4, &end, 10);
	if (end == version + 4 || minor < 0 || minor > 1000)
		return -1;
	return minor;
}

/*
 * PARKWATCH_TEST_NO_LAYOUT_TABLE=1.26,1.27 (or "all"): the tables of those
 * releases are switched off (layouts, channel layouts, wait reasons), as if
 * parkwatch had never seen them, so that tests can check that inference
 * (go/infer.c) finds the same layouts on real processes.
 */
static bool table_off(int minor)
{
	const char *env = getenv("PARKWATCH_TEST_NO_LAYOUT_TABLE"), *p;

	if (!env || !*env)
		return false;
	if (!strcmp(env, "all"))
		return true;
	for (p = env; (p = strstr(p, "1.")); p += 2) {
		char *end;
		long m = strtol(p + 2, &end, 10);

		if (m == minor && (!*end || *end == ','))
			return true;
	}
	return false;
}

bool go_layout_table_off(int minor)
{
	return table_off(minor);
}

/* --- runtime.g layouts --------------------------------------------------- */

struct layout_entry {
	int first, last; /* Go 1.first .. 1.last */
	const char *source;
	struct go_g_layout l;
};

/* Offsets read from DWARF of amd64 binaries (see the header comment). */
static const struct layout_entry layouts[] = {
	{ 15, 15, "table go1.15", { /* go1.15.15 */
		.g_size = 376, .m_size = 992, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 280, .startpc = 296, .parent_goid = -1,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 16, 16, "table go1.16", { /* go1.16.15 */
		.g_size = 376, .m_size = 1024, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 280, .startpc = 296, .parent_goid = -1,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 17, 17, "table go1.17", { /* go1.17.13 */
		.g_size = 392, .m_size = 1024, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 296, .startpc = 312, .parent_goid = -1,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 18, 19, "table go1.18-1.19", { /* go1.18.10, go1.19.8 */
		.g_size = 392, .m_size = 1008, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 296, .startpc = 312, .parent_goid = -1,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 20, 20, "table go1.20", { /* go1.20.6 sources */
		.g_size = 392, .m_size = 1000, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 296, .startpc = 312, .parent_goid = -1,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 21, 21, "table go1.21", { /* 1.21 g and m as quoted July 2023 */
		.g_size = 408, .m_size = 1008, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 280, .startpc = 296, .parent_goid = 272,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 22, 22, "table go1.22", { /* go1.22.12 sources and DWARF */
		.g_size = 424, .m_size = 2024, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 280, .startpc = 296, .parent_goid = 272,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 23, 23, "table go1.23", { /* go1.23.5 sources */
		.g_size = 432, .m_size = 1784, .goid = 160, .atomicstatus = 152,
		.waitreason = 184, .waitsince = 176, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 288, .startpc = 304, .parent_goid = 280,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 24, 24, "table go1.24", { /* 1.24 sources */
		.g_size = 440, .m_size = 1808, .goid = 160, .atomicstatus = 152,
		.waitreason = 184, .waitsince = 176, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 104, .gopc = 288, .startpc = 304, .parent_goid = 280,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 192, .m_procid = 72 } },
	{ 25, 25, "table go1.25", { /* go1.25.3 sources */
		.g_size = 440, .m_size = 1816, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 96, .gopc = 280, .startpc = 296, .parent_goid = 272,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 184, .m_procid = 64 } },
	{ 26, 26, "table go1.26", { /* go1.26.8 sources and DWARF */
		.g_size = 456, .m_size = 1824, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 96, .gopc = 288, .startpc = 304, .parent_goid = 280,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 184, .m_procid = 64 } },
	{ 27, 27, "table go1.27", { /* go1.27.3 sources and DWARF: runtime.m grew by 8 */
		.g_size = 456, .m_size = 1832, .goid = 152, .atomicstatus = 144,
		.waitreason = 176, .waitsince = 168, .sched = 56, .sched_sp = 56,
		.sched_pc = 64, .sched_bp = 96, .gopc = 288, .startpc = 304, .parent_goid = 280,
		.stack_lo = 0, .stack_hi = 8, .m = 48, .m_curg = 184, .m_procid = 64 } },
};

int go_g_layout_for_version(const char *version, struct go_g_layout *out)
{
	int minor = go_version_minor(version);

	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]) && !table_off(minor); i++)
		if (minor >= layouts[i].first && minor <= layouts[i].last) {
			*out = layouts[i].l;
			out->source = layouts[i].source;
			return 0;
		}
	memset(out, 0, sizeof(*out));
	return -ENOTSUP;
}

int go_g_layout_table(size_t i, struct go_g_layout *out, int *last_minor)
{
	if (i >= sizeof(layouts) / sizeof(layouts[0]))
		return -ENOENT;
	if (table_off(layouts[i].last) || table_off(layouts[i].first))
		return -EAGAIN;
	*out = layouts[i].l;
	out->source = layouts[i].source;
	*last_minor = layouts[i].last;
	return 0;
}

/* --- wait reasons ------------------------------------------------------ */

/* runtime.waitReason values index these (runtime/runtime2.go). */
static const char *const wr_115[] = { /* 1.15 - 1.19 */
	"", "GC assist marking", "IO wait", "chan receive (nil chan)",
	"chan send (nil chan)", "dumping heap", "garbage collection",
	"garbage collection scan", "panicwait", "select", "select (no cases)",
	"GC assist wait", "GC sweep wait", "GC scavenge wait", "chan receive",
	"chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "timer goroutine (idle)", "trace reader (blocked)",
	"wait for GC cycle", "GC worker (idle)", "preempted", "debug call",
};

/* 1.20 - 1.21; later tables extend this one until 1.26 reorders. */
#define WR_120 \
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", \
	"chan send (nil chan)", "dumping heap", "garbage collection", \
	"garbage collection scan", "panicwait", "select", "select (no cases)", \
	"GC assist wait", "GC sweep wait", "GC scavenge wait", "chan receive", \
	"chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep", \
	"sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock", \
	"sync.RWMutex.Lock"
#define WR_120_TAIL \
	"trace reader (blocked)", "wait for GC cycle", "GC worker (idle)", \
	"GC worker (active)", "preempted", "debug call", "GC mark termination", \
	"stopping the world"
#define WR_122_TAIL \
	"flushing proc caches", "trace goroutine status", "trace proc status", \
	"page trace flush", "coroutine"

static const char *const wr_120[] = { WR_120, WR_120_TAIL };
static const char *const wr_122[] = { WR_120, WR_120_TAIL, WR_122_TAIL };
static const char *const wr_123[] = {
	WR_120, WR_120_TAIL, WR_122_TAIL, "GC weak to strong wait",
};
static const char *const wr_124[] = {
	WR_120, "sync.WaitGroup.Wait", WR_120_TAIL, WR_122_TAIL, "GC weak to strong wait",
	"synctest.Run", "synctest.Wait", "chan receive (synctest)", "chan send (synctest)",
	"select (synctest)",
};
static const char *const wr_125[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)",
	"chan send (nil chan)", "dumping heap", "garbage collection",
	"garbage collection scan", "panicwait", "select", "select (no cases)",
	"GC assist wait", "GC sweep wait", "GC scavenge wait", "chan receive",
	"chan send", "finalizer wait", "force gc (idle)", "GOMAXPROCS updater (idle)",
	"semacquire", "sleep", "sync.Cond.Wait", "sync.Mutex.Lock",
	"sync.RWMutex.RLock", "sync.RWMutex.Lock", "sync.WaitGroup.Wait",
	WR_120_TAIL, WR_122_TAIL, "GC weak to strong wait", "synctest.Run",
	"synctest.Wait", "chan receive (durable)", "chan send (durable)",
	"select (durable)", "sync.WaitGroup.Wait (durable)", "cleanup wait",
};
/* 1.26 moved the channel and select reasons together (after "sleep");
 * 1.27 kept the same list. */
static const char *const wr_126[] = {
	"", "GC assist marking", "IO wait", "dumping heap", "garbage collection",
	"garbage collection scan", "panicwait", "GC assist wait", "GC sweep wait",
	"GC scavenge wait", "finalizer wait", "force gc (idle)",
	"GOMAXPROCS updater (idle)", "semacquire", "sleep", "chan receive (nil chan)",
	"chan send (nil chan)", "select (no cases)", "select", "chan receive",
	"chan send", "sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock",
	"sync.RWMutex.Lock", "sync.WaitGroup.Wait", WR_120_TAIL, WR_122_TAIL,
	"GC weak to strong wait", "synctest.Run", "synctest.Wait",
	"chan receive (durable)", "chan send (durable)", "select (durable)",
	"sync.WaitGroup.Wait (durable)", "cleanup wait",
};

#define WR(first, last, t) { first, last, t, sizeof(t) / sizeof(t[0]) }
static const struct {
	int first, last;
	const char *const *names;
	unsigned n;
} wait_reasons[] = {
	WR(15, 19, wr_115), WR(20, 21, wr_120), WR(22, 22, wr_122), WR(23, 23, wr_123),
	WR(24, 24, wr_124), WR(25, 25, wr_125), WR(26, 27, wr_126),
};

const char *go_wait_reason_name(const char *version, unsigned reason)
{
	int minor = go_version_minor(version);

	for (size_t i = 0; i < sizeof(wait_reasons) / sizeof(wait_reasons[0]) && !table_off(minor);
	     i++)
		if (minor >= wait_reasons[i].first && minor <= wait_reasons[i].last)
			return reason < wait_reasons[i].n ? wait_reasons[i].names[reason] : NULL;
	return NULL;
}

/* --- goroutine status -------------------------------------------------- */

/* runtime/runtime2.go: 5 and 7 are unused; 10 and 11 are new in 1.26. */
static const char *const status[] = {
	"_Gidle", "_Grunnable", "_Grunning", "_Gsyscall", "_Gwaiting",
	"_Gmoribund_unused", "_Gdead", "_Genqueue_unused", "_Gcopystack",
	"_Gpreempted", "_Gleaked", "_Gdeadextra",
};
static const char *const scan_status[] = {
	"_Gscan", "_Gscanrunnable", "_Gscanrunning", "_Gscansyscall", "_Gscanwaiting",
	NULL, NULL, NULL, NULL, "_Gscanpreempted", "_Gscanleaked", "_Gscandeadextra",
};

const char *go_status_name(uint32_t s)
{
	uint32_t base = s & ~GO_GSCAN;

	if (base >= sizeof(status) / sizeof(status[0]) || (s & ~(GO_GSCAN | 0xfu)))
		return NULL;
	return s & GO_GSCAN ? scan_status[base] : status[base];
}

/* --- channel and semaphore layouts ------------------------------------- */

/* From DWARF of the same amd64 binaries as the g layouts (go1.15.15 ...
 * go1.26.8): runtime.g.waiting, runtime.sudog, runtime.hchan, runtime.waitq
 * (first at 0), runtime.semaRoot.treap, runtime._type / internal/abi.Type
 * (str 40, tflag 20 throughout) and runtime.moduledata.types. */
#define CL(first, last, src, waiting, sg_c, sg_wl, et, rq, sq, mdt) \
	{ first, last, { .source = src, .g_waiting = waiting, .sudog_g = 0, \
	  .sudog_next = 8, .sudog_prev = 16, .sudog_elem = 24, .sudog_c = sg_c, \
	  .sudog_waitlink = sg_wl, .hchan_qcount = 0, .hchan_dataqsiz = 8, \
	  .hchan_elemsize = 24, .hchan_closed = 28, .hchan_elemtype = et, \
	  .hchan_recvq = rq, .hchan_sendq = sq, .semaroot_treap = 8, .type_str = 40, \
	  .type_tflag = 20, .md_types = mdt } }
static const struct {
	int first, last;
	struct go_chan_layout l;
} chan_layouts[] = {
	CL(15, 15, "table go1.15", 312, 80, 64, 32, 56, 72, 200),
	CL(16, 16, "table go1.16", 312, 80, 64, 32, 56, 72, 280),
	CL(17, 19, "table go1.17-1.19", 328, 80, 64, 32, 56, 72, 280),
	CL(20, 20, "table go1.20", 328, 80, 64, 32, 56, 72, 296),
	CL(21, 22, "table go1.21-1.22", 312, 80, 64, 32, 56, 72, 296),
	CL(23, 24, "table go1.23-1.24", 320, 80, 64, 40, 64, 80, 296),
	CL(25, 25, "table go1.25", 312, 80, 64, 40, 64, 80, 296),
	CL(26, 27, "table go1.26-1.27", 320, 88, 72, 40, 64, 80, 296),
};

int go_chan_layout_for_version(const char *version, struct go_chan_layout *out)
{
	int minor = go_version_minor(version);

	for (size_t i = 0; i < sizeof(chan_layouts) / sizeof(chan_layouts[0]) && !table_off(minor);
	     i++)
		if (minor >= chan_layouts[i].first && minor <= chan_layouts[i].last) {
			*out = chan_layouts[i].l;
			return 0;
		}
	memset(out, 0xff, sizeof(*out));
	out->source = NULL;
	return -ENOTSUP;
}

int go_chan_layout_table(size_t i, struct go_chan_layout *out, int *last_minor)
{
	if (i >= sizeof(chan_layouts) / sizeof(chan_layouts[0]))
		return -ENOENT;
	if (table_off(chan_layouts[i].last) || table_off(chan_layouts[i].first))
		return -EAGAIN;
	*out = chan_layouts[i].l;
	*last_minor = chan_layouts[i].last;
	return 0;
}
