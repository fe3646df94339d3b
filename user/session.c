// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Running a mode: one sweep (--once), watching (periodic reports, a final one
 * on a signal or after --duration), or a command (watching it from its first
 * instruction, then the end-of-run snapshot when it calls exit()).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "session_priv.h"
#include "descendants.h"
#include "config.h"
#include "threads/creators.h"
#include "report/durations.h"
#include "go/precise.h"
#include "rules/idle.h"
#include "threads/ksyms.h"
#include "threads/growth.h"
#include "threads/spin.h"
#include "threads/sweep.h"
#include "serve/serve.h"
#include "threads/targets.h"
#include "output.h"
#include "tracer.h"

static volatile sig_atomic_t stop;
static volatile pid_t forward_to; /* command mode: the command's pid */
static volatile sig_atomic_t reload; /* serve: SIGHUP */

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

uint64_t session__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}


static bool test_name(void *ctx, uint32_t tgid, uint64_t goid, char *buf, size_t len)
{
	return tracer__test_name(ctx, tgid, goid, buf, len);
}

static int on_event(void *ctx, uint32_t kind, const void *data)
{
	struct session *s = ctx;

	switch (kind) {
	case PW_EVENT_CLONE: {
		const struct pw_clone_event *ev = data;

		if (s->tree && (ev->flags & PW_THREAD_IS_PROCESS))
			descendants__on_fork(s->tree, ev->child_tgid);
		return creators__add(s->cr, data);
	}
	case PW_EVENT_EXIT:
		creators__remove(s->cr, ((const struct pw_exit_event *)data)->tid);
		return 0;
	case PW_EVENT_END:
		if (s->nends < (int)(sizeof(s->ends) / sizeof(s->ends[0])))
			s->ends[s->nends++] = *(const struct pw_end_event *)data;
		else if (!(((const struct pw_end_event *)data)->flags & PW_END_NOT_STOPPED))
			kill(((const struct pw_end_event *)data)->tgid, SIGCONT); /* never left stopped */
		return 0;
	case PW_EVENT_EXEC:
		if (s->tree)
			descendants__on_exec(s->tree, data);
		return 0;
	case PW_EVENT_PROC_END:
		session__proc_ended(s, data);
		return 0;
	case PW_EVENT_EXEC_LOST:
		session__exec_lost(s, data);
		return 0;
	}
	return 0;
}

int session__print(struct session *s, const struct pw_report *r)
{
	struct print_opts po = { .color = s->c->color && !s->c->output, .weight = s->c->weight };
	FILE *f = s->out.f;
	int err = 0;

	errno = 0;
	switch (s->c->format) {
	case FORMAT_TEXT:
		report__print_text(r, &po, f);
		break;
	case FORMAT_JSON:
		report__print_json(r, f);
		break;
	case FORMAT_FOLDED: /* one profile per run: the final report */
		if (r->final)
			err = report__print_folded(r, &po, f);
		break;
	case FORMAT_PPROF:
		if (r->final)
			err = report__print_pprof(r, f);
		break;
	}
	/* Every write is checked here: the printers' stdio calls leave the
	 * stream's error flag when one fails (a full disk, /dev/full). */
	if (!err)
		err = output__flush(&s->out);
	if (err)
		fprintf(stderr, "parkwatch: cannot write the report to %s: %s\n", s->out.name,
			strerror(-err));
	else if (r->final)
		s->final_written = true;
	return err;
}

/*
 * One sweep and its report; 0 or -errno. end: fill in the end of run.
 * quiet: print it only if something was flagged (a descendant's end).
 */
int session__report(struct session *s, const struct sweep_opts *so, bool final, bool quiet,
		    void (*end)(struct session *, struct pw_report *))
{
	struct pw_report r = {
		.mode = s->mode, .futex_hooks = s->c->futex_hooks, .final = final,
		.kernel_stacks = s->c->kstack, .threshold_ns = so->threshold_ns,
	};
	uint64_t start = session__now_ns();
	int err = sweep__run(s->t, s->cr, s->k, so, &r);

	if (!err)
		err = growth__observe(s->growth, &r);
	if (!err && so->keep_idle)
		err = report__fold_idle(&r, so->show_idle);
	if (s->srv) {
		/* A daemon keeps serving through a failed sweep: it shows in
		 * /healthz and parkwatch_sweep_errors_total. */
		serve__publish(s->srv, err ? NULL : &r, session__now_ns() - start,
			       err ? strerror(-err) : NULL);
		report__free(&r);
		return 0;
	}
	if (err) {
		fprintf(stderr, "parkwatch: sweep failed: %s\n", strerror(-err));
	} else {
		bool found = r.nthreads > 0 || r.ngoroutines > 0;

		if (end)
			end(s, &r);
		/* Command mode judges what is left at each exit; its periodic
		 * reports (first looks at tests still running) inform only. */
		if (!s->has_command || end)
			s->flagged |= report__flagged(&r, s->c->fail_on);
		if (!quiet || found)
			err = session__print(s, &r);
	}
	report__free(&r);
	return err;
}


