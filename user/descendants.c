// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "descendants.h"
#include "threads/procstat.h"
#include "go/elf.h"
#include "go/probe.h"
#include "go/testname.h"

/* An executable judged once (the kernel map has the verdict too; this copy
 * catches two processes exec'ing the same new file at once). */
struct exe_seen {
	struct pw_exe_key key;
	uint32_t flags;
	const char *tool;
	bool test_binary;
	bool probed;         /* probes attached: released when unused */
	char own_exit;       /* 'g' Go, 's' static C: its exit path is probed after
	                      * its exec; '?' ended before its executable was read */
	uint64_t runner_off[3]; /* test binary: file offsets of the runner probes */
	uint64_t runner_cookie;
	unsigned runners;    /* bit i: runner_names[i] probed */
	char note[160];
};

static const char *const runner_names[] = {
	"testing.tRunner", "testing.(*B).runN", "testing.fRunner",
};

struct descendants {
	struct tracer *t;
	bool verbose;
	struct tree_proc *procs;
	int nprocs;
	struct exe_seen *exes;
	int nexes;
};

struct descendants *descendants__new(struct tracer *t, pid_t root, bool verbose)
{
	struct descendants *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->t = t;
	d->verbose = verbose;
	descendants__on_fork(d, root);
	return d;
}

static void proc_free(struct tree_proc *p)
{
	free(p->cmdline);
	free(p->exe);
}

void descendants__free(struct descendants *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nprocs; i++)
		proc_free(&d->procs[i]);
	free(d->procs);
	free(d->exes);
	free(d);
}

static struct tree_proc *find(struct descendants *d, pid_t pid)
{
	for (int i = 0; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	return NULL;
}

void descendants__on_fork(struct descendants *d, pid_t child)
{
	struct tree_proc *v;

	if (find(d, child))
		return;
	v = realloc(d->procs, (d->nprocs + 1) * sizeof(*v));
	if (!v)
		return;
	d->procs = v;
	d->procs[d->nprocs++] = (struct tree_proc){ .pid = child };
}

void descendants__on_proc_end(struct descendants *d, const struct pw_proc_end_event *ev)
{
	/* The last process running a probed executable is gone: its probes
	 * go (a later exec of it is judged again). */
	if (ev->exe_users)
		return;
	for (int i = 0; i < d->nexes; i++) {
		/* The linker's probe stays: its end must be caught every time,
		 * and a verdict given after its exec could come too late. */
		if (memcmp(&d->exes[i].key, &ev->exe, sizeof(ev->exe)) || !d->exes[i].probed ||
		    (d->exes[i].flags & PW_PROC_LINKER))
			continue;
		tracer__release_exe(d->t, &ev->exe);
		d->exes[i] = d->exes[--d->nexes];
		break;
	}
}

void descendants__on_end(struct descendants *d, pid_t pid)
{
	struct tree_proc *p = find(d, pid);

	if (!p)
		return;
	proc_free(p);
	*p = d->procs[--d->nprocs];
}

int descendants__live(const struct descendants *d, pid_t *out, int max)
{
	int n = 0;

	for (int i = 0; i < d->nprocs && n < max; i++)
		out[n++] = d->procs[i].pid;
	return n;
}

/* /proc/PID/cmdline with the NULs between arguments made spaces. */
static char *read_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	while (n > 0 && !buf[n - 1])
		n--;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strdup(buf);
}

const struct tree_proc *descendants__peek(struct descendants *d, pid_t pid)
{
	return find(d, pid);
}

struct tree_proc *descendants__get(struct descendants *d, pid_t pid)
{
	struct tree_proc *p = find(d, pid);
	char *s;

	if (!p)
		return NULL;
	if ((s = read_cmdline(pid))) {
		free(p->cmdline);
		p->cmdline = s;
	}
	if (!p->exe)
		p->exe = proc_exe_path(pid);
	return p;
}

/* An executable's key as the exec tracepoint makes it (the kernel's s_dev). */
static struct pw_exe_key exe_key(const struct stat *st)
{
	return (struct pw_exe_key){
		.dev = (uint64_t)major(st->st_dev) << 20 | minor(st->st_dev), .ino = st->st_ino,
	};
}

