#!/usr/bin/env bats
# Test suites under command mode: every process the command starts is
# examined at its exit (go test's test binaries, a runner's children); the
# go command's own goroutines are not; a leaked goroutine names its test.

load helpers

GOTEST=$PW_REPO/tests/fixtures/gotest

setup() {
	require_root
	require_parkwatch
}

# use_go 126|119: the Go toolchain to run `go test` with, offline, with the
# build cache the Makefile warmed (make fixtures: gotest-cache).
use_go() {
	case $1 in
	126) GO=${GO126:-/usr/local/go/bin/go} ;;
	119) GO=${GO119:-/usr/lib/go-1.19/bin/go} ;;
	esac
	[ -x "$GO" ] || skip_or_fail "Go $1 not installed at $GO"
	export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off GOTELEMETRY=off
	export GOCACHE=$PARKWATCH_BUILD/gocache/go$1 GOPATH=$PARKWATCH_BUILD/gopath
	unset GODEBUG
}

# go_test ARGS... -- GO_TEST_ARGS...: parkwatch --json -o $REPORT in the
# fixture module; every report of the run in $REPORT (one document each).
go_test() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	REPORT=$BATS_TEST_TMPDIR/reports.json
	cd "$GOTEST"
	run --separate-stderr timeout 300 "$PARKWATCH" --json -o "$REPORT" -t 1h "${opts[@]}" \
		-- "$GO" test -count=1 "$@"
	cd - >/dev/null
}

# The goroutines the test binary of package $1 left, as "test|wait" lines, sorted.
leaks_of() {
	jq -r -s --arg pkg "$1" '.[] | select(.process.descendant and
		(.process.cmdline | test("/" + $pkg + "\\.test")))
		| .goroutines[] | "\(.test)|\(.wait_reason)"' "$REPORT" | LC_ALL=C sort
}

@test "go test: each leaked goroutine names its test (sequential, parallel, subtests, chains), exit 1 with --fail" {
	for v in 126 119; do
		use_go $v
		go_test --fail -- ./leaky
		[ "$status" -eq 1 ] || { echo "go$v: status $status: $stderr"; false; }
		# Go 1.19 says semacquire where later releases say sync.Mutex.Lock
		local mutex=sync.Mutex.Lock
		[ $v = 119 ] && mutex=semacquire
		run leaks_of leaky
		assert_output "TestChain|select (no cases)
TestParallel/a|chan send
TestParallel/b|chan send
TestSequential|chan send
TestSequential|chan send
TestSubtests/case_1|$mutex"
		# one report for the test binary, one for the go command (not a subject)
		[ "$(jq -s '[.[] | select(.goroutines | length > 0)] | length' "$REPORT")" -eq 1 ]
		jq_check '.process.descendant' <(jq -s -c '.[] | select(.goroutines | length > 0)' "$REPORT")
		[ "$(jq -s -r 'last | .process.tool' "$REPORT")" = cmd/go ]
		[ "$(jq -s 'last | (.threads | length) + (.goroutines | length)' "$REPORT")" -eq 0 ]
		# the test binary's runtime threads are idle, not left behind
		[ "$(jq -s '[.[] | .threads[]] | length' "$REPORT")" -eq 0 ]
	done
}

@test "test binaries' probes are uprobe multi-links; perf-event uprobes (kernels before 6.6) name the same tests" {
	use_go 126
	local expected="TestChain|select (no cases)
TestParallel/a|chan send
TestParallel/b|chan send
TestSequential|chan send
TestSequential|chan send
TestSubtests/case_1|sync.Mutex.Lock"
	go_test -v --fail -- ./leaky
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
	[[ "$stderr" == *"wrote "*"leaky.test, judged in "*"(uprobe multi-links)"* ]] ||
		fail "the test binary was not probed by multi-links: $(grep linker <<<"$stderr")"
	run leaks_of leaky
	assert_output "$expected"
	PARKWATCH_TEST_NO_MULTI_UPROBES=1 go_test -v --fail -- ./leaky
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
	[[ "$stderr" == *"(perf-event uprobes)"* ]] || fail "not perf-event uprobes: $stderr"
	[[ "$stderr" != *"uprobe multi-links"* ]]
	run leaks_of leaky
	assert_output "$expected"
}

