#!/usr/bin/env bats
# Idle waits: Go runtime idle Ms (futexsleep, the netpoller) are hidden by
# default and shown, marked idle, with --show-idle (fixture built with Go 1.26
# and Debian's Go 1.19); --idle-file replaces the built-in list.

load helpers

setup() {
	require_root
	require_parkwatch
}

IDLE_RE='^runtime[.](futexsleep|notesleep|mPark|netpoll)$'

idle_hidden_by_default() {
	start_fixture "go/idle-$1"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check "[mine[] | select(has_fn(\"$IDLE_RE\"))] | length == 0"
	# Not vacuous: the sweep did find idle Ms and hid them.
	jq_check '.stats.idle_hidden >= 2'
}

idle_shown_with_show_idle() {
	start_fixture "go/idle-$1"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --show-idle
	assert_success
	jq_check "[mine[] | select(has_fn(\"$IDLE_RE\"))] | length >= 2"
	jq_check "[mine[] | select(has_fn(\"$IDLE_RE\"))] | all(.idle == true)"
	jq_check '.stats.idle_hidden == 0'
}

@test "go1.26: runtime idle waits are not flagged by default" {
	idle_hidden_by_default go126
}

@test "go1.26: --show-idle flags runtime idle waits with idle true" {
	idle_shown_with_show_idle go126
}

@test "go1.19: runtime idle waits are not flagged by default" {
	idle_hidden_by_default go119
}

@test "go1.19: --show-idle flags runtime idle waits with idle true" {
	idle_shown_with_show_idle go119
}

@test "--idle-file with an empty list replaces the built-in one: Go idle Ms are flagged" {
	start_fixture go/idle-go126
	printf '# no idle waits at all\n\n' >"$BATS_TEST_TMPDIR/empty.idle"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --idle-file "$BATS_TEST_TMPDIR/empty.idle"
	assert_success
	jq_check "[mine[] | select(has_fn(\"$IDLE_RE\"))] | length >= 2"
	jq_check 'mine | all(.idle == false)'
	jq_check '.stats.idle_hidden == 0'
}

@test "--idle-file naming worker_wait hides the condvar workers" {
	start_fixture condvar_leak 3
	printf '# our own idle wait\nworker_wait\n' >"$BATS_TEST_TMPDIR/ww.idle"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --idle-file "$BATS_TEST_TMPDIR/ww.idle"
	assert_success
	jq_check 'mine | length == 0'
	jq_check '.stats.idle_hidden == 3'
}
