// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE /* getline */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "threads/perfmap.h"

struct perfmap_entry {
	uint64_t start, size;
	uint32_t line; /* order in the file: later lines win */
	char *name;
};

struct perfmap {
	struct perfmap_entry *v;
	size_t n;
};

/* The process's PID in its own namespace and its real uid, from
 * /proc/PID/status ("NSpid:" lists the PID from the outermost namespace
 * in; the last one is the process's own view). */
static int read_status(pid_t pid, pid_t *nspid, uid_t *uid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*nspid = pid;
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "Uid:", 4) && sscanf(line + 4, "%u", uid) == 1)
			found |= 1;
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			*nspid = (pid_t)strtol(last ? last + 1 : line + 6, NULL, 10);
		}
	}
	free(line);
	fclose(f);
	return found ? 0 : -EINVAL;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct perfmap_entry *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int parse(FILE *f, struct perfmap *m)
{
	char *line = NULL;
	size_t cap = 0, vcap = 0;
	ssize_t len;
	uint32_t lineno = 0;
	int err = 0;

	while (!err && (len = getline(&line, &cap, f)) > 0) {
		struct perfmap_entry e = { .line = lineno++ };
		int name_at = 0;

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %n", &e.start, &e.size, &name_at) < 2 ||
		    !name_at || !e.size || e.start + e.size < e.start)
			continue; /* not a map line: skip it, as perf does */
		line[strcspn(line, "\n")] = 0;
		e.name = strndup(line + name_at, PERFMAP_MAX_NAME);
		if (!e.name) {
			err = -ENOMEM;
			break;
		}
		if (m->n == vcap) {
			void *nv = realloc(m->v, (vcap = vcap ? vcap * 2 : 256) * sizeof(*m->v));

			if (!nv) {
				free(e.name);
				err = -ENOMEM;
				break;
			}
			m->v = nv;
		}
		m->v[m->n++] = e;
	}
	free(line);
	if (!err && m->n)
		qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
	return err;
}

struct perfmap *perfmap__load(pid_t pid)
{
	char path[96];
	struct perfmap *m;
	struct stat st;
	pid_t nspid = pid;
	uid_t uid = 0;
	FILE *f;
	int fd, err;

	if ((err = read_status(pid, &nspid, &uid)))
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", pid, nspid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_uid != uid && st.st_uid != 0)) {
		close(fd);
		err = -EPERM; /* someone else's file: not this process's map */
		goto fail;
	}
	if ((uint64_t)st.st_size > PERFMAP_MAX_BYTES) {
		close(fd);
		err = -EFBIG;
		goto fail;
	}
	m = calloc(1, sizeof(*m));
	f = m ? fdopen(fd, "r") : NULL;
	if (!f) {
		close(fd);
		free(m);
		err = -ENOMEM;
		goto fail;
	}
	err = parse(f, m);
	fclose(f);
	if (err) {
		perfmap__free(m);
		goto fail;
	}
	return m;
fail:
	errno = -err;
	return NULL;
}

const char *perfmap__lookup(const struct perfmap *m, uint64_t pc, uint64_t *start)
{
	const struct perfmap_entry *best = NULL;
	size_t lo = 0, hi = m ? m->n : 0;

	/* The last entry starting at or below pc, then back over the few that
	 * start earlier and may still contain it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, seen = 0; i-- > 0 && seen < 64; seen++) {
		const struct perfmap_entry *e = &m->v[i];

		if (pc - e->start < e->size && (!best || e->line > best->line))
			best = e;
	}
	if (!best)
		return NULL;
	*start = best->start;
	return best->name;
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	free(m);
}
