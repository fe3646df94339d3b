// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the unwinder learns about one code address, kept for the whole sweep.
 *
 * Threads parked at the same place share their pcs: 10,000 threads of one
 * pool at three sites are a few dozen distinct addresses. Looking each frame
 * up again costs a linear walk of the symbol table in libelf (gelf_getsym
 * under dwfl_module_addrinfo), a CU search for the line and a CFI lookup:
 * measured at most of the time of a 10,000-thread sweep. So the answers are
 * kept, keyed by the file the address is in and the address within it.
 *
 * A file with a build ID is the same code in every process that maps it, so
 * its key is the build ID: the thousand processes of one program share one
 * lookup per address, and the separate debug file is loaded once. A file
 * without one gets a key of its own in each unwinder that meets it: never
 * shared, never reused (an unwinder may be freed before the cache).
 * The key's address is relative to the module's first mapping, which is the
 * same for the same file wherever it is loaded.
 *
 * What is kept depends only on the file's bytes: function and offset from
 * its start, source line, and whether CFI covers the address. The module's
 * name is not kept: the same file can be mapped under another name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threads/unwind_priv.h"

struct unwind_cache {
	struct unwind_sym *slots; /* open addressing; key.mod == 0: empty */
	size_t cap, n;            /* cap a power of two, n <= cap / 2 */
	/* Build IDs seen, so that a key holds an index, not the bytes. */
	struct {
		unsigned char *bytes;
		int len;
	} *ids;
	size_t nids;
	uint64_t private_keys; /* keys handed out to files without a build ID */
};

struct unwind_cache *unwind_cache__new(void)
{
	return calloc(1, sizeof(struct unwind_cache));
}

static void sym_free(struct unwind_sym *s)
{
	free(s->function);
	free(s->file);
}

void unwind_cache__free(struct unwind_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].mod)
			sym_free(&c->slots[i]);
	for (size_t i = 0; i < c->nids; i++)
		free(c->ids[i].bytes);
	free(c->ids);
	free(c->slots);
	free(c);
}

/* Build IDs get the odd keys (index * 2 + 1), files without one the even
 * keys from 2 up: the two never meet. 0 on ENOMEM. */
static uint64_t build_id_key(struct unwind_cache *c, const unsigned char *id, int len)
{
	void *v;

	for (size_t i = 0; i < c->nids; i++)
		if (c->ids[i].len == len && !memcmp(c->ids[i].bytes, id, len))
			return i * 2 + 1;
	v = realloc(c->ids, (c->nids + 1) * sizeof(*c->ids));
	if (!v)
		return 0;
	c->ids = v;
	c->ids[c->nids].bytes = malloc(len);
	if (!c->ids[c->nids].bytes)
		return 0;
	memcpy(c->ids[c->nids].bytes, id, len);
	c->ids[c->nids].len = len;
	return c->nids++ * 2 + 1;
}

/* The module's key, looked up once per module of each unwinder. */
static uint64_t module_key(struct unwinder *u, Dwfl_Module *mod)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	Dwarf_Addr bias;
	uint64_t key;
	void *v;
	int len;

	for (int i = 0; i < u->nmodkeys; i++)
		if (u->modkeys[i].mod == mod)
			return u->modkeys[i].key;
	/* The build ID is known once libdwfl has opened the file, which the
	 * unwinding needs anyway for the CFI. */
	dwfl_module_getelf(mod, &bias);
	len = dwfl_module_build_id(mod, &id, &vaddr);
	key = len > 0 ? build_id_key(u->cache, id, len) : ++u->cache->private_keys * 2;
	if (!key)
		return 0;
	v = realloc(u->modkeys, (u->nmodkeys + 1) * sizeof(*u->modkeys));
	if (!v)
		return 0;
	u->modkeys = v;
	u->modkeys[u->nmodkeys].mod = mod;
	u->modkeys[u->nmodkeys++].key = key;
	return key;
}

static size_t slot_of(const struct unwind_cache *c, uint64_t mod, uint64_t off)
{
	uint64_t h = (mod * 0x9e3779b97f4a7c15ULL) ^ (off * 0xc2b2ae3d27d4eb4fULL);

	return (size_t)(h ^ (h >> 29)) & (c->cap - 1);
}

static int grow(struct unwind_cache *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 256;
	struct unwind_sym *old = c->slots, *nv = calloc(ncap, sizeof(*nv));
	size_t ocap = c->cap;

	if (!nv)
		return -ENOMEM;
	c->slots = nv;
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t s;

		if (!old[i].mod)
			continue;
		for (s = slot_of(c, old[i].mod, old[i].off); nv[s].mod; s = (s + 1) & (ncap - 1))
			;
		nv[s] = old[i];
	}
	free(old);
	return 0;
}

/* addr is the address looked up (pc, or pc - 1 for a return address). The
 * entry belongs to the cache. */
const struct unwind_sym *unwinder__lookup(struct unwinder *u, Dwfl_Module *mod, Dwarf_Addr addr,
					  int *err)
{
	struct unwind_cache *c = u->cache;
	struct unwind_sym *e;
	Dwarf_Addr low;
	uint64_t key;
	size_t s;

	*err = 0;
	dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL, NULL, NULL);
	key = module_key(u, mod);
	if (!key || (c->n + 1 > c->cap / 2 && grow(c))) {
		*err = -ENOMEM;
		return NULL;
	}
	for (s = slot_of(c, key, addr - low); c->slots[s].mod; s = (s + 1) & (c->cap - 1))
		if (c->slots[s].mod == key && c->slots[s].off == addr - low)
			return &c->slots[s];
	e = &c->slots[s];
	*e = (struct unwind_sym){ .mod = key, .off = addr - low };
	if (unwinder__describe(mod, addr, e)) {
		sym_free(e);
		memset(e, 0, sizeof(*e));
		*err = -ENOMEM;
		return NULL;
	}
	c->n++;
	return e;
}
