#!/usr/bin/env bats
# Ignore rules (--ignore-top/-any/-created-by, --ignore-file) and baselines
# (--baseline): ignored threads and goroutines leave the report, rules that
# never matched are reported as stale in text and JSON.

load helpers

setup() {
	require_root
	require_parkwatch
}

# The rule entries of the report's ignore_rules array, as "rule|origin|matched".
rules_of() {
	jq_value '.ignore_rules[] | "\(.rule)|\(.origin)|\(.matched)"' "${1:-$REPORT}"
}

@test "without rules, ignore_rules is an empty array" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check '.ignore_rules == [] and (mine | length == 3)'
}

@test "--ignore-top matches the innermost named frame (glibc's futex wait), not pthread_cond_wait" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-top pthread_cond_wait
	assert_success
	jq_check 'mine | length == 3'
	assert_equal "$(rules_of)" "top pthread_cond_wait|--ignore-top|0"

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-top __futex_abstimed_wait_common
	assert_success
	jq_check 'mine | length == 0'
	assert_equal "$(rules_of)" "top __futex_abstimed_wait_common|--ignore-top|3"
}

@test "--ignore-any worker_wait hides the three workers and --fail then exits 0" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail
	assert_equal "$status" 1
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail --ignore-any worker_wait
	assert_success
	jq_check '(.threads | length == 0) and .groups == [] and .stats.flagged == 0'
	assert_equal "$(rules_of)" "any worker_wait|--ignore-any|3"
}

@test "a trailing * is a prefix wildcard, and names match exactly otherwise" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-any 'worker_*'
	assert_success
	jq_check 'mine | length == 0'
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-any worker
	assert_success
	jq_check 'mine | length == 3'
}

@test "a malformed --ignore-* value is a usage error" {
	run --separate-stderr "$PARKWATCH" --once --ignore-any 'foo*bar'
	assert_equal "$status" 2
	[[ $stderr == *"foo*bar"* ]] || fail "stderr does not name the rule: $stderr"
}

# watch_late_spawn PARKWATCH_ARGS...: as in watch.bats: late_spawn's early
# threads predate parkwatch (no creator), its late ones are created by
# spawn_late while parkwatch watches. The final report ends up in $REPORT.
watch_late_spawn() {
	FIFO=$BATS_TEST_TMPDIR/late.fifo
	mkfifo "$FIFO"
	start_fixture late_spawn "$FIFO"
	start_parkwatch -p "$FIXTURE_PID" -t 0 -i 1h -d 30s --json "$@"
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	echo go >"$FIFO"
	wait_for_line "$FIXTURE_OUT" "^SPAWNED $FIXTURE_PID\$" 20
	kill -INT "$PW_PID"
	wait_exit "$PW_PID" 20
	[ "$EXIT_STATUS" -eq 0 ] || {
		sed 's/^/  | /' "$PW_ERR" >&2
		fail "parkwatch exited $EXIT_STATUS after SIGINT"
	}
	REPORT=$BATS_TEST_TMPDIR/final.json
	last_report "$PW_OUT" "$REPORT"
}

@test "--ignore-created-by spawn_late hides the late threads, not the early ones" {
	watch_late_spawn --ignore-created-by spawn_late
	jq_check '.final == true'
	jq_check '[mine[] | select(has_fn("^late_wait$"))] | length == 0'
	jq_check '[mine[] | select(has_fn("^early_wait$"))] | length == 2 and all(.creator == null)'
	assert_equal "$(rules_of)" "created-by spawn_late|--ignore-created-by|2"
}

@test "--ignore-created-by names the call site, not pthread_create or the clone frames" {
	watch_late_spawn --ignore-created-by pthread_create --ignore-created-by main
	jq_check '[mine[] | select(has_fn("^late_wait$"))] | length == 2'
	assert_equal "$(rules_of)" "created-by pthread_create|--ignore-created-by|0
created-by main|--ignore-created-by|0"
}

