// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Wait-for graph. For each flagged futex waiter: the innermost libc
 * primitive on its stack says what it claims to wait on; the words around
 * the futex address, read with pread on /proc/PID/mem (no ptrace, nothing
 * woken), say who holds it — only once they validate as that primitive
 * (glibc 2.36 x86_64 layouts) and the holder is a live thread of the same
 * process. Then cycles (deadlocks) and chains over the flagged threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/report.h"
#include "threads/waitgraph.h"

/* glibc's internal mutex kind bits (nptl/pthreadP.h). */
#define MUTEX_KIND_MASK 3         /* normal/timed 0, recursive 1, errorcheck 2, adaptive 3 */
#define MUTEX_ROBUST 16
#define MUTEX_PRIO_INHERIT 32
#define MUTEX_PRIO_PROTECT 64
#define MUTEX_PSHARED 128
#define MUTEX_ELISION 256
#define MUTEX_NO_ELISION 512
#define MUTEX_KNOWN_BITS (MUTEX_KIND_MASK | MUTEX_ROBUST | MUTEX_PRIO_INHERIT | \
			  MUTEX_PRIO_PROTECT | MUTEX_PSHARED | MUTEX_ELISION | MUTEX_NO_ELISION)
#define FUTEX_TID_MASK 0x3fffffffu
#define MUTEX_OWNER_INCONSISTENT 0x7fffffff
#define MUTEX_OWNER_NOTRECOVERABLE 0x7ffffffe
#define RWLOCK_WRLOCKED 2

static const char *const NOBODY = "nobody is recorded as able to wake this";