@test "go test: a clean package passes with --fail; goroutines that ended after their test are not flagged" {
	for v in 126 119; do
		use_go $v
		go_test --fail -- ./clean
		[ "$status" -eq 0 ] || { echo "go$v: status $status"; cat "$REPORT"; false; }
		# only the go command's final report: the test binary left nothing
		[ "$(jq -s 'length' "$REPORT")" -eq 1 ]
		[ "$(jq -s -r '.[0].process.tool' "$REPORT")" = cmd/go ]
		[ "$(jq -s '.[0].end_of_run.covered' "$REPORT")" = true ]
	done
}

@test "go test ./...: every package's binary is examined, text groups leaks by test" {
	use_go 126
	cd "$GOTEST"
	run --separate-stderr timeout 300 "$PARKWATCH" --fail -t 1h -- "$GO" test -count=1 \
		-bench . -benchtime 1x ./...
	assert_failure 1
	assert_output --partial "ok  	example.com/suite/clean"
	assert_output --partial "TestSequential leaked 2 goroutines [chan send] created at leaky_test.go:"
	assert_output --partial "TestSubtests/case_1 leaked 1 goroutine [sync.Mutex.Lock] created at leaky_test.go:"
	assert_output --partial "BenchmarkLeak leaked"
	assert_output --partial "(started by the command): "
	assert_output --partial "it is the Go toolchain's cmd/go, not a subject"
	refute_output --partial "signal_recv"
	refute_output --partial "spinning"
}

@test "GODEBUG set by the user is kept: direct creators still name the test, chains do not" {
	use_go 126
	export GODEBUG=madvdontneed=1
	go_test -- ./leaky -run 'TestSequential|TestChain'
	assert_success
	run leaks_of leaky
	assert_output "TestSequential|chan send
TestSequential|chan send
null|select (no cases)"
}

@test "a C program under sh -c: its threads left at exit are reported with its command line" {
	require_fixture exit_leaky
	REPORT=$BATS_TEST_TMPDIR/reports.json
	run --separate-stderr timeout 60 "$PARKWATCH" --fail --json -o "$REPORT" -t 1h \
		-- sh -c "$FIXTURES/exit_leaky leak; true"
	assert_failure 1
	jq -s -c '.[0]' "$REPORT" >"$BATS_TEST_TMPDIR/child.json"
	REPORT=$BATS_TEST_TMPDIR/child.json
	jq_check '.process.descendant and (.process.cmdline | endswith("exit_leaky leak"))'
	jq_check '.end_of_run.snapshot and (.threads | length) == 4'
	jq_check '[.threads[] | select(any(.stack[]; .function == "worker_wait"))] | length == 2'
	# the shell itself never had a second thread: covered, nothing flagged
	jq_check '.final and (.process.descendant | not) and .end_of_run.covered' \
		<(jq -s -c last "$BATS_TEST_TMPDIR/reports.json")
}

@test "no descendant is stopped at its exec: the only stop is the end-of-run one, after its last word" {
	require_fixture stop_watch
	require_fixture exit_leaky
	require_fixture go/exitcode-go126
	# stop_watch runs each program (new to parkwatch: never exec'd in the
	# run before) as its child and sees every stop and continue of it, as
	# a shell with job control would, classed before/after its READY.
	REPORT=$BATS_TEST_TMPDIR/reports.json
	run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$REPORT" -t 1h \
		-- sh -c "$FIXTURES/stop_watch $FIXTURES/exit_leaky leak; $FIXTURES/stop_watch $FIXTURES/go/exitcode-go126"
	assert_success
	[ "$(grep -c '^READY' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^stop_watch: before_ready=0 after_ready=[0-9]* status=0$' <<<"$output")" -eq 2 ]
	refute_output --partial "(before READY)"
	# the C child was still stopped at its end, as documented: its threads
	# are reported
	jq -s -c '.[] | select(.process.descendant and (.process.cmdline | endswith("exit_leaky leak")))' \
		"$REPORT" >"$BATS_TEST_TMPDIR/child.json"
	REPORT=$BATS_TEST_TMPDIR/child.json
	jq_check '.end_of_run.snapshot and (.threads | length) == 4'
}

@test "a C program run by make: reported, and the runner's own status passes through" {
	require_fixture exit_leaky
	printf 'test:\n\t%s leak\n\t%s fixed\n' "$FIXTURES/exit_leaky" "$FIXTURES/exit_leaky" \
		>"$BATS_TEST_TMPDIR/Makefile"
	run --separate-stderr timeout 60 "$PARKWATCH" --fail -t 1h -- make -s -C "$BATS_TEST_TMPDIR" test
	assert_failure 1
	assert_output --partial "4 threads left behind at exit"
	assert_output --partial "exit_leaky leak"
	refute_output --partial "exit_leaky fixed"
	run --separate-stderr timeout 60 "$PARKWATCH" --fail -t 1h -- make -s -C "$BATS_TEST_TMPDIR" nosuchtarget
	assert_failure 2
}

