// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Running a mode: one sweep (--once), watching (periodic reports, a final one
 * on a signal or after --duration), or a command (watching it from its first
 * instruction, then the end-of-run snapshot when it calls exit()).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "command.h"
#include "config.h"
#include "threads/creators.h"
#include "report/durations.h"
#include "go/precise.h"
#include "rules/idle.h"
#include "threads/ksyms.h"
#include "threads/sweep.h"
#include "serve/serve.h"
#include "tracer.h"

struct session {
	struct config *c;
	struct tracer *t;
	struct creators *cr;
	struct ksyms *k;
	struct idle_list *idle;
	struct go_watch *go;
	struct go_precise *gp;   /* --go-precise */
	struct server *srv;      /* parkwatch serve */
	struct sweep_opts so;
	FILE *out;
	const char *mode;
	struct command cmd;
	bool has_command;
	bool command_ran;        /* released and exec'd */
	struct pw_end_event end; /* set by the end-of-run probe's event */
	bool end_seen, end_done;
	bool flagged;
};

static volatile sig_atomic_t stop;
static volatile sig_atomic_t reload; /* serve: SIGHUP */
static volatile pid_t forward_to; /* command mode: the command's pid */

/*
 * Ctrl-C on a terminal reaches the whole foreground process group, the
 * command included; a signal sent to parkwatch alone (kill, CI timeouts) is
 * passed on to the command, so that it can end and parkwatch still reports.
 */
static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	if (forward_to > 0 && info->si_code != SI_KERNEL)
		kill(forward_to, sig);
	stop = 1;
}

/* Only there to interrupt the wait for events when the command ends. */
static void on_child(int sig)
{
}

static void on_hup(int sig)
{
	reload = 1;
}

static void install_signals(bool serve)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };

	/* No SA_RESTART: the wait for events returns at once. Installed
	 * before the programs load, since a shell's background job starts
	 * with SIGINT ignored and a Ctrl-C during load must still report. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &(struct sigaction){ .sa_handler = on_child }, NULL);
	if (serve) {
		/* A daemon's SIGHUP means "re-read your files"; a scraper
		 * hanging up must not kill it. */
		sigaction(SIGHUP, &(struct sigaction){ .sa_handler = on_hup }, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_event(void *ctx, uint32_t kind, const void *data)
{
	struct session *s = ctx;

	switch (kind) {
	case PW_EVENT_CLONE:
		return creators__add(s->cr, data);
	case PW_EVENT_EXIT:
		creators__remove(s->cr, ((const struct pw_exit_event *)data)->tid);
		return 0;
	case PW_EVENT_END:
		s->end = *(const struct pw_end_event *)data;
		s->end_seen = true;
		return 0;
	}
	return 0;
}

static int print_report(struct session *s, const struct pw_report *r)
{
	struct print_opts po = { .color = s->c->color && !s->c->output, .weight = s->c->weight };
	int err = 0;

	switch (s->c->format) {
	case FORMAT_TEXT:
		report__print_text(r, &po, s->out);
		break;
	case FORMAT_JSON:
		report__print_json(r, s->out);
		break;
	case FORMAT_FOLDED: /* one profile per run: the final report */
		if (r->final)
			err = report__print_folded(r, &po, s->out);
		break;
	case FORMAT_PPROF:
		if (r->final)
			err = report__print_pprof(r, s->out);
		break;
	}
	fflush(s->out);
	if (err)
		fprintf(stderr, "parkwatch: cannot write the report: %s\n", strerror(-err));
	return err;
}

/* One sweep and its report; 0 or -errno. end: fill in the end of run. */
static int report(struct session *s, const struct sweep_opts *so, bool final,
		  void (*end)(struct session *, struct pw_report *))
{
	struct pw_report r = {
		.mode = s->mode, .futex_hooks = s->c->futex_hooks, .final = final,
		.kernel_stacks = s->c->kstack, .threshold_ns = so->threshold_ns,
	};
	uint64_t start = now_ns();
	int err = sweep__run(s->t, s->cr, s->k, so, &r);

	if (s->srv) {
		/* A daemon keeps serving through a failed sweep: it shows in
		 * /healthz and parkwatch_sweep_errors_total. */
		serve__publish(s->srv, err ? NULL : &r, now_ns() - start, err ? strerror(-err) : NULL);
		report__free(&r);
		return 0;
	}
	if (err) {
		fprintf(stderr, "parkwatch: sweep failed: %s\n", strerror(-err));
	} else {
		if (end)
			end(s, &r);
		s->flagged |= r.nthreads > 0 || r.ngoroutines > 0;
		err = print_report(s, &r);
	}
	report__free(&r);
	return err;
}

static void fill_end(struct session *s, struct pw_report *r)
{
	r->has_end = true;
	r->end_snapshot = true;
	r->exit_status = (int)(s->end.code & 0xff);
	snprintf(r->end_reason, sizeof(r->end_reason),
		 "the command called exit(%d) in thread %u; every other thread still alive then "
		 "is listed", r->exit_status, s->end.tid);
}

/*
 * The command called exit() and the probe stopped it: sweep it as it was,
 * with every other thread counted (threshold 0, timed waits too), then let
 * it go on exiting.
 */
static int end_of_run(struct session *s)
{
	struct sweep_opts so = s->so;
	int err;

	s->end_done = true;
	if (!command__wait_stopped(&s->cmd, 2000))
		fprintf(stderr, "parkwatch: the command did not stop for the end-of-run snapshot; "
			"its threads may have moved on\n");
	so.threshold_ns = 0;
	so.show_timed = true;
	so.end_tgid = s->end.tgid;
	so.end_tid = s->end.tid;
	err = report(s, &so, true, fill_end);
	kill(s->cmd.pid, SIGCONT);
	return err;
}

/* The command ended without the end-of-run probe firing: say why. */
static void fill_no_end(struct session *s, struct pw_report *r)
{
	int code = command__exit_code(&s->cmd);

	r->has_end = true;
	r->exit_status = code;
	if (code > 128)
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "no end-of-run snapshot: the command was killed by signal %d", code - 128);
	else
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "no end-of-run snapshot: the command exited (status %d) without calling "
			 "exit() (e.g. _exit or exit_group directly)", code);
}

