#!/usr/bin/env bats
# A target that exits between the BPF sweep and the unwinding is reported in
# "exited", not an error (PARKWATCH_TEST_GATE holds parkwatch at that point).

load helpers

setup() {
	require_root
	require_parkwatch
}

@test "a target killed mid-sweep is listed in exited and parkwatch exits 0" {
	start_fixture many_parked 200
	local gate=$BATS_TEST_TMPDIR/gate pid=$FIXTURE_PID
	PARKWATCH_TEST_GATE=$gate start_parkwatch --once -t 0 -p "$pid" --json
	wait_for_line "$PW_ERR" '^parkwatch: test gate' 30

	kill -KILL "$pid"
	wait_exit "$pid" 10
	[ ! -e "/proc/$pid" ] || fail "/proc/$pid still exists"

	touch "$gate"
	wait_exit "$PW_PID" 30
	if [ "$EXIT_STATUS" -ne 0 ]; then
		sed 's/^/  | /' "$PW_ERR" >&2
		fail "parkwatch exited $EXIT_STATUS"
	fi
	REPORT=$PW_OUT
	jq_check '.exited | any(.pid == $pid)'
	# Whatever it could not unwind is not reported as a live parked thread.
	jq_check '[.threads[] | select(.pid == $pid and .stack_error == null and (.stack | length) > 0)] | length == 0'
	refute grep -Eqi 'segmentation|abort|core dumped|double free' "$PW_ERR"
}

@test "in text mode, a target killed mid-sweep gets a line naming it" {
	start_fixture many_parked 50
	local gate=$BATS_TEST_TMPDIR/gate pid=$FIXTURE_PID
	PARKWATCH_TEST_GATE=$gate start_parkwatch --once -t 0 -p "$pid"
	wait_for_line "$PW_ERR" '^parkwatch: test gate' 30
	kill -KILL "$pid"
	wait_exit "$pid" 10
	touch "$gate"
	wait_exit "$PW_PID" 30
	assert_equal "$EXIT_STATUS" 0
	grep -q "$pid" "$PW_OUT" || fail "text report does not name pid $pid: $(cat "$PW_OUT")"
	refute grep -q parked_main "$PW_OUT"
}

@test "without the gate being held, the same sweep lists no exited process" {
	start_fixture many_parked 200
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check '.exited == []'
	jq_check 'mine | length == 200'
}
