// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Channel and lock objects of blocked goroutines (see go/wait.h).
 *
 * Channels: a goroutine parked in chan send/receive or select has g.waiting
 * pointing to its sudog (one per select case, linked by waitlink), and
 * sudog.c to the hchan. The hchan is read once per snapshot: qcount,
 * dataqsiz, elemsize, closed, elemtype, and its sendq/recvq walked (bounded)
 * to count the goroutines waiting to send and to receive. The element
 * type's name is the runtime type's str nameOff resolved against
 * moduledata.types. All of it is read without the channel's lock: a
 * consistent picture only while the goroutines stay blocked, which is the
 * case worth reporting.
 *
 * Locks: a goroutine in semacquire is not linked from its g. The runtime
 * keeps semaphore waiters in runtime.semtable: 251 roots, each a treap of
 * sudogs keyed by the semaphore's address (sudog.elem; children in
 * prev/next), waiters on the same address chained by waitlink. The table is
 * walked (bounded) to map each waiting g to its semaphore; the goroutine's
 * own stack says which sync type holds it (sync.(*Mutex).lockSlow: the
 * Mutex is 4 bytes before; RWMutex.RLock: readerSem, 12; RWMutex.Lock:
 * writerSem, 8; see GO_MUTEX_SEMA). runtime.semtable has no other anchor
 * than .symtab: stripped binaries get the kind but no address. Go does not
 * record the holder of a sync.Mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/elf.h"
#include "go/wait.h"

#define MAX_SELECT 64            /* select cases followed */
#define MAX_SEMA_NODES (1 << 20) /* sudogs walked in runtime.semtable, at most */
#define SEMTAB_SIZE 251          /* runtime.semTabSize, all versions */
#define G_WAITING 4

struct chan_info {
	uint64_t addr;
	bool ok;
	uint64_t qcount, dataqsiz, elemsize;
	bool closed;
	int senders, receivers, selecting;
	char elem[64];
	struct pw_gwait *last; /* the description last handed out: goroutines
				* waiting alike share it */
};

struct sema_waiter {
	uint64_t g, sema;
};

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static bool starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* "chan send", "chan receive", "select" (with " (synctest)"-like suffixes
 * of newer versions); not the nil-channel and no-case forms. */
static const char *chan_kind(const char *reason)
{
	if (!reason || strstr(reason, "nil chan") || strstr(reason, "no cases"))
		return NULL;
	if (starts(reason, "chan send"))
		return "chan send";
	if (starts(reason, "chan receive"))
		return "chan receive";
	if (starts(reason, "select"))
		return "select";
	return NULL;
}

static bool sema_reason(const char *reason)
{
	return starts(reason, "semacquire") || starts(reason, "sync.Mutex.Lock") ||
	       starts(reason, "sync.RWMutex.") || starts(reason, "sync.WaitGroup.Wait");
}

static int sudog_span(const struct go_chan_layout *l)
{
	int m = l->sudog_g;
	int o[] = { l->sudog_next, l->sudog_prev, l->sudog_elem, l->sudog_c, l->sudog_waitlink };

	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if (o[i] > m)
			m = o[i];
	return m + 8;
}

/* Base of the module's type data: moduledata.types as the process has it,
 * else the runtime.types symbol. 0 when neither is known. */
static uint64_t types_base(const struct go_process *p, const struct go_chan_layout *l)
{
	const struct go_binary *b = go_process__binary(p);
	uint64_t md = go_binary__moduledata(b), t = 0;

	if (md && l->md_types >= 0 &&
	    !go_process__read(p, md + go_process__bias(p) + l->md_types, &t, 8) && t)
		return t;
	t = go_binary__symbol(b, "runtime.types", NULL);
	return t ? t + go_process__bias(p) : 0;
}

