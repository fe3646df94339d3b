# parkwatch.bash — bats helpers: fail a test when the program under test leaves
# threads parked forever (a condition variable nobody signals, a join that never
# returns, a lock-order deadlock), and show in the CI log what is parked, where
# and who created it.
#
#   load /path/to/parkwatch.bash          (in a .bats file; bats appends .bash
#                                           itself if you leave it out)
#
# Needs bats (>= 1.5), jq and parkwatch (run as root, or with CAP_BPF and
# CAP_PERFMON). Nothing else: no bats-support/bats-assert.
#
# Two ways to watch a program:
#
#   A process that is already running (a server, a daemon started by the test):
#
#       teardown() { parkwatch_stop; kill "$server_pid" 2>/dev/null || true; }
#       @test "the pool shuts its workers down" {
#           ./server 3>&- & server_pid=$!
#           parkwatch_watch_pid "$server_pid"
#           ...drive the server...
#           parkwatch_assert_no_parked --ignore-top accept_loop
#       }
#
#   A program that runs to completion, under parkwatch's command mode (tracing
#   in place from its first instruction; when it calls exit(), every other
#   thread still alive is reported, with the code that created it):
#
#       @test "the test binary leaves no thread behind" {
#           parkwatch_run -- ./my-test-binary --quick
#           [ "$PARKWATCH_STATUS" -eq 0 ]
#           parkwatch_assert_no_parked
#       }
#
# Functions (documented one by one below):
#   parkwatch_watch_pid PID [PARKWATCH_OPTIONS...]
#   parkwatch_run [PARKWATCH_OPTIONS...] -- COMMAND [ARGS...]
#   parkwatch_assert_no_parked [--threshold DUR] [--ignore-top F]... [...]
#   parkwatch_assert_no_leaks           (after parkwatch_run of a test runner)
#   parkwatch_stop
#   parkwatch_wait_for FILE REGEX [TIMEOUT_S [PID]]
#
# Environment:
#   PARKWATCH            the parkwatch binary (default: parkwatch in PATH)
#   PARKWATCH_THRESHOLD  parkwatch_assert_no_parked's default --threshold when
#                        neither it nor parkwatch_watch_pid got one (default 0:
#                        any thread in a wait without timeout right now)
#   PARKWATCH_TIMEOUT    seconds to wait for parkwatch to attach, to take a
#                        report or to stop (default 30)
#   PARKWATCH_RUN_TIMEOUT  parkwatch_run: stop the command after this long (a
#                        timeout(1) duration, e.g. 5m; default: no limit). The
#                        command then gets SIGTERM and there is no end-of-run
#                        snapshot, which parkwatch_assert_no_parked reports.
#
# Variables the functions set (read them in tests):
#   PARKWATCH_MODE         "pid" or "command": what parkwatch_assert_no_parked
#                          looks at (the latest parkwatch_watch_pid/_run)
#   PARKWATCH_TARGET       the PID given to parkwatch_watch_pid
#   PARKWATCH_WATCH_PID    the background parkwatch's own pid (empty when none)
#   PARKWATCH_WATCH_OUT    its JSON reports (one document per report)
#   PARKWATCH_WATCH_ERR    its stderr
#   PARKWATCH_WATCH_STATUS its exit status, after parkwatch_stop
#   PARKWATCH_STATUS       parkwatch_run: parkwatch's exit status (the
#                          command's own failure passes through it: its exit
#                          status or 128+signal; 1 if something was flagged and
#                          --fail was given; 0 otherwise)
#   PARKWATCH_REPORTS      parkwatch_run: every JSON report of the run
#   PARKWATCH_REPORT       the latest final report (parkwatch_run's end-of-run
#                          report, or parkwatch_stop's final watch report)
#   PARKWATCH_LOG          parkwatch_run: the command's stdout and stderr and
#                          parkwatch's stderr, in order
#   PARKWATCH_LAST_REPORT  parkwatch_assert_no_parked: the report it judged
#                          (after its ignore options)
#
# Every file goes to $BATS_TEST_TMPDIR (bats removes it after a passing test).
# Functions return 0 on success and 1 (with a message on stderr) on failure,
# 2 on a usage error, so a bare call fails the test. Names starting with
# _parkwatch_ are internal.

PARKWATCH_MODE=${PARKWATCH_MODE:-}
PARKWATCH_WATCH_PID=${PARKWATCH_WATCH_PID:-}
_PARKWATCH_SEQ=0
# Options of parkwatch_watch_pid that change which threads a sweep flags,
# repeated by parkwatch_assert_no_parked's own sweep; and its -t, if any.
_PARKWATCH_WATCH_SWEEP_OPTS=()
_PARKWATCH_WATCH_THRESHOLD=

# --- internals ---------------------------------------------------------------

_parkwatch_err() {
	printf '%s\n' "$*" >&2
}