const char *waitgraph__kind_name(enum pw_wait_kind k)
{
	switch (k) {
	case PW_WAIT_NONE: return "none";
	case PW_WAIT_UNKNOWN: return "unknown";
	case PW_WAIT_MUTEX: return "mutex";
	case PW_WAIT_JOIN: return "join";
	case PW_WAIT_RWLOCK: return "rwlock";
	case PW_WAIT_CONDVAR: return "condvar";
	case PW_WAIT_SEMAPHORE: return "semaphore";
	}
	return "unknown";
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

enum pw_wait_kind waitgraph__kind_from_function(const char *fn)
{
	if (!fn)
		return PW_WAIT_NONE;
	while (*fn == '_')
		fn++;
	if (starts(fn, "GI_")) /* glibc's internal aliases: __GI___lll_lock_wait */
		for (fn += 3; *fn == '_'; fn++)
			;
	if (!strcmp(fn, "lll_lock_wait") || !strcmp(fn, "lll_clocklock_wait") ||
	    starts(fn, "pthread_mutex_"))
		return PW_WAIT_MUTEX;
	if (starts(fn, "pthread_rwlock_"))
		return PW_WAIT_RWLOCK;
	if (starts(fn, "pthread_cond_"))
		return PW_WAIT_CONDVAR;
	if (starts(fn, "sem_") || starts(fn, "new_sem_wait"))
		return PW_WAIT_SEMAPHORE;
	if (starts(fn, "pthread_") && strstr(fn, "join"))
		return PW_WAIT_JOIN;
	return PW_WAIT_NONE;
}

uint32_t waitgraph__mutex_owner(const int32_t m[5], uint32_t waiter, bool pi_wait,
				wg_live_fn live, void *ctx, const char **why)
{
	uint32_t lock = (uint32_t)m[0], count = (uint32_t)m[1], nusers = (uint32_t)m[3];
	int32_t owner = m[2], kind = m[4];
	int type = kind & MUTEX_KIND_MASK;
	bool pi = kind & MUTEX_PRIO_INHERIT, tid_in_word = kind & (MUTEX_PRIO_INHERIT | MUTEX_ROBUST);
	uint32_t tgt;

	*why = "the word does not validate as a held pthread mutex";
	if (kind < 0 || (kind & ~MUTEX_KNOWN_BITS) ||
	    ((kind & MUTEX_PRIO_INHERIT) && (kind & MUTEX_PRIO_PROTECT)))
		return 0;
	if (pi != pi_wait) /* PI waiters use FUTEX_LOCK_PI, the others FUTEX_WAIT */
		return 0;
	if (nusers == 0 || nusers > (1u << 22))
		return 0;
	/* __count: the recursion depth of recursive mutexes; PI and robust
	 * owners always record 1 or more; others keep it 0. */
	if (type == PTHREAD_MUTEX_RECURSIVE || tid_in_word ? count == 0 : count != 0)
		return 0;
	if (tid_in_word) {
		/* PI and robust: the lock word is the owner's tid (| waiters bit). */
		tgt = lock & FUTEX_TID_MASK;
		if (!tgt || (owner && (uint32_t)owner != tgt && owner != MUTEX_OWNER_INCONSISTENT &&
			     owner != MUTEX_OWNER_NOTRECOVERABLE))
			return 0;
	} else {
		/* 1 locked, 2 locked with waiters; the owner in __owner. */
		if (lock != 1 && lock != 2)
			return 0;
		if (owner <= 0 || owner == MUTEX_OWNER_INCONSISTENT || owner == MUTEX_OWNER_NOTRECOVERABLE)
			return 0;
		tgt = (uint32_t)owner;
	}
	if (tgt == waiter) {
		/* Relocking a normal mutex deadlocks on itself; recursive,
		 * error-checking and PI ones never block their owner. */
		if (pi || (type != PTHREAD_MUTEX_NORMAL && type != PTHREAD_MUTEX_ADAPTIVE_NP))
			return 0;
	} else if (!live(tgt, ctx)) {
		*why = "the recorded owner is not a live thread of this process";
		return 0;
	}
	*why = NULL;
	return tgt;
}

uint32_t waitgraph__rwlock_writer(const uint32_t rw[14], uint32_t waiter, wg_live_fn live,
				  void *ctx, bool *valid, const char **why)
{
	uint32_t readers = rw[0], cur_writer = rw[6], shared = rw[7], flags = rw[12];

	/* __pad3, __pad4, __pad2 are always zero; __shared 0/1; __flags 0..2. */
	*valid = rw[4] == 0 && rw[5] == 0 && rw[10] == 0 && rw[11] == 0 && shared <= 1 &&
		 flags <= 2;
	*why = "the word does not validate as a pthread rwlock";
	if (!*valid)
		return 0;
	if (!cur_writer || !(readers & RWLOCK_WRLOCKED)) {
		*why = "no writer recorded: readers holding an rwlock are not recorded";
		return 0;
	}
	if (cur_writer == waiter || !live(cur_writer, ctx)) {
		*why = "the recorded writer is not a live thread of this process";
		return 0;
	}
	*why = NULL;
	return cur_writer;
}

/* --- the pure graph ---------------------------------------------------------- */

struct idx_key {
	uint32_t pid, tid;
	int i;
};

static int cmp_key(const void *x, const void *y)
{
	const struct idx_key *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

/* next[i]: index of the node i waits for, -1 when none among the nodes. */
static int *successors(const struct wg_node *nodes, int n)
{
	struct idx_key *keys = malloc((n ? n : 1) * sizeof(*keys));
	int *next = malloc((n ? n : 1) * sizeof(*next));

	if (!keys || !next) {
		free(keys);
		free(next);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		keys[i] = (struct idx_key){ nodes[i].pid, nodes[i].tid, i };
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (int i = 0; i < n; i++) {
		struct idx_key k = { nodes[i].pid, nodes[i].target, 0 }, *hit;

		next[i] = -1;
		if (!nodes[i].target)
			continue;
		hit = bsearch(&k, keys, n, sizeof(*keys), cmp_key);
		if (hit)
			next[i] = hit->i;
	}
	free(keys);
	return next;
}

void waitgraph__free_deadlocks(struct pw_deadlock *d, int n)
{
	for (int i = 0; i < n; i++) {
		free(d[i].members);
		free(d[i].objects);
		free(d[i].kinds);
	}
	free(d);
}

void waitgraph__free_chains(struct pw_wait_chain *c, int n)
{
	for (int i = 0; i < n; i++) {
		free(c[i].members);
		free(c[i].objects);
		free(c[i].kinds);
	}
	free(c);
}

static int cmp_deadlock(const void *x, const void *y)
{
	const struct pw_deadlock *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->members[0] < b->members[0] ? -1 : a->members[0] > b->members[0];
}

/* Fill path members from nodes path[0..len) (rotated to start at rot). */
static int fill_path(const struct wg_node *nodes, const int *path, int len, int rot,
		     uint32_t **members, uint64_t **objects, enum pw_wait_kind **kinds)
{
	*members = malloc(len * sizeof(**members));
	*objects = malloc(len * sizeof(**objects));
	*kinds = malloc(len * sizeof(**kinds));
	if (!*members || !*objects || !*kinds)
		return -ENOMEM;
	for (int k = 0; k < len; k++) {
		const struct wg_node *nd = &nodes[path[(rot + k) % len]];

		(*members)[k] = nd->tid;
		(*objects)[k] = nd->object;
		(*kinds)[k] = nd->kind;
	}
	return 0;
}

/* state: 0 unseen, 1 on the current walk, 2 done; in_cycle marks members. */
static int find_cycles(const struct wg_node *nodes, int n, const int *next, bool *in_cycle,
		       struct pw_deadlock **out, int *nout)
{
	char *state = calloc(n ? n : 1, 1);
	int *path = malloc((n ? n : 1) * sizeof(*path)), *pos = malloc((n ? n : 1) * sizeof(*pos));
	struct pw_deadlock *v = NULL;
	int nv = 0, err = 0;

	if (!state || !path || !pos) {
		err = -ENOMEM;
		goto out;
	}
	for (int s = 0; s < n && !err; s++) {
		int len = 0, i = s;

		while (i >= 0 && state[i] == 0) {
			state[i] = 1;
			pos[i] = len;
			path[len++] = i;
			i = next[i];
		}
		if (i >= 0 && state[i] == 1) {
			/* A cycle: path[pos[i]..len). */
			int start = pos[i], clen = len - start, rot = 0;
			struct pw_deadlock *nvv = realloc(v, (nv + 1) * sizeof(*v)), *d;

			if (!nvv) {
				err = -ENOMEM;
				break;
			}
			v = nvv;
			d = &v[nv++];
			memset(d, 0, sizeof(*d));
			for (int k = 1; k < clen; k++)
				if (nodes[path[start + k]].tid < nodes[path[start + rot]].tid)
					rot = k;
			d->pid = nodes[i].pid;
			d->n = clen;
			err = fill_path(nodes, path + start, clen, rot, &d->members, &d->objects,
					&d->kinds);
			for (int k = start; k < len; k++)
				in_cycle[path[k]] = true;
		}
		for (int k = 0; k < len; k++)
			state[path[k]] = 2;
	}
out:
	free(state);
	free(path);
	free(pos);
	if (err) {
		waitgraph__free_deadlocks(v, nv);
		return err;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_deadlock);
	*out = v;
	*nout = nv;
	return 0;
}

int waitgraph__cycles(const struct wg_node *nodes, int n, struct pw_deadlock **out, int *nout)
{
	int *next = successors(nodes, n);
	bool *in_cycle = calloc(n ? n : 1, sizeof(bool));
	int err;

	*out = NULL;
	*nout = 0;
	err = next && in_cycle ? find_cycles(nodes, n, next, in_cycle, out, nout) : -ENOMEM;
	free(next);
	free(in_cycle);
	return err;
}

int waitgraph__chains(const struct wg_node *nodes, int n, struct pw_wait_chain **out, int *nout)
{
	int *next = successors(nodes, n), *path = malloc((n ? n : 1) * sizeof(int));
	bool *in_cycle = calloc(n ? n : 1, sizeof(bool)), *has_in = calloc(n ? n : 1, sizeof(bool));
	struct pw_deadlock *cycles = NULL;
	struct pw_wait_chain *v = NULL;
	int ncycles = 0, nv = 0, err;

	*out = NULL;
	*nout = 0;
	err = next && path && in_cycle && has_in ?
		find_cycles(nodes, n, next, in_cycle, &cycles, &ncycles) : -ENOMEM;
	waitgraph__free_deadlocks(cycles, ncycles);
	for (int i = 0; !err && i < n; i++)
		if (next[i] >= 0)
			has_in[next[i]] = true;
	for (int s = 0; !err && s < n; s++) {
		struct pw_wait_chain *nvv, *c;
		const struct wg_node *last;
		int len = 0, i = s;

		if (next[s] < 0 || has_in[s] || in_cycle[s])
			continue;
		/* No cycle behind a head without in-edges: the walk ends. */
		while (i >= 0) {
			path[len++] = i;
			if (in_cycle[i])
				break;
			i = next[i];
		}
		nvv = realloc(v, (nv + 1) * sizeof(*v));
		if (!nvv) {
			err = -ENOMEM;
			break;
		}
		v = nvv;
		c = &v[nv++];
		memset(c, 0, sizeof(*c));
		c->pid = nodes[s].pid;
		c->n = len;
		last = &nodes[path[len - 1]];
		c->reaches_deadlock = in_cycle[path[len - 1]];
		c->end.kind = last->kind;
		c->end.object = last->object;
		c->end.target_tid = last->target;
		err = fill_path(nodes, path, len, 0, &c->members, &c->objects, &c->kinds);
	}
	free(next);
	free(path);
	free(in_cycle);
	free(has_in);
	if (err) {
		waitgraph__free_chains(v, nv);
		return err;
	}
	*out = v;
	*nout = nv;
	return 0;
}

/* --- reading the target -------------------------------------------------- */

struct proc_ctx {
	uint32_t pid;
	int memfd; /* -1 when /proc/PID/mem could not be opened */
};

static bool tid_live(uint32_t tid, void *ctx)
{
	const struct proc_ctx *p = ctx;
	char path[64];

	if (!tid)
		return false;
	/* /proc/PID/task lists only PID's own threads. */
	snprintf(path, sizeof(path), "/proc/%u/task/%u", p->pid, tid);
	return access(path, F_OK) == 0;
}

static bool read_mem(const struct proc_ctx *p, uint64_t addr, void *buf, size_t len)
{
	return p->memfd >= 0 && addr && pread(p->memfd, buf, len, (off_t)addr) == (ssize_t)len;
}

static void read_comm(uint32_t pid, uint32_t tid, char comm[PW_COMM_LEN])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	comm[0] = 0;
	if (fd < 0)
		return;
	n = read(fd, comm, PW_COMM_LEN - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	comm[n] = 0;
	if (n && comm[n - 1] == '\n')
		comm[n - 1] = 0;
}

static enum pw_wait_kind kind_from_stack(const struct pw_stack *s)
{
	for (int i = 0; i < s->nframes; i++) {
		enum pw_wait_kind k = waitgraph__kind_from_function(s->frames[i].function);

		if (k != PW_WAIT_NONE)
			return k;
	}
	return PW_WAIT_NONE;
}

static void read_edge(const struct pw_flagged *t, struct proc_ctx *p, struct pw_wait_edge *e)
{
	enum pw_wait_kind k = kind_from_stack(&t->stack);
	uint64_t u = t->wait.uaddr;
	const char *why = NULL;

	memset(e, 0, sizeof(*e));
	e->kind = PW_WAIT_UNKNOWN;
	e->object = u;
	switch (k) {
	case PW_WAIT_MUTEX: {
		int32_t m[5];

		if (!read_mem(p, u, m, sizeof(m))) {
			e->note = "the futex word could not be read";
			return;
		}
		e->target_tid = waitgraph__mutex_owner(m, t->tid, strstr(t->wait.op, "LOCK_PI"),
						       tid_live, p, &why);
		if (!e->target_tid) {
			e->note = why;
			return;
		}
		e->kind = PW_WAIT_MUTEX;
		break;
	}
	case PW_WAIT_JOIN: {
		uint32_t word;

		/* struct pthread's tid field: the joined thread's tid until it
		 * exits; joiners wait on it with a shared (not private) futex. */
		if (strstr(t->wait.op, "PRIVATE") || !read_mem(p, u, &word, sizeof(word)) ||
		    word == 0 || word != (uint32_t)t->wait.value || word == t->tid ||
		    !tid_live(word, p)) {
			e->note = "the joined thread's tid word does not name a live thread";
			return;
		}
		e->kind = PW_WAIT_JOIN;
		e->target_tid = word;
		break;
	}
	case PW_WAIT_RWLOCK: {
		/* Waiters sleep on __wrphase_futex (+8) or __writers_futex (+12). */
		static const int offs[] = { 8, 12 };

		e->note = "the word does not validate as a pthread rwlock";
		for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			uint32_t rw[14];
			uint32_t tgt;
			bool valid;

			if (u < (uint64_t)offs[i] || !read_mem(p, u - offs[i], rw, sizeof(rw)))
				continue;
			tgt = waitgraph__rwlock_writer(rw, t->tid, tid_live, p, &valid, &why);
			if (!valid)
				continue;
			e->kind = PW_WAIT_RWLOCK;
			e->object = u - offs[i];
			e->note = why;
			if (tgt) {
				e->target_tid = tgt;
				break;
			}
		}
		if (!e->target_tid)
			return;
		break;
	}
	case PW_WAIT_CONDVAR:
		e->kind = PW_WAIT_CONDVAR;
		e->note = NOBODY;
		return;
	case PW_WAIT_SEMAPHORE:
		e->kind = PW_WAIT_SEMAPHORE;
		e->note = NOBODY;
		return;
	default:
		e->note = "no known primitive on the stack";
		return;
	}
	read_comm(t->pid, e->target_tid, e->target_comm);
}

int waitgraph__annotate(struct pw_report *r)
{
	struct proc_ctx p = { .memfd = -1 };
	struct wg_node *nodes;
	int err;

	/* Sorted by pid (report__group): one /proc/PID/mem open per process. */
	for (int i = 0; i < r->nthreads; i++) {
		struct pw_flagged *t = &r->threads[i];

		memset(&t->waits_for, 0, sizeof(t->waits_for));
		if (t->wait.class != PW_CLASS_FUTEX || !t->wait.uaddr)
			continue;
		if (p.pid != t->pid || p.memfd < 0) {
			char path[32];

			if (p.memfd >= 0)
				close(p.memfd);
			p.pid = t->pid;
			snprintf(path, sizeof(path), "/proc/%u/mem", t->pid);
			p.memfd = open(path, O_RDONLY | O_CLOEXEC);
		}
		read_edge(t, &p, &t->waits_for);
	}
	if (p.memfd >= 0)
		close(p.memfd);
	nodes = malloc((r->nthreads ? r->nthreads : 1) * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (int i = 0; i < r->nthreads; i++) {
		const struct pw_flagged *t = &r->threads[i];

		nodes[i] = (struct wg_node){ .pid = t->pid, .tid = t->tid,
					     .target = t->waits_for.target_tid,
					     .object = t->waits_for.object,
					     .kind = t->waits_for.kind };
	}
	err = waitgraph__cycles(nodes, r->nthreads, &r->deadlocks, &r->ndeadlocks);
	if (!err)
		err = waitgraph__chains(nodes, r->nthreads, &r->chains, &r->nchains);
	/* A chain's end edge: the last member's full edge (comm, note). */
	for (int c = 0; !err && c < r->nchains; c++) {
		struct pw_wait_chain *ch = &r->chains[c];

		for (int i = 0; i < r->nthreads; i++)
			if (r->threads[i].pid == ch->pid && r->threads[i].tid == ch->members[ch->n - 1])
				ch->end = r->threads[i].waits_for;
	}
	free(nodes);
	return err;
}
