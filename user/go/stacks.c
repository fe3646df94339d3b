// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Goroutine stacks: pcs -> frames, cached and shared (go/stacks.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "go/elf.h"
#include "go/stacks.h"

#define SYM_CACHE 4096 /* pcs whose symbolization is remembered */
#define SYM_FRAMES 8   /* inlined frames kept per cached pc */

/* pc -> frames, remembered: 100k goroutines parked at the same few places
 * would otherwise decode the same pclntab entries 100k times. Strings point
 * into the mapped binary. */
struct sym_entry {
	uint64_t key;   /* link-time pc looked up, 0 = empty */
	uint64_t entry; /* the function's entry */
	int n;          /* frames, 0 = not a Go function */
	struct go_frame frames[SYM_FRAMES];
};

struct go_syms {
	const struct go_binary *bin;
	uint64_t bias;
	const char *module;
	struct sym_entry cache[SYM_CACHE]; /* direct-mapped */
};

/* One distinct stack of the snapshot: its key (gopc, then the pcs) and
 * the table's own reference to the shared frames. */
struct shape {
	uint64_t hash;
	uint64_t *key;
	int nkey;
	struct pw_stack stack;
};

struct go_shapes {
	struct go_syms *syms;
	struct shape *v; /* open addressing, size a power of two */
	size_t size, n;
	uint64_t *scratch; /* the key being looked up */
	int scratch_cap;
};

struct go_syms *go_syms__new(const struct go_binary *bin, uint64_t bias, const char *module)
{
	struct go_syms *y = calloc(1, sizeof(*y));

	if (y)
		*y = (struct go_syms){ .bin = bin, .bias = bias, .module = module };
	return y;
}

void go_syms__free(struct go_syms *y)
{
	free(y);
}

/* A pc in the executable's terms, and its symbolization into frames (the
 * inlined ones first). Return addresses are looked up one byte back, so a
 * call that ends its function is not blamed on the next one. */
static const struct sym_entry *symbolize(struct go_syms *y, uint64_t key)
{
	struct sym_entry *e = &y->cache[(key ^ key >> 12) % SYM_CACHE];
	struct go_func_info fi;

	if (e->key == key)
		return e;
	e->key = key;
	e->n = go_binary__frames(y->bin, key, e->frames, SYM_FRAMES);
	if (e->n < 0)
		e->n = 0;
	e->entry = go_binary__lookup(y->bin, key, &fi) ? key : fi.entry;
	return e;
}

static uint64_t link_pc(const struct go_syms *y, uint64_t pc, bool ret_addr)
{
	return pc - y->bias - (ret_addr ? 1 : 0);
}

int go_syms__nframes(struct go_syms *y, uint64_t pc, bool ret_addr)
{
	const struct sym_entry *e = symbolize(y, link_pc(y, pc, ret_addr));

	return e->n ? e->n : 1;
}