_parkwatch_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# A directory for this test's files; $BATS_TEST_TMPDIR inside a test.
_parkwatch_dir() {
	local d=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${BATS_RUN_TMPDIR:-}}}

	if [ -z "$d" ]; then
		d=${TMPDIR:-/tmp}/parkwatch-bash.$$
		mkdir -p "$d" || return 1
	fi
	printf '%s\n' "$d"
}

# _parkwatch_file STEM: a fresh path in the test's directory (sets REPLY; no
# subshell so that the counter advances).
_parkwatch_file() {
	local dir
	dir=$(_parkwatch_dir) || return 1
	_PARKWATCH_SEQ=$((_PARKWATCH_SEQ + 1))
	REPLY=$dir/parkwatch-$1.$_PARKWATCH_SEQ
}

_parkwatch_check_bin() {
	PARKWATCH=${PARKWATCH:-parkwatch} # read at each call, not at load
	if ! command -v "$PARKWATCH" >/dev/null 2>&1; then
		_parkwatch_err "parkwatch: binary '$PARKWATCH' not found (set PARKWATCH=/path/to/parkwatch)"
		return 1
	fi
	if ! command -v jq >/dev/null 2>&1; then
		_parkwatch_err "parkwatch: jq not found (the helpers read parkwatch's JSON with it)"
		return 1
	fi
}

# True while the background watch (or PID) runs (not exited, not a zombie).
_parkwatch_watch_alive() {
	local pid=${1:-$PARKWATCH_WATCH_PID} state
	[ -n "$pid" ] || return 1
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# Print FILE indented, for messages.
_parkwatch_show() {
	[ -s "$1" ] && sed 's/^/  | /' "$1" >&2
	return 0
}

# Durations as parkwatch takes them (500ms, 1.5s, 2m, 1h, 10, also ns and us):
# nanoseconds on stdout; 1 when it is not one.
_parkwatch_duration_ns() {
	local whole frac unit mult div=1
	[[ $1 =~ ^([0-9]+)(\.([0-9]+))?(ns|us|ms|s|m|h)?$ ]] || return 1
	whole=$((10#${BASH_REMATCH[1]}))
	frac=${BASH_REMATCH[3]:0:9}
	unit=${BASH_REMATCH[4]:-s}
	case $unit in
	ns) mult=1 ;;
	us) mult=1000 ;;
	ms) mult=1000000 ;;
	s) mult=1000000000 ;;
	m) mult=60000000000 ;;
	h) mult=3600000000000 ;;
	esac
	[ -n "$frac" ] || frac=0
	div=$((10 ** ${#frac}))
	echo $((whole * mult + 10#$frac * mult / div))
}

# _parkwatch_split_watch_opts ARGS...: from parkwatch_watch_pid's options,
# keep those that decide what a sweep flags (for the assertion's own sweep)
# and the threshold.
_parkwatch_split_watch_opts() {
	_PARKWATCH_WATCH_SWEEP_OPTS=()
	_PARKWATCH_WATCH_THRESHOLD=
	while [ $# -gt 0 ]; do
		case $1 in
		--timed | --show-idle | -k | --kernel-stack)
			_PARKWATCH_WATCH_SWEEP_OPTS+=("$1") ;;
		--idle-file | --btf | --ignore-top | --ignore-any | --ignore-created-by | \
			--ignore-file | --baseline)
			_PARKWATCH_WATCH_SWEEP_OPTS+=("$1" "${2-}")
			shift ;;
		--idle-file=* | --btf=* | --ignore-top=* | --ignore-any=* | \
			--ignore-created-by=* | --ignore-file=* | --baseline=*)
			_PARKWATCH_WATCH_SWEEP_OPTS+=("$1") ;;
		-t | --threshold)
			_PARKWATCH_WATCH_THRESHOLD=${2-}
			shift ;;
		--threshold=*) _PARKWATCH_WATCH_THRESHOLD=${1#*=} ;;
		-t?*) _PARKWATCH_WATCH_THRESHOLD=${1#-t} ;;
		-p | --pid | -i | --interval | -d | --duration | -o | --output | --format | \
			--weight | --max-threads)
			shift ;;
		esac
		shift
	done
}

# jq definitions shared by the filters below.
_PARKWATCH_JQ_DEFS='
def basename: if type == "string" then split("/") | last else . end;
def hex: if . == null then "?" elif . == 0 then "0"
	else [recurse(if . >= 16 then (. / 16 | floor) else empty end) | . % 16]
	     | reverse | map("0123456789abcdef"[.:. + 1]) | join("") end;
