#!/usr/bin/env bats
# Folded stacks (--format folded) and pprof profiles (--format pprof).

load helpers

GO=${GO:-/usr/local/go/bin/go}

setup() {
	require_root
	require_parkwatch
}

# The 'weight' of the folded line matching the extended REGEX in $output.
folded_weight() {
	printf '%s\n' "$output" | grep -E -- "$1" | awk '{ print $NF }'
}

# assert_folded_shape: every line of $output is "frames weight".
assert_folded_shape() {
	[ -n "$output" ] || fail "no folded output"
	if printf '%s\n' "$output" | grep -Ev '^[^ ]+ [0-9]+$'; then
		fail "lines above are not 'frame;...;frame weight'"
	fi
}

# go_pprof ARGS...: go tool pprof with bats' run (stdout and stderr in
# $output). pprof is built into the Go cache on first use, offline.
go_pprof() {
	[ -x "$GO" ] || skip_or_fail "$GO not installed (needed to read pprof output)"
	run bash -c 'cd "$1" && shift && GOTOOLCHAIN=local timeout 120 "$@"' _ \
		"$BATS_TEST_TMPDIR" "$GO" tool pprof "$@"
}

# pprof_of ARGS...: write the profile of a parkwatch run to $PROFILE.
pprof_of() {
	PROFILE=$BATS_TEST_TMPDIR/profile.$RANDOM.pb.gz
	run_parkwatch --format pprof -o "$PROFILE" "$@"
	assert_success
	[ -s "$PROFILE" ] || fail "no profile written to $PROFILE"
}

@test "folded: one line for the three condvar workers, root first, weight 3" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded
	assert_success
	assert_folded_shape
	# Root element is the executable's basename, the wait is the leaf.
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 1
	assert_output --regexp '^condvar_leak;'
	assert_output --regexp '(^|;)worker_main;worker_wait;_*pthread_cond_wait(@[^;]*)?;'
	assert_output --regexp ';\[futex:FUTEX_WAIT[^];]*\] 3$'
	assert_equal "$(folded_weight 'worker_wait')" 3
}

@test "folded: --weight parked sums the parked time of the three workers" {
	start_fixture condvar_leak 3
	local ready_ms=$(now_ms)
	sleep 0.5
	local elapsed_ms=$(($(now_ms) - ready_ms))
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded --weight count
	assert_success
	local count=$(folded_weight 'worker_main;worker_wait;')
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded --weight parked
	assert_success
	assert_folded_shape
	local parked=$(folded_weight 'worker_main;worker_wait;')
	assert_equal "$count" 3
	[ -n "$parked" ] && [ "$parked" -gt 0 ] || fail "parked weight '$parked'"
	[ "$parked" -gt "$count" ] || fail "parked weight $parked <= count $count"
	# Every worker was parked before READY: each has waited at least as long
	# as this test has (minus a few ms of estimate).
	[ "$parked" -ge $((3 * (elapsed_ms - 20) * 1000000)) ] ||
		fail "parked weight $parked ns < 3 x ${elapsed_ms} ms"
}

@test "folded: join_stuck gives one line per stack, each weight 1" {
	start_fixture join_stuck
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded
	assert_success
	assert_folded_shape
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 2
	assert_equal "$(folded_weight ';stuck_main;stuck_wait;_*pthread_cond_wait(@[^;]*)?;')" 1
	assert_equal "$(folded_weight ';joiner_main;join_worker;[^ ]*pthread_[a-z]*join')" 1
}

@test "folded: watch mode writes the final report only" {
	start_fixture condvar_leak 3
	run_parkwatch -t 0 -p "$FIXTURE_PID" -i 100ms -d 1s --format folded
	assert_success
	assert_folded_shape
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 1
	assert_equal "$(folded_weight 'worker_wait')" 3
}

@test "folded: nothing flagged prints nothing" {
	start_fixture condvar_leak 3
	run_parkwatch --once -t 1h -p "$FIXTURE_PID" --format folded
	assert_success
	assert_output ''
}

