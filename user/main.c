// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* parkwatch: command line, modes and exit codes. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "creators.h"
#include "durations.h"
#include "idle.h"
#include "ksyms.h"
#include "report.h"
#include "sweep.h"
#include "tracer.h"

#define EXIT_FLAGGED 1
#define EXIT_USAGE 2
#define EXIT_ENV 3
#define MAX_PIDS 64

const char *argp_program_version = "parkwatch 0.1.0";

static const char doc[] =
	"parkwatch — find threads parked forever, without stopping or waking them.\n"
	"\n"
	"USAGE: parkwatch [OPTIONS]              watch the whole machine\n"
	"       parkwatch --once [OPTIONS]       one sweep now\n"
	"       parkwatch -p PID [-p PID] [...]  only these processes\n"
	"\n"
	"EXAMPLES:\n"
	"  parkwatch --once                 threads parked 10s or more, machine-wide\n"
	"  parkwatch --once -p 1234 -t 2s   threads of 1234 parked 2s or more\n"
	"  parkwatch -p 1234 -i 30s -d 5m   report every 30s for 5 minutes\n"
	"  parkwatch --once --json --fail   for scripts: JSON, exit 1 if anything is parked\n"
	"\n"
	"EXIT STATUS:\n"
	"  0  nothing flagged (or flagged without --fail)\n"
	"  1  something flagged, with --fail\n"
	"  2  usage error (bad option or value, a -p PID that does not exist)\n"
	"  3  environment error (not root / no CAP_BPF+CAP_PERFMON, no kernel BTF,\n"
	"     BPF load or attach refused, e.g. by lockdown)\n"
	"\v"
	"Durations: 500ms, 10s, 2m, 1h, or plain seconds. Idle waits hidden by default\n"
	"(override with --show-idle or --idle-file): Go runtime idle Ms and poller.\n";

enum {
	OPT_FUTEX_HOOKS = 0x100, OPT_TIMED, OPT_SHOW_IDLE, OPT_IDLE_FILE, OPT_JSON,
	OPT_FAIL, OPT_NO_COLOR, OPT_MAX_THREADS, OPT_BTF,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Watch only this process (repeatable)", 0 },
	{ "once", '1', NULL, 0, "One sweep now, print the report, exit", 0 },
	{ "threshold", 't', "DUR", 0, "Flag threads parked at least DUR (default 10s)", 0 },
	{ "interval", 'i', "DUR", 0, "Watch mode: report every DUR (default 10s)", 0 },
	{ "duration", 'd', "DUR", 0, "Watch mode: stop after DUR (default: until Ctrl-C)", 0 },
	{ "futex-hooks", OPT_FUTEX_HOOKS, NULL, 0,
	  "Hook futex syscall entry for exact wait start times (costs every futex call)", 1 },
	{ "timed", OPT_TIMED, NULL, 0, "Also flag waits that have a timeout", 1 },
	{ "show-idle", OPT_SHOW_IDLE, NULL, 0, "Also flag well-known runtime idle waits", 1 },
	{ "idle-file", OPT_IDLE_FILE, "FILE", 0,
	  "Replace the idle-wait list: one function name per line, # comments", 1 },
	{ "kernel-stack", 'k', NULL, 0, "Add each flagged thread's kernel stack", 1 },
	{ "json", OPT_JSON, NULL, 0, "JSON output, one document per report", 2 },
	{ "fail", OPT_FAIL, NULL, 0, "Exit 1 when anything was flagged", 2 },
	{ "no-color", OPT_NO_COLOR, NULL, 0, "No colour (also when NO_COLOR is set)", 2 },
	{ "max-threads", OPT_MAX_THREADS, "N", 0,
	  "Threads the creator map can hold (default 65536)", 3 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF file (default /sys/kernel/btf/vmlinux)", 3 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages and progress on stderr", 3 },
	{},
};

struct config {
	pid_t pids[MAX_PIDS];
	int npids;
	bool once, futex_hooks, timed, show_idle, kstack, json, fail, color, verbose;
	uint64_t threshold_ns, interval_ns, duration_ns;
	const char *idle_file, *btf;
	uint32_t max_threads;
};