@test "--ignore-file: comments and blank lines are skipped, origins are FILE:LINE" {
	start_fixture condvar_leak 3
	rules=$BATS_TEST_TMPDIR/rules.txt
	cat >"$rules" <<-'EOF'
	# known leaks in condvar_leak

	any worker_wait   # waits for a signal that never comes
	  top no_such_function
	EOF
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-file "$rules"
	assert_success
	jq_check 'mine | length == 0'
	assert_equal "$(rules_of)" "any worker_wait|$rules:3|3
top no_such_function|$rules:4|0"
}

@test "a stale rule is reported in text with where it came from" {
	start_fixture condvar_leak 3
	rules=$BATS_TEST_TMPDIR/rules.txt
	printf 'any worker_wait\n# nothing here\ntop foo\n' >"$rules"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --no-color --ignore-file "$rules" \
		--ignore-any also_unused
	assert_success
	assert_output --partial "3 threads or goroutines ignored by rules"
	assert_output --partial "ignore rule 'top foo' ($rules:3) never matched"
	assert_output --partial "ignore rule 'any also_unused' (--ignore-any) never matched"
	refute_output --partial "ignore rule 'any worker_wait'"
}

@test "a malformed rules file line is a usage error naming FILE:LINE" {
	rules=$BATS_TEST_TMPDIR/bad.txt
	printf '# ok\ntop fine\nbottom foo\n' >"$rules"
	run --separate-stderr "$PARKWATCH" --once --ignore-file "$rules"
	assert_equal "$status" 2
	[[ $stderr == *"$rules:3: expected 'top FUNC', 'any FUNC' or 'created-by FUNC'"* ]] ||
		fail "unexpected stderr: $stderr"
	run --separate-stderr "$PARKWATCH" --once --ignore-file "$BATS_TEST_TMPDIR/missing.txt"
	assert_equal "$status" 2
	[[ $stderr == *missing.txt* ]] || fail "stderr does not name the file: $stderr"
}

@test "baseline: 3 workers known, 5 now in another process of the same program, 2 flagged" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3'
	baseline=$BATS_TEST_TMPDIR/baseline.json
	cp "$REPORT" "$baseline"

	start_fixture condvar_leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail --baseline "$baseline"
	assert_equal "$status" 1
	jq_check 'mine | length == 2 and all(has_fn("^worker_wait$"))'
	jq_check '.stats.flagged == 2'
	jq_check '[.groups[] | select(.pid == $pid)] | length == 1 and .[0].count == 2'
	assert_equal "$(rules_of)" "baseline $baseline|--baseline|3"
}

@test "baseline: a watch-mode file uses its last report; same threads, nothing flagged" {
	start_fixture condvar_leak 3
	start_parkwatch -p "$FIXTURE_PID" -t 0 -i 1h --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	kill -INT "$PW_PID"
	wait_exit "$PW_PID" 20
	assert_equal "$EXIT_STATUS" 0
	# Two documents: an earlier report with no threads, then the final one.
	# Only the last counts: were it the first, all 3 would be flagged.
	baseline=$BATS_TEST_TMPDIR/watch.json
	jq -c '.threads = []' "$PW_OUT" >"$baseline"
	cat "$PW_OUT" >>"$baseline"
	assert_equal "$(json_docs "$baseline" | wc -l)" 2

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail --baseline "$baseline"
	assert_success
	jq_check 'mine | length == 0'
	assert_equal "$(rules_of)" "baseline $baseline|--baseline|3"
}