static int push_pc(struct go_syms *y, struct pw_stack *s, uint64_t pc, bool ret_addr,
		   int max_frames)
{
	uint64_t link = pc - y->bias;
	const struct sym_entry *e = symbolize(y, link_pc(y, pc, ret_addr));

	if (!e->n) { /* not Go code: the address alone */
		struct pw_frame f = { .pc = pc, .module = strdup(y->module) };

		if (f.module && !pw_stack__push(s, &f))
			return 0;
		free(f.module);
		return -ENOMEM;
	}
	for (int i = 0; i < e->n && s->nframes < max_frames; i++) {
		const struct go_frame *gf = &e->frames[i];
		struct pw_frame f = {
			.pc = pc,
			.function = gf->function ? strdup(gf->function) : NULL,
			.offset = gf->inlined ? 0 : link - e->entry,
			.module = strdup(y->module),
			.file = gf->file ? strdup(gf->file) : NULL,
			.line = gf->line,
		};

		if (pw_stack__push(s, &f)) {
			free(f.function);
			free(f.module);
			free(f.file);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The go statement at gopc: function, file, line (zeroed when unknown). */
static int creation_site(struct go_syms *y, uint64_t gopc, struct pw_frame *f)
{
	struct go_func_info fi;

	memset(f, 0, sizeof(*f));
	if (!gopc || go_binary__lookup(y->bin, gopc - y->bias - 1, &fi))
		return 0;
	*f = (struct pw_frame){
		.pc = gopc,
		.function = strdup(fi.function),
		.offset = gopc - y->bias - fi.entry,
		.file = fi.file ? strdup(fi.file) : NULL,
		.line = fi.line,
		.module = strdup(y->module),
	};
	return f->function && f->module && (!fi.file || f->file) ? 0 : -ENOMEM;
}

/* A new shared stack: the frames of the pcs, then the creation site as
 * the block's one extra frame. */
static int build(struct go_syms *y, const uint64_t *pcs, int npc, uint64_t gopc, int max,
		 struct pw_stack *s)
{
	struct pw_frame site = { 0 };
	int e = 0;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < npc && !e; i++)
		e = push_pc(y, s, pcs[i], i > 0, max);
	s->truncated = s->nframes >= max;
	if (!e)
		e = creation_site(y, gopc, &site);
	if (!e && pw_stack__push(s, &site))
		e = -ENOMEM;
	if (e) {
		free(site.function);
		free(site.file);
		free(site.module);
	}
	if (!e)
		e = pw_stack__share(s, 1);
	if (e)
		pw_stack__free(s);
	return e;
}

struct go_shapes *go_shapes__new(struct go_syms *y)
{
	struct go_shapes *t = calloc(1, sizeof(*t));

	if (t)
		t->syms = y;
	return t;
}

void go_shapes__free(struct go_shapes *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->size; i++) {
		free(t->v[i].key);
		pw_stack__free(&t->v[i].stack);
	}
	free(t->v);
	free(t->scratch);
	free(t);
}

/* FNV-1a over the key's words. */
static uint64_t hash_key(const uint64_t *k, int n)
{
	uint64_t h = 14695981039346656037ULL;

	for (int i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return h | 1; /* 0 marks an empty slot */
}

static struct shape *slot(struct go_shapes *t, uint64_t h, const uint64_t *k, int n)
{
	for (size_t i = h & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
		struct shape *s = &t->v[i];

		if (!s->hash || (s->hash == h && s->nkey == n && !memcmp(s->key, k, n * sizeof(*k))))
			return s;
	}
}

static int grow(struct go_shapes *t)
{
	struct go_shapes bigger = { .size = t->size ? t->size * 2 : 64 };

	bigger.v = calloc(bigger.size, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < t->size; i++)
		if (t->v[i].hash)
			*slot(&bigger, t->v[i].hash, t->v[i].key, t->v[i].nkey) = t->v[i];
	free(t->v);
	t->v = bigger.v;
	t->size = bigger.size;
	return 0;
}

int go_shapes__get(struct go_shapes *t, const uint64_t *pcs, int npc, uint64_t gopc,
		   int max_frames, struct pw_stack *out, struct pw_frame *created_by)
{
	uint64_t *key, h;
	struct shape *s;

	if (npc + 1 > t->scratch_cap) {
		key = realloc(t->scratch, (npc + 1) * sizeof(*key));
		if (!key)
			return -ENOMEM;
		t->scratch = key;
		t->scratch_cap = npc + 1;
	}
	key = t->scratch;
	key[0] = gopc;
	memcpy(key + 1, pcs, npc * sizeof(*pcs));
	h = hash_key(key, npc + 1);
	if ((t->n + 1) * 2 > t->size && grow(t))
		return -ENOMEM;
	s = slot(t, h, key, npc + 1);
	if (!s->hash) {
		struct pw_stack st;

		if (!(key = malloc((npc + 1) * sizeof(*key))))
			return -ENOMEM;
		memcpy(key, t->scratch, (npc + 1) * sizeof(*key));
		if (build(t->syms, pcs, npc, gopc, max_frames, &st)) {
			free(key);
			return -ENOMEM;
		}
		*s = (struct shape){ .hash = h, .key = key, .nkey = npc + 1, .stack = st };
		t->n++;
	}
	pw_stack__ref(out, &s->stack);
	*created_by = *pw_stack__extra(&s->stack, 0);
	return 0;
}