/* A Go program's runtime.exit, as a file offset; -ENOENT if not found. */
static int64_t go_exit_offset(const struct go_binary *b)
{
	uint64_t entry = go_binary__func_entry(b, "runtime.exit.abi0", NULL);

	if (!entry)
		entry = go_binary__func_entry(b, "runtime.exit", NULL);
	return entry ? go_binary__file_offset(b, entry) : -ENOENT;
}

/* The Go linker is stopped at its end (PW_PROC_LINKER): what it wrote is
 * judged then, before the go command can run it. */
static int probe_linker(struct descendants *d, const struct go_binary *b, const char *path,
			struct exe_seen *x)
{
	int64_t off = go_exit_offset(b);
	int err;

	if (off < 0)
		return (int)off;
	err = tracer__attach_exe_probe(d->t, &x->key, TRACER_PROBE_GO_EXIT, path, NULL, off, 0);
	if (!err) {
		x->probed = true;
		x->flags |= PW_PROC_LINKER;
	}
	return err;
}

/* The probes on the test runners the command line asks for, each once:
 * testing.tRunner always, (*B).runN for -test.bench=, fRunner for
 * -test.fuzz= (each probe costs a grace period to attach and another to
 * detach). A binary judged before its exec (cmdline NULL) gets tRunner;
 * the others come at its exec if asked, before its benchmarks run. */
static void probe_runners(struct descendants *d, struct exe_seen *x, const char *path,
			  const char *cmdline)
{
	/* Also matches the go command's own -bench/-fuzz (see on_linker_end). */
	static const char *const flags[] = { "", "-bench", "-fuzz" };
	int err;

	for (int i = 0; i < 3; i++) {
		if (!x->runner_off[i] || (x->runners & (1u << i)) ||
		    (i && (!cmdline || !strstr(cmdline, flags[i]))))
			continue;
		err = tracer__attach_exe_probe(d->t, &x->key, TRACER_PROBE_TRUNNER, path, NULL,
					       x->runner_off[i], x->runner_cookie);
		if (err) {
			snprintf(x->note, sizeof(x->note), "test names unknown: cannot probe "
				 "%s: %s", runner_names[i], strerror(-err));
			x->test_binary = false;
			return;
		}
		x->runners |= 1u << i;
	}
}

/* The end-of-run probe on a Go program's runtime.exit, and for a test
 * binary the runner probes with the offsets they need in their cookie. */
static int probe_go(struct descendants *d, const struct go_binary *b, const char *path,
		    const char *cmdline, struct exe_seen *x)
{
	int64_t off = go_exit_offset(b);
	struct go_test_layout tl;
	struct go_g_layout gl;
	uint64_t entry;
	int err;

	if (off < 0)
		return -ENOENT;
	err = tracer__attach_exe_probe(d->t, &x->key, TRACER_PROBE_GO_EXIT, path, NULL, off, 0);
	x->probed = !err;
	if (err)
		return err;
	if (!go_binary__func_entry(b, "testing.tRunner", NULL))
		return 0; /* not a test binary */
	if (go_binary__g_layout(b, &gl, NULL, 0) || go_test_layout(b, &gl, &tl) ||
	    gl.goid > 0xffff || tl.common_name > 0xffff) {
		snprintf(x->note, sizeof(x->note), "test names unknown: no testing.common layout "
			 "for %s (build the test binary with DWARF: go test -c)",
			 go_binary__version(b) ? go_binary__version(b) : "this Go version");
		return 0;
	}
	/* Where each test, benchmark and fuzz target runs: its own goroutine,
	 * entered with its *T, *B or *F (all embed testing.common first). */
	for (int i = 0; i < 3; i++) {
		uint64_t end = 0;
		const uint8_t *code;
		struct go_probe_site site = { 0 };

		if (!(entry = go_binary__func_entry(b, runner_names[i], &end)))
			continue;
		if ((off = go_binary__file_offset(b, entry)) < 0)
			continue;
		/* At the stack check's jbe (emulated) rather than +0
		 * (single-stepped): same registers, a fraction of the cost. */
		code = go_binary__bytes(b, entry, 16);
		if (code && end > entry)
			go_probe__place(code, end - entry < 16 ? end - entry : 16, &site);
		x->runner_off[i] = off + site.offset;
	}
	x->runner_cookie = (uint64_t)gl.goid | (uint64_t)tl.common_name << 16;
	x->test_binary = x->runner_off[0] != 0;
	probe_runners(d, x, path, cmdline);
	return 0;
}

