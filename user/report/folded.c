// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Folded stacks for flame graph tools (flamegraph.pl, inferno, speedscope):
 * one line per distinct stack, frames root first, separated by ';', then a
 * space and the weight. The layout (tools/doc/output.md, "Folded and pprof output"):
 *
 *   exe;[incomplete];outermost;...;innermost;[wait];kframe_[k];... weight
 *
 *   exe           basename of the thread's executable (comm when unknown)
 *   [incomplete]  only when unwinding stopped early or was cut at max frames:
 *                 the frames above it are not the real root
 *   frames        function name; module@0xPC or 0xPC when the symbol is unknown
 *   [wait]        what the thread is blocked in: [futex:FUTEX_WAIT_PRIVATE],
 *                 [read], [running] (end of a command run)
 *   kframe_[k]    kernel frames with -k, innermost last (flamegraph.pl colours
 *                 the _[k] suffix as kernel)
 *
 * Flagged goroutines (Go processes) fold the same way, without kernel frames:
 *
 *   exe;[incomplete];outermost;...;innermost;[go:WAIT] weight
 *
 *   exe           the Go executable's basename (the module its frames were
 *                 symbolized with), go:PID when unknown
 *   frames        from runtime.goexit (or the goroutine's entry) down to the
 *                 runtime's park call; the go statement that created it
 *                 (created_by) is not a frame
 *   [go:WAIT]     the wait reason ([go:chan_send], [go:select], ...) or the
 *                 status when there is none ([go:running], [go:runnable])
 *
 * Every name is escaped by the text rule (report/escape.h: control bytes,
 * invalid UTF-8 and bidi controls shown as \x1b, \u202e; '\' as "\\"),
 * with ';' shown as ':' and a space as '_', so a line always has the shape
 * "frame;...;frame weight".
 *
 * Identical lines (same exe basename, same functions, same wait) are merged
 * across threads and processes; weights add up. Function offsets are left
 * out on purpose so that call sites in the same functions merge.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "report/escape.h"
#include "report/report.h"

struct folded_line {
	char *text;
	uint64_t weight;
};

/* Append s by the text escaping rule (escape.h), with the format's own
 * separators kept out: ';' separates frames, a space the weight. */
static void put_clean(FILE *m, const char *s)
{
	if (!s || !*s) {
		fputc('?', m);
		return;
	}
	escape_fputs(m, s, ESCAPE_FOLDED);
}

static const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static void put_frame(FILE *m, const struct pw_frame *fr)
{
	char addr[24];

	if (fr->function && *fr->function) {
		put_clean(m, fr->function);
		return;
	}
	/* No symbol: the frame model has no module base, so the address is
	 * absolute (merges only within one process, ASLR). */
	snprintf(addr, sizeof(addr), "0x%" PRIx64, fr->pc);
	if (fr->module && *fr->module) {
		put_clean(m, fr->module);
		fputc('@', m);
	}
	fputs(addr, m);
}

static void put_wait(FILE *m, const struct pw_wait_desc *w)
{
	fputc('[', m);
	if (w->class == PW_CLASS_RUNNING) {
		fputs("running", m);
	} else {
		put_clean(m, w->syscall ? w->syscall : "unknown");
		if (w->op[0]) {
			fputc(':', m);
			put_clean(m, w->op);
		}
	}
	fputc(']', m);
}

static FILE *line_open(char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	return open_memstream(buf, len);
}

/* Close the line's stream: its text, or NULL on ENOMEM. */
static char *line_close(FILE *m, char **buf)
{
	bool bad = ferror(m);

	/* fclose sets *buf: read it only after. */
	if (fclose(m) || bad) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

/* What threads and goroutines share: "root;[incomplete];outermost;...;innermost". */
static void put_stack(FILE *m, const char *root, const struct pw_stack *s)
{
	put_clean(m, root);
	if (s->truncated || s->error)
		fputs(";[incomplete]", m);
	for (int i = s->nframes - 1; i >= 0; i--) {
		fputc(';', m);
		put_frame(m, &s->frames[i]);
	}
}

/* The folded stack of one thread, without the weight; NULL on ENOMEM. */
static char *fold_thread(const struct pw_flagged *t)
{
	char *buf;
	size_t len;
	FILE *m = line_open(&buf, &len);

	if (!m)
		return NULL;
	put_stack(m, t->exe && *basename_of(t->exe) ? basename_of(t->exe) : t->comm, &t->stack);
	fputc(';', m);
	put_wait(m, &t->wait);
	if (t->has_kstack)
		for (int i = t->kstack.nframes - 1; i >= 0; i--) {
			fputc(';', m);
			put_frame(m, &t->kstack.frames[i]);
			fputs("_[k]", m);
		}
	return line_close(m, &buf);
}

/* The Go executable's basename: the module its frames or its creation site
 * were symbolized with; NULL when none is known. */
static const char *go_exe(const struct pw_goroutine *g)
{
	for (int i = 0; i < g->stack.nframes; i++)
		if (g->stack.frames[i].module && *g->stack.frames[i].module)
			return basename_of(g->stack.frames[i].module);
	if (g->created_by.module && *g->created_by.module)
		return basename_of(g->created_by.module);
	return NULL;
}

/* The folded stack of one goroutine, without the weight; NULL on ENOMEM. */
static char *fold_goroutine(const struct pw_gflagged *f)
{
	const struct pw_goroutine *g = &f->g;
	const char *exe = go_exe(g);
	char root[32], *buf;
	size_t len;
	FILE *m = line_open(&buf, &len);

	if (!m)
		return NULL;
	if (!exe || !*exe) {
		snprintf(root, sizeof(root), "go:%u", (unsigned)g->pid);
		exe = root;
	}
	put_stack(m, exe, &g->stack);
	fputs(";[go:", m);
	put_clean(m, g->wait_reason && *g->wait_reason ? g->wait_reason :
		     g->status_name && *g->status_name ? g->status_name : "unknown");
	fputc(']', m);
	return line_close(m, &buf);
}

static int cmp_lines(const void *x, const void *y)
{
	const struct folded_line *a = x, *b = y;

	return strcmp(a->text, b->text);
}

int report__print_folded(const struct pw_report *r, const struct print_opts *o, FILE *f)
{
	bool by_ns = o && o->weight == WEIGHT_PARKED_NS;
	int total = r->nthreads + r->ngoroutines, n = 0, err = 0;
	struct folded_line *lines = NULL;

	if (total) {
		lines = calloc(total, sizeof(*lines));
		if (!lines)
			return -ENOMEM;
	}
	for (int i = 0; i < r->nthreads; i++, n++) {
		const struct pw_flagged *t = &r->threads[i];

		lines[n].text = fold_thread(t);
		lines[n].weight = by_ns ? t->parked_ns : 1;
		if (!lines[n].text) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* A goroutine's parked_ns is 0 when its duration is unknown. */
	for (int i = 0; i < r->ngoroutines; i++, n++) {
		const struct pw_gflagged *g = &r->goroutines[i];

		lines[n].text = fold_goroutine(g);
		lines[n].weight = by_ns ? g->parked_ns : 1;
		if (!lines[n].text) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_lines);
	for (int i = 0; i < n;) {
		uint64_t w = lines[i].weight;
		int j = i + 1;

		for (; j < n && !strcmp(lines[i].text, lines[j].text); j++)
			w += lines[j].weight;
		fprintf(f, "%s %" PRIu64 "\n", lines[i].text, w);
		i = j;
	}
	if (fflush(f))
		err = -errno;
	else if (ferror(f))
		err = -EIO;
out:
	for (int i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return err;
}
