# Shared helpers for the parkwatch bats suite: `load helpers` from each file.
#
#   PARKWATCH_BUILD   build directory (default: the repo's build/)
#   CI=true           tests that would be skipped (not root, no binary) fail instead

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

# run --separate-stderr needs bats >= 1.5.
bats_require_minimum_version 1.5.0

PW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARKWATCH_BUILD=${PARKWATCH_BUILD:-$PW_REPO/build}
PARKWATCH=$PARKWATCH_BUILD/parkwatch
FIXTURES=$PARKWATCH_BUILD/fixtures

# Processes started by this test, killed by teardown.
PW_STARTED_PIDS=()
# JSON report files of parkwatch runs started by start_parkwatch, validated
# by teardown (assert_started_reports_valid).
PW_JSON_OUTS=()

# Every JSON report a test makes parkwatch write is checked against the
# schema file by this validator (python3-jsonschema).
PW_SCHEMA=$PW_REPO/tools/parkwatch.schema.json
PW_VALIDATE=$PW_REPO/tools/validate-json.py

# skip_or_fail REASON: skip locally, but in CI a skipped test hides a broken
# environment, so fail there.
skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		fail "cannot run in CI: $1"
	fi
	skip "$1"
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_or_fail "needs root (BPF)"
}

require_parkwatch() {
	[ -x "$PARKWATCH" ] || skip_or_fail "$PARKWATCH not built (make build/parkwatch)"
}

require_fixture() {
	[ -x "$FIXTURES/$1" ] || skip_or_fail "fixture $FIXTURES/$1 not built (make fixtures)"
}

# now_ms: wall-clock milliseconds, for timeouts within one test.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_for_line FILE REGEX TIMEOUT_S: poll FILE until a line matches the
# extended REGEX. Fails with the file's content on timeout.
wait_for_line() {
	local file=$1 regex=$2 timeout=$3
	local deadline=$(($(now_ms) + timeout * 1000))

	until grep -Eq -- "$regex" "$file" 2>/dev/null; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			echo "wait_for_line: no line matching /$regex/ in $file after ${timeout}s:" >&2
			sed 's/^/  | /' "$file" >&2 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
}

# is_gone PID: true once PID has exited (gone or a zombie).
is_gone() {
	local state
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# wait_exit PID TIMEOUT_S: wait for a background child to exit, reap it and
# set EXIT_STATUS. Fails if it is still running after TIMEOUT_S.
wait_exit() {
	local pid=$1 timeout=$2
	local deadline=$(($(now_ms) + timeout * 1000))

	until is_gone "$pid"; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			echo "wait_exit: pid $pid still running after ${timeout}s" >&2
			return 1
		fi
		sleep 0.05
	done
	EXIT_STATUS=0
	wait "$pid" || EXIT_STATUS=$?
}

# start_bg OUT ERR CMD...: start CMD in the background (fd 3 closed so bats
# does not wait for it) and remember it for teardown. Sets BG_PID.
start_bg() {
	local out=$1 err=$2
	shift 2
	"$@" >"$out" 2>"$err" </dev/null 3>&- &
	BG_PID=$!
	PW_STARTED_PIDS+=("$BG_PID")
}

# start_fixture NAME ARGS...: run build/fixtures/NAME in the background and
# wait (20 s) for its "READY <pid>". Exports FIXTURE_PID, FIXTURE_OUT (its
# stdout file) and FIXTURE_ERR.
start_fixture() {
	local name=$1
	shift
	require_fixture "$name"
	FIXTURE_OUT=$BATS_TEST_TMPDIR/${name##*/}.$RANDOM.out
	FIXTURE_ERR=${FIXTURE_OUT%.out}.err
	start_bg "$FIXTURE_OUT" "$FIXTURE_ERR" "$FIXTURES/$name" "$@"
	if ! wait_for_line "$FIXTURE_OUT" "^READY $BG_PID\$" 20; then
		echo "fixture $name stderr:" >&2
		sed 's/^/  | /' "$FIXTURE_ERR" >&2
		fail "fixture $name did not become READY"
	fi
	export FIXTURE_PID=$BG_PID FIXTURE_OUT FIXTURE_ERR
}

# start_parkwatch ARGS...: parkwatch in the background, stdout/stderr to
# PW_OUT/PW_ERR. Sets PW_PID. With --json, teardown validates PW_OUT's reports.
start_parkwatch() {
	PW_OUT=$BATS_TEST_TMPDIR/parkwatch.$RANDOM.out
	PW_ERR=${PW_OUT%.out}.err
	start_bg "$PW_OUT" "$PW_ERR" "$PARKWATCH" "$@"
	PW_PID=$BG_PID
	! json_args "$@" || PW_JSON_OUTS+=("$PW_OUT")
}

# run_parkwatch ARGS...: run parkwatch to completion (60 s at most) with
# bats' run: $status, $output (stdout only) and $stderr. stdout is also kept
# in $REPORT for jq. With --json, a run that exits 0 or 1 (a report was
# written) must have written reports that follow the schema.
run_parkwatch() {
	REPORT=$BATS_TEST_TMPDIR/report.$RANDOM.json
	run --separate-stderr timeout 60 "$PARKWATCH" "$@"
	printf '%s\n' "$output" >"$REPORT"
	if json_args "$@" && [ "$status" -le 1 ]; then
		assert_valid_json "$REPORT"
	fi
}

# json_args PARKWATCH_ARGS...: true when they ask for JSON (--json,
# --format json, --format=json) before any "--".
json_args() {
	local prev=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		--json | --format=json) return 0 ;;
		json) [ "$prev" = --format ] && return 0 ;;
		esac
		prev=$1
		shift
	done
	return 1
}

