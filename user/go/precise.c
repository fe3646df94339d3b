// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>
#include "parkwatch.h"
#include "goprecise.skel.h"
#include "go/elf.h"
#include "go/precise.h"
#include "go/probe.h"

#define MAX_EXES 64 /* = MAX_PIDS: one executable per target at most */
#define PROLOGUE_BYTES 32

/* The three runtime functions, each with the name used in 1.17+ and the
 * fallback when it is absent (goready when ready is inlined; goexit0
 * before gdestroy was split out of it in 1.21). All take the g first, so
 * in rax, except gopark whose g is the current one (r14). */
enum { P_PARK, P_READY, P_EXIT, NPROBES };
static const char *const probe_funcs[NPROBES][2] = {
	[P_PARK] = { "runtime.gopark", NULL },
	[P_READY] = { "runtime.ready", "runtime.goready" },
	[P_EXIT] = { "runtime.gdestroy", "runtime.goexit0" },
};

struct exe {
	dev_t dev;
	ino_t ino;
	struct bpf_link *links[NPROBES];
};

struct go_precise {
	struct goprecise_bpf *skel;
	struct exe exes[MAX_EXES];
	int nexes;
	int ncpus;
};

/* Link-time address -> file offset, through the PT_LOAD that holds it: the
 * uprobe API takes file offsets, pclntab gives virtual addresses. */
static int64_t file_offset(int fd, uint64_t vaddr)
{
	Elf *e;
	size_t n;
	int64_t off = -1;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -1;
	if (elf_getphdrnum(e, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
				continue;
			if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
				off = vaddr - ph.p_vaddr + ph.p_offset;
				break;
			}
		}
	}
	elf_end(e);
	return off;
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* Attach the three probes to one executable (fd is /proc/PID/exe). */
static int attach_exe(struct go_precise *p, struct exe *x, pid_t pid, int fd,
		      const struct go_binary *b, bool verbose, char *err, size_t errlen)
{
	struct bpf_program *progs[NPROBES] = {
		p->skel->progs.go_park, p->skel->progs.go_ready, p->skel->progs.go_exit,
	};
	char path[64];

	/* The kernel resolves the magic link to the file itself: deleted or
	 * containerised executables work, and the probe is on the inode. */
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	for (int i = 0; i < NPROBES; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo);
		const char *name = probe_funcs[i][0];
		uint64_t end = 0, entry = go_binary__func_entry(b, name, &end);
		uint8_t code[PROLOGUE_BYTES];
		struct go_probe_site site;
		int64_t off;
		ssize_t got;

		if (!entry && probe_funcs[i][1])
			entry = go_binary__func_entry(b, (name = probe_funcs[i][1]), &end);
		if (!entry) {
			snprintf(err, errlen, "process %d: %s not found in its executable", pid,
				 probe_funcs[i][0]);
			return -ENOENT;
		}
		off = file_offset(fd, entry);
		if (off < 0) {
			snprintf(err, errlen, "process %d: %s at 0x%llx is in no loadable segment",
				 pid, name, (unsigned long long)entry);
			return -ENOEXEC;
		}
		got = pread(fd, code, end > entry && end - entry < sizeof(code) ? end - entry
								   : sizeof(code), off);
		go_probe__place(code, got > 0 ? (size_t)got : 0, &site);
		x->links[i] = bpf_program__attach_uprobe_opts(progs[i], -1, path, off + site.offset,
							      &uo);
		if (!x->links[i]) {
			int e = -errno;

			snprintf(err, errlen, "process %d: cannot attach a uprobe to %s: %s", pid,
				 name, strerror(-e));
			return e;
		}
		if (verbose)
			fprintf(stderr, "parkwatch: go-precise: pid %d: %s at +%u: %s\n", pid, name,
				site.offset, site.how);
	}
	return 0;
}

/* One target: check it is a Go program we can probe, watch its tgid, and
 * attach to its executable unless another target shares it (one probe per
 * inode: a second would make every event fire twice). */
static int add_target(struct go_precise *p, pid_t pid, bool verbose, char *err, size_t errlen)
{
	char path[64], comm[32], gerr[256];
	struct go_binary *b = NULL;
	struct stat st;
	const char *ver;
	int fd, rc = 0, gerrno = 0;
	__u32 tgid = pid;
	__u8 one = 1;

	comm_of(pid, comm, sizeof(comm));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "process %d (%s): cannot open its executable: %s", pid, comm,
			 strerror(errno));
		goto out;
	}
	b = go_binary__open_fd(fd, path, &gerrno, gerr, sizeof(gerr));
	if (!b || !go_binary__is_go(b)) {
		rc = -ENOEXEC;
		snprintf(err, errlen, "--go-precise: process %d (%s) is not a Go program", pid, comm);
		goto out;
	}
	ver = go_binary__version(b);
	if (ver && go_version_minor(ver) >= 0 && go_version_minor(ver) < 17) {
		rc = -ENOEXEC;
		snprintf(err, errlen, "--go-precise: process %d (%s) was built by %s; the probes "
			 "need Go 1.17 or later (register ABI)", pid, comm, ver);
		goto out;
	}
	if (bpf_map__update_elem(p->skel->maps.go_tgids, &tgid, sizeof(tgid), &one, sizeof(one),
				 BPF_ANY)) {
		rc = -errno;
		snprintf(err, errlen, "cannot watch process %d: %s", pid, strerror(-rc));
		goto out;
	}
	for (int i = 0; i < p->nexes; i++)
		if (p->exes[i].dev == st.st_dev && p->exes[i].ino == st.st_ino) {
			if (verbose)
				fprintf(stderr, "parkwatch: go-precise: pid %d: same executable as "
					"an earlier target, probes shared\n", pid);
			goto out;
		}
	p->exes[p->nexes] = (struct exe){ .dev = st.st_dev, .ino = st.st_ino };
	rc = attach_exe(p, &p->exes[p->nexes++], pid, fd, b, verbose, err, errlen);
