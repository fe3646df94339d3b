#!/usr/bin/env bats
# A -p target is its PID and its start time: once it exits it is listed once
# in "exited" and dropped, a new process that gets the same PID is never
# swept as the target, and watch mode ends when no target is left.

load helpers

setup() {
	require_root
	require_parkwatch
}

# spawn_as_pid PID OUT CMD...: start CMD as process PID, made free again by
# the test, through /proc/sys/kernel/ns_last_pid (retried: another process
# on the machine may fork in between). Sets SPAWNED_PID (maybe not PID, if
# the machine took it first).
spawn_as_pid() {
	local want=$1 out=$2
	shift 2
	SPAWNED_PID=$(python3 - "$want" "$out" "$@" <<'PY'
import os, sys
want, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
for attempt in range(50):
    with open('/proc/sys/kernel/ns_last_pid', 'w') as f:
        f.write(str(want - 1))
    child = os.fork()
    if child == 0:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(cmd[0], cmd)
    if child == want or attempt == 49:
        print(child)
        break
    os.kill(child, 9)
    os.waitpid(child, 0)
PY
	)
	PW_STARTED_PIDS+=("$SPAWNED_PID")
}

@test "a target that exits is listed once as exited, and watch mode ends" {
	start_fixture condvar_leak 1
	local pid=$FIXTURE_PID
	start_parkwatch -p "$pid" -i 1h -t 0 --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 30
	kill -KILL "$pid"
	wait_exit "$pid" 10
	wait_exit "$PW_PID" 20 || fail "parkwatch did not end when its only target exited"
	assert_equal "$EXIT_STATUS" 0
	grep -q 'every watched process has exited' "$PW_ERR" || fail "$(cat "$PW_ERR")"
	# Listed once over the whole run, as a target that exited.
	run jq -s --argjson p "$pid" '[.[].exited[] | select(.pid == $p)]' "$PW_OUT"
	assert_equal "$(jq -c 'map(.reason)' <<<"$output")" '["exited"]'
}

@test "with two targets, one exiting leaves the other watched" {
	start_fixture condvar_leak 1
	local a=$FIXTURE_PID
	start_fixture condvar_leak 2
	local b=$FIXTURE_PID
	start_parkwatch -p "$a" -p "$b" -i 200ms -t 0 --json
	wait_for_line "$PW_OUT" "\"pid\":$b" 30
	kill -KILL "$a"
	wait_exit "$a" 10
	wait_for_line "$PW_OUT" "\"exited\":\\[\\{\"pid\":$a,\"reason\":\"exited\"" 20
	# Later reports still list b's two workers.
	local before deadline=$(($(now_ms) + 20000))
	before=$(wc -l <"$PW_OUT")
	until [ "$(wc -l <"$PW_OUT")" -gt $((before + 1)) ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "no report after the exit one"
		sleep 0.05
	done
	tail -1 "$PW_OUT" | jq -e --argjson b "$b" '[.threads[] | select(.pid == $b)] | length == 2' >/dev/null ||
		fail "b no longer watched: $(tail -1 "$PW_OUT")"
	kill -TERM "$PW_PID"
	wait_exit "$PW_PID" 20
}

@test "a new process with the target's PID is never adopted" {
	[ -w /proc/sys/kernel/ns_last_pid ] || skip_or_fail "/proc/sys/kernel/ns_last_pid not writable"
	start_fixture condvar_leak 1
	local pid=$FIXTURE_PID old_tids
	old_tids=$(ls "/proc/$pid/task" | sort -n | tr '\n' ' ')
	start_parkwatch -p "$pid" -i 300ms -t 0 --json
	wait_for_line "$PW_OUT" "\"pid\":$pid" 30
	# parkwatch is held (not a target: no signal reaches any target)
	# while the target dies and another process takes its PID.
	kill -STOP "$PW_PID"
	kill -KILL "$pid"
	wait_exit "$pid" 10
	spawn_as_pid "$pid" "$BATS_TEST_TMPDIR/new.out" "$FIXTURES/condvar_leak" 2
	wait_for_line "$BATS_TEST_TMPDIR/new.out" "^READY $SPAWNED_PID\$" 20
	[ "$SPAWNED_PID" = "$pid" ] || echo "# PID $pid was taken by another process first" >&3
	kill -CONT "$PW_PID"
	wait_exit "$PW_PID" 20 || fail "parkwatch did not end: it adopted the new process"
	# It ended because its one target was gone (127: bash could not give the
	# status, seen once in a full run, as if the job had been reaped already).
	grep -q 'every watched process has exited' "$PW_ERR" || fail "$(cat "$PW_ERR")"
	[ "$EXIT_STATUS" = 127 ] || assert_equal "$EXIT_STATUS" 0
	# Every thread listed under that PID is one of the old process's.
	run jq -r --argjson p "$pid" '.threads[] | select(.pid == $p) | .tid' "$PW_OUT"
	for tid in $output; do
		[[ " $old_tids " == *" $tid "* ]] || fail "thread $tid of the new process reported as the target's"
	done
	run jq -s -c --argjson p "$pid" '[.[].exited[] | select(.pid == $p) | .reason]' "$PW_OUT"
	if [ "$SPAWNED_PID" = "$pid" ]; then
		assert_output '["pid_reused"]'
	else
		[[ $output == '["pid_reused"]' || $output == '["exited"]' ]] || fail "$output"
	fi
}
