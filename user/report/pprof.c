// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pprof output: the report as a gzipped perftools.profiles.Profile
 * (user/profile.proto, encoded by protobuf-c), for go tool pprof, pprof,
 * speedscope and the like. Layout (tools/doc/output.md, "Folded and pprof output"):
 *
 *   sample types   threads/count (default), parked/nanoseconds
 *   samples        one per flagged thread, then one per flagged goroutine,
 *                  values {1, parked_ns} (0 ns: duration unknown); locations
 *                  leaf first: kernel frames (-k) then user frames
 *   labels         threads: tid, pid (numeric); comm, exe, wait, class,
 *                  state, idle, timed (strings; idle and timed only when they
 *                  apply). goroutines: goid, pid (numeric); wait (wait reason
 *                  or status), class (parked, spinning, growing), created_by
 *                  (function of the go statement, when known)
 *   locations      shared by threads and goroutines of one process
 *   locations      one per (process, pc); kernel ones shared; one line each
 *                  (function + line number) when the symbol is known
 *   functions      one per (name, source file)
 *   mappings       one per module basename, without address ranges (the
 *                  frame model has none), marked as already symbolized so
 *                  pprof does not try to symbolize them again
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "profile.pb-c.h"
#include "report/escape.h"
#include "report/report.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

/* ------------------------------------------------------------------------ */
/* Hash maps: strings to string-table indexes, and (a, b) pairs to ids.      */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL; /* FNV-1a */
	return h;
}

static uint64_t hash_pair(uint64_t a, uint64_t b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = hash_bytes(&a, sizeof(a), h);
	return hash_bytes(&b, sizeof(b), h);
}

struct pair_map {
	struct pair_ent { uint64_t a, b, id; } *e; /* id 0: empty slot */
	size_t cap, n;
};

static uint64_t pair_map__get(const struct pair_map *m, uint64_t a, uint64_t b)
{
	if (!m->cap)
		return 0;
	for (size_t i = hash_pair(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct pair_ent *e = &m->e[i];

		if (!e->id)
			return 0;
		if (e->a == a && e->b == b)
			return e->id;
	}
}

/* Insert a key known to be absent; 0 or -ENOMEM. */
static int pair_map__put(struct pair_map *m, uint64_t a, uint64_t b, uint64_t id)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pair_map bigger = { .cap = m->cap ? m->cap * 2 : 64 };

		bigger.e = calloc(bigger.cap, sizeof(*bigger.e));
		if (!bigger.e)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->e[i].id)
				pair_map__put(&bigger, m->e[i].a, m->e[i].b, m->e[i].id);
		free(m->e);
		*m = bigger;
	}
	size_t i = hash_pair(a, b) & (m->cap - 1);

	while (m->e[i].id)
		i = (i + 1) & (m->cap - 1);
	m->e[i] = (struct pair_ent){ a, b, id };
	m->n++;
	return 0;
}

struct strtab {
	char **v;        /* v[0] == "" */
	size_t n, cap;
	uint32_t *slots; /* index + 1, 0: empty */
	size_t nslots;
};

static uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0xcbf29ce484222325ULL);
}

static int strtab__grow_slots(struct strtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 256;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = hash_str(t->v[k]) & (ns - 1);

		while (slots[i])
			i = (i + 1) & (ns - 1);
		slots[i] = k + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return 0;
}

/* The string-table index of s (added if new); -1 on ENOMEM. NULL is "". */
static int64_t strtab__idx(struct strtab *t, const char *s)
{
	size_t i;

	if (!s)
		s = "";
	if ((t->n + 1) * 2 > t->nslots && strtab__grow_slots(t))
		return -1;
	for (i = hash_str(s) & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1))
		if (!strcmp(t->v[t->slots[i] - 1], s))
			return t->slots[i] - 1;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		char **v = realloc(t->v, nc * sizeof(*v));

		if (!v)
			return -1;
		t->v = v;
		t->cap = nc;
	}
	if (!(t->v[t->n] = strdup(s)))
		return -1;
	t->slots[i] = ++t->n;
	return t->n - 1;
}

/* ------------------------------------------------------------------------ */
/* Building the profile.                                                     */

#define MAX_LABELS 10

struct loc_rec {
	PbLocation loc;
	PbLine line;
	PbLine *linep;
};

struct sample_rec {
	PbSample s;
	int64_t values[2];
	PbLabel labels[MAX_LABELS];
	PbLabel *labelp[MAX_LABELS];
};