/*
 * Read the executable at path (/proc/PID/exe of a process running it, or the
 * command's own before its exec) and attach what it needs. The process runs
 * on meanwhile: its end is caught only if it comes after the probe is in
 * place (see session__proc_ended for the other case). False when the file
 * could not be read (the process already gone): no verdict then.
 */
static bool judge(struct descendants *d, const char *exe_path, const char *cmdline,
		  struct exe_seen *x)
{
	char err[256], path[64];
	struct go_binary *b;
	struct stat st;
	const char *mp;
	int e = 0, rc = 0, fd = open(exe_path, O_RDONLY | O_CLOEXEC);

	/* The file itself, not what the name says later (the process may
	 * exec again meanwhile): read it and probe it through this fd. */
	if (fd < 0 || fstat(fd, &st) || exe_key(&st).ino != x->key.ino ||
	    exe_key(&st).dev != x->key.dev) {
		if (fd >= 0)
			close(fd);
		return false; /* gone, or running something else now */
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	b = go_binary__open_fd(fd, exe_path, &e, err, sizeof(err));
	if (!b) {
		if (d->verbose)
			fprintf(stderr, "parkwatch: %s: %s\n", exe_path, err);
		close(fd);
		return true; /* not ELF (a script's interpreter failed): nothing */
	}
	if (go_binary__is_go(b)) {
		mp = go_binary__main_path(b);
		/* The Go toolchain's own commands build and run the tests;
		 * they are not what is tested. */
		if (mp && !strncmp(mp, "cmd/", 4)) {
			static char tools[16][32];
			static int ntools;
			int i;

			for (i = 0; i < ntools && strcmp(tools[i], mp); i++)
				;
			if (i == ntools && ntools < 16)
				snprintf(tools[ntools++], sizeof(tools[0]), "%s", mp);
			x->flags |= PW_PROC_TOOL;
			x->tool = i < 16 ? tools[i] : "cmd/...";
			if (!strcmp(mp, "cmd/link"))
				rc = probe_linker(d, b, path, x);
		} else {
			rc = probe_go(d, b, path, cmdline, x);
			x->own_exit = 'g';
		}
	} else if (!go_binary__is_dynamic(b) && go_binary__symbol(b, "exit", NULL)) {
		rc = tracer__attach_exe_probe(d->t, &x->key, TRACER_PROBE_EXIT, path, "exit", 0, 0);
		x->probed = !rc;
		x->own_exit = 's';
	}
	if (rc)
		fprintf(stderr, "parkwatch: %s: cannot attach the end-of-run probe: %s; its "
			"processes will be reported as ending without exit()\n", exe_path,
			strerror(-rc));
	go_binary__free(b);
	close(fd);
	return true;
}

/* What the report says of a process running x. */
static void set_proc(struct descendants *d, pid_t pid, const struct exe_seen *x, char *cmdline)
{
	struct tree_proc *p;

	descendants__on_fork(d, pid);
	if (!(p = find(d, pid))) {
		free(cmdline);
		return;
	}
	free(p->exe);
	free(p->cmdline);
	p->exe = proc_exe_path(pid);
	p->cmdline = cmdline; /* the report may come when it is gone */
	p->tool = x ? x->tool : NULL;
	p->test_binary = x && x->test_binary;
	p->own_exit = x ? x->own_exit : '?';
	snprintf(p->note, sizeof(p->note), "%s", x ? x->note : "");
}

static struct exe_seen *exe_find(struct descendants *d, const struct pw_exe_key *key)
{
	for (int i = 0; i < d->nexes; i++)
		if (!memcmp(&d->exes[i].key, key, sizeof(*key)))
			return &d->exes[i];
	return NULL;
}

/* A new record for key, judged from path; NULL if it could not be. */
static struct exe_seen *exe_judge(struct descendants *d, const struct pw_exe_key *key,
				  const char *path, const char *cmdline)
{
	struct exe_seen *x, *v = realloc(d->exes, (d->nexes + 1) * sizeof(*v));

	if (!v)
		return NULL;
	d->exes = v;
	x = &d->exes[d->nexes];
	*x = (struct exe_seen){ .key = *key };
	if (!judge(d, path, cmdline, x)) {
		if (x->probed)
			tracer__release_exe(d->t, key);
		return NULL; /* the next process running it is judged again */
	}
	d->nexes++;
	tracer__set_exe_verdict(d->t, key, x->flags);
	return x;
}

void descendants__on_exec(struct descendants *d, const struct pw_exec_event *ev)
{
	struct exe_seen *x = exe_find(d, &ev->exe);
	char *cmdline = read_cmdline(ev->tgid), path[64];
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(path, sizeof(path), "/proc/%d/exe", ev->tgid);
	if (!x)
		x = exe_judge(d, &ev->exe, path, cmdline);
	else if (x->test_binary)
		probe_runners(d, x, path, cmdline); /* benchmarks, fuzzing: if asked */
	/* Gone already: by the name it was exec'd by (judge checks that it
	 * is the same file). */
	if (!x && ev->filename[0] == '/' && memchr(ev->filename, 0, sizeof(ev->filename)))
		x = exe_judge(d, &ev->exe, ev->filename, cmdline);
	if (!cmdline && ev->filename[0] && memchr(ev->filename, 0, sizeof(ev->filename)))
		cmdline = strdup(ev->filename); /* better than nothing in a report */
	if (d->verbose) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "parkwatch: exec in pid %d judged in %.1f ms (it ran meanwhile): "
			"%s%s\n", ev->tgid,
			(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
			x && x->tool ? x->tool : "subject", x && x->test_binary ? ", test binary" : "");
	}
	set_proc(d, ev->tgid, x, cmdline);
}