/* The name of a runtime type (its str nameOff): "int", "*main.job", ... */
static void type_name(const struct go_process *p, const struct go_chan_layout *l,
		      uint64_t types, uint64_t typ, char *out, size_t len)
{
	int minor = go_version_minor(go_binary__version(go_process__binary(p)));
	uint8_t raw[64], nb[80];
	uint64_t n = 0;
	int32_t str;
	uint8_t tflag;
	size_t at, shift = 0;

	out[0] = 0;
	if (!typ || !types || l->type_str < 0 || l->type_tflag < 0 || l->type_str + 4 > 64 ||
	    go_process__read(p, typ, raw, 64))
		return;
	str = (int32_t)le32(raw + l->type_str);
	tflag = raw[l->type_tflag];
	if (str <= 0 || go_process__read(p, types + str, nb, sizeof(nb)))
		return;
	if (minor >= 17) { /* flags, uvarint length, bytes */
		for (at = 1; at < 6; at++) {
			n |= (uint64_t)(nb[at] & 0x7f) << shift;
			shift += 7;
			if (!(nb[at] & 0x80))
				break;
		}
		at++;
	} else { /* flags, 2-byte big-endian length, bytes */
		n = (uint64_t)nb[1] << 8 | nb[2];
		at = 3;
	}
	if (at >= sizeof(nb) || n == 0)
		return;
	if (n > sizeof(nb) - at || n >= len)
		return; /* a longer name than we keep: none rather than a cut one */
	for (uint64_t i = 0; i < n; i++)
		if (nb[at + i] < 0x20 || nb[at + i] > 0x7e)
			return;
	/* tflagExtraStar: the name is stored with a '*' to share it with the
	 * pointer type. */
	if ((tflag & 2) && nb[at] == '*') {
		at++;
		n--;
	}
	memcpy(out, nb + at, n);
	out[n] = 0;
}

/* Element type names by runtime type address: the channels of a program
 * have few element types, each read once, not once per channel. */
struct type_cache {
	uint64_t types;
	struct {
		uint64_t typ; /* 0: empty */
		char name[64];
	} v[64];
};

static const char *cached_type_name(const struct go_process *p, const struct go_chan_layout *l,
				    struct type_cache *tc, uint64_t typ)
{
	__typeof__(tc->v[0]) *e = &tc->v[(typ >> 4) % 64];

	if (!typ)
		return "";
	if (e->typ != typ) {
		e->typ = typ;
		type_name(p, l, tc->types, typ, e->name, sizeof(e->name));
	}
	return e->name;
}

static int hchan_span(const struct go_chan_layout *l)
{
	return (l->hchan_sendq > l->hchan_recvq ? l->hchan_sendq : l->hchan_recvq) + 8;
}

/* The channel from its hchan bytes h (NULL: unreadable). */
static void parse_chan(const struct go_process *p, const struct go_chan_layout *l,
		       struct type_cache *tc, const uint8_t *h, struct chan_info *c)
{
	if (!h)
		return;
	c->qcount = le64(h + l->hchan_qcount);
	c->dataqsiz = le64(h + l->hchan_dataqsiz);
	c->elemsize = h[l->hchan_elemsize] | h[l->hchan_elemsize + 1] << 8; /* uint16 */
	c->closed = le32(h + l->hchan_closed) != 0;
	if (c->qcount > c->dataqsiz)
		return; /* not a channel, or one changing under us */
	snprintf(c->elem, sizeof(c->elem), "%s", cached_type_name(p, l, tc, le64(h + l->hchan_elemtype)));
	c->ok = true;
}

/* The first channel of g's sudog list, and how many it has. sg: its first
 * sudog, read already (NULL: that read failed); the others of a select
 * are read one by one. */
static uint64_t first_chan(const struct go_process *p, const struct go_chan_layout *l,
			   const struct pw_goroutine *g, const uint8_t *first, int *cases)
{
	uint8_t buf[128];
	const uint8_t *sg = first;
	int span = sudog_span(l);
	uint64_t c = 0;

	*cases = 0;
	while (sg && *cases < MAX_SELECT) {
		uint64_t at;

		if (le64(sg + l->sudog_g) != g->gaddr)
			break; /* reused since: not this g's any more */
		if (!*cases)
			c = le64(sg + l->sudog_c);
		(*cases)++;
		at = le64(sg + l->sudog_waitlink);
		sg = at && !go_process__read(p, at, buf, span) ? buf : NULL;
	}
	return c;
}

/* addrs[i], cases[i]: the first channel of every goroutine blocked on
 * channels and how many it waits on; their first sudogs are read in
 * batches (100k goroutines: 100 system calls, not 100k). Returns how many
 * have one, or -ENOMEM. */
