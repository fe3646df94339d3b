#!/usr/bin/env bats
# Spinning threads and goroutines: decided across looks (a thread running at
# each look that never slept in between, its CPU time rising), and shown
# where they spin, from a perf-event CPU sample of the running thread (no
# signal, no stop: the thread cannot tell).

load helpers

setup() {
	require_root
	require_parkwatch
}

# voluntary_ctxt_switches of the fixture's spinning thread (not the main one).
spinner_nvcsw() {
	local t
	for t in /proc/"$FIXTURE_PID"/task/*; do
		[[ ${t##*/} == "$FIXTURE_PID" ]] && continue
		awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status"
	done
}

@test "a C thread looping on a flag nobody sets is spinning, with the sampled stack of its loop" {
	start_fixture spin_thread
	before=$(spinner_nvcsw)
	run_parkwatch -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 1'
	jq_check 'mine[0] | .verdict == "spinning" and .state == "R" and .stack_sampled == true'
	jq_check 'mine[0].spin | .looks >= 3 and .cpu_ns > 0 and .wall_ns > 0'
	jq_check 'mine[0] | fns[0] == "spin_until_stopped" and has_fn("^spinner_main$")'
	# Sampling it did not make it sleep or stop even once.
	[[ $before == 0 && $(spinner_nvcsw) == 0 ]]
}

@test "the text report says spinning and where" {
	start_fixture spin_thread
	run --separate-stderr timeout 60 "$PARKWATCH" -d 3s -p "$FIXTURE_PID"
	assert_success
	assert_output --partial '0 threads parked past'
	assert_output --partial ', 1 spinning'
	assert_output --regexp '1 thread spinning \(running at [0-9]+ looks over'
	assert_output --partial 'spin_until_stopped+'
}

@test "one look cannot say spinning: --once flags nothing in the spinner" {
	start_fixture spin_thread
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 0'
}

@test "a busy pool that sleeps between jobs is not spinning" {
	start_fixture busy_pool 4
	run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | all(.verdict != "spinning")'
}

@test "a spinning goroutine shows where it spins (Go 1.26 and Go 1.19)" {
	for v in go126 go119; do
		start_fixture go/spin-$v leak
		run_parkwatch -t 0 -d 4s -p "$FIXTURE_PID" --json
		assert_success
		jq_check '[.goroutines[] | select(.pid == $pid and .verdict == "spinning")] | length == 1'
		jq_check '.goroutines[] | select(.pid == $pid and .verdict == "spinning") |
			.stack_sampled == true and .stack_error == null and has_fn("^main\\.poll$")'
		# The thread running it is judged as that goroutine, not twice.
		jq_check 'mine | all(.verdict != "spinning")'
		kill "$FIXTURE_PID"
	done
}