out:
	go_binary__free(b);
	if (fd >= 0)
		close(fd);
	return rc;
}

int go_precise__open(const struct go_precise_opts *o, struct go_precise **out, char *err,
		     size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct go_precise *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p || o->npids > MAX_EXES) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->ncpus = libbpf_num_possible_cpus();
	p->skel = goprecise_bpf__open_opts(&oo);
	if (!p->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the go-precise BPF object: %s", strerror(-rc));
		goto fail;
	}
	bpf_map__set_max_entries(p->skel->maps.go_parks, o->max_goroutines);
	rc = goprecise_bpf__load(p->skel);
	if (rc) {
		snprintf(err, errlen, "the kernel refused to load the go-precise BPF programs: %s",
			 strerror(-rc));
		goto fail;
	}
	for (int i = 0; i < o->npids; i++)
		if ((rc = add_target(p, o->pids[i], o->verbose, err, errlen)))
			goto fail;
	*out = p;
	return 0;
fail:
	go_precise__close(p);
	return rc;
}

/* A park at park_ns that wake_ns may have ended: was it in effect at at_ns?
 * The runtime readies a g only while it waits, so a wake after the park and
 * before at_ns ended it; a wake after at_ns (or before the park: an older
 * one) did not. A wake not through runtime.ready (netpoll) is not seen, but
 * the g then parks again through gopark, which replaces the park. */
static bool park_at(uint64_t park_ns, uint64_t wake_ns, uint64_t at_ns)
{
	return park_ns && park_ns < at_ns && !(wake_ns > park_ns && wake_ns < at_ns);
}

uint64_t go_precise__parked_since(const struct go_precise *p, uint32_t pid, uint64_t gaddr,
				  uint64_t at_ns, const char *version, const char *wait_reason)
{
	struct pw_gokey k = { .g = gaddr, .tgid = pid };
	struct pw_gopark v;
	uint64_t park;
	unsigned reason;
	const char *name;

	if (!p || bpf_map__lookup_elem(p->skel->maps.go_parks, &k, sizeof(k), &v, sizeof(v), 0))
		return 0;
	/* The map is read after the snapshot: a goroutine parked again since
	 * has its previous park (the one the snapshot saw) one slot back. */
	if (v.park_ns < at_ns) {
		park = park_at(v.park_ns, v.wake_ns, at_ns) ? v.park_ns : 0;
		reason = v.wait_reason;
	} else {
		park = park_at(v.prev_park_ns, v.prev_wake_ns, at_ns) ? v.prev_park_ns : 0;
		reason = v.prev_wait_reason;
		/* the wake that ended it must have been seen after at_ns */
		if (park && !(v.prev_wake_ns > at_ns))
			park = 0;
	}
	if (!park)
		return 0;
	name = go_wait_reason_name(version, reason);
	if (name && wait_reason && strcmp(name, wait_reason))
		return 0;
	return park;
}

void go_precise__print_stats(const struct go_precise *p, bool verbose, FILE *f)
{
	static const char *const names[PW_GO_CNT_MAX] = {
		[PW_GO_CNT_PARKS] = "parks", [PW_GO_CNT_REPARKS] = "parks without a ready since the last",
		[PW_GO_CNT_WAKES] = "readies", [PW_GO_CNT_EXITS] = "exits",
		[PW_GO_CNT_FULL] = "parks not recorded (map full)",
	};
	uint64_t sum[PW_GO_CNT_MAX] = {}, vals[p ? p->ncpus : 1];

	if (!p)
		return;
	for (__u32 k = 0; k < PW_GO_CNT_MAX; k++) {
		if (bpf_map__lookup_elem(p->skel->maps.go_counters, &k, sizeof(k), vals,
					 sizeof(vals), 0))
			continue;
		for (int c = 0; c < p->ncpus; c++)
			sum[k] += vals[c];
	}
	if (sum[PW_GO_CNT_FULL] && !verbose)
		fprintf(f, "parkwatch: go-precise: %llu parks not recorded, the map (%u goroutines) "
			"was full; those goroutines have sweep-observed durations\n",
			(unsigned long long)sum[PW_GO_CNT_FULL],
			bpf_map__max_entries(p->skel->maps.go_parks));
	if (!verbose)
		return;
	for (int k = 0; k < PW_GO_CNT_MAX; k++)
		fprintf(f, "parkwatch: go-precise: %s: %llu\n", names[k], (unsigned long long)sum[k]);
}

void go_precise__close(struct go_precise *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nexes; i++)
		for (int j = 0; j < NPROBES; j++)
			bpf_link__destroy(p->exes[i].links[j]);
	goprecise_bpf__destroy(p->skel);
	free(p);
}