# assert_valid_json [--allow-partial] [FILE...]: every JSON report in each
# FILE (default or "-": stdin, e.g. <<<"$output") follows
# tools/parkwatch.schema.json. A file may hold several reports, one per line
# (watch and command mode): each is checked. --allow-partial leaves out a last
# report still being written. Fails the test with the validator's findings.
assert_valid_json() {
	local out
	out=$("$PW_VALIDATE" "$@" 2>&1) && return 0
	fail "$(printf 'JSON report does not follow %s:\n%s' "${PW_SCHEMA#"$PW_REPO"/}" "$out")"
}

# assert_started_reports_valid: the JSON reports of every start_parkwatch
# --json run of this test (those that wrote any) follow the schema; a report
# cut short by a kill is left out. Called by teardown, after kill_started.
assert_started_reports_valid() {
	local f files=()
	for f in "${PW_JSON_OUTS[@]}"; do
		[ -s "$f" ] && files+=("$f")
	done
	PW_JSON_OUTS=()
	[ ${#files[@]} -eq 0 ] || assert_valid_json --allow-partial "${files[@]}"
}

# Definitions available to every jq_check/jq_value filter; $pid is the
# current FIXTURE_PID.
#   fns          the function names of a thread's stack
#   has_fn(re)   some frame's function matches the regex
#   mine         the flagged threads of the fixture process
JQ_DEFS='def fns: [.stack[]?.function // empty];
def has_fn($re): any(fns[]; test($re));
def mine: [.threads[] | select(.pid == $pid)];'

# jq_check FILTER [FILE]: FILTER must yield true on FILE (default $REPORT);
# on failure print the filter and the document.
jq_check() {
	local filter=$1 file=${2:-$REPORT}

	if ! jq -e --argjson pid "${FIXTURE_PID:-0}" "$JQ_DEFS $filter" "$file" >/dev/null; then
		echo "jq check failed: $filter" >&2
		{ jq . "$file" 2>/dev/null || cat "$file"; } | head -200 | sed 's/^/  | /' >&2
		return 1
	fi
}

# jq_value FILTER [FILE]: print the raw result of FILTER.
jq_value() {
	local filter=$1 file=${2:-$REPORT}

	jq -r --argjson pid "${FIXTURE_PID:-0}" "$JQ_DEFS $filter" "$file"
}

# json_docs FILE: every complete JSON document in FILE, one per line (a
# report being written right now is left out).
json_docs() {
	jq -c . "$1" 2>/dev/null || true
}

# wait_for_reports FILE N TIMEOUT_S: wait until FILE holds N complete JSON
# documents.
wait_for_reports() {
	local file=$1 n=$2 timeout=$3
	local deadline=$(($(now_ms) + timeout * 1000))

	until [ "$(json_docs "$file" | wc -l)" -ge "$n" ]; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			echo "wait_for_reports: fewer than $n reports in $file after ${timeout}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# last_report FILE OUT: the last complete JSON document of FILE into OUT.
last_report() {
	json_docs "$1" | tail -n 1 >"$2"
	[ -s "$2" ] || { echo "no complete JSON report in $1" >&2; return 1; }
}

# kill_started: stop everything this test started, politely then firmly.
kill_started() {
	local pid
	for pid in "${PW_STARTED_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PW_STARTED_PIDS[@]}"; do
		wait_exit "$pid" 5 2>/dev/null || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	done
	PW_STARTED_PIDS=()
}

teardown() {
	kill_started
	assert_started_reports_valid
}