struct builder {
	struct strtab strs;
	struct escape_buf escaped;
	struct pair_map map_ids, fn_ids, loc_ids;
	PbMapping *maps;
	size_t nmaps, capmaps;
	PbFunction *fns;
	size_t nfns, capfns;
	struct loc_rec *locs;
	size_t nlocs, caplocs;
	struct sample_rec *samples; /* one per thread or goroutine, never reallocated */
	size_t nsamples;
	int err;
};

/* Grow *v (element size sz) to hold one more; NULL (and b->err) on ENOMEM. */
static void *grow(struct builder *b, void **v, size_t *n, size_t *cap, size_t sz)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *nv = realloc(*v, nc * sz);

		if (!nv) {
			b->err = -ENOMEM;
			return NULL;
		}
		*v = nv;
		*cap = nc;
	}
	memset((char *)*v + *n * sz, 0, sz);
	return (char *)*v + (*n)++ * sz;
}

/* Every string goes in escaped (escape.h): pprof prints them on terminals
 * (-traces, -top) and thread names, paths and symbols are the target's. */
static int64_t str(struct builder *b, const char *s)
{
	int64_t i = strtab__idx(&b->strs, escape_str(&b->escaped, s, 0));

	if (i < 0) {
		b->err = -ENOMEM;
		return 0;
	}
	return i;
}

static const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

/*
 * pprof takes a mapping file name that parses as an absolute URL ("scheme:")
 * for a remote source and blanks it: the unwinder's "memfd:jit" must stay
 * "/memfd:jit" (its name in /proc/PID/maps), which pprof knows as a memfd.
 */
