// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * serve's snapshot: after each sweep everything a request can ask for is
 * rendered once, outside any lock, and the new documents replace the old
 * ones under the mutex (a pointer swap); the HTTP thread copies a document
 * under the same mutex. --prom-file: the text format written to a temporary
 * file in the same directory, fsync'd, then renamed over PATH, so a reader
 * (node_exporter's textfile collector) sees the old file or the new one,
 * never half of one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "serve/serve.h"
#include "serve/serve_priv.h"

struct doc {
	char *text;
	size_t len;
};

struct server {
	struct serve_opts o;
	char *prom_dir;                /* --prom-file's directory */
	struct http *http;
	/* Sweep thread only. */
	struct metrics_counters c;
	struct metrics_set *last;      /* the latest good sweep's series */
	bool prom_file_failing;        /* say it once, and when it recovers */
	/* Shared with the HTTP thread, under lock. */
	pthread_mutex_t lock;
	struct doc docs[DOC_HEALTH + 1];
	int health_status;
};

char *snapshot__copy(struct server *s, enum snapshot_doc doc, size_t *len, int *status)
{
	char *copy = NULL;

	pthread_mutex_lock(&s->lock);
	*status = doc == DOC_HEALTH ? s->health_status : 200;
	if (!s->docs[doc].text) {
		*status = 503;
	} else if ((copy = malloc(s->docs[doc].len + 1))) {
		memcpy(copy, s->docs[doc].text, s->docs[doc].len + 1);
		*len = s->docs[doc].len;
	} else {
		*status = 500;
	}
	pthread_mutex_unlock(&s->lock);
	return copy;
}

/* Render into a malloc'd document; false on ENOMEM. */
static bool render(struct doc *d, const struct metrics_set *set, const struct metrics_counters *c,
		   enum metrics_format fmt)
{
	FILE *f = open_memstream(&d->text, &d->len);

	if (!f)
		return false;
	metrics__render(set, c, fmt, f);
	if (fclose(f)) {
		free(d->text);
		d->text = NULL;
		return false;
	}
	return true;
}

static bool render_report(struct doc *d, const struct pw_report *r)
{
	FILE *f = open_memstream(&d->text, &d->len);

	if (!f)
		return false;
	report__print_json(r, f);
	if (fclose(f)) {
		free(d->text);
		d->text = NULL;
		return false;
	}
	return true;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* The atomic replacement of --prom-file. 0 or -errno. */
static int write_prom_file(struct server *s, const struct doc *d)
{
	char *tmp = NULL;
	int fd, err;

	/* A dot name without ".prom": the textfile collector skips it. */
	if (asprintf(&tmp, "%s/.parkwatch-prom-XXXXXX", s->prom_dir) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	err = write_all(fd, d->text, d->len);
	if (!err && fchmod(fd, 0644))
		err = -errno;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, s->o.prom_file))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

/*
 * Render every document from the latest series and counters (r: the new
 * report, NULL to keep the previous one), write --prom-file, and swap them
 * in. health and status: what /healthz answers.
 */
static void swap_in(struct server *s, const struct pw_report *r, const char *health, int status)
{
	struct doc fresh[DOC_HEALTH + 1] = { 0 }, old[DOC_HEALTH + 1];

	if (!render(&fresh[DOC_METRICS_TEXT], s->last, &s->c, METRICS_PROMETHEUS) ||
	    !render(&fresh[DOC_METRICS_OPENMETRICS], s->last, &s->c, METRICS_OPENMETRICS) ||
	    (r && !render_report(&fresh[DOC_REPORT], r)) ||
	    !(fresh[DOC_HEALTH].text = strdup(health))) {
		for (int i = 0; i <= DOC_HEALTH; i++)
			free(fresh[i].text);
		fprintf(stderr, "parkwatch: out of memory rendering the metrics; serving the "
			"previous ones\n");
		return;
	}
	fresh[DOC_HEALTH].len = strlen(health);
	if (s->o.prom_file && s->c.sweeps) {
		int err = write_prom_file(s, &fresh[DOC_METRICS_TEXT]);

		if (err && !s->prom_file_failing)
			fprintf(stderr, "parkwatch: cannot write %s: %s (retrying after each "
				"sweep)\n", s->o.prom_file, strerror(-err));
		else if (!err && s->prom_file_failing)
			fprintf(stderr, "parkwatch: %s written again\n", s->o.prom_file);
		s->prom_file_failing = err != 0;
	}
	pthread_mutex_lock(&s->lock);
	memcpy(old, s->docs, sizeof(old));
	for (int i = 0; i <= DOC_HEALTH; i++) {
		/* A failed sweep keeps the previous report. */
		if (i == DOC_REPORT && !fresh[i].text)
			old[i].text = NULL;
		else
			s->docs[i] = fresh[i];
	}
	s->health_status = status;
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i <= DOC_HEALTH; i++)
		free(old[i].text);
}

void serve__publish(struct server *s, const struct pw_report *r, uint64_t duration_ns,
		    const char *why)
{
	char health[256];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	s->c.sweeps++;
	s->c.last_sweep_duration_ns = duration_ns;
	s->c.last_sweep_time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (r) {
		uint64_t dropped = 0;
		struct metrics_set *set = metrics__collect(r, s->o.max_series, &dropped);

		if (set) {
			metrics__free(s->last);
			s->last = set;
			s->c.series_dropped += dropped;
		} else {
			r = NULL;
			why = "out of memory rendering the metrics";
		}
	}
	if (!r) {
		s->c.sweep_errors++;
		snprintf(health, sizeof(health), "latest sweep failed: %s\n", why ? why : "?");
	}
	swap_in(s, r, r ? "ok\n" : health, r ? 200 : 503);
	/* A sweep's transient buffers (the task records, the unwinding)
	 * are freed by now: give the free pages back, so a daemon's RSS
	 * follows what it holds, not its busiest sweep. */
	malloc_trim(0);
}

void serve__count_reload(struct server *s, bool ok)
{
	if (ok)
		s->c.reloads_ok++;
	else
		s->c.reloads_failed++;
}

int serve__open(const struct serve_opts *o, struct server **out, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));
	char bound[80];
	int e;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->health_status = 503;
	pthread_mutex_init(&s->lock, NULL);
	if (o->prom_file) {
		char *copy = strdup(o->prom_file);

		s->prom_dir = copy ? strdup(dirname(copy)) : NULL;
		free(copy);
		if (!s->prom_dir) {
			e = -ENOMEM;
			goto fail;
		}
		if (access(s->prom_dir, W_OK | X_OK)) {
			e = -errno;
			snprintf(err, errlen, "cannot write --prom-file %s: directory %s: %s",
				 o->prom_file, s->prom_dir, strerror(-e));
			goto fail;
		}
	}
	/* Scrapes before the first sweep get the daemon's own metrics. */
	swap_in(s, NULL, "no sweep yet\n", 503);
	if (o->listen) {
		e = http__start(s, (const struct sockaddr *)o->listen, o->listen_len, &s->http,
				bound, sizeof(bound), err, errlen);
		if (e)
			goto fail;
		fprintf(stderr, "parkwatch: serving on %s\n", bound);
	}
	if (o->prom_file)
		fprintf(stderr, "parkwatch: writing metrics to %s after each sweep\n", o->prom_file);
	*out = s;
	return 0;
fail:
	for (int i = 0; i <= DOC_HEALTH; i++)
		free(s->docs[i].text);
	free(s->prom_dir);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return e;
}

void serve__close(struct server *s)
{
	if (!s)
		return;
	http__stop(s->http);
	for (int i = 0; i <= DOC_HEALTH; i++)
		free(s->docs[i].text);
	metrics__free(s->last);
	free(s->prom_dir);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
