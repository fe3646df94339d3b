// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules/idle.h"

const char *const idle_default_functions[] = {
	"runtime.notesleep",      /* Go: an M with nothing to run (stopm, mPark) */
	"runtime.mPark",
	"runtime.stopm",
	"runtime.stoplockedm",
	"runtime.templateThread", /* Go: the thread that clones new Ms */
	"runtime.netpoll",        /* Go: blocking network poller in findrunnable */
	"runtime.notetsleepg",    /* Go: os/signal's receiver, timers */
	"runtime.sysmon",         /* Go: the runtime's monitor thread (timed) */
	"runtime.schedule",       /* Go: an M between goroutines, looking for work */
	"runtime.findRunnable",   /*   (1.21+ spelling) */
	"runtime.findrunnable",   /*   (older spelling) */
	"runtime.clone",          /* Go: a new M not yet in mstart (just cloned) */
	/* goleak's standard ignores: goroutines of the standard library and
	 * of package testing that every test binary may have at its exit. */
	"os/signal.signal_recv",  /* Go: signal.Notify's receiving loop */
	"os/signal.loop",
	"runtime.ensureSigM.func1", /* Go: signal mask keeper (signal.Notify) */
	"testing.tRunner",        /* Go: a test's own goroutine, and its parent */
	"testing.(*T).Run",       /*   waiting for subtests */
	"testing.runTests",       /* Go: the test runner */
	"testing.runFuzzTests",
	"testing.runFuzzing",
	"testing.(*M).Run",
	"testing.(*M).startAlarm.func1", /* Go: -test.timeout's alarm */
	"testing.runExample.func1", /* Go: an example's output reader */
	NULL,
};

struct idle_list {
	char **names;
	int n;
};

static int add(struct idle_list *l, const char *name, size_t len)
{
	char **v = realloc(l->names, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->names = v;
	v[l->n] = strndup(name, len);
	if (!v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

struct idle_list *idle_list__default(void)
{
	struct idle_list *l = calloc(1, sizeof(*l));

	for (int i = 0; l && idle_default_functions[i]; i++)
		if (add(l, idle_default_functions[i], strlen(idle_default_functions[i]))) {
			idle_list__free(l);
			return NULL;
		}
	return l;
}

struct idle_list *idle_list__load(const char *path, int *bad_line)
{
	struct idle_list *l = calloc(1, sizeof(*l));
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0, err = 0;

	*bad_line = 0;
	if (!l || !f) {
		err = l ? errno : ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			err = EINVAL; /* a name longer than any symbol we expect */
			*bad_line = lineno;
			goto out;
		}
		if ((e = strchr(s, '#')))
			*e = 0;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e == s)
			continue;
		if (memchr(s, ' ', e - s) || memchr(s, '\t', e - s)) {
			err = EINVAL;
			*bad_line = lineno;
			goto out;
		}
		if (add(l, s, e - s)) {
			err = ENOMEM;
			goto out;
		}
	}
out:
	if (f)
		fclose(f);
	if (err) {
		idle_list__free(l);
		errno = err;
		return NULL;
	}
	return l;
}

const char *idle_list__match(const struct idle_list *l, const struct pw_stack *s)
{
	for (int i = 0; i < s->nframes; i++) {
		const char *fn = s->frames[i].function;

		if (!fn)
			continue;
		for (int j = 0; j < l->n; j++)
			if (!strcmp(fn, l->names[j]))
				return l->names[j];
	}
	return NULL;
}

void idle_list__free(struct idle_list *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l);
}