static bool looks_like_url(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++)
		if (*s == ':')
			return true;
		else if (!strchr("+-.", *s) && !((*s >= 'a' && *s <= 'z') ||
			 (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return false;
}

/* The mapping id of module (one per basename); 0 for no module. */
static uint64_t mapping_id(struct builder *b, const char *module)
{
	char slashed[256];
	int64_t name;
	uint64_t id;
	PbMapping *m;

	if (!module || !*module)
		return 0;
	if (looks_like_url(module)) {
		snprintf(slashed, sizeof(slashed), "/%s", module);
		module = slashed;
	}
	name = str(b, module);
	if (b->err)
		return 0;
	if ((id = pair_map__get(&b->map_ids, name, 0)))
		return id;
	m = grow(b, (void **)&b->maps, &b->nmaps, &b->capmaps, sizeof(*m));
	if (!m)
		return 0;
	perftools__profiles__mapping__init(m);
	m->id = b->nmaps;
	m->filename = name;
	/* parkwatch symbolized what it could: pprof must not look for a file of
	 * this name and "symbolize" absolute addresses against it. */
	m->has_functions = m->has_filenames = m->has_line_numbers = true;
	if (pair_map__put(&b->map_ids, name, 0, m->id))
		b->err = -ENOMEM;
	return m->id;
}

static uint64_t function_id(struct builder *b, const char *name, const char *file)
{
	int64_t n = str(b, name), fl = str(b, file);
	uint64_t id;
	PbFunction *fn;

	if (b->err)
		return 0;
	if ((id = pair_map__get(&b->fn_ids, n, fl)))
		return id;
	fn = grow(b, (void **)&b->fns, &b->nfns, &b->capfns, sizeof(*fn));
	if (!fn)
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = b->nfns;
	fn->name = fn->system_name = n;
	fn->filename = fl;
	if (pair_map__put(&b->fn_ids, n, fl, fn->id))
		b->err = -ENOMEM;
	return fn->id;
}

/* The location id of frame fr of process pid (0 for kernel frames). */
static uint64_t location_id(struct builder *b, uint32_t pid, const struct pw_frame *fr)
{
	uint64_t id = pair_map__get(&b->loc_ids, pid, fr->pc), map, fn = 0;
	struct loc_rec *l;

	if (id)
		return id;
	map = mapping_id(b, fr->module);
	if (fr->function && *fr->function)
		fn = function_id(b, fr->function, fr->file);
	if (b->err)
		return 0;
	l = grow(b, (void **)&b->locs, &b->nlocs, &b->caplocs, sizeof(*l));
	if (!l)
		return 0;
	perftools__profiles__location__init(&l->loc);
	l->loc.id = b->nlocs;
	l->loc.mapping_id = map;
	l->loc.address = fr->pc;
	if (fn) {
		perftools__profiles__line__init(&l->line);
		l->line.function_id = fn;
		l->line.line = fr->line > 0 ? fr->line : 0;
		l->loc.n_line = 1; /* l->loc.line is set once locs stops moving */
	}
	if (pair_map__put(&b->loc_ids, pid, fr->pc, l->loc.id))
		b->err = -ENOMEM;
	return l->loc.id;
}

static void label_num(struct builder *b, struct sample_rec *s, const char *key, int64_t v)
{
	PbLabel *l = &s->labels[s->s.n_label];

	perftools__profiles__label__init(l);
	l->key = str(b, key);
	l->num = v;
	s->labelp[s->s.n_label++] = l;
}

/* pprof reads a label with string index 0 ("") as numeric: skip empty ones. */
static void label_str(struct builder *b, struct sample_rec *s, const char *key, const char *v)
{
	PbLabel *l = &s->labels[s->s.n_label];

	if (!v || !*v)
		return;
	perftools__profiles__label__init(l);
	l->key = str(b, key);
	l->str = str(b, v);
	s->labelp[s->s.n_label++] = l;
}

/* What threads and goroutines share: a new sample with values {1, parked_ns}
 * and locations leaf first, kernel stack k (or NULL) then user stack u of
 * process pid. NULL (b->err set) on ENOMEM. */
static struct sample_rec *sample_begin(struct builder *b, uint32_t pid, const struct pw_stack *k,
				       const struct pw_stack *u, uint64_t parked_ns)
{
	struct sample_rec *s = &b->samples[b->nsamples++];
	size_t n = (k ? k->nframes : 0) + u->nframes;

	perftools__profiles__sample__init(&s->s);
	s->values[0] = 1;
	s->values[1] = (int64_t)parked_ns;
	s->s.value = s->values;
	s->s.n_value = 2;
	s->s.label = s->labelp;
	if (n && !(s->s.location_id = calloc(n, sizeof(*s->s.location_id)))) {
		b->err = -ENOMEM;
		return NULL;
	}
	/* Leaf first: the kernel stack sits below the user stack's syscall. */
	for (int i = 0; k && i < k->nframes; i++)
		s->s.location_id[s->s.n_location_id++] = location_id(b, 0, &k->frames[i]);
	for (int i = 0; i < u->nframes; i++)
		s->s.location_id[s->s.n_location_id++] = location_id(b, pid, &u->frames[i]);
	return s;
}

static void add_sample(struct builder *b, const struct pw_flagged *t)
{
	struct sample_rec *s = sample_begin(b, t->pid, t->has_kstack ? &t->kstack : NULL,
					    &t->stack, t->parked_ns);
	char wait[sizeof(t->wait.op) + 64], state[2] = { t->state, 0 };

	if (!s)
		return;
	if (t->wait.class == PW_CLASS_RUNNING)
		snprintf(wait, sizeof(wait), "running");
	else
		snprintf(wait, sizeof(wait), "%s%s%s", t->wait.syscall ? t->wait.syscall : "unknown",
			 t->wait.op[0] ? " " : "", t->wait.op);
	label_num(b, s, "tid", t->tid);
	label_num(b, s, "pid", t->pid);
	label_str(b, s, "comm", t->comm);
	label_str(b, s, "exe", t->exe);
	label_str(b, s, "wait", wait);
	label_str(b, s, "class", t->wait.class == PW_CLASS_FUTEX ? "futex" :
			       t->wait.class == PW_CLASS_SYSCALL ? "syscall" :
			       t->wait.class == PW_CLASS_RUNNING ? "running" : "none");
	label_str(b, s, "state", state);
	label_str(b, s, "idle", t->idle_match);
	if (t->wait.timed)
		label_str(b, s, "timed", "true");
}

static void add_goroutine_sample(struct builder *b, const struct pw_gflagged *f)
{
	const struct pw_goroutine *g = &f->g;
	struct sample_rec *s = sample_begin(b, g->pid, NULL, &g->stack, f->parked_ns);

	if (!s)
		return;
	label_num(b, s, "goid", (int64_t)g->goid);
	label_num(b, s, "pid", g->pid);
	label_str(b, s, "wait", g->wait_reason && *g->wait_reason ? g->wait_reason :
			      g->status_name && *g->status_name ? g->status_name : "unknown");
	label_str(b, s, "class", f->class);
	label_str(b, s, "created_by", g->created_by.function);
}

static void builder__free(struct builder *b)
{
	for (size_t i = 0; i < b->strs.n; i++)
		free(b->strs.v[i]);
	free(b->strs.v);
	free(b->strs.slots);
	escape_buf_free(&b->escaped);
	free(b->map_ids.e);
	free(b->fn_ids.e);
	free(b->loc_ids.e);
	free(b->maps);
	free(b->fns);
	free(b->locs);
	for (size_t i = 0; i < b->nsamples; i++)
		free(b->samples[i].s.location_id);
	free(b->samples);
}

/* ------------------------------------------------------------------------ */
/* Serializing and compressing.                                              */

/* gzip (not raw deflate: windowBits 15 + 16) buf into f; 0 or -errno. */
static int write_gzip(const uint8_t *buf, size_t len, FILE *f)
{
	unsigned char out[16384];
	z_stream z = { 0 };
	int zr, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)buf;
	z.avail_in = len; /* a profile is far below 4 GiB */
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		size_t have = sizeof(out) - z.avail_out;

		errno = 0;
		if (have && fwrite(out, 1, have, f) != have) {
			err = -(errno ? errno : EIO);
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	if (!err && fflush(f))
		err = -errno;
	return err;
}

int report__print_pprof(const struct pw_report *r, FILE *f)
{
	struct builder b = { 0 };
	PbValueType types[2], *typep[2] = { &types[0], &types[1] };
	PbMapping **mapp = NULL;
	PbFunction **fnp = NULL;
	PbLocation **locp = NULL;
	PbSample **samplep = NULL;
	PbProfile p;
	int64_t comment;
	char text[160], when[40];
	uint8_t *buf = NULL;
	size_t len, nsamples;
	int err;

	perftools__profiles__profile__init(&p);
	str(&b, ""); /* string_table[0] */
	for (int i = 0; i < 2; i++)
		perftools__profiles__value_type__init(&types[i]);
	types[0].type = str(&b, "threads");
	types[0].unit = str(&b, "count");
	types[1].type = str(&b, "parked");
	types[1].unit = str(&b, "nanoseconds");
	p.default_sample_type = types[0].type;
	p.time_nanos = (int64_t)r->time_ns;
	format_iso_time(r->time_ns, when, sizeof(when));
	snprintf(text, sizeof(text), "parkwatch %s report %s: threads%s parked at least %llu ns",
		 r->mode ? r->mode : "once", when, r->ngoroutines ? " and goroutines" : "",
		 (unsigned long long)r->threshold_ns);
	comment = str(&b, text);
	p.comment = &comment;
	p.n_comment = 1;

	/* The executables first: pprof takes mapping 1 as the main binary. */
	for (int i = 0; i < r->nthreads; i++)
		mapping_id(&b, basename_of(r->threads[i].exe));
	for (int i = 0; i < r->ngoroutines; i++)
		mapping_id(&b, r->goroutines[i].g.created_by.module);
	nsamples = (size_t)r->nthreads + r->ngoroutines;
	if (nsamples && !(b.samples = calloc(nsamples, sizeof(*b.samples))))
		b.err = -ENOMEM;
	for (int i = 0; !b.err && i < r->nthreads; i++)
		add_sample(&b, &r->threads[i]);
	for (int i = 0; !b.err && i < r->ngoroutines; i++)
		add_goroutine_sample(&b, &r->goroutines[i]);
	if ((err = b.err))
		goto out;

	/* Everything is added: the arrays stop moving, point into them. */
	mapp = calloc(b.nmaps + 1, sizeof(*mapp));
	fnp = calloc(b.nfns + 1, sizeof(*fnp));
	locp = calloc(b.nlocs + 1, sizeof(*locp));
	samplep = calloc(b.nsamples + 1, sizeof(*samplep));
	if (!mapp || !fnp || !locp || !samplep) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b.nmaps; i++)
		mapp[i] = &b.maps[i];
	for (size_t i = 0; i < b.nfns; i++)
		fnp[i] = &b.fns[i];
	for (size_t i = 0; i < b.nlocs; i++) {
		struct loc_rec *l = &b.locs[i];

		l->linep = &l->line;
		l->loc.line = l->loc.n_line ? &l->linep : NULL;
		locp[i] = &l->loc;
	}
	for (size_t i = 0; i < b.nsamples; i++)
		samplep[i] = &b.samples[i].s;
	p.sample_type = typep;
	p.n_sample_type = 2;
	p.mapping = mapp;
	p.n_mapping = b.nmaps;
	p.function = fnp;
	p.n_function = b.nfns;
	p.location = locp;
	p.n_location = b.nlocs;
	p.sample = samplep;
	p.n_sample = b.nsamples;
	p.string_table = b.strs.v;
	p.n_string_table = b.strs.n;

	len = perftools__profiles__profile__get_packed_size(&p);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&p, buf);
	err = write_gzip(buf, len, f);
out:
	free(buf);
	free(mapp);
	free(fnp);
	free(locp);
	free(samplep);
	builder__free(&b);
	return err;
}