/* Milliseconds to wait for events: until the next report, at most 500. */
static int poll_timeout(uint64_t now, uint64_t until)
{
	uint64_t ms = (until - now) / 1000000 + 1;

	return ms > 500 ? 500 : (int)ms;
}

/*
 * A look between reports: the same sweep, kept only for the history that
 * spinning and growing need (goroutine classes, thread sites), so that
 * `-d 5s` decides them whatever the report interval is. Printed only when
 * it found a -p target gone: that is said at once, and only once.
 */
static int sample(struct session *s)
{
	struct pw_report r = {
		.mode = s->mode, .futex_hooks = s->c->futex_hooks, .kernel_stacks = s->c->kstack,
		.threshold_ns = s->so.threshold_ns,
	};
	bool target_gone = false;
	int err;

	/* --prove reads the whole heap: at reports only, not at every look */
	if (s->go)
		go_watch__set_prove(s->go, false);
	err = sweep__run(s->t, s->cr, s->k, &s->so, &r);
	if (s->go)
		go_watch__set_prove(s->go, s->c->prove);

	if (!err)
		err = growth__observe(s->growth, &r);
	if (!err && s->so.keep_idle)
		err = report__fold_idle(&r, s->so.show_idle);
	for (int i = 0; !err && i < r.nexited; i++)
		target_gone |= r.exited[i].reason != PW_EXIT_DURING_SWEEP;
	if (!err && target_gone && !s->srv) { /* a daemon publishes at its next sweep */
		s->flagged |= report__flagged(&r, s->c->fail_on);
		err = session__print(s, &r);
	}
	report__free(&r);
	return err;
}

/* How often to look between reports: --sample, else each second when the
 * targets are known (-p: cheap), else only at each report. Command mode
 * judges what is left at exit: its periodic reports need no looks. */
