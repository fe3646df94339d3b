#!/usr/bin/env bats
# --go-precise: uprobes on the Go runtime's park/ready/exit give exact park
# times to goroutines that park while parkwatch watches; those parked before
# keep the sweeps' durations; the target keeps running correctly; non-Go
# targets and system-wide use are refused.

load helpers

setup() {
	require_root
	require_parkwatch
}

VERSIONS="go126 go119 go127"

count() { jq "[.goroutines[] | select($1)] | length" <<<"$REPORT"; }

# late_parks VERSION: latepark with 3 goroutines parked before attach and 5
# after; sets REPORT (the final report), ELAPSED_NS (trigger to the end of
# parkwatch: the longest a late park can have lasted) and PW_ERR.
late_parks() {
	local fifo=$BATS_TEST_TMPDIR/trigger.$1 t0 t1

	mkfifo "$fifo"
	start_fixture "go/latepark-$1" "$fifo" 3 5
	start_parkwatch -p "$FIXTURE_PID" --go-precise -v -t 0 -i 300ms -d 2s --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	t0=$(now_ms)
	echo go >"$fifo"
	wait_for_line "$FIXTURE_OUT" "^PARKED $FIXTURE_PID\$" 20
	wait_exit "$PW_PID" 30
	t1=$(now_ms)
	[ "$EXIT_STATUS" -eq 0 ]
	REPORT=$(tail -n 1 "$PW_OUT")
	ELAPSED_NS=$(((t1 - t0) * 1000000))
}

@test "goroutines parked after attach get exact park times; those parked before do not" {
	for v in $VERSIONS; do
		late_parks "$v"
		[ "$(jq .final <<<"$REPORT")" = true ]
		late='.created_by.function == "main.startLate"'
		early='any(.stack[]; .function == "main.earlyWait")'
		[ "$(count "$late and .wait_reason == \"chan receive\" and .class == \"parked\"")" -eq 5 ]
		[ "$(count "$late and .duration_source == \"precise\"")" -eq 5 ]
		# exact: more than 0, less than the time since the trigger
		[ "$(count "$late and .parked_ns > 0 and .parked_ns < $ELAPSED_NS")" -eq 5 ]
		# parked before attach: the sweeps' own durations, never "precise"
		[ "$(count "$early")" -eq 3 ]
		[ "$(count "$early and .duration_source == \"precise\"")" -eq 0 ]
		# -v says where each probe went: the emulated jbe at +4 here
		grep -q 'go-precise: pid [0-9]*: runtime.gopark at +4: stack check jbe' "$PW_ERR"
		grep -q 'go-precise: pid [0-9]*: runtime.ready at +4' "$PW_ERR"
		grep -Eq 'go-precise: pid [0-9]*: runtime.(gdestroy|goexit0) at \+4' "$PW_ERR"
		grep -q 'go-precise: parks: [1-9]' "$PW_ERR"
		kill "$FIXTURE_PID"
	done
}

@test "text output says the duration is exact" {
	local fifo=$BATS_TEST_TMPDIR/trigger

	mkfifo "$fifo"
	start_fixture go/latepark-go126 "$fifo" 0 2
	start_parkwatch -p "$FIXTURE_PID" --go-precise -t 0 -i 300ms -d 1500ms --no-color
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	echo go >"$fifo"
	wait_for_line "$FIXTURE_OUT" "^PARKED" 20
	wait_exit "$PW_PID" 30
	grep -Eq '2 goroutines \[chan receive\] for [0-9.]+(ms|s), parked \(exact' "$PW_OUT"
}

