// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "tracer_priv.h"
#include "detach.h"

#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39
#define CAP_SYS_ADMIN_BIT 21

static bool verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	if (!verbose_libbpf)
		return 0; /* our own messages say what failed; -v shows libbpf's */
	return vfprintf(stderr, fmt, ap);
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* BPF tracing needs CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN); say so up front
 * rather than let the verifier's EPERM speak. */
static int check_privileges(char *errbuf, size_t len)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d) == 0 &&
	    (has_cap(d, CAP_SYS_ADMIN_BIT) || (has_cap(d, CAP_BPF_BIT) && has_cap(d, CAP_PERFMON_BIT))))
		return 0;
	snprintf(errbuf, len, "needs root, or CAP_BPF and CAP_PERFMON (running as uid %d)"
		 " — try: sudo parkwatch ...", (int)geteuid());
	return -EPERM;
}

static int check_btf(const char *path, char *errbuf, size_t len)
{
	const char *p = path ? path : "/sys/kernel/btf/vmlinux";
	struct btf *btf;
	long err;

	if (access(p, R_OK)) {
		snprintf(errbuf, len, "no kernel BTF at %s (%s): parkwatch needs a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF=y, or --btf FILE", p, strerror(errno));
		return -ENOENT;
	}
	if (!path)
		return 0;
	/* A file given by hand is parsed now, so that a wrong one gets a
	 * sentence instead of libbpf's "Unknown error 4001" at load. */
	btf = btf__parse(path, NULL);
	err = libbpf_get_error(btf);
	if (!err) {
		btf__free(btf);
		return 0;
	}
	snprintf(errbuf, len, "--btf %s: not a BTF file (neither raw BTF nor an ELF file with a "
		 ".BTF section); give the kernel's, e.g. /sys/kernel/btf/vmlinux", path);
	return -EINVAL;
}

/* libbpf's own error codes (4000+) have no strerror text. */
static const char *bpf_error_text(int err, char *buf, size_t len)
{
	if (libbpf_strerror(err, buf, len))
		snprintf(buf, len, "error %d", err);
	return buf;
}

/*
 * Wait slots are indexed by tid modulo a power of two: one slot per possible
 * tid when pid_max allows (no sharing at all), capped to keep the array at a
 * few MiB on machines with pid_max = 4M (sharing is then detected, not
 * guessed: see struct pw_wait).
 */
static uint32_t wait_slot_count(bool futex_hooks)
{
	unsigned long pid_max = 32768;
	uint32_t n = 1024;
	FILE *f;

	if (!futex_hooks)
		return 1;
	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%lu", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	while (n < pid_max && n < (1u << 18))
		n <<= 1;
	return n;
}

static int on_ringbuf(void *ctx, void *data, size_t size)
{
	static const size_t sizes[] = {
		[PW_EVENT_CLONE] = sizeof(struct pw_clone_event),
		[PW_EVENT_EXIT] = sizeof(struct pw_exit_event),
		[PW_EVENT_END] = sizeof(struct pw_end_event),
		[PW_EVENT_EXEC] = sizeof(struct pw_exec_event),
		[PW_EVENT_PROC_END] = sizeof(struct pw_proc_end_event),
		[PW_EVENT_EXEC_LOST] = sizeof(struct pw_exec_lost_event),
	};
	struct tracer *t = ctx;
	uint32_t kind;

	if (!t->cb || size < sizeof(kind))
		return 0;
	kind = *(const uint32_t *)data;
	if (kind >= sizeof(sizes) / sizeof(sizes[0]) || !sizes[kind] || size < sizes[kind])
		return 0;
	return t->cb(t->cb_ctx, kind, data);
}

static int attach_iters(struct tracer *t, const struct tracer_opts *o, char *errbuf, size_t len)
{
	int n = o->npids ? o->npids : 1;

	t->iters = calloc(n, sizeof(*t->iters));
	if (!t->iters)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		union bpf_iter_link_info linfo = {};
		LIBBPF_OPTS(bpf_iter_attach_opts, io);

		/* The kernel filters to one process: a -p sweep costs nothing
		 * for the rest of the machine. */
		if (o->npids) {
			linfo.task.pid = o->pids[i];
			io.link_info = &linfo;
			io.link_info_len = sizeof(linfo);
		}
		t->iters[i] = bpf_program__attach_iter(t->skel->progs.sweep, o->npids ? &io : NULL);
		if (!t->iters[i]) {
			int err = -errno;

			if (err == -ESRCH)
				snprintf(errbuf, len, "process %d does not exist", o->pids[i]);
			else
				snprintf(errbuf, len, "cannot attach the task iterator: %s", strerror(-err));
			return err;
		}
		t->niters++;
	}
	return 0;
}

