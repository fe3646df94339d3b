#!/usr/bin/env bats
# Command mode: run a program traced from its first instruction, report what
# it leaves behind when it calls exit(), pass its exit status through.

load helpers

setup() {
	require_root
	require_parkwatch
	require_fixture exit_leaky
}

# run_command ARGS... -- CMD...: parkwatch in command mode with a JSON report
# in $REPORT (checked against the schema); $status is parkwatch's exit code.
run_command() {
	REPORT=$BATS_TEST_TMPDIR/report.json
	run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$REPORT" -t 1h "$@"
	assert_valid_json "$REPORT"
}

@test "a leaky program's threads are listed at its exit with their creator" {
	run_command -- "$FIXTURES/exit_leaky" leak
	assert_success
	[ "$(jq -r .mode "$REPORT")" = command ]
	[ "$(jq .final "$REPORT")" = true ]
	[ "$(jq .end_of_run.snapshot "$REPORT")" = true ]
	[ "$(jq .end_of_run.exit_status "$REPORT")" -eq 0 ]
	# 2 workers in worker_wait, the ticker in a timed sleep, the spinner running
	[ "$(jq '.threads | length' "$REPORT")" -eq 4 ]
	[ "$(jq '[.threads[] | select(.class == "futex") | select(any(.stack[]; .function == "worker_wait"))] | length' "$REPORT")" -eq 2 ]
	[ "$(jq '[.threads[] | select(.wait.timed) | select(any(.stack[]; .function == "ticker_main"))] | length' "$REPORT")" -eq 1 ]
	[ "$(jq -r '.threads[] | select(.class == "running") | .stack[0].function' "$REPORT")" = spin_main ]
	[ "$(jq -r '.threads[] | select(.class == "running") | .state' "$REPORT")" = R ]
	# traced from the first instruction: every creator is known, in start_workers
	[ "$(jq '[.threads[] | select(.creator != null) | select(any(.creator.stack[]; .function == "start_workers"))] | length' "$REPORT")" -eq 4 ]
	# the thread that called exit() is not listed
	[ "$(jq -r '.threads[] | select(.tid == .pid) | .tid' "$REPORT")" = "" ]
}

@test "with --fail, threads left behind give exit 1" {
	run_command --fail -- "$FIXTURES/exit_leaky" leak
	assert_failure 1
}

@test "the fixed program leaves nothing behind and passes with --fail" {
	run_command --fail -- "$FIXTURES/exit_leaky" fixed
	assert_success
	[ "$(jq .end_of_run.snapshot "$REPORT")" = true ]
	[ "$(jq '.threads | length' "$REPORT")" -eq 0 ]
}

@test "the command's own failure passes through before --fail" {
	run_command --fail -- "$FIXTURES/exit_leaky" status3
	assert_failure 3
	[ "$(jq .end_of_run.exit_status "$REPORT")" -eq 3 ]
	[ "$(jq '.threads | length' "$REPORT")" -eq 4 ]
}

@test "a command killed by a signal gives 128+N and a report without snapshot" {
	run_command -- "$FIXTURES/exit_leaky" abort
	assert_failure 134
	[ "$(jq .end_of_run.snapshot "$REPORT")" = false ]
	[[ "$(jq -r .end_of_run.reason "$REPORT")" == *"signal 6"* ]]
}

@test "a command that does not exist is exit 127 with a message" {
	run -127 --separate-stderr "$PARKWATCH" -- /nonexistent/command
	assert_failure 127
	[[ "$stderr" == *"/nonexistent/command"* ]]
	run -127 --separate-stderr "$PARKWATCH" -- no-such-command-anywhere
	assert_failure 127
	[[ "$stderr" == *"command not found"* ]]
}

@test "text output shows the end of run, the running thread and the creators" {
	run --separate-stderr timeout 60 "$PARKWATCH" -t 1h -- "$FIXTURES/exit_leaky" leak
	assert_success
	assert_output --partial "4 threads left behind at exit"
	assert_output --partial "called exit(0)"
	assert_output --partial "still running"
	assert_output --partial "spin_main"
	assert_output --partial "start_workers"
}

@test "options after -- belong to the command" {
	run --separate-stderr "$PARKWATCH" -t 1h -- /bin/ls -l /nonexistent-dir
	# ls fails with 2 (its own status) and -l was not taken for a parkwatch option
	assert_failure 2
	[[ "$stderr" == *"nonexistent-dir"* ]]
}

@test "SIGTERM to parkwatch is passed to the command, and parkwatch still reports" {
	local out=$BATS_TEST_TMPDIR/pw.out err=$BATS_TEST_TMPDIR/pw.err
	start_bg "$out" "$err" "$PARKWATCH" --json -t 1h -- /bin/sleep 60
	wait_for_line "$err" "parkwatch: watching" 20
	local child
	child=$(pgrep -P "$BG_PID" sleep)
	[ -n "$child" ]
	kill -TERM "$BG_PID"
	wait_exit "$BG_PID" 20
	[ "$EXIT_STATUS" -eq 143 ]
	assert_valid_json "$out"
	[ "$(jq .end_of_run.snapshot "$out")" = false ]
	[[ "$(jq -r .end_of_run.reason "$out")" == *"signal 15"* ]]
	# the command is gone, not left stopped or orphaned
	! kill -0 "$child" 2>/dev/null
}

@test "Go: the runtime's exit is caught, its own threads are not flagged, status passes" {
	for v in go126 go119; do
		require_fixture "go/exitcode-$v"
		run_command -- "$FIXTURES/go/exitcode-$v" 5
		assert_failure 5
		[ "$(jq .end_of_run.snapshot "$REPORT")" = true ]
		[ "$(jq .end_of_run.exit_status "$REPORT")" -eq 5 ]
		[ "$(jq '.threads | length' "$REPORT")" -eq 0 ]
		[ "$(jq .stats.idle_hidden "$REPORT")" -gt 0 ]
		run_command -- "$FIXTURES/go/exitcode-$v"
		assert_success
		[ "$(jq .end_of_run.snapshot "$REPORT")" = true ]
	done
}
