#!/usr/bin/env bats
# What blocked goroutines wait on (user/go/wait.c): the channel of a chan
# send/receive (its address, element type, buffer, closed flag, how many
# wait to send and receive) and the sync.Mutex of goroutines queued in
# semacquire (from runtime.semtable), goroutines on the same object grouped.
# Both Go versions; stripped binaries (channel layout from the per-version
# table, no semtable).

load helpers

setup() {
	require_root
	require_parkwatch
}

VERSIONS="go126 go119 go127"

once_json() {
	local name=$1
	shift
	start_fixture "go/$name" "$@"
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	assert_valid_json <<<"$output"
	REPORT=$output
}

count() { jq "[.goroutines[] | select($1)] | length" <<<"$REPORT"; }
value() { jq -r "$1" <<<"$REPORT"; }

# The address of a data symbol of an unstripped fixture, as "0x..." (no
# leading zeros), to check a lock's address against the truth.
symbol_addr() {
	readelf -sW "$FIXTURES/go/$1" | awk -v s="$2" '$8 == s { print $2; exit }' |
		sed 's/^0*/0x/'
}

@test "chan send leak: one group of 100 on one unbuffered channel, 100 senders, 0 receivers" {
	for v in $VERSIONS; do
		once_json "chansend-$v" leak 100
		[ "$(count '.waits_for.kind == "chan send"')" -eq 100 ]
		[ "$(value '[.goroutines[].waits_for.object] | unique | length')" -eq 1 ]
		[[ "$(value '.goroutines[0].waits_for.object')" == 0x* ]]
		[ "$(value '[.goroutines[].group] | unique | length')" -eq 1 ]
		[ "$(count '.waits_for.chan.senders == 100 and .waits_for.chan.receivers == 0')" -eq 100 ]
		[ "$(count '.waits_for.chan.cap == 0 and .waits_for.chan.len == 0 and .waits_for.chan.closed == false')" -eq 100 ]
		[ "$(count '.waits_for.chan.elem_size == 8 and .waits_for.chan.elem_type == "int"')" -eq 100 ]
		[ "$(count '.waits_for.target_goid == null')" -eq 100 ]
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
		assert_success
		assert_output --regexp "waits on chan 0x[0-9a-f]+ \(unbuffered, elem int\): 100 senders waiting, 0 receivers"
		kill "$FIXTURE_PID"
	done
}

@test "chan receive leak: N receivers on a channel never closed" {
	for v in $VERSIONS; do
		once_json "chanrecv-$v" leak 6
		[ "$(count '.waits_for.kind == "chan receive" and any(.stack[]; .function == "main.worker")')" -eq 6 ]
		[ "$(value '[.goroutines[].waits_for.object] | unique | length')" -eq 1 ]
		[ "$(count '.waits_for.chan.receivers == 6 and .waits_for.chan.senders == 0 and .waits_for.chan.closed == false')" -eq 6 ]
		[ "$(value '[.goroutines[].group] | unique | length')" -eq 1 ]
		kill "$FIXTURE_PID"
	done
}

@test "mutex held by a goroutine blocked on a channel: 4 waiters share the sync.Mutex's address" {
	local mu
	for v in $VERSIONS; do
		once_json "mutexhold-$v" leak 4
		mu=$(symbol_addr "mutexhold-$v" main.mu)
		[[ "$mu" == 0x* ]]
		[ "$(count '.waits_for.kind == "mutex" and any(.stack[]; .function == "main.waiter")')" -eq 4 ]
		[ "$(value '[.goroutines[] | select(.waits_for.kind == "mutex") | .waits_for.object] | unique | .[]')" = "$mu" ]
		[ "$(count '.waits_for.lock.type == "sync.Mutex" and .waits_for.lock.queued == 4 and .waits_for.lock.holder_goid == null')" -eq 4 ]
		[ "$(value '[.goroutines[] | select(.waits_for.kind == "mutex") | .group] | unique | length')" -eq 1 ]
		# the holder: parked in chan receive on the release channel
		[ "$(count '.waits_for.kind == "chan receive" and any(.stack[]; .function == "main.holder") and .waits_for.chan.receivers == 1 and .waits_for.chan.elem_type == "struct {}"')" -eq 1 ]
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
		assert_success
		assert_output --partial "queued on sync.Mutex $mu with 3 other goroutines; the holder is not recorded by Go"
		kill "$FIXTURE_PID"
	done
}

@test "fixed forms: nothing flagged, no wait objects" {
	for v in $VERSIONS; do
		once_json "chansend-$v" fixed 5
		[ "$(value '.goroutines | length')" -eq 0 ]
		kill "$FIXTURE_PID"
		once_json "mutexhold-$v" fixed 3
		[ "$(value '.goroutines | length')" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "stripped binaries: channels from the layout table; lock addresses need .symtab" {
	local gov bin ldflags
	for gov in /usr/local/go/bin/go /usr/lib/go-1.19/bin/go; do
		for ldflags in '-w' '-s -w'; do
			bin=$BATS_TEST_TMPDIR/mutexhold-stripped
			(cd "$PW_REPO/tests/fixtures/go/mutexhold" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
				"$gov" build -ldflags="$ldflags" -o "$bin" main.go fixture.go)
			! readelf -S "$bin" | grep -q '\.debug_info'
			start_bg "$BATS_TEST_TMPDIR/s.out" "$BATS_TEST_TMPDIR/s.err" "$bin" leak 3
			wait_for_line "$BATS_TEST_TMPDIR/s.out" "^READY $BG_PID\$" 20
			run --separate-stderr "$PARKWATCH" --once -t 0 -p "$BG_PID" --json
			assert_success
			assert_valid_json <<<"$output"
			REPORT=$output
			# the holder's channel: found without DWARF nor symbols
			[ "$(count '.waits_for.kind == "chan receive" and .waits_for.chan.receivers == 1 and .waits_for.chan.elem_type == "struct {}"')" -eq 1 ]
			[ "$(count '.waits_for.kind == "mutex"')" -eq 3 ]
			if [ "$ldflags" = -w ]; then
				[ "$(value '[.goroutines[] | select(.waits_for.kind == "mutex") | .waits_for.object] | unique | length')" -eq 1 ]
				[ "$(count '.waits_for.kind == "mutex" and .waits_for.object != null and .waits_for.lock.queued == 3')" -eq 3 ]
			else
				[ "$(count '.waits_for.kind == "mutex" and .waits_for.object == null and (.waits_for.note | test("stripped"))')" -eq 3 ]
			fi
			kill "$BG_PID"
			wait_exit "$BG_PID" 10
		done
	done
}