@test "pprof: -o FILE writes a gzip file" {
	start_fixture condvar_leak 3
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	run file "$PROFILE"
	assert_output --partial 'gzip compressed data'
	# Nothing else went to stdout.
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format pprof -o "$PROFILE.2"
	assert_output ''
}

@test "pprof: go tool pprof -raw reads sample types, 3 worker samples, stack and labels" {
	start_fixture condvar_leak 3
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -raw "$PROFILE"
	assert_success
	assert_line --regexp '^threads/count(\[dflt\])? parked/nanoseconds'
	# One sample per thread: value 1 thread, > 0 ns parked.
	assert_equal "$(printf '%s\n' "$output" | grep -Ec '^ +1 +[1-9][0-9]*: [0-9 ]+$')" 3
	assert_line --regexp '^ +[0-9]+: 0x[0-9a-f]+ M=[0-9]+ worker_wait .*condvar_leak\.c:[0-9]+'
	assert_line --regexp '^ +[0-9]+: 0x[0-9a-f]+ M=[0-9]+ _*pthread_cond_wait'
	assert_line --regexp '^ +[0-9]+: 0x[0-9a-f]+ M=[0-9]+ worker_main '
	# Labels: every sample has tid and pid (numeric), wait, comm, class.
	assert_equal "$(printf '%s\n' "$output" | grep -Ec "pid:\[$FIXTURE_PID\] tid:\[[0-9]+\]")" 3
	assert_equal "$(printf '%s\n' "$output" | grep -Ec 'wait:\[futex FUTEX_WAIT[^]]*\]')" 3
	assert_output --partial 'comm:[condvar_leak]'
	assert_output --partial 'class:[futex]'
	# The worker tids, not the main thread.
	refute_output --partial "tid:[$FIXTURE_PID]"
}

@test "pprof: a sample's stack is leaf first: pthread_cond_wait, worker_wait, worker_main" {
	start_fixture condvar_leak 3
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -traces "$PROFILE"
	assert_success
	# -traces prints each stack leaf first, one function per line.
	local order
	order=$(printf '%s\n' "$output" | awk '$NF ~ /^(_*pthread_cond_wait|worker_wait|worker_main)$/ { print $NF }' |
		head -3 | tr '\n' ' ')
	assert_equal "$(echo "$order" | sed 's/^_*//')" "pthread_cond_wait worker_wait worker_main "
}

@test "pprof: go tool pprof -top lists worker_wait under both sample types" {
	start_fixture condvar_leak 3
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -top "$PROFILE"
	assert_success
	assert_output --partial 'Type: threads'
	assert_line --regexp ' 3 +100% +worker_wait$'
	go_pprof -top -sample_index=parked "$PROFILE"
	assert_success
	assert_output --partial 'Type: parked'
	assert_line --regexp 'worker_wait$'
}

@test "pprof: join_stuck: two samples, the joiner's stack and wait label" {
	start_fixture join_stuck
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -raw "$PROFILE"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -Ec '^ +1 +[1-9][0-9]*: [0-9 ]+$')" 2
	assert_line --regexp ' M=[0-9]+ join_worker '
	assert_line --regexp ' M=[0-9]+ stuck_wait '
	assert_equal "$(printf '%s\n' "$output" | grep -Ec 'wait:\[futex FUTEX_WAIT')" 2
	go_pprof -tagfocus=wait=FUTEX_WAIT_BITSET_PRIVATE -top "$PROFILE"
	assert_success
	assert_line --regexp 'stuck_wait$'
	refute_line --regexp 'join_worker$'
}

@test "pprof: nothing flagged is still a valid, empty profile" {
	start_fixture condvar_leak 3
	pprof_of --once -t 1h -p "$FIXTURE_PID"
	go_pprof -raw "$PROFILE"
	assert_success
	assert_line --regexp '^threads/count(\[dflt\])? parked/nanoseconds'
	refute_line --regexp '^ +1 +[0-9]+: '
}

