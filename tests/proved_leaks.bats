#!/usr/bin/env bats
# --prove: goroutines proved leaked by a reachability pass over the target's
# heap (tools/doc/proved-leaks.md), against the leakshapes fixture: every
# leak shape leaked, their fixed forms and the parked controls (a pool kept
# by a live goroutine, a channel in a global, a chain behind a sleeper) not;
# the same leaked set as Go's own goroutineleak profile, goroutine by
# goroutine; --fail-on leaked.

load helpers

setup() {
	require_root
	require_parkwatch
}

# The shapes leakshapes leaks (the first main.* function on each stack).
LEAKED_SHAPES='["main.condSignaller","main.leakCond","main.leakMutex","main.leakMutex",
"main.leakNil","main.leakNoCases","main.leakRecv","main.leakSelect","main.leakSend",
"main.leakWaitGroup","main.mutexHolder","main.wgWorker","main.wgWorker"]'
# Parked, never leaked: 4 pool workers, the global waiter, a chain of 3.
PARKED_SHAPES='["main.chainLink","main.chainLink","main.chainLink","main.globalWaiter",
"main.poolWorker","main.poolWorker","main.poolWorker","main.poolWorker"]'

# prove FIXTURE ARGS...: start it, one --prove sweep as JSON into REPORT.
prove() {
	local name=$1
	shift
	start_fixture "go/$name" "$@"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	assert_success
}

# prove_all_leaks WANT FIXTURE ARGS...: like prove, and when that run of the
# fixture did not find exactly the leaked shapes WANT (a sorted JSON array),
# up to two more runs of it (a fresh process each). Every sweep must be
# sound: no control called leaked, nothing leaked beyond WANT. A miss is a
# conservative "parked" and lasts as long as the process (about one process
# in six here: leakSend's channel kept reachable through a stale uintptr in
# runtime.p; tools/doc/proved-leaks.md, Limits). Three misses in a row fail.
prove_all_leaks() {
	local want=$1 i
	shift
	for i in 1 2 3; do
		prove "$@"
		jq_check "[.goroutines[] | select(.verdict == \"leaked\") |
			  [.stack[].function | select(startswith(\"main.\"))][0]] |
			 all(. as \$s | $want | index(\$s)) and
			 all(. as \$s | $(jq -c . <<<"$PARKED_SHAPES") | index(\$s) | not)"
		[ "$(shapes leaked)" = "$want" ] && return 0
		echo "run $i missed leaks: $(shapes leaked)" >&2
		kill_started
	done
	fail "three runs in a row missed leaks"
}

shapes() { # VERDICT: the sorted shapes of the goroutines with that verdict
	jq -c --arg v "$1" '[.goroutines[] | select(.verdict == $v) |
		[.stack[].function | select(startswith("main."))][0]] | sort' "$REPORT"
}

@test "every leak shape is proved leaked, with evidence; the parked controls are not (Go 1.26)" {
	prove_all_leaks "$(jq -c . <<<"$LEAKED_SHAPES")" leakshapes-go126 leak
	assert_equal "$(shapes leaked)" "$(jq -c . <<<"$LEAKED_SHAPES")"
	assert_equal "$(shapes parked)" "$(jq -c . <<<"$PARKED_SHAPES")"
	jq_check '[.goroutines[] | select(.verdict == "leaked") | .evidence |
		test("unreachable from any runnable goroutine or global|nothing can wake it|none reachable")] | all'
	jq_check '[.goroutines[] | select(.verdict != "leaked") | .evidence == null] | all'
	jq_check '.go_processes[0].prove.leaked == 13 and .go_processes[0].prove.error == null'
	jq_check '.go_processes[0].prove.heap_layout == "dwarf"'
	jq_check '.go_processes[0].prove.scanned_bytes > 0 and .go_processes[0].prove.unstable == 0'
	jq_check '[.goroutines[] | select(.class == "leaked")] | length == 13'
}

@test "every leak shape is proved leaked; the parked controls are not (Go 1.27)" {
	prove_all_leaks "$(jq -c . <<<"$LEAKED_SHAPES")" leakshapes-go127 leak
	assert_equal "$(shapes leaked)" "$(jq -c . <<<"$LEAKED_SHAPES")"
	assert_equal "$(shapes parked)" "$(jq -c . <<<"$PARKED_SHAPES")"
}

@test "the fixed forms: nothing leaked, the controls still parked" {
	for v in go126 go127; do
		prove leakshapes-$v fixed
		assert_equal "$(shapes leaked)" "[]"
		assert_equal "$(shapes parked)" "$(jq -c . <<<"$PARKED_SHAPES")"
		kill_started
	done
}

@test "the same leaked goroutines as Go's own goroutineleak profile, read after the sweep" {
	# Go 1.26 with GOEXPERIMENT=goroutineleakprofile; Go 1.27 has it by default.
	# Every run sound (nothing leaked that Go's profile does not list); the
	# same set in one of up to three processes (the conservative miss of
	# prove_all_leaks).
	local bin i trigger ours theirs
	for bin in leakshapes-go126-leakprof leakshapes-go127; do
		for i in 1 2 3; do
			trigger=$BATS_TEST_TMPDIR/profile-now-$bin-$i
			PARKWATCH_LEAK_TRIGGER=$trigger start_fixture go/$bin leak
			run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
			assert_success
			# Only now may the program run its leak-detecting GC cycle.
			touch "$trigger"
			wait_for_line "$FIXTURE_OUT" '^PROFILED$' 20
			ours=$(jq -c '[.goroutines[] | select(.verdict == "leaked") | .goid] | sort' "$REPORT")
			theirs=$(grep -E '^goroutine [0-9]+ \[.*\(leaked\)\]:$' "$trigger.prof" |
				awk '{print $2}' | jq -sc 'sort')
			[ "$theirs" != "[]" ] || fail "$bin: the runtime's profile lists no leak: $(head -3 "$trigger.prof")"
			jq -e -n --argjson o "$ours" --argjson t "$theirs" '$o - $t == []' >/dev/null ||
				fail "$bin: leaked by parkwatch, not by Go's profile: $ours vs $theirs"
			kill_started
			[ "$ours" = "$theirs" ] && continue 2
			echo "$bin run $i: parkwatch $ours, Go's profile $theirs" >&2
		done
		fail "$bin: three runs in a row missed leaks Go's profile lists"
	done
}

@test "Go 1.19: hand-written truth (sync waits are not tied to their object there: parked)" {
	# 1.19 parks sync.Mutex and WaitGroup waiters as "semacquire" and keeps
	# no g.waiting for them nor for sync.Cond: like Go's profile, parkwatch
	# proves nothing about them. Everything blocked on channels is proved.
	prove_all_leaks '["main.condSignaller","main.leakNil","main.leakNoCases","main.leakRecv","main.leakSelect","main.leakSend","main.mutexHolder","main.wgWorker","main.wgWorker"]' \
		leakshapes-go119 leak
	jq_check '[.goroutines[] | select(.verdict == "parked") |
		[.stack[].function | select(startswith("main."))][0]] |
		(index("main.leakMutex") != null and index("main.leakWaitGroup") != null and
		 index("main.leakCond") != null and index("main.poolWorker") != null)'
	jq_check '[.goroutines[] | select(.verdict == "leaked" and
		([.stack[].function] | index("main.globalWaiter") or index("main.chainLink") or index("main.poolWorker")))] | length == 0'
}

