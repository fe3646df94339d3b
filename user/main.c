// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* parkwatch: command line, modes and exit codes. */
#include <argp.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "report/durations.h"
#include "report/escape.h"
#include "threads/procstat.h"
#include "serve/serve.h"


const char *argp_program_version = "parkwatch " PW_VERSION;

static const char doc[] =
	"parkwatch — find threads parked forever, without stopping or waking them.\n"
	"\n"
	"USAGE: parkwatch [OPTIONS]              watch the whole machine\n"
	"       parkwatch --once [OPTIONS]       one sweep now\n"
	"       parkwatch -p PID [-p PID] [...]  only these processes\n"
	"       parkwatch [OPTIONS] -- COMMAND [ARGS]\n"
	"                                        run COMMAND traced from its first\n"
	"                                        instruction; report what it leaves\n"
	"                                        behind when it calls exit()\n"
	"       parkwatch serve [--listen ADDR:PORT] [--prom-file PATH] [OPTIONS]\n"
	"                                        a daemon: sweep every --interval and\n"
	"                                        serve /metrics (Prometheus), /report\n"
	"                                        (JSON) and /healthz\n"
	"\n"
	"EXAMPLES:\n"
	"  parkwatch --once                 threads parked 10s or more, machine-wide\n"
	"  parkwatch --once -p 1234 -t 2s   threads of 1234 parked 2s or more\n"
	"  parkwatch -p 1234 -i 30s -d 5m   report every 30s for 5 minutes\n"
	"  parkwatch --once --json --fail   for scripts: JSON, exit 1 if anything is parked\n"
	"  parkwatch --fail -- ./tests      CI: fail when the tests leave threads behind\n"
	"  parkwatch --once -p 1234 --fail-on leaked\n"
	"                                   exit 1 only for goroutines proved leaked\n"
	"  parkwatch serve -i 30s           metrics on 127.0.0.1:9477 for Prometheus\n"
	"\n"
	"EXIT STATUS:\n"
	"  0  nothing flagged (or flagged without --fail)\n"
	"     command mode: a failing command's own exit status (128+N if killed\n"
	"     by signal N; 127 if it could not be run) passes through first\n"
	"  1  something flagged, with --fail\n"
	"  2  usage error (bad option or value, a -p PID that does not exist or is\n"
	"     a kernel thread, an input file that is malformed or past its limit)\n"
	"  3  environment error (not root / no CAP_BPF+CAP_PERFMON, no kernel BTF,\n"
	"     BPF load or attach refused, e.g. by lockdown; out of memory; a report\n"
	"     that could not be written)\n"
	"\v"
	"Durations: 500ms, 10s, 2m, 1h, or plain seconds. Idle threads (runtime service\n"
	"threads, pool workers, event loops at rest) are counted, not listed: see\n"
	"--show-idle, --idle-file and IDLE RULES in parkwatch(8).\n";