/*
 * Command mode: the end-of-run probe on the C library's exit() (the libc
 * parkwatch itself runs on, which is the one dynamically linked programs
 * load). Executables with their own exit path (static, Go) get theirs when
 * a process of the tree execs them (tracer__attach_exe_probe).
 */
static int attach_end_probes(struct tracer *t, char *errbuf, size_t len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "exit");
	Dl_info libc = {};
	struct bpf_link *l;

	dladdr((void *)exit, &libc);
	l = libc.dli_fname ? bpf_program__attach_uprobe_opts(t->skel->progs.on_exit_call, -1,
							      libc.dli_fname, 0, &uo) : NULL;
	if (l) {
		t->end_probes[t->nend_probes++] = l;
		return 0;
	}
	snprintf(errbuf, len, "cannot attach the end-of-run probe to exit() in %s",
		 libc.dli_fname ? libc.dli_fname : "the C library");
	return -ENOENT;
}

int tracer__open(const struct tracer_opts *o, event_cb cb, void *cb_ctx,
		 struct tracer **out, char *errbuf, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct tracer *t;
	int err;

	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);
	err = check_privileges(errbuf, errlen);
	if (err)
		return err;
	err = check_btf(o->btf_path, errbuf, errlen);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	t->cb = cb;
	t->cb_ctx = cb_ctx;
	t->ncpus = libbpf_num_possible_cpus();
	t->skel = parkwatch_bpf__open_opts(&oo);
	if (!t->skel) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	t->skel->rodata->filter_tgid_count = o->npids;
	t->skel->rodata->want_kstack = o->kernel_stacks;
	t->skel->rodata->command_tgid = o->command_pid;
	bpf_map__set_max_entries(t->skel->maps.exit_snaps, o->max_threads);
	bpf_program__set_autoload(t->skel->progs.on_exit_call, o->command_pid > 0);
	bpf_program__set_autoload(t->skel->progs.on_go_exit, o->command_pid > 0);
	bpf_program__set_autoload(t->skel->progs.on_trunner, o->command_pid > 0);
	tracer__prepare_multi_uprobes(t, o->command_pid > 0);
	bpf_program__set_autoload(t->skel->progs.on_exec, o->command_pid > 0);
	bpf_map__set_max_entries(t->skel->maps.threads, o->max_threads);
	t->skel->rodata->wait_slot_mask = wait_slot_count(o->futex_hooks) - 1;
	bpf_map__set_max_entries(t->skel->maps.wait_slots, wait_slot_count(o->futex_hooks));
	/* Room for ~1000 clone events between two polls (they are ~8.3 KiB). */
	bpf_map__set_max_entries(t->skel->maps.clone_events, 8 << 20);
	bpf_program__set_autoload(t->skel->progs.on_fork, o->track_creators);
	bpf_program__set_autoload(t->skel->progs.on_exit, o->track_creators);
	bpf_program__set_autoload(t->skel->progs.on_sys_enter, o->futex_hooks);

	err = parkwatch_bpf__load(t->skel);
	if (err) {
		char why[128];

		snprintf(errbuf, errlen, "the kernel refused to load parkwatch's BPF programs: %s%s",
			 bpf_error_text(err, why, sizeof(why)), err == -EPERM ?
			 " (kernel lockdown or a security policy? see /sys/kernel/security/lockdown)" : "");
		goto fail;
	}
	for (int i = 0; i < o->npids; i++) {
		__u32 tgid = o->pids[i];
		__u8 one = 1;

		bpf_map__update_elem(t->skel->maps.filter_tgids, &tgid, sizeof(tgid), &one,
				     sizeof(one), BPF_ANY);
	}
	if (o->command_pid > 0) {
		__u32 tgid = o->command_pid;
		struct pw_tree_proc root = {};

		bpf_map__update_elem(t->skel->maps.tree, &tgid, sizeof(tgid), &root, sizeof(root),
				     BPF_ANY);
	}
	/* Creators first, then the iterators: a thread cloned between the two
	 * is still seen by both. */
	err = parkwatch_bpf__attach(t->skel);
	if (err) {
		snprintf(errbuf, errlen, "the kernel refused to attach parkwatch's tracepoints: %s%s",
			 strerror(-err), err == -EPERM ?
			 " (kernel lockdown? see /sys/kernel/security/lockdown)" : "");
		goto fail;
	}
	err = attach_iters(t, o, errbuf, errlen);
	if (err)
		goto fail;
	if (o->command_pid > 0) {
		err = attach_end_probes(t, errbuf, errlen);
		if (err)
			goto fail;
	}
	if (o->track_creators) {
		t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.clone_events), on_ringbuf, t, NULL);
		if (!t->rb) {
			err = -errno;
			snprintf(errbuf, errlen, "cannot set up the clone event ring buffer: %s",
				 strerror(-err));
			goto fail;
		}
	}
	*out = t;
	return 0;
