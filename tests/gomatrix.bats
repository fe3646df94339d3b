#!/usr/bin/env bats
# The Go binary matrix: the mutexhold fixture built by Debian's Go 1.19, the
# machine's Go 1.26 and Go 1.27.3 (module cache), each in the ways real
# programs ship: default, -ldflags='-s -w', -trimpath, build info removed
# (-s -w, then objcopy --remove-section .go.buildinfo), -buildmode=pie, cgo.
# The Makefile builds them (tools/go-matrix-build.sh). For each, the
# goroutines parkwatch reads from outside equal the runtime's own
# runtime.Stack(buf, true) of the same moment: same goids, wait reasons and
# top user function; and the report says which Go and where that came from.

load helpers

setup() {
	require_root
	require_parkwatch
}

# truth_check TOOLCHAIN KIND: start the build, one sweep, compare with the
# dump the fixture wrote just before READY.
truth_check() {
	local tc=$1 kind=$2 want_version
	local dump=$BATS_TEST_TMPDIR/dump-$tc-$kind
	case $tc in
	go119) want_version=go1.19. ;;
	go126) want_version=go1.26. ;;
	go127) want_version=go1.27.3 ;;
	esac
	PARKWATCH_GO_DUMP=$dump start_fixture "go/matrix/mutexhold-$tc-$kind" leak 3
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	REPORT=$output
	# goroutine N [reason]: then frames; top user function = first main.* frame
	local expected actual
	expected=$(awk '
		/^goroutine [0-9]+ \[/ { id = $2; st = $0; sub(/^[^[]*\[/, "", st); sub(/[],].*/, "", st); top = ""; next }
		/^main\./ && top == "" && id != 1 { top = $1; sub(/\(.*/, "", top); print id, st, top }
	' "$dump" | sort)
	actual=$(jq -r '.goroutines[] | "\(.goid) \(.wait_reason) \([.stack[].function | select(startswith("main."))][0])"' <<<"$REPORT" | sort)
	echo "expected:"; echo "$expected"; echo "actual:"; echo "$actual"
	jq -c '.go_processes' <<<"$REPORT"
	# holder + 3 waiters: not vacuous
	[ "$(wc -l <<<"$expected")" -eq 4 ]
	[ "$expected" = "$actual" ]
	[[ "$(jq -r '.go_processes[0].go_version' <<<"$REPORT")" == "$want_version"* ]]
	local vsrc layout
	vsrc=$(jq -r '.go_processes[0].go_version_source' <<<"$REPORT")
	layout=$(jq -r '.go_processes[0].layout' <<<"$REPORT")
	case $kind in
	nobuildinfo)
		[ "$vsrc" = "runtime.buildVersion (code: runtime.schedinit)" ]
		[[ "$layout" == table* ]] ;;
	sw) [ "$vsrc" = buildinfo ]; [[ "$layout" == table* ]] ;;
	*) [ "$vsrc" = buildinfo ]; [ "$layout" = dwarf ] ;;
	esac
	# the text report names the version source when it is not the build info
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
	assert_success
	if [ "$kind" = nobuildinfo ]; then
		assert_output --regexp "PID $FIXTURE_PID goroutines.*\\($want_version.*, version from runtime.buildVersion \\(code: runtime.schedinit\\)\\)"
	else
		assert_output --regexp "PID $FIXTURE_PID goroutines.*\\($want_version[0-9]*\\)"
	fi
	kill "$FIXTURE_PID"
}

@test "matrix go1.19 default" { truth_check go119 default; }
@test "matrix go1.19 -s -w" { truth_check go119 sw; }
@test "matrix go1.19 -trimpath" { truth_check go119 trimpath; }
@test "matrix go1.19 no build info, stripped" { truth_check go119 nobuildinfo; }
@test "matrix go1.19 PIE" { truth_check go119 pie; }
@test "matrix go1.19 cgo" { truth_check go119 cgo; }
@test "matrix go1.26 default" { truth_check go126 default; }
@test "matrix go1.26 -s -w" { truth_check go126 sw; }
@test "matrix go1.26 -trimpath" { truth_check go126 trimpath; }
@test "matrix go1.26 no build info, stripped" { truth_check go126 nobuildinfo; }
@test "matrix go1.26 PIE" { truth_check go126 pie; }
@test "matrix go1.26 cgo" { truth_check go126 cgo; }
@test "matrix go1.27.3 default" { truth_check go127 default; }
@test "matrix go1.27.3 -s -w" { truth_check go127 sw; }
@test "matrix go1.27.3 -trimpath" { truth_check go127 trimpath; }
@test "matrix go1.27.3 no build info, stripped" { truth_check go127 nobuildinfo; }
@test "matrix go1.27.3 PIE" { truth_check go127 pie; }
@test "matrix go1.27.3 cgo" { truth_check go127 cgo; }