enum {
	OPT_FUTEX_HOOKS = 0x100, OPT_TIMED, OPT_SHOW_IDLE, OPT_IDLE_FILE, OPT_JSON,
	OPT_FAIL, OPT_NO_COLOR, OPT_MAX_THREADS, OPT_BTF, OPT_FORMAT, OPT_WEIGHT,
	OPT_NO_GOROUTINES, OPT_GO_PRECISE, OPT_IGNORE_TOP, OPT_IGNORE_ANY, OPT_IGNORE_CREATED_BY, OPT_IGNORE_FILE, OPT_BASELINE,
	OPT_SAMPLE, OPT_LISTEN, OPT_PROM_FILE, OPT_MAX_SERIES, OPT_PROVE, OPT_FAIL_ON,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Watch only this process (repeatable)", 0 },
	{ "once", '1', NULL, 0, "One sweep now, print the report, exit", 0 },
	{ "threshold", 't', "DUR", 0, "Flag threads parked at least DUR (default 10s)", 0 },
	{ "interval", 'i', "DUR", 0,
	  "Watch mode: report every DUR; serve: sweep every DUR (default 10s)", 0 },
	{ "duration", 'd', "DUR", 0, "Watch mode: stop after DUR (default: until Ctrl-C)", 0 },
	{ "sample", OPT_SAMPLE, "DUR", 0,
	  "Watch mode: look every DUR between reports, for spinning and growing (default 1s "
	  "with -p, else the interval)", 0 },
	{ "futex-hooks", OPT_FUTEX_HOOKS, NULL, 0,
	  "Hook futex syscall entry for exact wait start times (costs every futex call)", 1 },
	{ "timed", OPT_TIMED, NULL, 0, "Also flag waits that have a timeout", 1 },
	{ "show-idle", OPT_SHOW_IDLE, NULL, 0, "Also list idle threads (verdict idle, with the reason)", 1 },
	{ "idle-file", OPT_IDLE_FILE, "FILE", 0,
	  "Replace the idle rules: FUNC [comm=NAME] [syscall=NAME] [REASON]", 1 },
	{ "kernel-stack", 'k', NULL, 0, "Add each flagged thread's kernel stack", 1 },
	{ "no-goroutines", OPT_NO_GOROUTINES, NULL, 0,
	  "Threads only: do not read the goroutines of Go processes", 1 },
	{ "go-precise", OPT_GO_PRECISE, NULL, 0,
	  "Exact goroutine park times from uprobes on the Go runtime's park/ready/exit "
	  "(needs -p; costs ~1 us per goroutine park)", 1 },
	{ "prove", OPT_PROVE, NULL, 0,
	  "Go: prove leaks by a reachability pass over the heap, as Go's goroutineleak "
	  "profile does (verdict leaked, with evidence; reads the whole heap per report)", 1 },
	{ "format", OPT_FORMAT, "FMT", 0,
	  "text (default), json, folded or pprof; folded and pprof print the final report only", 2 },
	{ "json", OPT_JSON, NULL, 0, "Same as --format json: one document per report", 2 },
	{ "output", 'o', "FILE", 0, "Write reports to FILE instead of stdout", 2 },
	{ "weight", OPT_WEIGHT, "W", 0, "Folded output weight: count (default) or parked (ns)", 2 },
	{ "ignore-top", OPT_IGNORE_TOP, "FUNC", 0,
	  "Ignore threads/goroutines whose innermost named frame is FUNC (repeatable)", 4 },
	{ "ignore-any", OPT_IGNORE_ANY, "FUNC", 0, "Ignore threads/goroutines with FUNC anywhere in the stack", 4 },
	{ "ignore-created-by", OPT_IGNORE_CREATED_BY, "FUNC", 0,
	  "Ignore threads/goroutines created from FUNC (pthread_create/clone/go site)", 4 },
	{ "ignore-file", OPT_IGNORE_FILE, "FILE", 0,
	  "Ignore rules from FILE: 'top F', 'any F', 'created-by F' per line, # comments", 4 },
	{ "baseline", OPT_BASELINE, "REPORT", 0,
	  "Ignore what an earlier JSON report already listed (flag only what was added)", 4 },
	{ "fail", OPT_FAIL, NULL, 0, "Exit 1 when anything was flagged", 2 },
	{ "fail-on", OPT_FAIL_ON, "VERDICTS", 0,
	  "Like --fail, only for these verdicts: leaked, deadlocked, growing, spinning, "
	  "parked (comma-separated); leaked turns on --prove", 2 },
	{ "no-color", OPT_NO_COLOR, NULL, 0, "No colour (also when NO_COLOR is set)", 2 },
	{ "max-threads", OPT_MAX_THREADS, "N", 0,
	  "Threads the creator map can hold (default 65536)", 3 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF file (default /sys/kernel/btf/vmlinux)", 3 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages and progress on stderr", 3 },
	{ "listen", OPT_LISTEN, "ADDR", 0,
	  "serve: listen on ADDR:PORT, [V6ADDR]:PORT or :PORT (loopback); port 0 picks a "
	  "free one (default " SERVE_DEFAULT_LISTEN ")", 5 },
	{ "prom-file", OPT_PROM_FILE, "PATH", 0,
	  "serve: also write the metrics to PATH atomically after each sweep (alone: no "
	  "HTTP server)", 5 },
	{ "max-series", OPT_MAX_SERIES, "N", 0,
	  "serve: at most N per-process series (default 5000; the rest are counted as "
	  "dropped)", 5 },
	{},
};