@test "--fail-on leaked: exit 1 for proved leaks only, 0 when only parked goroutines remain" {
	start_fixture go/leakshapes-go126 fixed
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --fail-on leaked --json
	assert_success
	jq_check '[.goroutines[] | select(.verdict == "parked")] | length == 8'
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --fail --json
	assert_failure 1
	kill_started
	start_fixture go/leakshapes-go126 leak
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --fail-on leaked,deadlocked --json
	assert_failure 1
	jq_check '.go_processes[0].prove.leaked == 13'
}

@test "--fail-on with a verdict that does not exist is a usage error" {
	for bad in leak "" "leaked," ",leaked" idle "leaked,,parked"; do
		run --separate-stderr "$PARKWATCH" --once --fail-on "$bad"
		assert_failure 2
		[[ $stderr == *--fail-on* ]] || fail "no message for '$bad': $stderr"
	done
}

@test "text: proved leaks are listed first, with their evidence" {
	start_fixture go/leakshapes-go126 leak
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --no-color
	assert_success
	first=$(grep -m1 -E 'goroutines? \[.*\], (leaked|parked)' <<<"$output" || true)
	[[ $first == *leaked* ]] || fail "first verdict line is not leaked: $first"
	assert_output --partial "unreachable from any runnable goroutine or global"
}

@test "stripped builds (-s -w): the heap layout from the version table, mheap_ from the code, same verdicts" {
	prove leakshapes-go126-s leak
	jq_check '.go_processes[0].prove.heap_layout == "table go1.26"'
	assert_equal "$(shapes leaked)" "$(jq -c . <<<"$LEAKED_SHAPES")"
	assert_equal "$(shapes parked)" "$(jq -c . <<<"$PARKED_SHAPES")"
	kill_started
	prove leakshapes-go119-s leak
	jq_check '.go_processes[0].prove.leaked == 9 and .go_processes[0].prove.error == null'
	jq_check '[.goroutines[] | select(.verdict == "leaked" and
		([.stack[].function] | index("main.globalWaiter") or index("main.chainLink") or index("main.poolWorker")))] | length == 0'
}

@test "command mode: --fail-on leaked judges what the command leaves at its exit" {
	require_fixture go/leakshapes-go126
	local out=$BATS_TEST_TMPDIR/cmd.json
	# the report to a file: the command prints READY on the same stdout
	LEAKSHAPES_EXIT=1 run --separate-stderr timeout 60 "$PARKWATCH" --fail-on leaked -t 0 \
		--json -o "$out" -- "$FIXTURES/go/leakshapes-go126" leak
	assert_failure 1
	assert_valid_json "$out"
	tail -n 1 "$out" >"$out.final"
	jq_check '.end_of_run.snapshot and .go_processes[0].prove.leaked == 13' "$out.final"
	jq_check '[.goroutines[] | select(.verdict == "leaked")] | length == 13' "$out.final"
	# the fixed form leaves parked goroutines (the controls) but no leak: success
	LEAKSHAPES_EXIT=1 run --separate-stderr timeout 60 "$PARKWATCH" --fail-on leaked -t 0 \
		--json -o "$out" -- "$FIXTURES/go/leakshapes-go126" fixed
	assert_success
	assert_valid_json "$out"
	tail -n 1 "$out" >"$out.final"
	jq_check '.end_of_run.snapshot and .go_processes[0].prove.leaked == 0' "$out.final"
	jq_check '[.goroutines[] | select(.verdict == "parked")] | length >= 8' "$out.final"
}