static int first_chans(const struct go_process *p, const struct go_chan_layout *l,
		       const struct go_snapshot *s, uint64_t *addrs, int *cases)
{
	enum { BATCH = 1024 };
	uint64_t at[BATCH];
	size_t len[BATCH];
	uint8_t *dst[BATCH], *buf;
	bool ok[BATCH];
	int idx[BATCH], m = 0, na = 0, span = sudog_span(l);

	if (span > 128)
		return 0;
	if (!(buf = malloc(BATCH * 128)))
		return -ENOMEM;
	for (int i = 0; i <= s->n; i++) {
		const struct pw_goroutine *g = i < s->n ? &s->g[i] : NULL;

		if (g && g->status == G_WAITING && g->waiting && chan_kind(g->wait_reason)) {
			idx[m] = i;
			at[m] = g->waiting;
			len[m] = span;
			dst[m] = buf + m * 128;
			m++;
		}
		if (m == BATCH || (!g && m)) {
			go_process__read_many(p, at, len, dst, ok, m);
			for (int j = 0; j < m; j++) {
				addrs[idx[j]] = first_chan(p, l, &s->g[idx[j]], ok[j] ? dst[j] : NULL,
							   &cases[idx[j]]);
				na += addrs[idx[j]] != 0;
			}
			m = 0;
		}
	}
	free(buf);
	return na;
}

/* A goroutine waiting on a channel: the channel (first), and its index. */
struct chan_waiter {
	uint64_t chan;
	int g;
};

static int cmp_waiter_chan(const void *x, const void *y)
{
	const struct chan_waiter *a = x, *b = y;

	if (a->chan != b->chan)
		return a->chan < b->chan ? -1 : 1;
	return a->g - b->g;
}

/* Describe the channel c to its waiters v[0..n) (sorted, all on c): who
 * waits on it is counted from them rather than by walking its sendq/recvq
 * (every waiter is among them, and a walk is one read per waiter: 100k
 * reads for one busy channel). Waiters alike share one description. */
static int describe_chan(struct go_snapshot *s, struct chan_info *c, const struct chan_waiter *v,
			 int n, const int *cases)
{
	for (int k = 0; k < n; k++) {
		const char *kind = chan_kind(s->g[v[k].g].wait_reason);

		if (!strcmp(kind, "chan send"))
			c->senders++;
		else if (!strcmp(kind, "chan receive"))
			c->receivers++;
		else
			c->selecting++;
	}
	for (int k = 0; c->ok && k < n; k++) {
		struct pw_goroutine *g = &s->g[v[k].g];
		const char *kind = chan_kind(g->wait_reason);
		int ncases = !strcmp(kind, "select") ? cases[v[k].g] : 0;
		struct pw_gwait *w = c->last;

		if (w && w->kind == kind && w->select_cases == ncases) {
			w->shares++;
		} else {
			if (!(w = calloc(1, sizeof(*w))))
				return -ENOMEM;
			*w = (struct pw_gwait){
				.kind = kind, .object = c->addr, .is_chan = true,
				.elem_size = c->elemsize, .cap = c->dataqsiz, .len = c->qcount,
				.closed = c->closed, .senders = c->senders,
				.receivers = c->receivers, .selecting = c->selecting,
				.select_cases = ncases,
			};
			memcpy(w->elem_type, c->elem, sizeof(w->elem_type));
			if (!c->elem[0])
				w->note = "element type name not read (no runtime.types / moduledata)";
			c->last = w;
		}
		pw_gwait__release(g->wait);
		g->wait = w;
	}
	return 0;
}

static int annotate_chans(const struct go_process *p, const struct go_chan_layout *l,
			  struct go_snapshot *s)
{
	enum { BATCH = 1024 };
	uint64_t *addrs = calloc(s->n ? s->n : 1, sizeof(*addrs)), at[BATCH];
	int *cases = calloc(s->n ? s->n : 1, sizeof(*cases)), first[BATCH], span = hchan_span(l);
	struct type_cache *tc = calloc(1, sizeof(*tc));
	struct chan_waiter *v = NULL;
	uint8_t *raw = NULL, *dst[BATCH];
	size_t len[BATCH];
	bool ok[BATCH];
	int na = 0, rc = -ENOMEM, m = 0;

	if (!addrs || !cases || !tc || (na = first_chans(p, l, s, addrs, cases)) < 0)
		goto out;
	/* Each channel once, however many goroutines wait on it: the waiters
	 * sorted by channel, the channels read in batches. */
	if (!(v = malloc((na ? na : 1) * sizeof(*v))) || !(raw = malloc(BATCH * 128)))
		goto out;
	na = 0;
	for (int i = 0; i < s->n; i++)
		if (addrs[i])
			v[na++] = (struct chan_waiter){ addrs[i], i };
	qsort(v, na, sizeof(*v), cmp_waiter_chan);
	tc->types = na ? types_base(p, l) : 0;
	for (int i = 0; i <= na; i++) {
		if (i < na && i && v[i].chan == v[i - 1].chan)
			continue;
		/* i starts a run (or is the end): flush a full batch first. */
		if (m == BATCH || (i == na && m)) {
			go_process__read_many(p, at, len, dst, ok, span <= 128 ? m : 0);
			for (int j = 0; j < m; j++) {
				struct chan_info c = { .addr = at[j] };
				int end = j + 1 < m ? first[j + 1] : i;

				parse_chan(p, l, tc, span <= 128 && ok[j] ? dst[j] : NULL, &c);
				if (describe_chan(s, &c, v + first[j], end - first[j], cases))
					goto out;
			}
			m = 0;
		}
		if (i < na) {
			first[m] = i;
			at[m] = v[i].chan;
			len[m] = span;
			dst[m] = raw + m * 128;
			m++;
		}
	}
	rc = 0;
out:
	free(addrs);
	free(cases);
	free(tc);
	free(v);
	free(raw);
	return rc;
}