@test "goroutines that park and wake all the time: precise, at most one tick; the program keeps working" {
	for v in $VERSIONS; do
		# 20 leaked ticker loops (5 ms ticks), a new request every 20 ms,
		# fixed form too: goroutines created, parked, readied, exiting.
		start_fixture "go/ticker-$v" leak 20 20
		leak=$FIXTURE_PID leak_err=$FIXTURE_ERR
		start_fixture "go/ticker-$v" fixed 20 20
		fixed=$FIXTURE_PID
		run --separate-stderr timeout 30 "$PARKWATCH" -p "$leak" -p "$fixed" --go-precise -v \
			-t 0 -i 300ms -d 1500ms --json
		assert_success
		assert_valid_json <<<"$output"
		REPORT=$(tail -n 1 <<<"$output")
		FIXTURE_PID=$leak
		loops='.pid == $pid and any(.stack[]; .function == "main.refreshLoop") and .wait_reason == "chan receive"'
		n=$(jq --argjson pid "$leak" "[.goroutines[] | select($loops)] | length" <<<"$REPORT")
		[ "$n" -ge 20 ]
		# most loops are known exactly (one that parked again between the
		# snapshot and the map read falls back to "observed": how many do
		# depends on the machine's load, so only a majority is asked), and
		# every exact one is parked for at most ~a tick
		local precise
		precise=$(jq --argjson pid "$leak" "[.goroutines[] | select($loops and .duration_source == \"precise\")] | length" <<<"$REPORT")
		echo "$v: $precise of $n loops precise"
		[ "$((precise * 2))" -gt "$n" ]
		[ "$(jq --argjson pid "$leak" "[.goroutines[] | select($loops and .duration_source == \"precise\" and .parked_ns >= 100000000)] | length" <<<"$REPORT")" -eq 0 ]
		# both processes still alive and well, nothing on their stderr
		kill -0 "$leak"
		kill -0 "$fixed"
		[ ! -s "$FIXTURE_ERR" ] && [ ! -s "$leak_err" ]
		grep -q 'go-precise: readies: [1-9]' <<<"$stderr"
		grep -q 'go-precise: exits: [1-9]' <<<"$stderr"
		grep -q 'same executable as an earlier target, probes shared' <<<"$stderr"
		kill "$leak" "$fixed"
	done
}

@test "the fixed chan sender still completes under the probes" {
	for v in $VERSIONS; do
		local fifo=$BATS_TEST_TMPDIR/trigger.$v
		# Probes are on the executable: a second instance, not watched,
		# runs its full send/drain (200 senders parked, readied, exited)
		# through them, and the watched one stays well.
		start_fixture "go/chansend-$v" leak 1
		start_parkwatch -p "$FIXTURE_PID" --go-precise -t 0 -i 300ms -d 3s
		wait_for_line "$PW_ERR" '^parkwatch: watching' 20
		local out=$BATS_TEST_TMPDIR/fixed.$v
		timeout 20 "$FIXTURES/go/chansend-$v" fixed 200 >"$out" 2>&1 &
		local p=$!
		wait_for_line "$out" '^READY' 20
		kill "$p"
		kill -0 "$FIXTURE_PID"
		wait_exit "$PW_PID" 30
		[ "$EXIT_STATUS" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "--go-precise on a process that is not Go: exit 2 with a message" {
	start_bg "$BATS_TEST_TMPDIR/sleep.out" "$BATS_TEST_TMPDIR/sleep.err" sleep 60
	run --separate-stderr timeout 30 "$PARKWATCH" -p "$BG_PID" --go-precise --once
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"process $BG_PID (sleep) is not a Go program"* ]]
}

@test "--go-precise needs -p, and contradicts --no-goroutines" {
	run --separate-stderr timeout 30 "$PARKWATCH" --go-precise --once
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--go-precise needs -p PID"* ]]
	run --separate-stderr timeout 30 "$PARKWATCH" -p $$ --go-precise --no-goroutines --once
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"contradict"* ]]
}

@test "the prologue decoder's unit test passes" {
	[ -x "$PARKWATCH_BUILD/unit/test_goprobe" ] || skip_or_fail "unit tests not built (make)"
	run "$PARKWATCH_BUILD/unit/test_goprobe"
	assert_success
	[[ "$output" == *", 0 failed" ]]
}