@test "folded: 7 leaked goroutines are one line, root first, weight 7 (go126 and go119)" {
	for v in go126 go119; do
		start_fixture "go/chansend-$v" leak 7
		run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded
		assert_success
		assert_folded_shape
		# pw_stack is innermost first: the line reverses it, the go statement's
		# wrapper above main.sendResult, the runtime's park below it.
		local re="^chansend-$v;runtime\.goexit;main\.startSenders\.(gowrap1|func1);main\.sendResult;runtime\.chansend1;runtime\.chansend;runtime\.gopark;\[go:chan_send\] 7\$"
		assert_equal "$(printf '%s\n' "$output" | grep -Ec "$re")" 1
		# The creator is not a frame of its own.
		refute_output --regexp '(^|;)main\.startSenders;'
		# --weight parked: a single sweep has no observed duration, 0 ns.
		run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded --weight parked
		assert_success
		assert_folded_shape
		[ -n "$(folded_weight 'main\.sendResult;.*\[go:chan_send\]')" ] || fail "no chan_send line"
		kill "$FIXTURE_PID"
	done
}

@test "folded: --weight parked sums the goroutines' observed parked time" {
	start_fixture go/chansend-go126 leak 7
	run_parkwatch -t 0 -p "$FIXTURE_PID" -i 200ms -d 1200ms --format folded --weight parked
	assert_success
	assert_folded_shape
	local w=$(folded_weight 'main\.sendResult;.*\[go:chan_send\]')
	[ -n "$w" ] && [ "$w" -gt 7 ] || fail "parked weight '$w'"
}

@test "pprof: 7 goroutine samples, goid/pid/wait/class/created_by labels, stack leaf first" {
	start_fixture go/chansend-go126 leak 7
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -raw "$PROFILE"
	assert_success
	assert_line --regexp '^threads/count(\[dflt\])? parked/nanoseconds'
	assert_equal "$(printf '%s\n' "$output" | grep -Ec '^ +1 +[0-9]+: [0-9 ]+$')" 7
	assert_equal "$(printf '%s\n' "$output" | grep -Ec "goid:\[[0-9]+\] pid:\[$FIXTURE_PID\]")" 7
	assert_equal "$(printf '%s\n' "$output" | grep -Ec 'class:\[parked\] created_by:\[main\.startSenders\] wait:\[chan send\]')" 7
	assert_line --regexp '^ +[0-9]+: 0x[0-9a-f]+ M=1 main\.sendResult .*main\.go:[0-9]+'
	assert_line --regexp '^1: 0x0/0x0/0x0 chansend-go126 '
	go_pprof -traces "$PROFILE"
	assert_success
	local order
	order=$(printf '%s\n' "$output" | awk '$NF ~ /^(runtime\.chansend1|main\.sendResult|main\.startSenders\.gowrap1)$/ { print $NF }' |
		head -3 | tr '\n' ' ')
	assert_equal "$order" "runtime.chansend1 main.sendResult main.startSenders.gowrap1 "
	go_pprof -top "$PROFILE"
	assert_success
	assert_line --regexp ' 7 +100% +runtime\.gopark$'
}

@test "pprof: -tagfocus on a goroutine's class and wait" {
	start_fixture go/chansend-go119 leak 7
	pprof_of --once -t 0 -p "$FIXTURE_PID"
	go_pprof -raw "$PROFILE"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -Ec "goid:\[[0-9]+\] pid:\[$FIXTURE_PID\]")" 7
	assert_line --regexp ' M=1 main\.sendResult '
	go_pprof -tagfocus=class=parked -top "$PROFILE"
	assert_success
	assert_line --regexp ' 7 +100% +runtime\.gopark$'
	go_pprof -tagfocus=wait=chan.send -top "$PROFILE"
	assert_success
	assert_line --regexp ' 7 +100% +runtime\.gopark$'
	go_pprof -tagfocus=class=spinning -top "$PROFILE"
	refute_line --regexp 'runtime\.gopark$'
}
