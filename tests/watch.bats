#!/usr/bin/env bats
# Watch mode: threads created while parkwatch watches get a known creator and
# an observed start; threads parked before it attached are marked as such.

load helpers

setup() {
	require_root
	require_parkwatch
	FIFO=$BATS_TEST_TMPDIR/go.fifo
	mkfifo "$FIFO"
}

# watch_late_spawn PARKWATCH_ARGS...: start late_spawn, watch it, make it
# spawn its late threads, stop parkwatch with SIGINT; the final report ends
# up in $REPORT.
watch_late_spawn() {
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

@test "SIGINT in watch mode prints a final report and exits 0" {
	watch_late_spawn
	jq_check '.mode == "watch" and .final == true'
	jq_check 'mine | length == 4'
}

@test "with --futex-hooks, threads parked before attach are estimates with no creator" {
	watch_late_spawn --futex-hooks
	jq_check '.tracking == "futex-hooks"'
	jq_check '[mine[] | select(has_fn("^early_wait$"))] | length == 2'
	jq_check '[mine[] | select(has_fn("^early_wait$"))]
		| all(.since_attach == true and .duration_source == "last_arrival"
		      and .creator == null)'
}

@test "with --futex-hooks, late threads have an exact start and their creator in spawn_late" {
	watch_late_spawn --futex-hooks
	jq_check '[mine[] | select(has_fn("^late_wait$"))] | length == 2'
	jq_check '[mine[] | select(has_fn("^late_wait$"))]
		| all(.since_attach == false and .duration_source == "futex_enter")'
	jq_check '[mine[] | select(has_fn("^late_wait$"))]
		| all(.creator != null and .creator.tid == $pid and .creator.pid == $pid)'
	jq_check '[mine[] | select(has_fn("^late_wait$"))]
		| all([.creator.stack[]?.function // empty] | any(. == "spawn_late"))'
}

@test "without --futex-hooks, late threads have a known creator and a last_arrival start" {
	watch_late_spawn
	jq_check '.tracking == "sweep"'
	jq_check '[mine[] | select(has_fn("^late_wait$"))] | length == 2'
	jq_check '[mine[] | select(has_fn("^late_wait$"))]
		| all(.since_attach == false and .duration_source == "last_arrival")'
	jq_check '[mine[] | select(has_fn("^late_wait$"))]
		| all(.creator != null and .creator.tid == $pid
		      and ([.creator.stack[]?.function // empty] | any(. == "spawn_late")))'
	jq_check '[mine[] | select(has_fn("^early_wait$"))]
		| length == 2 and all(.since_attach == true and .creator == null)'
}

@test "SIGTERM in watch mode also prints a final report and exits 0" {
	start_fixture late_spawn "$FIFO"
	start_parkwatch -p "$FIXTURE_PID" -t 0 -i 1h --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	kill -TERM "$PW_PID"
	wait_exit "$PW_PID" 20
	assert_equal "$EXIT_STATUS" 0
	REPORT=$BATS_TEST_TMPDIR/final.json
	last_report "$PW_OUT" "$REPORT"
	jq_check '.final == true and (mine | length == 2)'
}

@test "--duration ends watch mode by itself with a final report" {
	start_fixture late_spawn "$FIFO"
	start_parkwatch -p "$FIXTURE_PID" -t 0 -i 1h -d 2s --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	wait_exit "$PW_PID" 20
	assert_equal "$EXIT_STATUS" 0
	REPORT=$BATS_TEST_TMPDIR/final.json
	last_report "$PW_OUT" "$REPORT"
	jq_check '.final == true and (mine | length == 2)'
}