/* Milliseconds to wait for events: until the next report, at most 500. */
static int poll_timeout(uint64_t now, uint64_t until)
{
	uint64_t ms = (until - now) / 1000000 + 1;

	return ms > 500 ? 500 : (int)ms;
}

static int reload_rules(struct session *s);

/* Watch (and command, and serve) mode's loop. */
static int watch(struct session *s)
{
	/* serve sweeps at once: /metrics should not wait an interval. */
	uint64_t next = s->so.attach_ns + (s->srv ? 0 : s->c->interval_ns);
	uint64_t end = s->c->duration_ns ? s->so.attach_ns + s->c->duration_ns : UINT64_MAX;
	int err;

	for (;;) {
		uint64_t now = now_ns();

		if (s->end_seen && !s->end_done && (err = end_of_run(s)))
			return err;
		if (s->has_command ? command__poll(&s->cmd) : stop || now >= end)
			break;
		if (reload) {
			reload = 0;
			serve__count_reload(s->srv, !reload_rules(s));
		}
		if (now >= next) {
			if ((err = report(s, &s->so, false, NULL)))
				return err;
			next += s->c->interval_ns;
			/* A daemon behind schedule (sweeps slower than the
			 * interval) skips the missed ticks instead of
			 * sweeping back to back to catch up. */
			if (s->srv && next < now_ns())
				next = now_ns() + s->c->interval_ns;
			continue;
		}
		err = tracer__poll(s->t, poll_timeout(now, next < end ? next : end));
		if (err == -ENOMEM) {
			fprintf(stderr, "parkwatch: out of memory keeping clone events\n");
			return err;
		}
	}
	if (s->srv)
		return 0; /* a daemon's end is not a report */
	if (!s->has_command)
		return report(s, &s->so, true, NULL);
	tracer__poll(s->t, 0); /* an end event still in the ring buffer is too late */
	if (!s->end_done) {
		struct pw_report r = {
			.mode = s->mode, .final = true, .threshold_ns = s->so.threshold_ns,
		};
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r.time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		/* Nothing is left to sweep once the command is gone. */
		fill_no_end(s, &r);
		print_report(s, &r);
		report__free(&r);
	}
	return 0;
}

/* The ignore options again, in their order, into a new set: NULL with a
 * message in err when a file does not parse (the caller keeps the old set). */
static struct ignore_set *build_ignore(const struct config *c, char *err, size_t errlen)
{
	static const char *const origin[] = { "--ignore-top", "--ignore-any",
					      "--ignore-created-by" };
	static const enum ignore_kind kind[] = { IGNORE_TOP, IGNORE_ANY, IGNORE_CREATED_BY };
	struct ignore_set *set = ignore_set__new();
	int e = set ? 0 : -ENOMEM;

