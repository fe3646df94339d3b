// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Reports to stdout or to -o FILE, written whole or not at all: output.h. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output.h"

/* The file the report replaces: FILE, or what a symlink FILE points to (a
 * rename over the link would replace the link, not the report). NULL with
 * errno when FILE cannot be written as a regular file. */
static char *target_of(const char *path, struct stat *st, bool *exists)
{
	char *real;

	*exists = !stat(path, st);
	if (!*exists) {
		if (errno != ENOENT)
			return NULL;
		return strdup(path);
	}
	real = realpath(path, NULL);
	return real ? real : strdup(path);
}

int output__open(struct output *o, const char *path, char *err, size_t len)
{
	struct stat st;
	bool exists;
	char *dir = NULL, *base = NULL, *copy1 = NULL, *copy2 = NULL;
	int fd, e;
	mode_t mask;

	*o = (struct output){ .f = stdout, .name = "standard output" };
	if (!path)
		return 0;
	o->name = path;
	o->path = target_of(path, &st, &exists);
	if (!o->path)
		goto fail;
	if (exists && !S_ISREG(st.st_mode)) {
		/* A device, a FIFO, /dev/stdout: nothing to replace. */
		free(o->path);
		o->path = NULL;
		o->f = fopen(path, "w");
		if (!o->f)
			goto fail;
		return 0;
	}
	copy1 = strdup(o->path);
	copy2 = strdup(o->path);
	if (!copy1 || !copy2)
		goto fail;
	dir = dirname(copy1);
	base = basename(copy2);
	if (asprintf(&o->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		o->tmp = NULL;
		goto fail;
	}
	fd = mkstemp(o->tmp);
	if (fd < 0)
		goto fail;
	/* The report keeps an existing file's mode, or gets the usual
	 * 0666 & ~umask (mkstemp made it 0600). */
	mask = umask(0);
	umask(mask);
	fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	free(copy1);
	free(copy2);
	return 0;
fail:
	e = errno ? errno : ENOMEM;
	snprintf(err, len, "cannot write %s: %s", path, strerror(e));
	if (o->tmp && o->f != stdout)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(copy1);
	free(copy2);
	*o = (struct output){ 0 };
	return -e;
}

int output__flush(struct output *o)
{
	if (!o->f)
		return -EBADF;
	/* A write that failed earlier (a full buffer flushed mid-report)
	 * leaves the error flag, and errno as it failed. */
	if (fflush(o->f) || ferror(o->f))
		return -(errno ? errno : EIO);
	return 0;
}

int output__close(struct output *o, bool keep, char *err, size_t len)
{
	int e = 0;

	if (!o->f)
		return 0;
	errno = 0;
	if (output__flush(o))
		e = errno ? errno : EIO;
	if (o->f == stdout) {
		/* stdout stays open for libc's exit path; its error is what
		 * matters (a closed or full pipe, /dev/full). */
		if (e)
			snprintf(err, len, "cannot write the report to standard output: %s",
				 strerror(e));
		o->f = NULL;
		return -e;
	}
	if (fclose(o->f) && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (o->tmp) {
		if (!e && keep && rename(o->tmp, o->path))
			e = errno;
		if (e || !keep)
			unlink(o->tmp);
	}
	if (e)
		snprintf(err, len, "cannot write the report to %s: %s%s", o->name, strerror(e),
			 o->tmp ? " (the file was left as it was)" : "");
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return -e;
}
