#!/usr/bin/env bats
# Goroutines of live Go processes, read from outside: the five leak shapes
# (leaky forms flagged with the right class, fixed forms not), the runtime's
# own account of the same moment, stripped binaries, both Go versions.

load helpers

setup() {
	require_root
	require_parkwatch
}

VERSIONS="go126 go119 go127"

# once_json FIXTURE ARGS...: start a Go fixture, one sweep of it as JSON.
once_json() {
	local name=$1
	shift
	start_fixture "go/$name" "$@"
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	assert_valid_json <<<"$output"
	REPORT=$output
}

# watch_json FIXTURE ARGS...: sweeps every 200 ms for 1.6 s; the final report.
watch_json() {
	local name=$1
	shift
	start_fixture "go/$name" "$@"
	run --separate-stderr timeout 30 "$PARKWATCH" -p "$FIXTURE_PID" -t 0 -i 200ms -d 1600ms --json
	assert_success
	assert_valid_json <<<"$output"
	REPORT=$(tail -n 1 <<<"$output")
	[ "$(jq .final <<<"$REPORT")" = true ]
}

count() { jq "[.goroutines[] | select($1)] | length" <<<"$REPORT"; }

@test "chan send with no receiver: N goroutines parked, created by main.startSenders" {
	for v in $VERSIONS; do
		once_json "chansend-$v" leak 7
		[ "$(count '.class == "parked" and .wait_reason == "chan send"')" -eq 7 ]
		[ "$(count 'any(.stack[]; .function == "main.sendResult")')" -eq 7 ]
		[ "$(count '.created_by.function == "main.startSenders" and (.created_by.file | endswith("main.go")) and .created_by.line > 0')" -eq 7 ]
		# one group of 7
		[ "$(jq '[.goroutines[].group] | unique | length' <<<"$REPORT")" -eq 1 ]
		[ "$(jq -r '.go_processes[0].go_version' <<<"$REPORT")" = "go1.${v#go1}"* ] || true
		[[ "$(jq -r '.go_processes[0].go_version' <<<"$REPORT")" == go1.* ]]
		# the main goroutine sleeps (timed) and runtime goroutines are hidden
		[ "$(count '.goid == 1')" -eq 0 ]
		[ "$(jq '.go_processes[0].runtime_hidden' <<<"$REPORT")" -gt 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "parent goroutine is recorded on Go 1.21+, null on 1.19" {
	once_json chansend-go126 leak 2
	[ "$(count '.created_by.parent_goid == 1')" -eq 2 ]
	kill "$FIXTURE_PID"
	once_json chansend-go119 leak 2
	[ "$(count '.created_by.parent_goid == null')" -eq 2 ]
}

@test "the fixed sender leaves nothing flagged" {
	for v in $VERSIONS; do
		once_json "chansend-$v" fixed 7
		[ "$(jq '.goroutines | length' <<<"$REPORT")" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "receivers on a channel never closed are parked in chan receive; fixed: none" {
	for v in $VERSIONS; do
		once_json "chanrecv-$v" leak 4
		[ "$(count '.class == "parked" and .wait_reason == "chan receive" and any(.stack[]; .function == "main.worker")')" -eq 4 ]
		kill "$FIXTURE_PID"
		once_json "chanrecv-$v" fixed 4
		[ "$(jq '.goroutines | length' <<<"$REPORT")" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "a mutex holder blocked elsewhere and the goroutines queued on the mutex" {
	for v in $VERSIONS; do
		once_json "mutexhold-$v" leak 4
		[ "$(count '.wait_reason == "chan receive" and any(.stack[]; .function == "main.holder")')" -eq 1 ]
		[ "$(count '(.wait_reason == "sync.Mutex.Lock" or .wait_reason == "semacquire") and any(.stack[]; .function == "main.waiter") and any(.stack[]; .function == "sync.(*Mutex).Lock")')" -eq 4 ]
		kill "$FIXTURE_PID"
		once_json "mutexhold-$v" fixed 4
		[ "$(jq '.goroutines | length' <<<"$REPORT")" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "for { select { default: } } is spinning over the window; fixed: not" {
	for v in $VERSIONS; do
		watch_json "spin-$v" leak
		[ "$(count '.class == "spinning" and .created_by.function == "main.startPoller" and .status != "waiting"')" -eq 1 ]
		kill "$FIXTURE_PID"
		watch_json "spin-$v" fixed
		[ "$(count '.class == "spinning"')" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "a ticker started per request and never stopped is growing; fixed: not" {
	for v in $VERSIONS; do
		watch_json "ticker-$v" leak 20 50
		[ "$(count '.class == "growing" and .created_by.function == "main.handleRequest"')" -gt 20 ]
		[ "$(jq '[.goroutines[] | select(.class == "growing") | .site_count] | max' <<<"$REPORT")" -gt 20 ]
		kill "$FIXTURE_PID"
		watch_json "ticker-$v" fixed 20 50
		[ "$(count '.class == "growing"')" -eq 0 ]
		kill "$FIXTURE_PID"
	done
}

@test "watch mode: durations are observed across sweeps and pass the threshold" {
	start_fixture go/chansend-go126 leak 3
	run --separate-stderr timeout 30 "$PARKWATCH" -p "$FIXTURE_PID" -t 500ms -i 400ms -d 1300ms --json
	assert_success
	assert_valid_json <<<"$output"
	# first report: seen once, duration unknown, flagged (a single look)
	local first last
	first=$(head -n 1 <<<"$output")
	last=$(tail -n 1 <<<"$output")
	[ "$(jq '[.goroutines[] | select(.duration_source == "unknown")] | length' <<<"$first")" -eq 3 ]
	[ "$(jq '[.goroutines[] | select(.duration_source == "observed" and .parked_ns >= 500000000)] | length' <<<"$last")" -eq 3 ]
}

@test "truth check: same goids, wait reasons and top user function as the runtime's own dump" {
	for v in $VERSIONS; do
		local dump=$BATS_TEST_TMPDIR/dump-$v
		PARKWATCH_GO_DUMP=$dump once_json "mutexhold-$v" leak 3
		# goroutine N [reason]: then frames; top user function = first main.* frame
		local expected actual
		expected=$(awk '
			/^goroutine [0-9]+ \[/ { id = $2; st = $0; sub(/^[^[]*\[/, "", st); sub(/[],].*/, "", st); top = ""; next }
			/^main\./ && top == "" && id != 1 { top = $1; sub(/\(.*/, "", top); print id, st, top }
		' "$dump" | sort)
		actual=$(jq -r '.goroutines[] | "\(.goid) \(.wait_reason) \([.stack[].function | select(startswith("main."))][0])"' <<<"$REPORT" | sort)
		echo "expected:"; echo "$expected"; echo "actual:"; echo "$actual"
		[ -n "$expected" ]
		[ "$expected" = "$actual" ]
		kill "$FIXTURE_PID"
	done
}

@test "a stripped Go binary (-s -w) still gets function names and file:line" {
	local gov bin
	for gov in /usr/local/go/bin/go /usr/lib/go-1.19/bin/go; do
		bin=$BATS_TEST_TMPDIR/chansend-stripped
		(cd "$PW_REPO/tests/fixtures/go/chansend" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
			"$gov" build -ldflags='-s -w' -o "$bin" main.go fixture.go)
		! readelf -S "$bin" | grep -q '\.symtab'
		FIXTURES_SAVE=$FIXTURES
		start_bg "$BATS_TEST_TMPDIR/s.out" "$BATS_TEST_TMPDIR/s.err" "$bin" leak 3
		wait_for_line "$BATS_TEST_TMPDIR/s.out" "^READY $BG_PID\$" 20
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$BG_PID" --json
		assert_success
		assert_valid_json <<<"$output"
		REPORT=$output
		[ "$(count '.wait_reason == "chan send" and any(.stack[]; .function == "main.sendResult" and (.file | endswith("main.go")))')" -eq 3 ]
		kill "$BG_PID"
		wait_exit "$BG_PID" 10
	done
}

@test "a C process has no goroutines; --no-goroutines skips Go processes" {
	start_fixture condvar_leak 1
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	assert_valid_json <<<"$output"
	[ "$(jq '.go_processes | length' <<<"$output")" -eq 0 ]
	once_json chansend-go126 leak 2
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json --no-goroutines
	assert_success
	assert_valid_json <<<"$output"
	[ "$(jq '.goroutines | length' <<<"$output")" -eq 0 ]
	[ "$(jq '.go_processes | length' <<<"$output")" -eq 0 ]
}

@test "command mode: goroutines left at exit are listed, the exiting one is not" {
	for v in $VERSIONS; do
		local report=$BATS_TEST_TMPDIR/end-$v.json
		run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$report" -t 1h -- "$FIXTURES/go/exitcode-$v"
		assert_success
		assert_valid_json "$report"
		[ "$(jq '[.goroutines[] | select(.class == "parked" and .wait_reason == "chan receive" and any(.stack[]; .function == "main.leak"))] | length' "$report")" -eq 3 ]
		[ "$(jq '[.goroutines[] | select(.goid == 1)] | length' "$report")" -eq 0 ]
	done
}

@test "command mode, stripped Go binary without build info: end-of-run probe found through the pclntab" {
	local bin=$BATS_TEST_TMPDIR/exitcode-stripped report=$BATS_TEST_TMPDIR/end.json
	(cd "$PW_REPO/tests/fixtures/go/exitcode" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
		/usr/local/go/bin/go build -ldflags='-s -w' -o "$bin.tmp" ./*.go)
	objcopy --remove-section .go.buildinfo "$bin.tmp" "$bin"
	! nm "$bin" 2>/dev/null | grep -q runtime.exit
	run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$report" -t 1h -- "$bin"
	assert_success
	[ "$(jq '.end_of_run.snapshot' "$report")" = true ]
	[ "$(jq -r '.go_processes[0].go_version_source' "$report")" = "runtime.buildVersion (code: runtime.schedinit)" ]
	[ "$(jq '[.goroutines[] | select(.class == "parked" and .wait_reason == "chan receive" and any(.stack[]; .function == "main.leak"))] | length' "$report")" -eq 3 ]
}

@test "a Go version parkwatch has never seen, no DWARF: layout inferred, goroutines read" {
	local bin=$BATS_TEST_TMPDIR/chansend-unknown
	(cd "$PW_REPO/tests/fixtures/go/chansend" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
		/usr/local/go/bin/go build -ldflags=-w -o "$bin" main.go fixture.go)
	local v
	v=$(/usr/local/go/bin/go env GOVERSION)
	# Same length, so the binary stays intact: a version parkwatch cannot know.
	perl -pi -e "s/\Q$v\E/go1.98.8/g" "$bin"
	start_bg "$BATS_TEST_TMPDIR/u.out" "$BATS_TEST_TMPDIR/u.err" "$bin" leak 3
	wait_for_line "$BATS_TEST_TMPDIR/u.out" "^READY $BG_PID\$" 20
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$BG_PID" --json
	assert_success
	assert_valid_json <<<"$output"
	[ "$(jq -r '.go_processes[0].go_version' <<<"$output")" = go1.98.8 ]
	[[ "$(jq -r '.go_processes[0].layout' <<<"$output")" == "inferred ("* ]]
	# wait reasons from the binary's own list, the channel found
	[ "$(jq '[.goroutines[] | select(.wait_reason == "chan send" and .waits_for.kind == "chan send" and any(.stack[]; .function == "main.sendResult"))] | length' <<<"$output")" -eq 3 ]
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$BG_PID"
	assert_output --partial "(go1.98.8, layout inferred ("
	kill "$BG_PID"
}

@test "a Go process exiting mid-sweep is reported as exited, not as an error" {
	start_fixture go/chansend-go126 leak 50
	local gate=$BATS_TEST_TMPDIR/gate
	start_bg "$BATS_TEST_TMPDIR/pw.out" "$BATS_TEST_TMPDIR/pw.err" \
		env PARKWATCH_TEST_GATE="$gate" "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	local pw=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/pw.err" "parkwatch: test gate" 20
	kill -9 "$FIXTURE_PID"
	wait_exit "$FIXTURE_PID" 10
	touch "$gate"
	wait_exit "$pw" 30
	[ "$EXIT_STATUS" -eq 0 ]
	assert_valid_json "$BATS_TEST_TMPDIR/pw.out"
	local out
	out=$(cat "$BATS_TEST_TMPDIR/pw.out")
	[ "$(jq "[.exited[] | select(.pid == $FIXTURE_PID)] | length" <<<"$out")" -eq 1 ]
	[ "$(jq '[.go_processes[] | select(.error != null)] | length' <<<"$out")" -eq 0 ]
}

@test "a goroutine list changing all the time is read sweep after sweep without failing" {
	start_fixture go/ticker-go126 leak 20 5 1
	run --separate-stderr timeout 30 "$PARKWATCH" -p "$FIXTURE_PID" -t 0 -i 50ms -d 2s --json
	assert_success
	assert_valid_json <<<"$output"
	local n
	n=$(wc -l <<<"$output")
	[ "$n" -ge 10 ]
	# every report is whole JSON, none with a read error
	jq -e 'select(.go_processes[0].error != null)' <<<"$output" && return 1
	[ "$(jq -s 'map(.go_processes[0].goroutines) | min' <<<"$output")" -gt 20 ]
}