static uint64_t sample_every(const struct config *c)
{
	uint64_t v = c->sample_ns ? c->sample_ns :
		     c->npids && !c->command ? 1000000000ULL : c->interval_ns;

	return v < c->interval_ns ? v : c->interval_ns;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Watch (and command) mode's loop. */
static int watch(struct session *s)
{
	/* serve sweeps at once: /metrics should not wait an interval. */
	uint64_t next = s->so.attach_ns + (s->srv ? 0 : s->c->interval_ns);
	uint64_t end = s->c->duration_ns ? s->so.attach_ns + s->c->duration_ns : UINT64_MAX;
	uint64_t every = sample_every(s->c), next_look = s->so.attach_ns + every;
	int err;

	for (;;) {
		uint64_t now = session__now_ns();

		if (s->nends && (err = session__handle_ends(s)))
			return err;
		if (s->has_command ? command__poll(&s->cmd) : stop || now >= end)
			break;
		/* A -p target gone: said in a report at once, not at the next
		 * interval (a look that finds it gone prints too); with none
		 * left, the run is over. */
		bool swept = true;

		if (reload) {
			reload = 0;
			serve__count_reload(s->srv, !session__reload_rules(s));
		}
		if (now >= next || targets__any_changed(s->so.targets)) {
			if ((!s->tree || session__target_tree(s)) &&
			    (err = session__report(s, &s->so, false, false, NULL)))
				return err;
			/* What a burst of clone events took (their creator
			 * stacks, freed as the threads ended) goes back to the
			 * system instead of staying as malloc's high-water mark. */
			malloc_trim(0);
			if (now >= next)
				next += s->c->interval_ns;
			/* A daemon behind schedule (sweeps slower than the
			 * interval) skips the missed ticks instead of
			 * sweeping back to back to catch up. */
			if (s->srv && next < session__now_ns())
				next = session__now_ns() + s->c->interval_ns;
			next_look = session__now_ns() + every;
		} else if (now >= next_look) {
			if ((err = sample(s)))
				return err;
			next_look += every;
		} else {
			swept = false;
		}
		if (targets__all_gone(s->so.targets)) {
			fprintf(stderr, "parkwatch: every watched process has exited\n");
			break;
		}
		if (swept)
			continue;
		err = tracer__poll(s->t, poll_timeout(now, min3(next, next_look, end)));
		if (err == -ENOMEM) {
			fprintf(stderr, "parkwatch: out of memory keeping clone events\n");
			return err;
		}
	}
	if (s->srv)
		return 0; /* a daemon's end is not a report */
	if (!s->has_command)
		return session__report(s, &s->so, true, false, NULL);
	/* An end event still in the ring buffer is too late for the command
	 * (it is gone), not for a descendant still stopped at its exit. */
	tracer__poll(s->t, 0);
	for (int i = 0; i < s->nends; i++)
		if (s->ends[i].tgid == (uint32_t)s->cmd.pid &&
		    !(s->ends[i].flags & PW_END_NOT_STOPPED))
			s->ends[i--] = s->ends[--s->nends];
	if (s->nends && (err = session__handle_ends(s)))
		return err;
	if (!s->end_done) {
		struct pw_report r = {
			.mode = s->mode, .final = true, .threshold_ns = s->so.threshold_ns,
		};
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r.time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		/* Nothing is left to sweep once the command is gone. */
		session__fill_no_end(s, &r);
		err = session__print(s, &r);
		report__free(&r);
		return err;
	}
	return 0;
}

static int load_idle(struct session *s)
{
	const char *path = s->c->idle_file;
	int bad_line, e;

	if (!path) {
		s->idle = idle_list__default();
		return s->idle ? 0 : -ENOMEM;
	}
	s->idle = idle_list__load(path, &bad_line);
	e = errno;
	if (!s->idle && bad_line)
		fprintf(stderr, "parkwatch: %s:%d: expected one function name per line\n",
			path, bad_line);
	else if (!s->idle && e == EFBIG)
		fprintf(stderr, "parkwatch: %s: larger than %u KiB (the limit for an idle file)\n",
			path, IDLE_MAX_BYTES >> 10);
	else if (!s->idle)
		fprintf(stderr, "parkwatch: cannot read %s: %s\n", path,
			e == ENOMEM ? "out of memory" : strerror(e));
	return s->idle ? 0 : e == ENOMEM ? -ENOMEM : -EINVAL;
}

/* Everything before the programs attach; returns an exit code or 0. */
static int prepare(struct session *s)
{
	struct config *c = s->c;
	char err[512];

	switch (load_idle(s)) {
	case 0: break;
	case -ENOMEM: return EXIT_ENV;
	default: return EXIT_USAGE;
	}
	if (c->format == FORMAT_PPROF && !c->output && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "parkwatch: --format pprof writes a binary profile: give -o FILE "
			"or redirect stdout\n");
		return EXIT_USAGE;
	}
	if (output__open(&s->out, c->output, err, sizeof(err))) {
		fprintf(stderr, "parkwatch: %s\n", err);
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
	s->growth = c->once ? NULL : growth__new();
	s->spin = c->once ? NULL : spin_history__new();
	if (!c->once && (!s->growth || !s->spin))
		return EXIT_ENV;
	s->go = c->no_goroutines ? NULL : go_watch__new();
	if (!s->cr || (!c->no_goroutines && !s->go))
		return EXIT_ENV;
	if (s->go)
		go_watch__set_prove(s->go, c->prove);
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
		.command_pid = s.has_command ? s.cmd.pid : 0,
	};
	err = tracer__open(&to, on_event, &s, &s.t, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "parkwatch: %s\n", errbuf);
		rc = err == -ESRCH ? EXIT_USAGE : EXIT_ENV;
		goto out;
	}
	if (s.has_command) {
		s.tree = descendants__new(s.t, s.cmd.pid, c->verbose);
		s.tests = (struct go_test_names){ .lookup = test_name, .ctx = s.t };
		if (!s.tree) {
			rc = EXIT_ENV;
			goto out;
		}
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
		.threshold_ns = c->threshold_ns, .attach_ns = session__now_ns(), .show_timed = c->timed,
		.show_idle = c->show_idle, .keep_idle = s.growth != NULL,
		.kernel_stacks = c->kstack, .max_frames = 64,
		.idle = s.idle, .builtin_idle = !c->idle_file, .ignore = c->ignore, .go = s.go, .spin = s.spin,
		.pids = c->pids, .npids = c->npids, .tests = s.has_command ? &s.tests : NULL,
	};
	if (c->npids && !s.has_command) {
		s.targets = (struct targets){ .pids = c->pids, .start = c->pid_start,
					      .n = c->npids };
		s.so.targets = &s.targets;
	}
	if (c->once) {
		rc = session__report(&s, &s.so, true, false, NULL) ? EXIT_ENV : 0;
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
		/* Its probes in place before its first instruction (its
		 * descendants' are attached while they run). */
		descendants__prejudge(s.tree, s.cmd.exe, c->command);
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
		if (s.t)
			tracer__poll(s.t, 0); /* ends waiting stopped are answered below */
		for (int i = 0; i < s.nends; i++)
			kill(s.ends[i].tgid, SIGCONT); /* never leave one stopped */
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
	if (s.has_command && s.t)
		tracer__close_in_background(s.t);
	else
		tracer__close(s.t);
	creators__free(s.cr);
	go_watch__free(s.go);
	growth__free(s.growth);
	spin_history__free(s.spin);
	serve__close(s.srv);
	descendants__free(s.tree);
	idle_list__free(s.idle);
	ksyms__free(s.k);
	/* The report replaces -o FILE only if the run got to write it all. */
	if (output__close(&s.out, s.final_written, errbuf, sizeof(errbuf)) && rc != EXIT_ENV) {
		fprintf(stderr, "parkwatch: %s\n", errbuf);
		if (rc == 0 || rc == EXIT_FLAGGED)
			rc = EXIT_ENV;
	}
	return rc;
}