	for (int i = 0; !e && i < c->nrule_args; i++) {
		const struct rule_arg *a = &c->rule_args[i];

		if (a->kind == RULE_ARG_FILE)
			e = ignore_set__load_file(set, a->value, err, errlen);
		else if (a->kind == RULE_ARG_BASELINE)
			e = ignore_set__load_baseline(set, a->value, err, errlen);
		else if ((e = ignore_set__add(set, kind[a->kind], a->value, origin[a->kind])))
			snprintf(err, errlen, "invalid ignore rule '%s'", a->value);
	}
	if (e == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (e) {
		ignore_set__free(set);
		return NULL;
	}
	return set;
}

/*
 * serve's SIGHUP: read the ignore rules (files, baselines) and the idle file
 * again. Both are replaced, or neither: on an error the old ones stay and
 * the daemon says why. 0 or -errno.
 */
static int reload_rules(struct session *s)
{
	struct idle_list *idle = NULL;
	struct ignore_set *ign;
	char err[512];
	int bad_line = 0;

	if (s->c->idle_file) {
		idle = idle_list__load(s->c->idle_file, &bad_line);
		if (!idle) {
			if (bad_line)
				fprintf(stderr, "parkwatch: reload: %s:%d: expected one function "
					"name per line; keeping the previous rules\n",
					s->c->idle_file, bad_line);
			else
				fprintf(stderr, "parkwatch: reload: cannot read %s: %s; keeping "
					"the previous rules\n", s->c->idle_file, strerror(errno));
			return -EINVAL;
		}
	}
	ign = build_ignore(s->c, err, sizeof(err));
	if (!ign) {
		fprintf(stderr, "parkwatch: reload: %s; keeping the previous rules\n", err);
		idle_list__free(idle);
		return -EINVAL;
	}
	if (idle) {
		idle_list__free(s->idle);
		s->idle = idle;
		s->so.idle = idle;
	}
	ignore_set__free(s->c->ignore);
	s->c->ignore = s->so.ignore = ign;
	fprintf(stderr, "parkwatch: reload: ignore rules and idle list read again\n");
	return 0;
}

static int load_idle(struct session *s)
{
	const char *path = s->c->idle_file;
	int bad_line;

	if (!path) {
		s->idle = idle_list__default();
		return s->idle ? 0 : -ENOMEM;
	}
	s->idle = idle_list__load(path, &bad_line);
	if (!s->idle && bad_line)
		fprintf(stderr, "parkwatch: %s:%d: expected one function name per line\n",
			path, bad_line);
	else if (!s->idle)
		fprintf(stderr, "parkwatch: cannot read %s: %s\n", path, strerror(errno));
	return s->idle ? 0 : -EINVAL;
}

/* Everything before the programs attach; returns an exit code or 0. */
static int prepare(struct session *s)
{
	struct config *c = s->c;
	char err[512];

	if (load_idle(s))
		return EXIT_USAGE;
	if (c->format == FORMAT_PPROF && !c->output && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "parkwatch: --format pprof writes a binary profile: give -o FILE "
			"or redirect stdout\n");
		return EXIT_USAGE;
	}
	s->out = c->output ? fopen(c->output, "w") : stdout;
	if (!s->out) {
		fprintf(stderr, "parkwatch: cannot write %s: %s\n", c->output, strerror(errno));
		return EXIT_USAGE;
	}
	if (c->once && c->futex_hooks)
		fprintf(stderr, "parkwatch: note: --futex-hooks sees only waits that begin while "
			"watching; with --once every start time is an estimate\n");
	if (c->once && c->go_precise)
		fprintf(stderr, "parkwatch: note: --go-precise sees only parks that happen while "
			"watching; with --once no park time is precise\n");
	if (c->kstack && !(s->k = ksyms__load()))
		fprintf(stderr, "parkwatch: kernel symbols unavailable (%s); kernel stacks show "
			"addresses only\n", strerror(errno));
	s->cr = creators__new();
	s->go = c->no_goroutines ? NULL : go_watch__new();
	if (!s->cr || (!c->no_goroutines && !s->go))
		return EXIT_ENV;
	if (c->command) {
		/* The child exists (held before exec) so its pid can be the
		 * filter the programs are loaded with. */
		if (command__spawn(&s->cmd, c->command, err, sizeof(err))) {
			fprintf(stderr, "parkwatch: %s\n", err);
			return EXIT_NOT_FOUND;
		}
		s->has_command = true;
		c->pids[0] = s->cmd.pid;
		c->npids = 1;
	}
	return 0;
}

