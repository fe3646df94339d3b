// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Command mode in the kernel's maps: the process tree, a verdict and probes
 * per executable (end of run, test runners), the test names the runner
 * probes record, and the end of a run, when a child of parkwatch's own
 * detaches everything after parkwatch has exited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer_priv.h"
#include "detach.h"

bool tracer__exit_snap(struct tracer *t, uint32_t tid, struct pw_exit_snap *out)
{
	return bpf_map__lookup_elem(t->skel->maps.exit_snaps, &tid, sizeof(tid), out,
				    sizeof(*out), 0) == 0;
}

int tracer__end_probes(const struct tracer *t)
{
	return t->nend_probes;
}

/* BPF_TRACE_UPROBE_MULTI and its BPF_LINK_CREATE attributes, as kernels
 * from 6.6 take them (libbpf 1.1 and Debian 12's headers predate them). */
#define PW_BPF_TRACE_UPROBE_MULTI 48
struct uprobe_multi_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid, pad;
};

void tracer__prepare_multi_uprobes(struct tracer *t, bool command)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	t->multi_uprobes = -1;
	if (command && !getenv("PARKWATCH_TEST_NO_MULTI_UPROBES") && !uname(&u) &&
	    sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major > 6 || (major == 6 && minor >= 6)))
		t->multi_uprobes = 0;
	if (t->multi_uprobes < 0)
		bpf_program__set_autoload(t->skel->progs.on_exe_multi, false);
	else
		bpf_program__set_expected_attach_type(t->skel->progs.on_exe_multi,
						      PW_BPF_TRACE_UPROBE_MULTI);
}

const char *tracer__exe_probe_kind(const struct tracer *t)
{
	return t->multi_uprobes > 0 ? "uprobe multi-links" :
	       t->multi_uprobes < 0 ? "perf-event uprobes" : "multi-links untried";
}

/* One probe as a uprobe multi-link: its descriptor, or -errno. */
static int attach_multi(struct tracer *t, const char *path, uint64_t offset, uint64_t cookie)
{
	struct uprobe_multi_attr a = {
		.prog_fd = bpf_program__fd(t->skel->progs.on_exe_multi),
		.attach_type = PW_BPF_TRACE_UPROBE_MULTI,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)&offset,
		.cookies = (uintptr_t)&cookie,
		.cnt = 1,
	};
	int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

/* The Go probes as multi-links where the kernel has them; a refusal other
 * than for the file itself turns them off for the run (perf-event uprobes
 * then, as on older kernels). */
static int attach_probe(struct tracer *t, enum tracer_exe_probe which, const char *path,
			const char *func, uint64_t offset, uint64_t cookie, struct detach_item *out)
{
	struct bpf_program *prog = which == TRACER_PROBE_GO_EXIT ? t->skel->progs.on_go_exit :
				   which == TRACER_PROBE_TRUNNER ? t->skel->progs.on_trunner :
				   t->skel->progs.on_exit_call;
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookie, .func_name = func);

	if (t->multi_uprobes >= 0 && which != TRACER_PROBE_EXIT) {
		uint64_t kind = which == TRACER_PROBE_TRUNNER ? PW_PROBE_TRUNNER : PW_PROBE_GO_EXIT;
		int fd = attach_multi(t, path, offset, cookie | kind << PW_PROBE_KIND_SHIFT);

		if (fd >= 0) {
			t->multi_uprobes = 1;
			*out = (struct detach_item){ .fd = fd };
			return 0;
		}
		if (fd == -ENOENT || fd == -EACCES || fd == -ESRCH || fd == -ENOMEM)
			return fd;
		if (t->multi_uprobes == 0)
			t->multi_uprobes = -1; /* never worked here: perf events */
		else
			return fd;
	}
	*out = (struct detach_item){ .link = bpf_program__attach_uprobe_opts(prog, -1, path,
									       offset, &uo),
				     .fd = -1 };
	return out->link ? 0 : -errno;
}

