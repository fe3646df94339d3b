/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the command line asked for: parsed by main.c, run by session.c. */
#ifndef PW_CONFIG_H
#define PW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "rules/ignore.h"
#include "report/report.h"

#define EXIT_FLAGGED 1
#define EXIT_USAGE 2
#define EXIT_ENV 3
#define EXIT_NOT_FOUND 127 /* command mode: the command could not be run */
#define MAX_PIDS 64
#define PW_VERSION "0.1.0"

/* An ignore option as given, in order: serve re-reads them on SIGHUP. */
enum rule_arg_kind { RULE_ARG_TOP, RULE_ARG_ANY, RULE_ARG_CREATED_BY, RULE_ARG_FILE,
		     RULE_ARG_BASELINE };
struct rule_arg {
	enum rule_arg_kind kind;
	const char *value;
};

struct config {
	pid_t pids[MAX_PIDS];
	uint64_t pid_start[MAX_PIDS]; /* identity: start ticks when -p was parsed */
	int npids;
	char **command;      /* command mode: argv after "--", NULL otherwise */
	bool once, futex_hooks, timed, show_idle, kstack, fail, color, verbose;
	bool no_goroutines;
	bool go_precise;     /* --go-precise: uprobes on the Go runtime (needs -p) */
	bool prove;          /* --prove: Go heap reachability pass (go/reach.h) */
	unsigned fail_on;    /* --fail-on: REPORT_VERDICT_* mask, 0: any verdict */
	enum report_format format;
	enum folded_weight weight;
	const char *output;  /* -o FILE, NULL for stdout */
	struct ignore_set *ignore;
	uint64_t threshold_ns, interval_ns, duration_ns;
	uint64_t sample_ns;  /* --sample: looks between reports (0: the default) */
	const char *idle_file, *btf;
	uint32_t max_threads;
	struct rule_arg *rule_args; /* every ignore option, for reloads */
	int nrule_args;
	/* parkwatch serve */
	bool serve;
	bool listen_given;          /* --listen (else the default, unless
				     * only --prom-file is given) */
	struct sockaddr_storage listen;
	socklen_t listen_len;
	const char *prom_file;
	int max_series;
};

/* Run the configured mode; returns the process exit code. */
int session__run(struct config *c);

#endif