def pad2: if . < 10 then "0\(.)" else "\(.)" end;
# As parkwatch prints durations: 250ms, 12.3s, 4m05s, 2h07m, 3d04h.
def dur: if . == null then "?" else (. / 1000000000 | floor) as $s
	| if . < 1000000000 then "\(. / 1000000 | floor)ms"
	  elif $s < 60 then "\($s).\((. - $s * 1000000000) / 100000000 | floor)s"
	  elif $s < 3600 then "\($s / 60 | floor)m\($s % 60 | pad2)s"
	  elif $s < 86400 then "\($s / 3600 | floor)h\($s % 3600 / 60 | floor | pad2)m"
	  else "\($s / 86400 | floor)d\($s % 86400 / 3600 | floor | pad2)h" end end;
def fileline: if .file then " " + (.file | basename)
	+ (if .line then ":\(.line)" else "" end) else "" end;
def frame: (if .function then .function + (if .offset then "+0x" + (.offset | hex) else "" end)
		else .address // "?" end)
	+ (if .module then " (\(.module))" else "" end) + fileline;
# The frame that says where a thread is stuck: the first named frame of its
# own executable that is not Go runtime machinery, else any named frame of the
# executable, else the first named frame, else the innermost one.
def where_frame: (.exe | basename) as $exe | [.stack[]?] as $s
	| ([$s[] | select(.module == $exe and .function != null
	                  and (.function | test("^runtime[./]") | not))] | first)
	  // ([$s[] | select(.module == $exe and .function != null)] | first)
	  // ([$s[] | select(.function != null)] | first)
	  // $s[0];
def where: where_frame | if . == null then "(no stack)"
	else (.function // .address // "?") + (if .file then " (\(.file | basename)"
		+ (if .line then ":\(.line)" else "" end) + ")"
		elif .module then " (\(.module))" else "" end) end;
# Threads grouped as parkwatch grouped them (its group ids), else by
# process and place; input: a report; output: arrays of threads.
def thread_groups: [.threads[]] | group_by([.pid, (.group // -1), (if .group == null then where else "" end)]);
def waitdesc: if .class == "running" then "still running (not waiting: a loop nobody stops?)"
	else .wait as $w
	| "[" + ([$w.syscall // "?", ($w.op // empty),
		(if $w.uaddr then "on \($w.uaddr)" else empty end)] | join(" "))
	  + ", " + (if $w.timed then "timed" else "no timeout" end) + "]" end;
def plural($n; $w): "\($n) \($w)" + (if $n == 1 then "" else "s" end);
'

# The rules of an ignore file, as parkwatch reads them, into
# _PARKWATCH_RULES ("top F" lines). Returns 1 on a bad line.
_parkwatch_read_ignore_file() {
	local file=$1 line kw fn extra n=0
	if [ ! -r "$file" ]; then
		_parkwatch_err "parkwatch: cannot read ignore file $file"
		return 1
	fi
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%%#*}
		read -r kw fn extra <<<"$line"
		[ -n "$kw" ] || continue
		case $kw in
		top | any | created-by) ;;
		*) fn= ;;
		esac
		if [ -z "$fn" ] || [ -n "$extra" ]; then
			_parkwatch_err "parkwatch: $file:$n: expected 'top FUNC', 'any FUNC' or 'created-by FUNC'"
			return 1
		fi
		_PARKWATCH_RULES+=("$kw $fn")
	done <"$file"
}

# _parkwatch_filter_report IN OUT THRESHOLD_NS BASELINE RULES...: apply the
# ignore rules (top/any/created-by, with parkwatch's matching: exact name, or
# a prefix with a trailing '*'), a baseline report and a threshold to a report
# already taken (a command run's end-of-run report), as parkwatch would have.
_parkwatch_filter_report() {
	local in=$1 out=$2 thr=$3 baseline=$4 rules_json base_json
	shift 4
	rules_json=$(printf '%s\n' "$@" | jq -R -s -c 'split("\n") | map(select(length > 0)
		| split(" ") | {kind: .[0], pat: .[1]})') || return 1
	if [ -n "$baseline" ]; then
		# The last document, as parkwatch reads a baseline.
		base_json=$(jq -s -c 'last | .threads // []' "$baseline") || {
			_parkwatch_err "parkwatch: cannot read baseline $baseline"
			return 1
		}
	else
		base_json='[]'
	fi
	jq -c --argjson rules "$rules_json" --argjson base "$base_json" --argjson thr "$thr" '
	def machinery: ["__clone3", "__clone", "clone", "clone3", "__GI___clone3", "__GI___clone",
		"__GI___clone_internal", "__clone_internal", "create_thread", "pthread_create",
		"__pthread_create_2_1", "thrd_create", "fork", "_Fork", "__libc_fork", "__fork",
		"vfork", "__vfork", "__libc_vfork", "posix_spawn", "posix_spawnp", "__posix_spawn",
		"__posix_spawnp", "__spawni", "__spawnix", "runtime.clone", "runtime.newosproc",
		"runtime.newosproc0", "runtime.newm1", "runtime.newm", "runtime.startm",
		"runtime.startTemplateThread", "runtime.asmcgocall", "_cgo_thread_start",
		"x_cgo_thread_start", "_cgo_try_pthread_create"];
	def unversioned: if type == "string" then sub("@.*$"; "") else . end;
	def matches($p): type == "string" and
		(if ($p | endswith("*")) then startswith($p[:-1]) else . == $p end);
	def site: if .creator == null then null
		else first(.creator.stack[]? | .function
			| select(. == null or ((unversioned) as $f | machinery | index([$f]) | not)))
		end;
	def ignored: . as $t | any($rules[];
		.pat as $p
		| if .kind == "top" then (first($t.stack[]? | .function | select(. != null)) // null) | matches($p)
		  elif .kind == "any" then any($t.stack[]?; .function | matches($p))
		  else ($t | site) | matches($p) end);
	def sig: [(.exe // "" | split("/") | last), (.class // ""), (.wait.syscall // ""),
		(.wait.op // "")] + [.stack[]? | (.function // ((.module // "") + "?"))] | join("\u001f");
	# As ignore_set__apply: every rule sees every thread; the baseline then
	# excuses, oldest thread first (born_ns, tid), as many threads of each
	# signature as it listed, whether a rule matched them or not.
	($base | map(sig) | reduce .[] as $s ({}; .[$s] += 1)) as $left0
	| . as $report
	| [.threads[] | select(.class == "running" or (.parked_ns // $thr) >= $thr)]
	| to_entries | map(.value.__i = .key | .value) as $all
	| (reduce ($all | sort_by(.born_ns // 0, .tid)[]) as $t
		({left: $left0, excused: {}};
		 ($t | sig) as $s
		 | if (.left[$s] // 0) > 0
		   then .left[$s] -= 1 | .excused["\($t.__i)"] = true else . end)
	  ).excused as $excused
	| [$all[] | select(($excused["\(.__i)"] // false) or ignored | not) | del(.__i)] as $keep
	| $report | .threads = $keep
	| ([.threads[].group] | unique) as $gids
	| .groups = [.groups[]? | select(.id as $i | $gids | index($i))]
	' "$in" >"$out"
}

# _parkwatch_merge_creators REPORT WATCH_FINAL: fill in unknown creators of
# REPORT's threads from a watch report that knew them (same tid, same birth).
_parkwatch_merge_creators() {
	local report=$1 watch=$2 tmp=$1.merged
	jq -c --slurpfile w "$watch" '
		([$w[].threads[]? | select(.creator != null) | {key: "\(.tid)", value: .}]
		 | from_entries) as $known
		| .threads |= map(if .creator == null and ($known["\(.tid)"] // null) != null
			and ($known["\(.tid)"].born_ns == .born_ns)
			then .creator = $known["\(.tid)"].creator else . end)
	' "$report" >"$tmp" && mv "$tmp" "$report"
}

# _parkwatch_render REPORT: the grouped text report on stdout.
_parkwatch_render() {
	jq -r "$_PARKWATCH_JQ_DEFS"'
	(.end_of_run // null) as $eor
	| (.threads | length) as $n
	| ([.threads[].pid] | unique | length) as $np
	| (if $eor then "parkwatch end of run (\(.time)): \(plural($n; "thread")) left behind at exit in \(plural($np; "process"))"
	   else "parkwatch (\(.time)): \(plural($n; "thread")) parked past \(.threshold_ns | dur) in \(plural($np; "process"))" end),
	  (if $eor then "  " + ($eor.reason // "") else empty end),
	  (thread_groups as $gs | range(0; $gs | length) as $i | $gs[$i] as $g | $g[0] as $t
	   | (if $i == 0 or $gs[$i - 1][0].pid != $t.pid
	      then "", "PID \($t.pid) \($t.exe // $t.comm)" else empty end),
	     (if $t.class == "running" then "  \(plural($g | length; "thread")) \($t | waitdesc)"
	      else "  \(plural($g | length; "thread")) parked \([$g[].parked_ns] | min | dur)"
	        + (if ([$g[].parked_ns] | max | dur) != ([$g[].parked_ns] | min | dur)
	           then " to \([$g[].parked_ns] | max | dur)" else "" end)
	        + " \($t | waitdesc)" end),
	     "    tid\(if ($g | length) > 1 then "s" else "" end) \([$g[].tid | tostring] | join(" ")) (\($t.comm))",
	     (if $t.stack_error then "    stack: \($t.stack_error)" else empty end),
	     ($t.stack // [] | to_entries[] | "    #\(.key)  \(.value | frame)"),
	     (if $t.creator == null
	      then "    creator: unknown (created before parkwatch started watching)"
	      else "    created by \(if $t.creator.fork then "process, in thread" else "thread" end) \($t.creator.tid) (\($t.creator.comm))\(if ($g | length) > 1 then " (shown for the first thread)" else "" end) at:",
	           ($t.creator.stack // [] | to_entries[] | "      #\(.key)  \(.value | frame)"),
	           (if $t.creator.stack_error then "      stack: \($t.creator.stack_error)" else empty end)
	      end))
	' "$1"
}

# _parkwatch_summary REPORT: "3 threads parked: worker_wait (x.c:23) x3, ..."
_parkwatch_summary() {
	jq -r "$_PARKWATCH_JQ_DEFS"'
	(.threads | length) as $n
	| "parkwatch: \(plural($n; "thread")) "
	  + (if .end_of_run then "left behind at exit" else "parked" end) + ": "
	  + ([thread_groups[] | "\(.[0] | where) x\(length)"] | join(", "))
	' "$1"
}

# --- public functions ----------------------------------------------------------

# parkwatch_wait_for FILE REGEX [TIMEOUT_S [PID]]
#   Poll FILE until one of its lines matches the extended REGEX (every 50 ms,
#   TIMEOUT_S seconds at most, default $PARKWATCH_TIMEOUT or 30). With PID,
#   give up as soon as that process has exited. On failure prints FILE and
#   returns 1. Handy for a program's "READY" line:
#       ./server >"$BATS_TEST_TMPDIR/out" 3>&- & pid=$!
#       parkwatch_wait_for "$BATS_TEST_TMPDIR/out" "^READY" 20 "$pid"
parkwatch_wait_for() {
	local file=$1 regex=$2 timeout=${3:-${PARKWATCH_TIMEOUT:-30}} pid=${4:-}
	local deadline=$(($(_parkwatch_now_ms) + timeout * 1000))

	until grep -Eq -- "$regex" "$file" 2>/dev/null; do
		if [ -n "$pid" ]; then
			if ! _parkwatch_watch_alive "$pid"; then
				grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
				_parkwatch_err "parkwatch_wait_for: process $pid exited before a line matching /$regex/ appeared in $file:"
				_parkwatch_show "$file"
				return 1
			fi
		fi
		if [ "$(_parkwatch_now_ms)" -gt "$deadline" ]; then
			_parkwatch_err "parkwatch_wait_for: no line matching /$regex/ in $file after ${timeout}s:"
			_parkwatch_show "$file"
			return 1
		fi
		sleep 0.05
	done
}

# parkwatch_watch_pid PID [PARKWATCH_OPTIONS...]
#   Start `parkwatch -p PID -t 0 [OPTIONS] --json` in the background and wait
#   (PARKWATCH_TIMEOUT, default 30 s) until it says "parkwatch: watching": from
#   then on, threads PID creates have a known creator. Reports go to
#   $PARKWATCH_WATCH_OUT, stderr to $PARKWATCH_WATCH_ERR. Options are any of
#   parkwatch's (e.g. -i 1s, --futex-hooks, --ignore-top F); -t is 0 unless
#   given; do not pass -o or --format (the helpers read the JSON). The options
#   that decide what is flagged (-t, --timed, --show-idle, --idle-file, -k,
#   --ignore-*, --baseline, --btf) also apply to parkwatch_assert_no_parked.
#   One watch at a time; call parkwatch_stop in teardown. The watch must be
#   started in the test's shell (not inside `run`).
parkwatch_watch_pid() {
	local target=${1:-}
	if ! [[ $target =~ ^[0-9]+$ ]]; then
		_parkwatch_err "usage: parkwatch_watch_pid PID [PARKWATCH_OPTIONS...]"
		return 2
	fi
	shift
	_parkwatch_check_bin || return 1
	if _parkwatch_watch_alive; then
		_parkwatch_err "parkwatch_watch_pid: already watching pid $PARKWATCH_TARGET (parkwatch $PARKWATCH_WATCH_PID); call parkwatch_stop first"
		return 1
	fi
	_parkwatch_file watch || return 1
	PARKWATCH_WATCH_OUT=$REPLY.json
	PARKWATCH_WATCH_ERR=$REPLY.err
	PARKWATCH_WATCH_STATUS=
	# fd 3 closed: bats waits for whatever holds it open.
	"$PARKWATCH" -p "$target" -t 0 "$@" --json >"$PARKWATCH_WATCH_OUT" \
		2>"$PARKWATCH_WATCH_ERR" </dev/null 3>&- &
	PARKWATCH_WATCH_PID=$!
	PARKWATCH_TARGET=$target
	PARKWATCH_MODE=pid
	_parkwatch_split_watch_opts "$@"
	if ! parkwatch_wait_for "$PARKWATCH_WATCH_ERR" '^parkwatch: watching' \
		"${PARKWATCH_TIMEOUT:-30}" "$PARKWATCH_WATCH_PID" 2>/dev/null; then
		if _parkwatch_watch_alive; then
			_parkwatch_err "parkwatch_watch_pid: parkwatch did not attach to pid $target within ${PARKWATCH_TIMEOUT:-30}s; its stderr:"
			_parkwatch_show "$PARKWATCH_WATCH_ERR"
			parkwatch_stop >/dev/null 2>&1
		else
			PARKWATCH_WATCH_STATUS=0
			wait "$PARKWATCH_WATCH_PID" 2>/dev/null || PARKWATCH_WATCH_STATUS=$?
			_parkwatch_err "parkwatch_watch_pid: parkwatch -p $target exited with status $PARKWATCH_WATCH_STATUS before attaching; its stderr:"
			_parkwatch_show "$PARKWATCH_WATCH_ERR"
			PARKWATCH_WATCH_PID=
		fi
		return 1
	fi
}

# parkwatch_stop
#   Stop the background watch: SIGINT, then wait (PARKWATCH_TIMEOUT) for its
#   final report, which lands in $PARKWATCH_REPORT; its exit status goes to
#   $PARKWATCH_WATCH_STATUS (SIGKILL, and status 1 returned, if it does not
#   stop). Returns 0 and does nothing when no watch runs: safe in teardown.
parkwatch_stop() {
	local pid=$PARKWATCH_WATCH_PID deadline
	[ -n "$pid" ] || return 0
	PARKWATCH_WATCH_PID=
	PARKWATCH_WATCH_STATUS=0
	if kill -INT "$pid" 2>/dev/null; then
		deadline=$(($(_parkwatch_now_ms) + ${PARKWATCH_TIMEOUT:-30} * 1000))
		while _parkwatch_watch_alive "$pid"; do
			if [ "$(_parkwatch_now_ms)" -gt "$deadline" ]; then
				_parkwatch_err "parkwatch_stop: parkwatch $pid still running ${PARKWATCH_TIMEOUT:-30}s after SIGINT; killed"
				kill -KILL "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				PARKWATCH_WATCH_STATUS=137
				return 1
			fi
			sleep 0.05
		done
	fi
	wait "$pid" 2>/dev/null || PARKWATCH_WATCH_STATUS=$?
	if [ -s "${PARKWATCH_WATCH_OUT:-}" ]; then
		_parkwatch_file watch-final || return 1
		if jq -c 'select(.final == true)' "$PARKWATCH_WATCH_OUT" 2>/dev/null | tail -n 1 >"$REPLY.json" &&
			[ -s "$REPLY.json" ]; then
			PARKWATCH_REPORT=$REPLY.json
		fi
	fi
	return 0
}

# parkwatch_run [PARKWATCH_OPTIONS...] -- COMMAND [ARGS...]
#   Run COMMAND in the foreground under parkwatch's command mode:
#   `parkwatch [OPTIONS] --json -o FILE -- COMMAND [ARGS...]`. Tracing is in
#   place from the command's first instruction; when it calls exit(),
#   parkwatch snapshots every other thread still alive. Sets
#   PARKWATCH_STATUS (parkwatch's exit status: see the variables above),
#   PARKWATCH_REPORTS (every report), PARKWATCH_REPORT (the final,
#   end-of-run one) and PARKWATCH_LOG (the command's output and parkwatch's
#   stderr, also printed on stdout so bats shows it when a test fails).
#   Like bats' `run`, returns 0 whatever the command's status once parkwatch
#   wrote its final report (check $PARKWATCH_STATUS yourself); returns 1 when
#   there is none (parkwatch could not start: bad option, not root, ...).
#   parkwatch options go before "--" (-i, --futex-hooks, --ignore-*, ...); -o
#   and --format are overridden. PARKWATCH_RUN_TIMEOUT bounds the run.
parkwatch_run() {
	local opts=() limit=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	if [ $# -lt 2 ]; then
		_parkwatch_err "usage: parkwatch_run [PARKWATCH_OPTIONS...] -- COMMAND [ARGS...]"
		return 2
	fi
	shift
	_parkwatch_check_bin || return 1
	_parkwatch_file run || return 1
	PARKWATCH_REPORTS=$REPLY.json
	PARKWATCH_LOG=$REPLY.log
	PARKWATCH_REPORT=
	PARKWATCH_MODE=command
	[ -n "${PARKWATCH_RUN_TIMEOUT:-}" ] && limit=(timeout -k 10 "$PARKWATCH_RUN_TIMEOUT")
	PARKWATCH_STATUS=0
	"${limit[@]}" "$PARKWATCH" "${opts[@]}" --json -o "$PARKWATCH_REPORTS" -- "$@" \
		>"$PARKWATCH_LOG" 2>&1 3>&- || PARKWATCH_STATUS=$?
	cat "$PARKWATCH_LOG"
	if jq -c 'select(.final == true)' "$PARKWATCH_REPORTS" 2>/dev/null | tail -n 1 \
		>"$REPLY.final.json" && [ -s "$REPLY.final.json" ]; then
		PARKWATCH_REPORT=$REPLY.final.json
		return 0
	fi
	_parkwatch_err "parkwatch_run: parkwatch exited with status $PARKWATCH_STATUS without a final report (output above)"
	return 1
}

# parkwatch_assert_no_parked [--threshold DUR] [--ignore-top F]...
#     [--ignore-any F]... [--ignore-created-by F]... [--ignore-file FILE]
#     [--baseline REPORT.json] [-p PID] [OTHER_PARKWATCH_OPTIONS...]
#   Pass when no thread is parked; otherwise print a one-line summary
#       parkwatch: 3 threads parked: worker_wait (condvar_leak.c:23) x3
#   and the grouped report (wait, stack with file:line, creator) on stderr,
#   and return 1.
#   - After parkwatch_watch_pid (or with -p PID): takes a report now,
#     `parkwatch --once -p PID --json -t DUR` with the ignore options and the
#     watch's flagging options. DUR: --threshold, else the watch's -t, else
#     $PARKWATCH_THRESHOLD, else 0 (any thread in a wait without a timeout).
#     On failure the running watch of that PID is stopped (parkwatch_stop) to
#     collect its final report: it knows the creators of the threads created
#     while it watched, which a one-off sweep cannot.
#   - After parkwatch_run: judges the end-of-run report (every thread alive
#     when the command called exit(), parked or running); the options given
#     here are applied to it (--threshold, when given, drops threads parked
#     less than DUR). Fails when there is no end-of-run snapshot (the command
#     was killed, ran out of time, or ended without exit()), saying why.
#   Ignore rules match as parkwatch's do: an exact function name, or a prefix
#   with a trailing '*' (runtime.*).
parkwatch_assert_no_parked() {
	local threshold= pid= baseline= ignore=() other=() rules=() report thr_ns rc
	while [ $# -gt 0 ]; do
		case $1 in
		-t | --threshold) threshold=${2-}; shift ;;
		--threshold=*) threshold=${1#*=} ;;
		-t?*) threshold=${1#-t} ;;
		-p | --pid) pid=${2-}; shift ;;
		--pid=*) pid=${1#*=} ;;
		--ignore-top | --ignore-any | --ignore-created-by)
			ignore+=("$1" "${2-}")
			rules+=("${1#--ignore-} ${2-}")
			shift ;;
		--ignore-top=* | --ignore-any=* | --ignore-created-by=*)
			ignore+=("$1")
			rules+=("$(printf '%s' "${1#--ignore-}" | sed 's/=/ /')") ;;
		--ignore-file) ignore+=("$1" "${2-}"); _PARKWATCH_RULES=(); \
			_parkwatch_read_ignore_file "${2-}" || return 2; rules+=("${_PARKWATCH_RULES[@]}"); shift ;;
		--ignore-file=*) ignore+=("$1"); _PARKWATCH_RULES=(); \
			_parkwatch_read_ignore_file "${1#*=}" || return 2; rules+=("${_PARKWATCH_RULES[@]}") ;;
		--baseline) ignore+=("$1" "${2-}"); baseline=${2-}; shift ;;
		--baseline=*) ignore+=("$1"); baseline=${1#*=} ;;
		*) other+=("$1") ;;
		esac
		shift
	done
	if [ -n "$threshold" ] && ! _parkwatch_duration_ns "$threshold" >/dev/null; then
		_parkwatch_err "parkwatch_assert_no_parked: invalid duration '$threshold' (use e.g. 500ms, 10s, 2m, 1h)"
		return 2
	fi
	_parkwatch_check_bin || return 1
	_parkwatch_file assert || return 1
	report=$REPLY.json

	if [ -n "$pid" ] || [ "$PARKWATCH_MODE" = pid ]; then
		local target=${pid:-$PARKWATCH_TARGET} thr sweep_opts=()
		[ -z "$pid" ] || [ "$pid" = "${PARKWATCH_TARGET:-}" ] &&
			sweep_opts=("${_PARKWATCH_WATCH_SWEEP_OPTS[@]}")
		thr=${threshold:-${_PARKWATCH_WATCH_THRESHOLD:-${PARKWATCH_THRESHOLD:-0}}}
		[ -n "$pid" ] && [ "$pid" != "${PARKWATCH_TARGET:-}" ] &&
			thr=${threshold:-${PARKWATCH_THRESHOLD:-0}}
		rc=0
		timeout -k 5 "${PARKWATCH_TIMEOUT:-30}" "$PARKWATCH" --once -p "$target" -t "$thr" \
			"${sweep_opts[@]}" "${ignore[@]}" "${other[@]}" --json -o "$report" \
			</dev/null >"$REPLY.err" 2>&1 3>&- || rc=$?
		if [ "$rc" -ne 0 ] || ! jq -e 'has("threads")' "$report" >/dev/null 2>&1; then
			_parkwatch_err "parkwatch: could not take a report of pid $target (parkwatch --once exited with status $rc):"
			_parkwatch_show "$REPLY.err"
			return 1
		fi
		PARKWATCH_LAST_REPORT=$report
		[ "$(jq '.threads | length' "$report")" -eq 0 ] && return 0
		# Creators: only the watch that ran while the threads were created
		# knows them. Its final report is a sweep of this moment too.
		if [ "$target" = "${PARKWATCH_TARGET:-}" ] && _parkwatch_watch_alive; then
			parkwatch_stop >/dev/null 2>&1
			[ -s "${PARKWATCH_WATCH_OUT:-}" ] &&
				_parkwatch_merge_creators "$report" "$PARKWATCH_WATCH_OUT" 2>/dev/null
		fi
	elif [ "$PARKWATCH_MODE" = command ]; then
		if [ ${#other[@]} -gt 0 ]; then
			_parkwatch_err "parkwatch_assert_no_parked: after parkwatch_run only --threshold and the ignore options apply (got: ${other[*]}); give other options to parkwatch_run"
			return 2
		fi
		if [ -z "${PARKWATCH_REPORT:-}" ] || [ ! -s "$PARKWATCH_REPORT" ]; then
			_parkwatch_err "parkwatch_assert_no_parked: parkwatch_run left no final report"
			return 1
		fi
		if ! jq -e '.end_of_run.snapshot == true' "$PARKWATCH_REPORT" >/dev/null; then
			_parkwatch_err "parkwatch: no end-of-run snapshot, cannot tell what was left behind: $(
				jq -r '.end_of_run.reason // "the report has no end_of_run (not a command run?)"' "$PARKWATCH_REPORT") (exit status ${PARKWATCH_STATUS:-?})"
			return 1
		fi
		thr_ns=0
		[ -n "$threshold" ] && thr_ns=$(_parkwatch_duration_ns "$threshold")
		_parkwatch_filter_report "$PARKWATCH_REPORT" "$report" "$thr_ns" "$baseline" \
			"${rules[@]}" || return 1
		PARKWATCH_LAST_REPORT=$report
		[ "$(jq '.threads | length' "$report")" -eq 0 ] && return 0
	else
		_parkwatch_err "parkwatch_assert_no_parked: nothing to judge: call parkwatch_watch_pid or parkwatch_run first (or pass -p PID)"
		return 2
	fi

	{
		_parkwatch_summary "$report"
		_parkwatch_render "$report"
	} >&2
	return 1
}

# parkwatch_assert_no_leaks
#   After parkwatch_run of a test runner (`go test ./...`, `make test`, a
#   shell script): pass when no process of the run left a thread or a
#   goroutine behind at its exit. Each process the command started is
#   examined when it calls exit(); a Go test binary's goroutines name the
#   test that leaked them. On failure prints, per process,
#       parkwatch: pid 4242 (/tmp/go-build.../pkg.test -test.v): 0 threads, 2 goroutines
#         TestFetch/slow leaked 2 goroutines [chan send] created at fetch.go:31
#   and fails too when a process that could have left threads ended without
#   an end-of-run snapshot (killed, or _exit with threads running).
parkwatch_assert_no_leaks() {
	local out rc=0
	if [ "$PARKWATCH_MODE" != command ] || [ ! -s "${PARKWATCH_REPORTS:-}" ]; then
		_parkwatch_err "parkwatch_assert_no_leaks: call parkwatch_run first"
		return 2
	fi
	out=$(jq -r -s '
		def leaks: [.goroutines[]? | select(.test != null)]
			| group_by([.test, (.wait_reason // .status), .created_by.file, .created_by.line])
			| .[] | "  \(.[0].test) leaked \(length) goroutine\(if length == 1 then "" else "s" end)"
				+ " [\(.[0].wait_reason // .[0].status)]"
				+ (if .[0].created_by.file then " created at \(.[0].created_by.file | split("/") | last):\(.[0].created_by.line)" else "" end);
		def who: "pid \(.process.pid // "?") (\(.process.cmdline // .process.exe // "?"))";
		.[] | select(.end_of_run != null)
		| if ((.threads | length) + (.goroutines | length)) > 0 then
			"parkwatch: \(who): \(.threads | length) threads, \(.goroutines | length) goroutines left behind",
			leaks,
			(.threads[] | "  thread \(.tid) [\(.class)] at \([.stack[]? | .function // empty] | first // "?")"),
			(.goroutines[]? | select(.test == null)
				| "  goroutine \(.goid) [\(.wait_reason // .status)] at \([.stack[]? | .function // empty | select(startswith("runtime.") | not)] | first // "?")")
		  elif (.end_of_run.covered // .end_of_run.snapshot) | not then
			"parkwatch: \(who): not examined: \(.end_of_run.reason)"
		  else empty end' "$PARKWATCH_REPORTS") || {
		_parkwatch_err "parkwatch_assert_no_leaks: cannot read $PARKWATCH_REPORTS"
		return 1
	}
	[ -z "$out" ] && return 0
	printf '%s\n' "$out" >&2
	return 1
}
