#!/usr/bin/env bats
# Hostile names: a target controls its thread names, its executable's path
# and name, and its symbols. No output format may pass a control byte, a
# bidi override or invalid UTF-8 to the operator's terminal, or let a name
# split a report line (tools/doc/hostile-input.md, "Escaping").

load helpers

GO=${GO:-/usr/local/go/bin/go}

setup() {
	require_root
	require_parkwatch
	require_fixture hostile_names
	# The fixture runs as a copy whose directory and file name are hostile
	# too: ESC, a newline, a bidi override, folded separators, bad UTF-8.
	HDIR=$BATS_TEST_TMPDIR/$'dir\e[31m\nPID 1 forged\xe2\x80\xae'
	HEXE=$'h\e[1m;x y\xff\xe2\x80\xaez'
	mkdir -p "$HDIR"
	cp "$FIXTURES/hostile_names" "$HDIR/$HEXE"
	FIXTURE_OUT=$BATS_TEST_TMPDIR/hostile.out
	start_bg "$FIXTURE_OUT" "$BATS_TEST_TMPDIR/hostile.err" "$HDIR/$HEXE"
	wait_for_line "$FIXTURE_OUT" "^READY $BG_PID\$" 20 || fail "fixture not READY"
	FIXTURE_PID=$BG_PID
}

# assert_clean FILE: no C0 byte but newline, no DEL, valid UTF-8, and none
# of the bidi controls or C1 controls that escape.h lists.
assert_clean() {
	if LC_ALL=C grep -nP '[\x00-\x09\x0b-\x1f\x7f]' "$1"; then
		fail "control bytes in $1 (lines above)"
	fi
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null || fail "$1 is not valid UTF-8"
	if LC_ALL=C.UTF-8 grep -nP '[\x{80}-\x{9f}\x{61c}\x{200e}\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}]' "$1"; then
		fail "bidi or C1 controls in $1 (lines above)"
	fi
}

@test "hostile names: text shows every name and path escaped, one line each" {
	local out=$BATS_TEST_TMPDIR/report.txt
	"$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" -o "$out"
	assert_clean "$out"
	# Each name, escaped, in its own group line "tid N (NAME); ...".
	for shown in 'q"uo\\te' 'nl\nPID 1 forged' '\x1b[31mred\x1b]0;t\x07' 'c0\x01\x02\x7fdel' \
		'bad\xff\xfe\xc3(' 'rtl\u202egnp.exe' '%s%n%x%p' 'semi;colon sp'; do
		grep -qF "($shown); " "$out" || fail "name shown as '$shown' not found in: $(cat "$out")"
	done
	# The path: escaped once, on the PID line.
	grep -qF "PID $FIXTURE_PID $BATS_TEST_TMPDIR/"'dir\x1b[31m\nPID 1 forged\u202e/h\x1b[1m;x y\xff\u202ez' "$out" ||
		fail "executable path not escaped as expected: $(grep '^PID' "$out")"
	# Nothing forged: the only line that starts with "PID " is the real one.
	run grep -c '^PID ' "$out"
	assert_output 1
	run grep -c '^  1 thread parked' "$out"
	assert_output 8
}

@test "hostile names: folded lines keep their shape, the exe name escaped" {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format folded
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/folded"
	assert_clean "$BATS_TEST_TMPDIR/folded"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/folded")" -eq 8 ] || fail "want 8 lines: $output"
	if printf '%s\n' "$output" | grep -Ev '^[^ ]+ [0-9]+$'; then
		fail "lines above are not 'frame;...;frame weight'"
	fi
	# ';' and ' ' of the name become ':' and '_', so the root is one frame.
	printf '%s\n' "$output" | grep -qF 'h\x1b[1m:x_y\xff\u202ez;__clone3;' ||
		fail "root frame not escaped: $output"
}

@test "hostile names: JSON is valid, has no raw control bytes, and names round-trip" {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	assert_clean "$REPORT"
	jq -e . "$REPORT" >/dev/null || fail "jq cannot parse the report"
	local n
	# Every valid-UTF-8 name comes back byte for byte.
	for n in 'q"uo\te' $'nl\nPID 1 forged' $'\e[31mred\e]0;t\a' $'c0\x01\x02\x7fdel' \
		$'rtl\xe2\x80\xaegnp.exe' '%s%n%x%p' 'semi;colon sp'; do
		jq -e --arg n "$n" '[.threads[].comm] | index($n) != null' "$REPORT" >/dev/null ||
			fail "name $(printf '%q' "$n") does not round-trip: $(jq -c '[.threads[].comm]' "$REPORT")"
	done
	# Invalid UTF-8 cannot be a JSON string: its bytes become U+FFFD.
	jq -e '[.threads[].comm] | index("bad\ufffd\ufffd\ufffd(") != null' "$REPORT" >/dev/null ||
		fail "invalid UTF-8 not replaced: $(jq -c '[.threads[].comm]' "$REPORT")"
	jq -e '[.threads[].exe] | unique | length == 1 and (.[0] | endswith("/h\u001b[1m;x y\ufffd\u202ez"))' \
		"$REPORT" >/dev/null || fail "exe wrong: $(jq -c '[.threads[].exe] | unique' "$REPORT")"
}

@test "hostile names: pprof reads the profile and shows the names escaped" {
	[ -x "$GO" ] || skip_or_fail "$GO not installed (needed to read pprof output)"
	local prof=$BATS_TEST_TMPDIR/hostile.pb.gz
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --format pprof -o "$prof"
	assert_success
	run bash -c 'cd "$1" && GOTOOLCHAIN=local timeout 120 "$2" tool pprof -raw "$3"' _ \
		"$BATS_TEST_TMPDIR" "$GO" "$prof"
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/pprof.txt"
	assert_clean "$BATS_TEST_TMPDIR/pprof.txt"
	assert_output --partial '\x1b[31mred\x1b]0;t\x07'
	assert_output --partial 'nl\nPID 1 forged'
	assert_output --partial 'rtl\u202egnp.exe'
}
