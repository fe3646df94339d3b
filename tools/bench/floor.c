// floor: attach the floor programs of tools/bench/floor.bpf.c and hold them
// until SIGINT/SIGTERM.
//
//   floor a   empty programs on the futex syscall tracepoints (enter+exit of
//             futex, futex_wait, futex_waitv; the last two only if the
//             kernel has them)
//   floor b   one tp_btf/sys_enter program filtering futex waits
//
// Prints "READY ..." on stdout once everything is attached (the benchmark
// waits for that line instead of sleeping) and, on exit, how often the
// programs ran, on stderr, so a run that measured nothing is visible.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "floor.skel.h"

#define MAX_LINKS 16

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

// "tracepoint/syscalls/sys_enter_futex_wait" -> does the event exist?  Older
// kernels lack futex_wait (6.7+) or futex_waitv (5.16+); skipping them keeps
// floor A loadable there.  Looks in both places libbpf looks.
static int tracepoint_exists(const char *sec)
{
	const char *tp = strchr(sec, '/');
	char path[256];
	if (!tp)
		return 0;
	tp++;
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", tp);
	if (access(path, R_OK) == 0)
		return 1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s/id", tp);
	return access(path, R_OK) == 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "a") && strcmp(argv[1], "b"))) {
		fprintf(stderr, "usage: floor a|b\n");
		return 2;
	}
	const char floor = argv[1][0];
	char prefix[3] = { floor, '_', 0 };

	libbpf_set_print(print_libbpf);

	// Block the stop signals before attaching so one that arrives early is
	// kept for sigwait() instead of killing us with links still open.
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	struct floor_bpf *skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: open failed: %s\n", strerror(errno));
		return 3;
	}

	// Syscall tracepoints are looked up by name in tracefs; say so plainly
	// instead of letting libbpf fail with a bare ENOENT.
	if (floor == 'a' && !tracepoint_exists("tracepoint/syscalls/sys_enter_futex")) {
		fprintf(stderr, "floor: no syscalls/sys_enter_futex tracepoint: is tracefs "
				"mounted? (mount -t tracefs nodev /sys/kernel/tracing)\n");
		floor_bpf__destroy(skel);
		return 3;
	}

	// Load only the chosen floor's programs.
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		int want = strncmp(name, prefix, 2) == 0;
		if (want && floor == 'a' && !tracepoint_exists(bpf_program__section_name(prog))) {
			// Only futex_wait/futex_waitv get here (futex was checked
			// above): a kernel without them just has less to hook.
			fprintf(stderr, "floor: %s: no such tracepoint, skipped\n",
				bpf_program__section_name(prog));
			want = 0;
		}
		bpf_program__set_autoload(prog, want);
	}

	int err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: load failed: %s\n", strerror(-err));
		floor_bpf__destroy(skel);
		return 3;
	}

	struct bpf_link *links[MAX_LINKS];
	int nlinks = 0, rc = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		struct bpf_link *l = bpf_program__attach(prog);
		if (!l) {
			fprintf(stderr, "floor: attach %s failed: %s\n",
				bpf_program__section_name(prog), strerror(errno));
			rc = 3;
			goto out;
		}
		links[nlinks++] = l;
	}

	printf("READY floor %c: %d program(s) attached\n", floor, nlinks);
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);

	fprintf(stderr, "floor %c: %llu hits\n", floor,
		(unsigned long long)(floor == 'a' ? skel->bss->hits_a : skel->bss->hits_b));
out:
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	floor_bpf__destroy(skel);
	return rc;
}
