#!/usr/bin/env bats
# tools/parkwatch.bash, the bats helper library for users' own suites: the
# example suite (tests/example/leak.bats) run both ways, and each function on
# its own.

load helpers
load ../tools/parkwatch

EXAMPLE_SUITE=$PW_REPO/tests/example/leak.bats

setup() {
	require_root
	require_parkwatch
	require_fixture condvar_leak
	require_fixture condvar_fixed
	# The library's PARKWATCH is helpers.bash's: this build's binary.
	export PARKWATCH PARKWATCH_BUILD
}

teardown() {
	parkwatch_stop
	kill_started
	# Every report the library had parkwatch write (watch, run, assertion)
	# follows the schema (the library names them parkwatch-*.json).
	local f files=()
	for f in "$BATS_TEST_TMPDIR"/parkwatch-*.json; do
		[ -s "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -eq 0 ] || assert_valid_json --allow-partial "${files[@]}"
}

# run_example leak|fixed [BATS_ARGS...]: the example suite in a bats of its own.
run_example() {
	local which=$1
	shift
	run env EXAMPLE="$which" PARKWATCH="$PARKWATCH" PARKWATCH_BUILD="$PARKWATCH_BUILD" \
		timeout 120 bats --tap "$@" "$EXAMPLE_SUITE"
}

# A leaky command-mode run's report file, kept for the ignore tests.
leaky_run() {
	parkwatch_run "$@" -- "$FIXTURES/condvar_fixed" 3 exit leak >/dev/null
}

# --- the example suite ---------------------------------------------------------

@test "example suite: the fixed program passes" {
	run_example fixed
	assert_success
	assert_line "ok 1 a running server keeps no worker parked"
	assert_line "ok 2 a program run to completion leaves no thread behind at exit"
}

@test "example suite: the leaky server fails with a readable report of the 3 workers" {
	run_example leak --filter 'running server'
	assert_failure
	assert_line "not ok 1 a running server keeps no worker parked"
	# The one-line summary: what, where, how many.
	assert_output --regexp 'parkwatch: 3 threads parked: worker_wait \(condvar_leak\.c:[0-9]+\) x3'
	# The grouped report: the wait, the stack with file:line, the creator.
	assert_output --partial "3 threads parked"
	assert_output --partial "[futex FUTEX_WAIT"
	assert_output --regexp '#[0-9]+  worker_wait\+0x[0-9a-f]+ \(condvar_leak\) condvar_leak\.c:[0-9]+'
	assert_output --regexp '#[0-9]+  worker_main\+0x[0-9a-f]+ \(condvar_leak\) condvar_leak\.c:[0-9]+'
	assert_output --partial "creator: unknown"
	# One group, not three copies of the same stack.
	[ "$(grep -c 'worker_wait+0x' <<<"$output")" -eq 1 ] || fail "the group is not printed once"
}

@test "example suite: the leaky command fails with the workers left at exit and their creator" {
	run_example leak --filter 'run to completion'
	assert_failure
	assert_line "not ok 1 a program run to completion leaves no thread behind at exit"
	assert_output --regexp 'parkwatch: 3 threads left behind at exit: worker_wait \(condvar_fixed\.c:[0-9]+\) x3'
	assert_output --partial "called exit(0)"
	assert_output --regexp 'created by thread [0-9]+ \(condvar_fixed\)'
	assert_output --regexp '#[0-9]+  spawn_workers\+0x[0-9a-f]+ \(condvar_fixed\)'
	assert_output --regexp '#[0-9]+  main\+0x[0-9a-f]+ \(condvar_fixed\) condvar_fixed\.c:[0-9]+'
}

# --- parkwatch_run ---------------------------------------------------------------

@test "parkwatch_run: a leaky program fails the assertion, listing worker_wait" {
	parkwatch_run -- "$FIXTURES/condvar_fixed" 3 exit leak
	assert_equal "$PARKWATCH_STATUS" 0
	jq_check '.mode == "command" and .final == true and .end_of_run.snapshot == true
		and (.threads | length == 3)' "$PARKWATCH_REPORT"
	run parkwatch_assert_no_parked
	assert_failure 1
	assert_line --index 0 --regexp '^parkwatch: 3 threads left behind at exit: worker_wait \(condvar_fixed\.c:[0-9]+\) x3$'
	assert_output --partial "worker_wait+0x"
}

@test "parkwatch_run: the fixed program passes, and the command's output is kept" {
	parkwatch_run -- "$FIXTURES/condvar_fixed" 3 exit
	assert_equal "$PARKWATCH_STATUS" 0
	jq_check '.end_of_run.snapshot == true and (.threads | length == 0)' "$PARKWATCH_REPORT"
	grep -Eq '^READY [0-9]+$' "$PARKWATCH_LOG" || fail "no READY line in $PARKWATCH_LOG"
	grep -q '^parkwatch: watching' "$PARKWATCH_LOG" || fail "no 'parkwatch: watching' in $PARKWATCH_LOG"
	parkwatch_assert_no_parked
}

@test "parkwatch_run: --fail makes the status 1 when threads are left, 0 when not" {
	leaky_run --fail
	assert_equal "$PARKWATCH_STATUS" 1
	parkwatch_run --fail -- "$FIXTURES/condvar_fixed" 3 exit >/dev/null
	assert_equal "$PARKWATCH_STATUS" 0
}

@test "parkwatch_run: the command's own failure passes through, with a report" {
	parkwatch_run -- sh -c 'exit 7' >/dev/null
	assert_equal "$PARKWATCH_STATUS" 7
	jq_check '.final == true and .end_of_run.exit_status == 7' "$PARKWATCH_REPORT"
}

@test "parkwatch_run: a command killed before exit() has no snapshot, and the assertion says why" {
	parkwatch_run -- sh -c 'kill -KILL $$' >/dev/null
	assert_equal "$PARKWATCH_STATUS" $((128 + 9))
	run parkwatch_assert_no_parked
	assert_failure 1
	assert_output --partial "no end-of-run snapshot"
	assert_output --partial "signal 9"
}

@test "parkwatch_run: usage errors return 2, and a parkwatch that cannot start returns 1" {
	run parkwatch_run --once
	assert_failure 2
	run parkwatch_run -- 
	assert_failure 2
	run parkwatch_run --no-such-option -- true
	assert_failure 1
	assert_output --partial "without a final report"
}

@test "parkwatch_run: threads stuck running and timed waits left at exit are listed too" {
	require_fixture exit_leaky
	parkwatch_run -- "$FIXTURES/exit_leaky" leak >/dev/null
	assert_equal "$PARKWATCH_STATUS" 0
	run parkwatch_assert_no_parked
	assert_failure 1
	assert_line --index 0 --regexp '^parkwatch: 4 threads left behind at exit: '
	assert_line --index 0 --regexp 'worker_wait \(exit_leaky\.c:[0-9]+\) x2'
	assert_line --index 0 --regexp 'spin_main \(exit_leaky\.c:[0-9]+\) x1'
	assert_line --index 0 --partial 'ticker_main'
	assert_output --partial "1 thread still running (not waiting"
	assert_output --partial "[clock_nanosleep, timed]"
	# A threshold does not excuse a thread that is running.
	run parkwatch_assert_no_parked --threshold 1h
	assert_failure 1
	assert_line --index 0 --regexp '^parkwatch: 1 thread left behind at exit: spin_main'
	parkwatch_run -- "$FIXTURES/exit_leaky" fixed >/dev/null
	assert_equal "$PARKWATCH_STATUS" 0
	parkwatch_assert_no_parked
}

# --- ignore options after a command run, applied as parkwatch applies them -----

# same_as_parkwatch OPTIONS...: the assertion's verdict with OPTIONS on the
# leaky run equals parkwatch's own with the same options given to it.
same_as_parkwatch() {
	local mine theirs
	leaky_run
	mine=0
	parkwatch_assert_no_parked "$@" 2>/dev/null || mine=1
	[ -s "$PARKWATCH_LAST_REPORT" ] || fail "no report judged"
	mine=$(jq '.threads | length' "$PARKWATCH_LAST_REPORT")
	leaky_run "$@"
	theirs=$(jq '.threads | length' "$PARKWATCH_REPORT")
	[ "$mine" = "$theirs" ] || fail "with $*: the helper kept $mine threads, parkwatch $theirs"
	echo "$mine"
}

@test "command run: --ignore-any, --ignore-created-by and --ignore-top match like parkwatch's" {
	run same_as_parkwatch --ignore-any worker_wait
	assert_success
	assert_output 0
	run same_as_parkwatch --ignore-created-by spawn_workers
	assert_success
	assert_output 0
	run same_as_parkwatch --ignore-top worker_wait   # not the innermost frame
	assert_success
	assert_output 3
	run same_as_parkwatch --ignore-top '__futex_abstimed*'
	assert_success
	assert_output 0
	run same_as_parkwatch --ignore-any=no_such_function
	assert_success
	assert_output 3
}

@test "command run: --ignore-file and --baseline" {
	printf '# known leak\nany   worker_main  # tracked elsewhere\n' >"$BATS_TEST_TMPDIR/ignore"
	leaky_run
	parkwatch_assert_no_parked --ignore-file "$BATS_TEST_TMPDIR/ignore"
	cp "$PARKWATCH_REPORT" "$BATS_TEST_TMPDIR/baseline.json"
	leaky_run
	parkwatch_assert_no_parked --baseline "$BATS_TEST_TMPDIR/baseline.json"
	# A baseline with fewer threads excuses only as many.
	jq -c '.threads |= .[:1]' "$BATS_TEST_TMPDIR/baseline.json" >"$BATS_TEST_TMPDIR/one.json"
	run parkwatch_assert_no_parked --baseline "$BATS_TEST_TMPDIR/one.json"
	assert_failure 1
	assert_line --index 0 --regexp 'parkwatch: 2 threads left behind at exit: worker_wait'
	# ... as parkwatch's own --baseline does, and combined with a rule.
	run same_as_parkwatch --baseline "$BATS_TEST_TMPDIR/one.json"
	assert_success
	assert_output 2
	run same_as_parkwatch --baseline "$BATS_TEST_TMPDIR/one.json" --ignore-any worker_main
	assert_success
	assert_output 0
}

# --- parkwatch_watch_pid / parkwatch_assert_no_parked / parkwatch_stop ----------

@test "watch: attaches before returning, and parkwatch_stop leaves a final report" {
	start_fixture condvar_leak 3
	parkwatch_watch_pid "$FIXTURE_PID" -i 1h
	grep -q '^parkwatch: watching' "$PARKWATCH_WATCH_ERR"
	local pw=$PARKWATCH_WATCH_PID
	kill -0 "$pw"
	parkwatch_stop
	assert_equal "$PARKWATCH_WATCH_STATUS" 0
	assert_equal "$PARKWATCH_WATCH_PID" ""
	! kill -0 "$pw" 2>/dev/null || fail "parkwatch $pw still running"
	jq_check '.mode == "watch" and .final == true and (mine | length == 3)' "$PARKWATCH_REPORT"
	# Again, and with nothing running: no-ops.
	parkwatch_stop
}

@test "watch: the leaky process fails the assertion; ignoring its wait makes it pass" {
	start_fixture condvar_leak 3
	parkwatch_watch_pid "$FIXTURE_PID"
	parkwatch_assert_no_parked --ignore-any worker_wait
	parkwatch_assert_no_parked --ignore-created-by nothing_created_them --ignore-any=worker_main
	run parkwatch_assert_no_parked
	assert_failure 1
	assert_line --index 0 --regexp '^parkwatch: 3 threads parked: worker_wait \(condvar_leak\.c:[0-9]+\) x3$'
}

@test "watch: a threshold longer than the wait passes; the watch's own -t is the default" {
	start_fixture condvar_leak 3
	parkwatch_watch_pid "$FIXTURE_PID" -t 1h
	parkwatch_assert_no_parked
	run parkwatch_assert_no_parked --threshold 0
	assert_failure 1
}

@test "watch: the report names the creator of threads created while watching" {
	local fifo=$BATS_TEST_TMPDIR/go.fifo
	mkfifo "$fifo"
	start_fixture late_spawn "$fifo"
	parkwatch_watch_pid "$FIXTURE_PID"
	echo go >"$fifo"
	wait_for_line "$FIXTURE_OUT" "^SPAWNED $FIXTURE_PID\$" 20
	run parkwatch_assert_no_parked
	assert_failure 1
	assert_line --index 0 --regexp '^parkwatch: 4 threads parked: .*early_wait.* x2.*late_wait.* x2|^parkwatch: 4 threads parked: .*late_wait.* x2.*early_wait.* x2'
	# The late threads' creator comes from the watch (a one-off sweep cannot
	# know it); the early ones predate it.
	assert_output --regexp 'created by thread [0-9]+ \(late_spawn\)'
	assert_output --regexp '#[0-9]+  spawn_late\+0x'
	assert_output --partial "creator: unknown"
}

@test "watch: a pid that does not exist fails at once with parkwatch's message" {
	run parkwatch_watch_pid 999999999
	assert_failure 1
	assert_output --partial "999999999"
	assert_output --partial "before attaching"
}

@test "PARKWATCH chooses the binary; a missing one is named" {
	PARKWATCH=/nonexistent/parkwatch run parkwatch_run -- true
	assert_failure 1
	assert_output --partial "/nonexistent/parkwatch"
}

@test "parkwatch_assert_no_parked with nothing to judge is a usage error" {
	run parkwatch_assert_no_parked
	assert_failure 2
	assert_output --partial "parkwatch_watch_pid or parkwatch_run"
}

@test "README's CI recipe shows the example suite as it is" {
	local block
	block=$(awk '/^## CI recipe/ { in_section = 1 }
		in_section && /^```bash$/ { in_block = 1; next }
		in_block && /^```$/ { exit }
		in_block' "$PW_REPO/README.md")
	[ -n "$block" ] || fail "no bash block in README's CI recipe section"
	grep -q '^load .*parkwatch.bash' <<<"$block" || fail "the README example does not load parkwatch.bash"
	# Everything after the load line is tests/example/leak.bats verbatim.
	local body expected
	body=$(awk 'found; /^load /{ found = 1 }' <<<"$block" | sed '/./,$!d')
	expected=$(sed -n '/^teardown() {/,$p' "$EXAMPLE_SUITE")
	[ "$body" = "$expected" ] || fail "README's CI recipe and tests/example/leak.bats differ:
$(diff <(echo "$expected") <(echo "$body"))"
}

@test "parkwatch_wait_for: finds the line, and gives up at once when the process is gone" {
	local out=$BATS_TEST_TMPDIR/p.out start
	start_bg "$out" /dev/null sh -c 'echo starting; sleep 0.2; echo READY $$; sleep 30'
	parkwatch_wait_for "$out" '^READY [0-9]+$' 10 "$BG_PID"
	start_bg "$out" /dev/null sh -c 'echo "cannot start"; exit 3'
	start=$(now_ms)
	run parkwatch_wait_for "$out" '^READY' 10 "$BG_PID"
	assert_failure 1
	assert_output --partial "exited before"
	assert_output --partial "cannot start"
	[ $(($(now_ms) - start)) -lt 5000 ] || fail "waited for a process that was gone"
	run parkwatch_wait_for "$out" '^READY' 1
	assert_failure 1
	assert_output --partial "after 1s"
}