/*
 * An argument as an error message quotes it: escaped (it may come from a
 * script fed hostile data) and cut to its first bytes (a 10 MB function
 * name is not echoed whole).
 */
static const char *echo_arg(const char *arg)
{
	static struct escape_buf esc;

	return escape_head(&esc, arg, 48);
}

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

static int parse_pid(const char *s, pid_t *out, uint64_t *start)
{
	struct proc_stat st;
	long v, tgid;
	char *end;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 0x3fffffff)
		return -EINVAL;
	tgid = tgid_of(v);
	if (tgid <= 0)
		return -ESRCH;
	/* Kernel threads have no user stack and no futex waits of their
	 * own: nothing parkwatch reports applies to them. */
	*start = 0;
	if (!proc_stat_read(tgid, &st)) {
		if (proc_stat_is_kthread(&st))
			return -EPERM;
		*start = st.start_ticks;
	}
	if (tgid != v)
		fprintf(stderr, "parkwatch: %ld is a thread of process %ld: watching process %ld\n",
			v, tgid, tgid);
	*out = tgid;
	return 0;
}

static int remember_rule(struct config *c, enum rule_arg_kind kind, const char *value)
{
	struct rule_arg *a = realloc(c->rule_args, (c->nrule_args + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	a[c->nrule_args++] = (struct rule_arg){ kind, value };
	c->rule_args = a;
	return 0;
}

/* parkwatch serve: what it cannot be combined with, and its default
 * address. A message and false when the combination makes no sense. */
static bool check_serve(struct config *c)
{
	const char *no = NULL;

	if (!c->serve) {
		if (c->listen_given || c->prom_file || c->max_series != SERVE_DEFAULT_MAX_SERIES)
			fprintf(stderr, "parkwatch: --listen, --prom-file and --max-series are "
				"options of 'parkwatch serve'\n");
		return !(c->listen_given || c->prom_file ||
			 c->max_series != SERVE_DEFAULT_MAX_SERIES);
	}
	if (c->command)
		no = "a command";
	else if (c->once)
		no = "--once";
	else if (c->format != FORMAT_TEXT || c->output || c->weight != WEIGHT_COUNT)
		no = "--format, --json, -o or --weight (it serves JSON at /report)";
	else if (c->fail)
		no = "--fail";
	else if (c->futex_hooks || c->go_precise)
		no = "--futex-hooks or --go-precise (it sweeps only, no per-event hooks)";
	if (no) {
		fprintf(stderr, "parkwatch: serve cannot be combined with %s\n", no);
		return false;
	}
	if (c->prom_file) {
		char *dir = strdup(c->prom_file);

		if (dir && access(dirname(dir), W_OK | X_OK)) {
			fprintf(stderr, "parkwatch: cannot write --prom-file %s: %s: %s\n",
				c->prom_file, dir, strerror(errno));
			free(dir);
			return false;
		}
		free(dir);
	}
	/* Loopback unless told otherwise; --prom-file alone is the
	 * textfile-collector set-up, without a port. */
	if (!c->listen_given && !c->prom_file) {
		char err[256];

		serve__parse_listen(SERVE_DEFAULT_LISTEN, &c->listen, &c->listen_len, err,
				    sizeof(err));
		c->listen_given = true;
	}
	return true;
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
		err = parse_pid(arg, &c->pids[c->npids], &c->pid_start[c->npids]);
		if (err == -ESRCH)
			argp_failure(state, EXIT_USAGE, 0, "no such process: %s", echo_arg(arg));
		else if (err == -EPERM)
			argp_failure(state, EXIT_USAGE, 0, "%s is a kernel thread: parkwatch watches "
				     "user processes (their threads and goroutines)", echo_arg(arg));
		else if (err)
			argp_error(state, "invalid PID: '%s'", echo_arg(arg));
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
			argp_error(state, "invalid duration '%s' (use e.g. 500ms, 10s, 2m, 1h)",
				   echo_arg(arg));
		if (key == 'i' && v < 10000000ULL)
			argp_error(state, "interval must be at least 10ms");
		/* 0 would read as "no time at all" or as "no limit": neither
		 * is what everyone means, so it is refused. */
		if (key == 'd' && !v)
			argp_error(state, "--duration must be more than 0 (leave it out to watch "
				   "until Ctrl-C)");
		*(key == 't' ? &c->threshold_ns : key == 'i' ? &c->interval_ns : &c->duration_ns) = v;
		break;
	case OPT_SAMPLE:
		if (parse_duration_ns(arg, &v) || v < 10000000ULL)
			argp_error(state, "invalid --sample '%s' (at least 10ms, e.g. 500ms, 1s)", arg);
		c->sample_ns = v;
		break;
	case OPT_FUTEX_HOOKS: c->futex_hooks = true; break;
	case OPT_TIMED: c->timed = true; break;
	case OPT_SHOW_IDLE: c->show_idle = true; break;
	case OPT_IDLE_FILE: c->idle_file = arg; break;
	case 'k': c->kstack = true; break;
	case OPT_NO_GOROUTINES: c->no_goroutines = true; break;
	case OPT_GO_PRECISE: c->go_precise = true; break;
	case OPT_JSON: c->format = FORMAT_JSON; break;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			c->format = FORMAT_TEXT;
		else if (!strcmp(arg, "json"))
			c->format = FORMAT_JSON;
		else if (!strcmp(arg, "folded"))
			c->format = FORMAT_FOLDED;
		else if (!strcmp(arg, "pprof"))
			c->format = FORMAT_PPROF;
		else
			argp_error(state, "unknown format '%s' (text, json, folded, pprof)",
				   echo_arg(arg));
		break;
	case OPT_WEIGHT:
		if (!strcmp(arg, "count"))
			c->weight = WEIGHT_COUNT;
		else if (!strcmp(arg, "parked"))
			c->weight = WEIGHT_PARKED_NS;
		else
			argp_error(state, "unknown weight '%s' (count, parked)", echo_arg(arg));
		break;
	case 'o': c->output = arg; break;
	case OPT_IGNORE_TOP:
	case OPT_IGNORE_ANY:
	case OPT_IGNORE_CREATED_BY:
		if (remember_rule(c, key == OPT_IGNORE_TOP ? RULE_ARG_TOP : key == OPT_IGNORE_ANY ?
				  RULE_ARG_ANY : RULE_ARG_CREATED_BY, arg))
			argp_failure(state, EXIT_ENV, ENOMEM, "ignore rules");
		err = ignore_set__add(c->ignore, key == OPT_IGNORE_TOP ? IGNORE_TOP :
				      key == OPT_IGNORE_ANY ? IGNORE_ANY : IGNORE_CREATED_BY, arg,
				      key == OPT_IGNORE_TOP ? "--ignore-top" :
				      key == OPT_IGNORE_ANY ? "--ignore-any" : "--ignore-created-by");
		if (err == -ENOMEM)
			argp_failure(state, EXIT_ENV, 0, "out of memory");
		else if (err == -EFBIG)
			argp_error(state, "more than %d ignore rules", IGNORE_MAX_RULES);
		else if (err == -ENAMETOOLONG)
			argp_error(state, "function name of %zu bytes, at most %d: '%s'", strlen(arg),
				   RULE_MAX_FUNCTION, echo_arg(arg));
		else if (err)
			argp_error(state, "invalid ignore rule '%s'", echo_arg(arg));
		break;
	case OPT_IGNORE_FILE:
	case OPT_BASELINE: {
		char msg[512];

		if (remember_rule(c, key == OPT_IGNORE_FILE ? RULE_ARG_FILE : RULE_ARG_BASELINE, arg))
			argp_failure(state, EXIT_ENV, ENOMEM, "ignore rules");
		err = (key == OPT_IGNORE_FILE ? ignore_set__load_file : ignore_set__load_baseline)(
			c->ignore, arg, msg, sizeof(msg));
		/* A limit or a malformed file is the caller's to fix (2); out
		 * of memory within the limits is the machine's (3). */
		if (err)
			argp_failure(state, err == -ENOMEM ? EXIT_ENV : EXIT_USAGE, 0, "%s", msg);
		break;
	}
	case OPT_FAIL: c->fail = true; break;
	case OPT_PROVE: c->prove = true; break;
	case OPT_FAIL_ON:
		if (report__parse_verdicts(arg, &c->fail_on))
			argp_failure(state, EXIT_USAGE, 0, "--fail-on: expected verdicts among "
				     "leaked,deadlocked,growing,spinning,parked, not '%s'",
				     echo_arg(arg));
		c->fail = true;
		if (c->fail_on & REPORT_VERDICT_LEAKED)
			c->prove = true;
		break;
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
	case OPT_LISTEN: {
		char err[256];

		if (serve__parse_listen(arg, &c->listen, &c->listen_len, err, sizeof(err)))
			argp_error(state, "%s", err);
		c->listen_given = true;
		break;
	}
	case OPT_PROM_FILE:
		if (!*arg)
			argp_error(state, "--prom-file needs a path");
		c->prom_file = arg;
		break;
	case OPT_MAX_SERIES:
		errno = 0;
		v = strtoull(arg, &end, 10);
		if (errno || *end || end == arg || v > 10000000)
			argp_error(state, "--max-series must be a number from 0 to 10000000");
		c->max_series = v;
		break;
	case ARGP_KEY_ARG:
		if (!strcmp(arg, "serve"))
			argp_error(state, "'serve' goes first: parkwatch serve [OPTIONS]");
		argp_error(state, "unexpected argument '%s' (a command to run goes after --)",
			   echo_arg(arg));
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config c = {
		.threshold_ns = 10000000000ULL, .interval_ns = 10000000000ULL,
		.max_threads = 65536, .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"),
		.max_series = SERVE_DEFAULT_MAX_SERIES,
	};
	const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	int nopts = argc, rc;

	/* Everything after "--" is the command, untouched by option parsing
	 * (argp would otherwise take its "-l" for one of ours). */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			nopts = i;
			if (i + 1 < argc)
				c.command = argv + i + 1;
			break;
		}
	/* "parkwatch serve ...": a subcommand, then the usual options. */
	if (nopts > 1 && !strcmp(argv[1], "serve")) {
		c.serve = true;
		argv[1] = argv[0];
		argv++;
		argc--;
		nopts--;
	}
	argp_err_exit_status = EXIT_USAGE;
	c.ignore = ignore_set__new();
	if (!c.ignore || argp_parse(&argp, nopts, argv, 0, NULL, &c)) {
		ignore_set__free(c.ignore);
		free(c.rule_args);
		return EXIT_USAGE;
	}
	if (!check_serve(&c)) {
		rc = EXIT_USAGE;
	} else if (nopts < argc && !c.command) {
		fprintf(stderr, "parkwatch: nothing to run after --\n");
		rc = EXIT_USAGE;
	} else if (c.command && (c.npids || c.once || c.duration_ns)) {
		fprintf(stderr, "parkwatch: a command cannot be combined with -p, --once or "
			"--duration (it runs until the command ends)\n");
		rc = EXIT_USAGE;
	} else if (c.go_precise && (!c.npids || c.no_goroutines)) {
		/* The probes are per executable, filtered by tgid: they need
		 * to know the processes up front. */
		fprintf(stderr, "parkwatch: %s\n", c.no_goroutines ?
			"--go-precise and --no-goroutines contradict each other" :
			"--go-precise needs -p PID (the Go processes to probe)");
		rc = EXIT_USAGE;
	} else {
		rc = session__run(&c);
	}
	ignore_set__free(c.ignore);
	free(c.rule_args);
	return rc;
}