int descendants__prejudge(struct descendants *d, const char *path, char *const argv[])
{
	char cmdline[4096] = "";
	struct stat st;
	struct pw_exe_key key;
	size_t n = 0;

	if (stat(path, &st))
		return -errno;
	key = exe_key(&st);
	/* Which runner probes a test binary needs (-test.bench=...). */
	for (int i = 0; argv && argv[i] && n < sizeof(cmdline) - 1; i++)
		n += snprintf(cmdline + n, sizeof(cmdline) - n, "%s ", argv[i]);
	/* Its exec event finds the verdict and fills in the process. */
	return exe_find(d, &key) || exe_judge(d, &key, path, cmdline) ? 0 : -ENOENT;
}

/* The argument after "-o" in /proc/PID/cmdline, as a path from here. */
static bool output_path(pid_t pid, char *out, size_t len)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		char *o = a + strlen(a) + 1;

		if (strcmp(a, "-o") || o >= buf + n)
			continue;
		if (o[0] == '/')
			snprintf(out, len, "%s", o);
		else
			snprintf(out, len, "/proc/%d/cwd/%s", pid, o); /* its working directory */
		return true;
	}
	return false;
}

int descendants__on_linker_end(struct descendants *d, pid_t pid)
{
	char path[PATH_MAX];
	struct stat st;
	struct pw_exe_key key;
	struct timespec t0, t1;
	struct proc_stat ps;
	struct exe_seen *x;
	char *caller = NULL;

	if (!output_path(pid, path, sizeof(path)) || stat(path, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	key = exe_key(&st);
	/* Just written: a verdict kept for this inode is an older file's. */
	if ((x = exe_find(d, &key))) {
		tracer__release_exe(d->t, &key);
		*x = d->exes[--d->nexes];
	}
	/* Its command line is not known yet; the one of whoever ran the
	 * linker (go test -bench ..., -fuzz ...) says which runners to probe:
	 * a probe attached at the test binary's exec could come after its
	 * benchmarks. */
	if (!proc_stat_read(pid, &ps))
		caller = read_cmdline(ps.ppid);
	x = exe_judge(d, &key, path, caller ? caller : "");
	free(caller);
	if (d->verbose) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "parkwatch: linker %d wrote %s, judged in %.1f ms: %s%s (%s)\n",
			pid, path, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
			x && x->tool ? x->tool : "subject", x && x->test_binary ? ", test binary" : "",
			tracer__exe_probe_kind(d->t));
	}
	return x ? 0 : -ENOENT;
}
