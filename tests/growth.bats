#!/usr/bin/env bats
# Classes that need several looks (growing, spinning) are decided by looks
# of their own between reports (--sample, 1 s with -p), so that a short
# watch (-d 4s, one report at the end) decides them; threads get growing
# like goroutines.

load helpers

setup() {
	require_root
	require_parkwatch
}

@test "threads stranded one per 200 ms are growing after a 4 s watch with one report" {
	start_fixture strand 100
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length >= 10'
	jq_check '(mine | length) as $n | mine | all(.verdict == "growing" and .site_count == $n)'
	run --separate-stderr timeout 60 "$PARKWATCH" -t 0 -d 3s -p "$FIXTURE_PID"
	assert_success
	assert_output --regexp 'growing \([0-9]+ from this site, rising\)'
}

@test "without looks between reports nothing can be growing: the cadence is what decides" {
	start_fixture strand 100
	run_parkwatch -t 0 -d 4s -i 10s --sample 10s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length >= 10'
	jq_check 'mine | all(.verdict == "parked")'
}

@test "a steady set of parked threads is parked, not growing" {
	start_fixture condvar_leak 3
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3 and all(.verdict == "parked")'
}

@test "goroutines started per tick and never stopped are growing after a 4 s watch" {
	start_fixture go/ticker-go126 leak
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check '[.goroutines[] | select(.pid == $pid and .verdict == "growing")] | length > 0'
}

@test "a spinning goroutine is spinning after a 4 s watch" {
	start_fixture go/spin-go126 leak
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check '[.goroutines[] | select(.pid == $pid and .verdict == "spinning")] | length > 0'
}

@test "--sample must be a duration of at least 10ms" {
	run --separate-stderr "$PARKWATCH" --sample 1ms -p $$ -d 1s
	assert_failure 2
	[[ $stderr == *"--sample"* ]]
}

@test "an idle pool whose threads keep piling up is growing; one at rest stays idle" {
	# One reader thread per connection, each idle by itself (a socket read),
	# one more every 200 ms: not at rest.
	start_fixture strand 100 socket
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length >= 10'
	jq_check '(mine | length) as $n | mine | all(.verdict == "growing" and .site_count == $n)'
	# The same readers, three of them and no more: idle, folded into the
	# process's idle line, nothing flagged.
	start_fixture strand 3 socket
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 0'
	jq_check '[.idle_summary[] | select(.pid == $pid) | .count] == [3]'
	# --show-idle lists them, idle
	run_parkwatch -t 0 -d 3s --show-idle -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3 and all(.verdict == "idle")'
}