int tracer__attach_exe_probe(struct tracer *t, const struct pw_exe_key *exe,
			     enum tracer_exe_probe which, const char *path, const char *func,
			     uint64_t offset, uint64_t cookie)
{
	struct exe_probe *v;
	struct detach_item probe;
	int err;

	v = realloc(t->exe_probes, (t->nexe_probes + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->exe_probes = v;
	if ((err = attach_probe(t, which, path, func, offset, cookie, &probe)))
		return err;
	t->exe_probes[t->nexe_probes++] = (struct exe_probe){ .exe = *exe, .probe = probe };
	if (!t->detacher)
		t->detacher = detacher_new();
	return 0;
}

void tracer__release_exe(struct tracer *t, const struct pw_exe_key *exe)
{
	bpf_map__delete_elem(t->skel->maps.exes, exe, sizeof(*exe), 0);
	bpf_map__delete_elem(t->skel->maps.exe_users, exe, sizeof(*exe), 0);
	for (int i = 0; i < t->nexe_probes; i++) {
		if (memcmp(&t->exe_probes[i].exe, exe, sizeof(*exe)))
			continue;
		if (!detacher_push(t->detacher, t->exe_probes[i].probe))
			detach_item_destroy(t->exe_probes[i].probe);
		t->exe_probes[i--] = t->exe_probes[--t->nexe_probes];
	}
}

void tracer__set_exe_verdict(struct tracer *t, const struct pw_exe_key *exe, uint32_t proc_flags)
{
	struct pw_exe_verdict v = { .proc_flags = proc_flags };

	bpf_map__update_elem(t->skel->maps.exes, exe, sizeof(*exe), &v, sizeof(v), BPF_ANY);
}

uint32_t tracer__proc_flags(struct tracer *t, uint32_t tgid)
{
	struct pw_tree_proc p;
	struct pw_exe_verdict v;

	if (bpf_map__lookup_elem(t->skel->maps.tree, &tgid, sizeof(tgid), &p, sizeof(p), 0))
		return 0;
	if ((p.flags & PW_PROC_UNJUDGED) &&
	    !bpf_map__lookup_elem(t->skel->maps.exes, &p.exe, sizeof(p.exe), &v, sizeof(v), 0))
		return v.proc_flags;
	return p.flags;
}

bool tracer__in_tree(struct tracer *t, uint32_t tgid)
{
	struct pw_tree_proc p;

	return bpf_map__lookup_elem(t->skel->maps.tree, &tgid, sizeof(tgid), &p, sizeof(p), 0) == 0;
}

bool tracer__test_name(const struct tracer *t, uint32_t tgid, uint64_t goid, char *buf,
		       size_t len)
{
	struct pw_test_key key = { .goid = goid, .tgid = tgid };
	struct pw_test_name v;

	if (bpf_map__lookup_elem(t->skel->maps.test_names, &key, sizeof(key), &v, sizeof(v), 0))
		return false;
	v.name[sizeof(v.name) - 1] = 0;
	if (buf && len)
		snprintf(buf, len, "%s", v.name);
	return true;
}

/* The tracer handed to the detaching child: this process exits without
 * freeing it (the child destroys the links); kept reachable so that a leak
 * checker does not count it as lost. */
static struct tracer *volatile handed_off; /* volatile: never read, still stored */

/* Until process pid has ended, all of it: its exit closes its copies of the
 * descriptors (exit_files comes before its pidfd turns readable). pidfd is
 * one it opened on itself before the fork (no pid reuse), or -1. */
static void await_exit_of(pid_t pid, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0) {
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		close(pidfd);
		return;
	}
	while (getppid() == pid) /* no pidfd: until this child is reparented */
		usleep(5000);
}

/*
 * End of a command run: parkwatch exits at once and a child of its own
 * detaches everything. The last close of a uprobe waits for two grace
 * periods (~40 ms each here): the child must hold the last reference, so it
 * starts only once parkwatch is gone. Otherwise parkwatch's exit pays for
 * every probe it closes last, one after the other (a second for 24 probes
 * of 8 test binaries, measured).
 */
void tracer__close_in_background(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.tree), null;
	pid_t pid, parent = getpid();
	int self = (int)syscall(SYS_pidfd_open, parent, 0);
	__u32 key, next;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
	fflush(NULL);
	detacher_fork_prepare(t->detacher);
	pid = fork();
	if (pid != 0) {
		detacher_fork_parent(t->detacher);
		if (self >= 0)
			close(self);
		/* parkwatch (or a failed fork: then here, the slow way). */
		if (pid < 0)
			tracer__close(t);
		else
			handed_off = t;
		return;
	}
	/* Nothing may wait on this child: no output, no terminal. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	setsid();
	await_exit_of(parent, self);
	detacher_fork_child_free(t->detacher);
	t->detacher = NULL;
	tracer__close(t);
	_exit(0);
}