/* --- semaphores ---------------------------------------------------------- */

struct sema_walk {
	const struct go_process *p;
	const struct go_chan_layout *l;
	struct sema_waiter *v;
	int n, cap, budget;
};

static int push_waiter(struct sema_walk *w, uint64_t g, uint64_t sema)
{
	if (w->n == w->cap) {
		int ncap = w->cap ? w->cap * 2 : 64;
		struct sema_waiter *v = realloc(w->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = ncap;
	}
	w->v[w->n++] = (struct sema_waiter){ g, sema };
	return 0;
}

/* One root's treap, depth first with an explicit stack; every node's
 * waitlink chain (more waiters on the same address). */
static int walk_treap(struct sema_walk *w, uint64_t root)
{
	const struct go_chan_layout *l = w->l;
	uint64_t stack[128];
	int sp = 0, span = sudog_span(l);
	uint8_t sg[128];

	if (span > (int)sizeof(sg))
		return 0;
	if (root)
		stack[sp++] = root;
	while (sp && w->budget > 0) {
		uint64_t node = stack[--sp], elem, at;

		if (go_process__read(w->p, node, sg, span))
			continue;
		w->budget--;
		elem = le64(sg + l->sudog_elem);
		if (push_waiter(w, le64(sg + l->sudog_g), elem))
			return -ENOMEM;
		for (at = le64(sg + l->sudog_waitlink); at && w->budget > 0;
		     at = le64(sg + l->sudog_waitlink)) {
			uint8_t wl[128];

			if (go_process__read(w->p, at, wl, span))
				break;
			w->budget--;
			if (push_waiter(w, le64(wl + l->sudog_g), elem))
				return -ENOMEM;
			memcpy(sg, wl, span);
		}
		/* Re-read the node: sg was reused by the chain walk. */
		if (go_process__read(w->p, node, sg, span))
			continue;
		for (int k = 0; k < 2 && sp < 128; k++) {
			uint64_t child = le64(sg + (k ? l->sudog_next : l->sudog_prev));

			if (child && child != node)
				stack[sp++] = child;
		}
	}
	return 0;
}

static int cmp_waiter(const void *x, const void *y)
{
	const struct sema_waiter *a = x, *b = y;

	return a->g < b->g ? -1 : a->g > b->g;
}

/* Which sync object, from the goroutine's own frames (innermost first). */
static void lock_of(const struct pw_goroutine *g, uint64_t sema, struct pw_gwait *w)
{
	w->kind = "semaphore";
	w->object = sema;
	for (int i = 0; i < g->stack.nframes; i++) {
		const char *fn = g->stack.frames[i].function;

		if (!fn || !(starts(fn, "sync.(*") || starts(fn, "internal/sync.(*")))
			continue;
		if (strstr(fn, "(*Mutex).")) {
			w->kind = "mutex";
			w->lock_type = "sync.Mutex";
			w->object = sema ? sema - GO_MUTEX_SEMA : 0;
			/* RWMutex.Lock takes its w Mutex first: w is at 0. */
			for (int j = i + 1; j < g->stack.nframes; j++)
				if (g->stack.frames[j].function &&
				    !strcmp(g->stack.frames[j].function, "sync.(*RWMutex).Lock")) {
					w->kind = "rwmutex lock";
					w->lock_type = "sync.RWMutex";
					break;
				}
		} else if (strstr(fn, "(*RWMutex).RLock")) {
			w->kind = "rwmutex rlock";
			w->lock_type = "sync.RWMutex";
			w->object = sema ? sema - GO_RWMUTEX_READERSEM : 0;
		} else if (strstr(fn, "(*RWMutex).Lock")) {
			w->kind = "rwmutex lock";
			w->lock_type = "sync.RWMutex";
			w->object = sema ? sema - GO_RWMUTEX_WRITERSEM : 0;
		} else if (strstr(fn, "(*WaitGroup).Wait")) {
			w->kind = "waitgroup"; /* object: the semaphore inside it */
		} else {
			continue;
		}
		return;
	}
}

static int cmp_gwait_obj(const void *x, const void *y)
{
	const struct pw_goroutine *a = *(struct pw_goroutine *const *)x,
				  *b = *(struct pw_goroutine *const *)y;
	int c = strcmp(a->wait->kind, b->wait->kind);

	if (c)
		return c;
	return a->wait->object < b->wait->object ? -1 : a->wait->object > b->wait->object;
}

static int annotate_semas(const struct go_process *p, const struct go_chan_layout *l,
			  struct go_snapshot *s)
{
	const struct go_binary *b = go_process__binary(p);
	/* Every sudog in runtime.semtable is a goroutine blocked in a
	 * semacquire, so a table of a process with N live goroutines holds
	 * at most N of them; twice that (goroutines that blocked since the
	 * snapshot) plus one per root bounds the walk. A fixed 1M budget
	 * let a torn or hostile table with a cycle cost a million reads per
	 * snapshot (in the fuzz target, 1M memcpys per run). */
	long bound = 2L * s->n + SEMTAB_SIZE;
	struct sema_walk sw = { .p = p, .l = l,
				.budget = bound < MAX_SEMA_NODES ? (int)bound : MAX_SEMA_NODES };
	struct pw_goroutine **q = NULL;
	const char *note = NULL;
	uint64_t size = 0, tab;
	uint8_t *raw = NULL;
	int nq = 0, rc = -ENOMEM, want = 0;

	for (int i = 0; i < s->n; i++)
		if (s->g[i].status == G_WAITING && sema_reason(s->g[i].wait_reason))
			want++;
	if (!want)
		return 0;
	tab = go_binary__symbol(b, "runtime.semtable", &size);
	if (!tab)
		note = "runtime.semtable is not in .symtab (stripped binary): lock address unknown";
	else if (!size || size % SEMTAB_SIZE || size / SEMTAB_SIZE < 8 || size > 1 << 20 ||
		 l->semaroot_treap + 8 > (int)(size / SEMTAB_SIZE))
		note = "runtime.semtable does not have the expected shape: lock address unknown";
	else if (!(raw = malloc(size)))
		goto out;
	else if (go_process__read(p, tab + go_process__bias(p), raw, size))
		note = "runtime.semtable unreadable: lock address unknown";
	else
		for (int i = 0; i < SEMTAB_SIZE; i++)
			if (walk_treap(&sw, le64(raw + i * (size / SEMTAB_SIZE) + l->semaroot_treap)))
				goto out;
	if (sw.n)
		qsort(sw.v, sw.n, sizeof(*sw.v), cmp_waiter);
	q = calloc(want, sizeof(*q));
	if (!q)
		goto out;
	for (int i = 0; i < s->n; i++) {
		struct pw_goroutine *g = &s->g[i];
		struct sema_waiter key = { .g = g->gaddr }, *hit;
		struct pw_gwait *w;

		if (g->status != G_WAITING || !sema_reason(g->wait_reason))
			continue;
		hit = sw.n ? bsearch(&key, sw.v, sw.n, sizeof(*sw.v), cmp_waiter) : NULL;
		if (!(w = calloc(1, sizeof(*w))))
			goto out;
		lock_of(g, hit ? hit->sema : 0, w);
		if (!hit)
			w->note = note ? note : "not found in runtime.semtable (woken since?)";
		else if (w->lock_type)
			w->note = "the holder is not recorded by Go";
		pw_gwait__release(g->wait);
		g->wait = w;
		q[nq++] = g;
	}
	/* Goroutines queued on the same object. */
	qsort(q, nq, sizeof(*q), cmp_gwait_obj);
	for (int i = 0, j; i < nq; i = j) {
		for (j = i + 1; j < nq && !cmp_gwait_obj(&q[i], &q[j]); j++)
			;
		for (int k = i; k < j; k++)
			q[k]->wait->queued = q[k]->wait->object ? j - i : 1;
	}
	rc = 0;
out:
	free(raw);
	free(sw.v);
	free(q);
	return rc;
}

int go_wait__annotate(const struct go_process *p, struct go_snapshot *s)
{
	const struct go_chan_layout *l = go_process__chan_layout(p, NULL);
	int rc;

	if (!l)
		return 0;
	rc = annotate_chans(p, l, s);
	return rc ? rc : annotate_semas(p, l, s);
}