@test "a descendant killed with threads running is reported as ending without exit()" {
	require_fixture exit_leaky
	REPORT=$BATS_TEST_TMPDIR/reports.json
	run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$REPORT" -t 1h \
		-- sh -c "$FIXTURES/exit_leaky abort; true"
	assert_success
	jq -s -c '.[] | select(.process.descendant)' "$REPORT" >"$BATS_TEST_TMPDIR/child.json"
	REPORT=$BATS_TEST_TMPDIR/child.json
	jq_check '(.end_of_run.snapshot | not) and (.end_of_run.covered | not)'
	jq_check '.end_of_run.reason | test("killed by signal 6")'
	jq_check '.end_of_run.exit_status == 134'
}

@test "a descendant that replaces itself by exec while threads run is reported as such" {
	require_fixture exit_leaky
	REPORT=$BATS_TEST_TMPDIR/reports.json
	run --separate-stderr timeout 60 "$PARKWATCH" --json -o "$REPORT" -t 1h \
		-- sh -c "$FIXTURES/exit_leaky exec; true"
	assert_success
	jq -s -c '.[0]' "$REPORT" >"$BATS_TEST_TMPDIR/child.json"
	REPORT=$BATS_TEST_TMPDIR/child.json
	jq_check '.process.descendant and (.process.cmdline | endswith("exit_leaky exec"))'
	jq_check '(.end_of_run.covered | not) and (.end_of_run.reason | test("exec while 4 other threads"))'
}

@test "bats helper: parkwatch_run and parkwatch_assert_no_leaks over go test" {
	use_go 126
	load "$PW_REPO/tools/parkwatch.bash"
	export PARKWATCH
	cd "$GOTEST"
	parkwatch_run -t 1h -- "$GO" test -count=1 ./clean
	parkwatch_assert_no_leaks
	parkwatch_run -t 1h -- "$GO" test -count=1 ./leaky -run TestSubtests
	run parkwatch_assert_no_leaks
	assert_failure 1
	assert_output --partial "TestSubtests/case_1 leaked 1 goroutine [sync.Mutex.Lock] created at leaky_test.go:"
}

@test "periodic reports during the run cover the command's descendants" {
	require_fixture condvar_leak
	local reports deadline fixture=
	# on stdout: -o FILE is replaced only once the run's last report is in
	start_parkwatch -i 1s -t 100ms --json -- sh -c "$FIXTURES/condvar_leak >/dev/null; true"
	reports=$PW_OUT
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	# wait (60 s at most) for a periodic report listing the fixture's workers
	deadline=$(($(now_ms) + 60000))
	until fixture=$(json_docs "$reports" | jq -r 'select(.final == false)
		| .threads[] | select(.comm == "condvar_leak") | .pid' | head -n 1) && [ -n "$fixture" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "no periodic report listed condvar_leak"
		sleep 0.1
	done
	# the fixture is the shell's child, not the command itself
	[ "$fixture" != "$PW_PID" ]
	[ "$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$fixture/stat")" != "$PW_PID" ]
	kill -TERM "$fixture"
	wait_exit "$PW_PID" 30
	assert_equal "$EXIT_STATUS" 0
	# its end without exit() is reported, the shell's end last
	json_docs "$reports" | jq -s -e --argjson p "$fixture" \
		'any(.[]; .process.pid == $p and (.end_of_run.reason | test("killed by signal 15")))
		 and (last | .final)' >/dev/null
}

@test "go test with periodic reports: the go command is not swept, and only exits count for --fail" {
	use_go 126
	go_test --fail -i 50ms -t 0 -- ./clean
	[ "$status" -eq 0 ] || { echo "status $status: $stderr"; false; }
	local gopid
	gopid=$(jq -s -r 'last | .process.pid' "$REPORT")
	[ "$(jq -s -r 'last | .process.tool' "$REPORT")" = cmd/go ]
	# periodic reports came, none about the go command's own threads or goroutines
	[ "$(jq -s '[.[] | select(.final == false)] | length' "$REPORT")" -ge 1 ]
	[ "$(jq -s --argjson p "$gopid" '[.[] | (.threads[], .goroutines[]) | select(.pid == $p)] | length' "$REPORT")" -eq 0 ]
}