int session__run(struct config *c)
{
	struct session s = {
		.c = c, .mode = c->serve ? "serve" : c->command ? "command" : c->once ? "once" : "watch",
	};
	struct tracer_opts to;
	char errbuf[512], every[32];
	int err, rc;

	install_signals(c->serve);
	rc = prepare(&s);
	if (rc)
		goto out;
	to = (struct tracer_opts){
		.pids = c->pids, .npids = c->npids, .track_creators = !c->once,
		.futex_hooks = c->futex_hooks && !c->once, .kernel_stacks = c->kstack,
		.max_threads = c->max_threads, .btf_path = c->btf, .verbose = c->verbose,
		.command_pid = s.has_command ? s.cmd.pid : 0, .command_exe = s.cmd.exe,
	};
	err = tracer__open(&to, on_event, &s, &s.t, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "parkwatch: %s\n", errbuf);
		rc = err == -ESRCH ? EXIT_USAGE : EXIT_ENV;
		goto out;
	}
	if (c->go_precise) {
		struct go_precise_opts gpo = {
			.pids = c->pids, .npids = c->npids, .btf_path = c->btf,
			.max_goroutines = 1u << 17, .verbose = c->verbose,
		};

		err = go_precise__open(&gpo, &s.gp, errbuf, sizeof(errbuf));
		if (err) {
			fprintf(stderr, "parkwatch: %s\n", errbuf);
			rc = err == -ENOEXEC ? EXIT_USAGE : EXIT_ENV;
			goto out;
		}
		go_watch__set_precise(s.go, s.gp);
	}
	s.so = (struct sweep_opts){
		.threshold_ns = c->threshold_ns, .attach_ns = now_ns(), .show_timed = c->timed,
		.show_idle = c->show_idle, .kernel_stacks = c->kstack, .max_frames = 64,
		.idle = s.idle, .ignore = c->ignore, .go = s.go, .pids = c->pids,
		.npids = c->npids,
	};
	if (c->once) {
		rc = report(&s, &s.so, true, NULL) ? EXIT_ENV : 0;
		goto out;
	}
	if (c->serve) {
		struct serve_opts so = {
			.listen = c->listen_given ? &c->listen : NULL, .listen_len = c->listen_len,
			.prom_file = c->prom_file, .max_series = c->max_series,
		};

		err = serve__open(&so, &s.srv, errbuf, sizeof(errbuf));
		if (err) {
			fprintf(stderr, "parkwatch: %s\n", errbuf);
			rc = EXIT_ENV;
			goto out;
		}
	}
	format_duration(c->interval_ns, every, sizeof(every));
	fprintf(stderr, "parkwatch: watching %s (%s), %s every %s\n",
		s.has_command ? "the command" : c->npids ? "the given processes" : "the whole machine",
		c->futex_hooks ? "futex hooks on" : c->go_precise ? "Go runtime probes on" :
		"sweeps only, no per-syscall hooks", c->serve ? "sweep" : "report", every);
	if (s.has_command) {
		if (command__release(&s.cmd, errbuf, sizeof(errbuf))) {
			fprintf(stderr, "parkwatch: %s\n", errbuf);
			rc = EXIT_NOT_FOUND;
			goto out;
		}
		forward_to = s.cmd.pid;
		s.command_ran = true;
	}
	rc = watch(&s) ? EXIT_ENV : 0;
out:
	if (s.has_command) {
		if (s.end_seen)
			kill(s.cmd.pid, SIGCONT); /* never leave it stopped */
		command__abort(&s.cmd);      /* a child never released */
		command__wait(&s.cmd);
		forward_to = 0;
		if (s.command_ran && s.cmd.exited && command__exit_code(&s.cmd))
			rc = command__exit_code(&s.cmd); /* its failure passes through */
	}
	if (!rc && s.flagged && c->fail)
		rc = EXIT_FLAGGED;
	go_precise__print_stats(s.gp, c->verbose, stderr);
	go_precise__close(s.gp);
	serve__close(s.srv);
	tracer__close(s.t);
	creators__free(s.cr);
	go_watch__free(s.go);
	idle_list__free(s.idle);
	ksyms__free(s.k);
	if (s.out && s.out != stdout)
		fclose(s.out);
	return rc;
}