/* The process a pid belongs to: a thread id given to -p means its process. */
static long tgid_of(long pid)
{
	char path[40], line[128];
	long tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int parse_pid(const char *s, pid_t *out)
{
	long v, tgid;
	char *end;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 0x3fffffff)
		return -EINVAL;
	tgid = tgid_of(v);
	if (tgid <= 0)
		return -ESRCH;
	if (tgid != v)
		fprintf(stderr, "parkwatch: %ld is a thread of process %ld: watching process %ld\n",
			v, tgid, tgid);
	*out = tgid;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct config *c = state->input;
	unsigned long long v;
	char *end;
	int err;

	switch (key) {
	case 'p':
		if (c->npids == MAX_PIDS)
			argp_error(state, "at most %d -p options", MAX_PIDS);
		err = parse_pid(arg, &c->pids[c->npids]);
		if (err == -ESRCH)
			argp_failure(state, EXIT_USAGE, 0, "no such process: %s", arg);
		else if (err)
			argp_error(state, "invalid PID: '%s'", arg);
		for (int i = 0; i < c->npids; i++)
			if (c->pids[i] == c->pids[c->npids])
				return 0; /* given twice (or two threads of one process) */
		c->npids++;
		break;
	case '1': c->once = true; break;
	case 't':
	case 'i':
	case 'd':
		if (parse_duration_ns(arg, &v))
			argp_error(state, "invalid duration '%s' (use e.g. 500ms, 10s, 2m, 1h)", arg);
		if (key == 'i' && v < 10000000ULL)
			argp_error(state, "interval must be at least 10ms");
		*(key == 't' ? &c->threshold_ns : key == 'i' ? &c->interval_ns : &c->duration_ns) = v;
		break;
	case OPT_FUTEX_HOOKS: c->futex_hooks = true; break;
	case OPT_TIMED: c->timed = true; break;
	case OPT_SHOW_IDLE: c->show_idle = true; break;
	case OPT_IDLE_FILE: c->idle_file = arg; break;
	case 'k': c->kstack = true; break;
	case OPT_JSON: c->json = true; break;
	case OPT_FAIL: c->fail = true; break;
	case OPT_NO_COLOR: c->color = false; break;
	case OPT_BTF: c->btf = arg; break;
	case 'v': c->verbose = true; break;
	case OPT_MAX_THREADS:
		errno = 0;
		v = strtoull(arg, &end, 10);
		if (errno || *end || v < 64 || v > (1u << 22))
			argp_error(state, "--max-threads must be a number from 64 to 4194304");
		c->max_threads = v;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_event(void *ctx, const struct pw_clone_event *ev, uint32_t exit_tid)
{
	if (!ev) {
		creators__remove(ctx, exit_tid);
		return 0;
	}
	return creators__add(ctx, ev);
}

/* One sweep and its report; returns the number flagged or -errno. */
static int report_once(struct tracer *t, struct creators *cr, const struct ksyms *k,
		       const struct sweep_opts *so, const struct config *c, bool final)
{
	struct pw_report r = {
		.watch = !c->once, .futex_hooks = c->futex_hooks, .final = final,
		.kernel_stacks = c->kstack, .threshold_ns = c->threshold_ns,
	};
	struct print_opts po = { .color = c->color };
	int err = sweep__run(t, cr, k, so, &r);

	if (err) {
		fprintf(stderr, "parkwatch: sweep failed: %s\n", strerror(-err));
		report__free(&r);
		return err;
	}
	if (c->json)
		report__print_json(&r, stdout);
	else
		report__print_text(&r, &po, stdout);
	err = r.nthreads;
	report__free(&r);
	return err;
}

static struct idle_list *load_idle(const struct config *c)
{
	struct idle_list *l;
	int bad_line;

	if (!c->idle_file)
		return idle_list__default();
	l = idle_list__load(c->idle_file, &bad_line);
	if (!l && bad_line)
		fprintf(stderr, "parkwatch: %s:%d: expected one function name per line\n",
			c->idle_file, bad_line);
	else if (!l)
		fprintf(stderr, "parkwatch: cannot read %s: %s\n", c->idle_file, strerror(errno));
	return l;
}

int main(int argc, char **argv)
{
	struct config c = {
		.threshold_ns = 10000000000ULL, .interval_ns = 10000000000ULL,
		.max_threads = 65536, .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"),
	};
	const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct tracer_opts to = {};
	struct sweep_opts so = {};
	struct creators *cr = NULL;
	struct idle_list *idle = NULL;
	struct ksyms *k = NULL;
	struct tracer *t = NULL;
	bool flagged = false;
	char errbuf[512];
	int err, rc = 0;

	/* Handlers first: a Ctrl-C while the programs load must still end in a
	 * report, and a shell's background job inherits SIGINT ignored. No
	 * SA_RESTART, so the wait for events returns at once. */
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &c))
		return EXIT_USAGE;
	if (c.once && c.futex_hooks)
		fprintf(stderr, "parkwatch: note: --futex-hooks sees only waits that begin while "
			"watching; with --once every start time is an estimate\n");
	idle = load_idle(&c);
	if (!idle)
		return EXIT_USAGE;
	if (c.kstack && !(k = ksyms__load()))
		fprintf(stderr, "parkwatch: kernel symbols unavailable (%s); kernel stacks show "
			"addresses only\n", strerror(errno));
	cr = creators__new();
	if (!cr) {
		rc = EXIT_ENV;
		goto out;
	}
	to = (struct tracer_opts){
		.pids = c.pids, .npids = c.npids, .track_creators = !c.once,
		.futex_hooks = c.futex_hooks && !c.once, .kernel_stacks = c.kstack,
		.max_threads = c.max_threads, .btf_path = c.btf, .verbose = c.verbose,
	};
	err = tracer__open(&to, on_event, cr, &t, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "parkwatch: %s\n", errbuf);
		rc = err == -ESRCH ? EXIT_USAGE : EXIT_ENV;
		goto out;
	}
	so = (struct sweep_opts){
		.threshold_ns = c.threshold_ns, .attach_ns = now_ns(), .show_timed = c.timed,
		.show_idle = c.show_idle, .kernel_stacks = c.kstack, .max_frames = 64,
		.idle = idle, .pids = c.pids, .npids = c.npids,
	};
	if (c.once) {
		err = report_once(t, cr, k, &so, &c, true);
		flagged = err > 0;
		rc = err < 0 ? EXIT_ENV : 0;
		goto out;
	}
	fprintf(stderr, "parkwatch: watching %s (%s), report every %llus\n",
		c.npids ? "the given processes" : "the whole machine",
		c.futex_hooks ? "futex hooks on" : "sweeps only, no per-syscall hooks",
		(unsigned long long)(c.interval_ns / 1000000000ULL));
	{
		uint64_t next = so.attach_ns + c.interval_ns;
		uint64_t end = c.duration_ns ? so.attach_ns + c.duration_ns : UINT64_MAX;

		while (!stop) {
			uint64_t now = now_ns(), until = next < end ? next : end;

			if (now >= end)
				break;
			if (now >= next) {
				err = report_once(t, cr, k, &so, &c, false);
				if (err < 0) {
					rc = EXIT_ENV;
					goto out;
				}
				flagged |= err > 0;
				next += c.interval_ns;
				continue;
			}
			/* Drain clone events until the next report is due;
			 * a signal ends the wait early. */
			err = tracer__poll(t, (until - now) / 1000000 + 1 > 500 ? 500 :
					      (int)((until - now) / 1000000 + 1));
			if (err == -ENOMEM) {
				fprintf(stderr, "parkwatch: out of memory keeping clone events\n");
				rc = EXIT_ENV;
				goto out;
			}
		}
		err = report_once(t, cr, k, &so, &c, true);
		if (err < 0)
			rc = EXIT_ENV;
		flagged |= err > 0;
	}
out:
	if (!rc && flagged && c.fail)
		rc = EXIT_FLAGGED;
	tracer__close(t);
	creators__free(cr);
	idle_list__free(idle);
	ksyms__free(k);
	return rc;
}