fail:
	tracer__close(t);
	return err;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n;

	if (!t->rb) {
		if (timeout_ms > 0)
			usleep(timeout_ms * 1000);
		return 0;
	}
	n = ring_buffer__poll(t->rb, timeout_ms);
	return n == -EINTR ? 0 : n;
}

/*
 * Read one iterator to its end: records are fixed-size structs. Each read
 * asks for all the room left, and the kernel fills it with as many records
 * as its buffer holds: a read per record was one system call per thread on
 * the machine.
 */
static int read_iter(struct bpf_link *link, struct pw_task **recs, size_t *n, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(link)), err = 0;
	size_t have = 0; /* bytes of the record at *n read so far */

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 1024;
			struct pw_task *v = realloc(*recs, ncap * sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				break;
			}
			*recs = v;
			*cap = ncap;
		}
		r = read(fd, (char *)(*recs + *n) + have, (*cap - *n) * sizeof(**recs) - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		have += r;
		*n += have / sizeof(**recs);
		have %= sizeof(**recs);
	}
	close(fd);
	return err;
}

int tracer__sweep(struct tracer *t, struct pw_task **recs, size_t *nrecs, bool *pid_seen)
{
	size_t cap = 0;
	int err;

	*recs = NULL;
	*nrecs = 0;
	for (int i = 0; i < t->niters; i++) {
		size_t before = *nrecs;

		if (!t->iters[i]) { /* an unwatched target */
			if (pid_seen)
				pid_seen[i] = false;
			continue;
		}
		err = read_iter(t->iters[i], recs, nrecs, &cap);
		if (err)
			return err;
		if (pid_seen)
			pid_seen[i] = *nrecs > before;
	}
	return 0;
}

void tracer__unwatch(struct tracer *t, int i, uint32_t tgid)
{
	if (!t || i < 0 || i >= t->niters)
		return;
	bpf_link__destroy(t->iters[i]);
	t->iters[i] = NULL;
	bpf_map__delete_elem(t->skel->maps.filter_tgids, &tgid, sizeof(tgid), 0);
}

void tracer__counters(struct tracer *t, uint64_t out[PW_CNT_MAX])
{
	uint64_t vals[t->ncpus];

	for (__u32 k = 0; k < PW_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(t->skel->maps.counters, &k, sizeof(k), vals,
					 sizeof(vals), 0))
			continue;
		for (int c = 0; c < t->ncpus; c++)
			out[k] += vals[c];
	}
}

size_t tracer__threads_tracked(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.threads);
	__u32 key, next;
	size_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

int tracer__retarget(struct tracer *t, const pid_t *pids, int npids)
{
	struct tracer_opts o = { .pids = pids, .npids = npids };
	char errbuf[256];

	for (int i = 0; i < t->niters; i++)
		bpf_link__destroy(t->iters[i]);
	free(t->iters);
	t->iters = NULL;
	t->niters = 0;
	return attach_iters(t, &o, errbuf, sizeof(errbuf));
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	{
		/* Each detach waits for a grace period: the uprobes' and the
		 * tracepoints' all at once, on threads of their own. */
		struct detach_item links[t->nend_probes + t->nexe_probes + 4];
		int n = 0;

		for (int i = 0; i < t->nend_probes; i++)
			links[n++] = (struct detach_item){ .link = t->end_probes[i], .fd = -1 };
		for (int i = 0; i < t->nexe_probes; i++)
			links[n++] = t->exe_probes[i].probe;
		if (t->skel) {
			struct bpf_link **tps[] = {
				&t->skel->links.on_fork, &t->skel->links.on_exit,
				&t->skel->links.on_exec, &t->skel->links.on_sys_enter,
			};

			for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++)
				if (*tps[i]) {
					links[n++] = (struct detach_item){ .link = *tps[i], .fd = -1 };
					*tps[i] = NULL;
				}
		}
		detacher_free(t->detacher);
		destroy_parallel(links, n);
	}
	free(t->exe_probes);
	ring_buffer__free(t->rb);
	for (int i = 0; i < t->niters; i++)
		bpf_link__destroy(t->iters[i]);
	free(t->iters);
	parkwatch_bpf__destroy(t->skel);
	free(t);
}