@test "baseline errors: missing file, not JSON, wrong schema are usage errors" {
	run --separate-stderr "$PARKWATCH" --once --baseline "$BATS_TEST_TMPDIR/nope.json"
	assert_equal "$status" 2
	[[ $stderr == *nope.json* ]] || fail "stderr does not name the file: $stderr"

	echo 'parkwatch 2026-11-28 06:10:54: 3 threads parked' >"$BATS_TEST_TMPDIR/text.txt"
	run --separate-stderr "$PARKWATCH" --once --baseline "$BATS_TEST_TMPDIR/text.txt"
	assert_equal "$status" 2
	[[ $stderr == *"text.txt: not a JSON report"* ]] || fail "unexpected stderr: $stderr"

	echo '{"schema": "other/1", "threads": []}' >"$BATS_TEST_TMPDIR/other.json"
	run --separate-stderr "$PARKWATCH" --once --baseline "$BATS_TEST_TMPDIR/other.json"
	assert_equal "$status" 2
	[[ $stderr == *"other.json: not a parkwatch report (schema 'other/1', expected parkwatch/1)"* ]] ||
		fail "unexpected stderr: $stderr"
}

# Goroutines: the same rules, as goleak applies them. chansend leak N: N
# goroutines in main.sendResult, blocked on "ch <- v" (the stack, innermost
# first: runtime.gopark, runtime.chansend, runtime.chansend1,
# main.sendResult, ...), created by main.startSenders.
gmine() { echo '[.goroutines[] | select(.pid == $pid)]'; }

@test "goroutines: --ignore-any main.sendResult hides all 5 and --fail then exits 0" {
	start_fixture go/chansend-go126 leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail
	assert_failure 1
	jq_check "$(gmine) | length == 5"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail --ignore-any main.sendResult
	assert_success
	jq_check "$(gmine) | length == 0"
	jq_check '.stats.ignored == 5'
	assert_equal "$(rules_of)" "any main.sendResult|--ignore-any|5"
}

@test "goroutines: --ignore-created-by main.startSenders hides them (exact or prefix)" {
	start_fixture go/chansend-go126 leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-created-by main.startSenders
	assert_success
	jq_check "$(gmine) | length == 0"
	assert_equal "$(rules_of)" "created-by main.startSenders|--ignore-created-by|5"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-created-by 'main.start*' \
		--ignore-created-by main.sendResult
	assert_success
	jq_check "$(gmine) | length == 0"
	assert_equal "$(rules_of)" "created-by main.start*|--ignore-created-by|5
created-by main.sendResult|--ignore-created-by|0"
}

@test "goroutines: --ignore-top is the first frame Go prints (main.sendResult), not runtime.gopark" {
	start_fixture go/chansend-go126 leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-top runtime.gopark \
		--ignore-top runtime.chansend1
	assert_success
	jq_check "$(gmine) | length == 5"
	jq_check "$(gmine) | all(.stack[0].function == \"runtime.gopark\")"
	assert_equal "$(rules_of)" "top runtime.gopark|--ignore-top|0
top runtime.chansend1|--ignore-top|0"

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --ignore-top main.sendResult
	assert_success
	jq_check "$(gmine) | length == 0"
	assert_equal "$(rules_of)" "top main.sendResult|--ignore-top|5"
}

@test "goroutines: baseline of 3 senders, 5 now in another process, 2 flagged in one group" {
	start_fixture go/chansend-go126 leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check "$(gmine) | length == 3"
	baseline=$BATS_TEST_TMPDIR/gbaseline.json
	cp "$REPORT" "$baseline"
	kill "$FIXTURE_PID"

	start_fixture go/chansend-go126 leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --baseline "$baseline"
	assert_success
	jq_check "$(gmine) | length == 2 and all(has_fn(\"^main.sendResult\$\"))"
	# the survivors are regrouped after the removal: one group, numbered 0
	jq_check "[$(gmine)[].group] | unique == [0]"
	jq_check '.stats.ignored >= 3'
	assert_equal "$(rules_of)" "baseline $baseline|--baseline|3"
}

@test "goroutines: a rule that matched only goroutines is not stale" {
	start_fixture go/chansend-go126 leak 5
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --no-color \
		--ignore-created-by main.startSenders --ignore-any no_such_function
	assert_success
	refute_output --partial "ignore rule 'created-by main.startSenders'"
	assert_output --partial "ignore rule 'any no_such_function' (--ignore-any) never matched"
	refute_output --partial "main.sendResult"
}
