#!/usr/bin/env bash
# Goroutine benchmarks: what reading the goroutines of a live Go process costs,
# next to what the Go runtime's own dump costs, and what each way of watching
# costs the Go programs watched.  `make bench-go` runs it as:
#   tools/bench-goroutines.sh build
#
#   tools/bench-goroutines.sh [OUT]   OUT: build directory (default: build)
#
# Environment:
#   ROUNDS=5          rounds; every variant runs once per round, median kept
#   GOROUTINES=100000 parked goroutines of the snapshot target
#   ITER=1000000      ping-pong round trips per run (or PP_SECS, if sooner)
#   PP_SECS=1         at most this long per ping-pong run (slow variants)
#   HTTP_SECS=5       seconds of load per HTTP run
#   CONNS=16          wrk connections (one wrk thread)
#   READY_TIMEOUT=60  seconds a tracer/target may take to get ready
#   PARTS="snapshot pingpong http"  which parts to run
#   TARGETS="go126 go126x3 go119 go119x3"  snapshot targets (see 1.)
#   KEEP=1            keep the per-run logs (their directory is printed)
#
# 1. Snapshot: build/fixtures/go/bigpark-go126 and -go119 (GOROUTINES parked
#    in chan receive), each in two shapes (TARGETS): all on one channel from
#    one creation site (go126, go119), and each on a channel of its own from
#    three creation sites (go126x3, go119x3: bigpark's SITES=3, the shape of
#    issue #13).  Each round, in rotated order, on the same process:
#      pw json    parkwatch --once -t 0 -p PID --json > /dev/null
#      pw text    parkwatch --once -t 0 -p PID (text; checked: its chan
#                 receive groups must add up to GOROUTINES)
#      runtime    runtime.Stack(buf, true) timed inside the process (bigpark's
#                 PARKWATCH_GO_DUMP_FIFO: one dump per line written)
#    bigpark's heartbeat goroutine (PARKWATCH_GO_HEARTBEAT=1) prints every
#    10 ms; the largest gap between two heartbeats around each measurement
#    says whether the process kept running (a stopped world shows as a gap
#    as long as the stop).  Peak RSS and CPU time (user + system) of
#    parkwatch from /usr/bin/time.  Ratios: x runtime = wall time over the
#    runtime dump's; x text = --json's wall time over the text report's.
# 2. Ping-pong: tools/bench/gopingpong (GOMAXPROCS=1, taskset -c 0: every
#    handoff is a goroutine switch on one thread, two parks and two readies per
#    round trip -- the worst case for hooks on them), ns per round trip.
# 3. HTTP: tools/bench/gohttp (hello handler on 127.0.0.1, pinned to CPU 0, so
#    GOMAXPROCS=1, CPU-bound there) loaded by `wrk -t1 -cCONNS` pinned to
#    CPU 1, keep-alive: requests/s, and the server's CPU time per request
#    (/proc/PID/stat), steadier when something else shares the machine.
# Variants of 2 and 3:
#   untraced     nothing attached by us
#   uprobe +0    perf uprobes (no BPF program, perf counting) on
#                runtime.gopark, runtime.ready and runtime.gdestroy (goexit0
#                before Go 1.21) at their first instruction: `cmp
#                rsp,[r14+0x10]`, Go's stack-bound check, which the kernel
#                must single-step out of line
#   uprobe jbe   the same on the `jbe` after the check (+4; the kernel
#                emulates it, no single-step): where --go-precise probes, so
#                this is its floor.  Both need perf and tracefs; the probes
#                are defined in group pwbench and removed at the end
#   pw snapshot  parkwatch -p PID -t 1h -i 1h (no probes)
#   pw precise   parkwatch -p PID --go-precise -t 1h -i 1h (n/a until built)
#
# Like tools/bench-futex.sh: variants interleaved, order rotated per round,
# per-variant medians; ratios are "times slower than the reference" (>1 is
# slower); progress on stderr, the table on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
. "$ROOT/tools/bench/common.sh"
ROUNDS=${ROUNDS:-5}
GOROUTINES=${GOROUTINES:-100000}
ITER=${ITER:-1000000}
PP_SECS=${PP_SECS:-1}
HTTP_SECS=${HTTP_SECS:-5}
CONNS=${CONNS:-16}
READY_TIMEOUT=${READY_TIMEOUT:-60}
KEEP=${KEEP:-0}
PARTS=${PARTS:-snapshot pingpong http}

read -r -a GOVERS <<<"${TARGETS:-go126 go126x3 go119 go119x3}"
# Target t: bigpark-${t%x3}, with SITES=3 when t ends in x3.
target_bin() { echo "bigpark-${1%x3}"; }
target_sites() { [[ $1 == *x3 ]] && echo 3 || echo 1; }
SNAP_VARIANTS=(pw_json pw_text go_dump)
TRACE_VARIANTS=(untraced floor_entry floor_body pw_snap pw_precise)
declare -A LABEL=(
	[pw_json]="parkwatch --once --json"
	[pw_text]="parkwatch --once (text)"
	[go_dump]="runtime.Stack(buf, true)"
	[untraced]="untraced"
	[floor_entry]="uprobe at +0 (perf, no BPF)"
	[floor_body]="uprobe at jbe (perf, no BPF)"
	[pw_snap]="parkwatch -p (snapshot)"
	[pw_precise]="parkwatch -p --go-precise"
)
declare -A SKIP=()   # variant or part -> why it cannot run
declare -A NOTE=()   # variant -> problems seen in some round
PROBE_GROUP=pwbench
PROBES_MADE=0
tracer_pid=""
tracer_name=""
target_pid=""
TMP=""

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-goroutines: $*"; exit 1; }

# Microseconds since the epoch, from bash itself (no fork).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# ---------------------------------------------------------------- setup

# Everything is cheap to build; do it here too so the script also works when
# run by hand, not only through `make bench-go`.
build_helpers() {
	local need=() t
	for t in parkwatch fixtures/go/bigpark-go126 fixtures/go/bigpark-go119 \
		bench/gopingpong bench/gohttp; do
		[ -x "$OUT/$t" ] || need+=("$OUT/$t")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	log "bench-goroutines: building ${need[*]}"
	make --no-print-directory -C "$ROOT" OUT="$OUT" "${need[@]}" >&2 ||
		die "could not build ${need[*]}"
}

# perf probe defines uprobes through tracefs, which this machine does not mount.
ensure_tracefs() {
	[ -d /sys/kernel/tracing/events ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		log "bench-goroutines: warning: could not mount tracefs; uprobe floors will be n/a"
}

check_prereqs() {
	[ "$(id -u)" -eq 0 ] || die "run as root (BPF programs and uprobes are attached)"
	command -v taskset >/dev/null || die "taskset missing (util-linux)"
	command -v objdump >/dev/null || SKIP[floor]="objdump missing (binutils)"
	command -v perf >/dev/null || SKIP[floor]="perf not installed"
	command -v wrk >/dev/null || SKIP[http]="wrk not installed (tools/install-deps.sh)"
	[ -x /usr/bin/time ] || NOTE[rss]="/usr/bin/time missing: no peak RSS"
	local help
	help=$("$OUT/parkwatch" --help 2>&1 || true)
	grep -q -- '--go-precise' <<<"$help" || SKIP[pw_precise]="not built"
}

warn_foreign_tracers() {
	local others
	others=$(pgrep -a -x 'parkwatch|bpftrace|perf' 2>/dev/null || true)
	if [ -n "$others" ]; then
		log "bench-goroutines: warning: other tracers are running (they skew every variant):"
		log "$(sed 's/^/    /' <<<"$others")"
	fi
}

cleanup() {
	local rc=$?
	stop_tracer || true
	stop_target || true
	if [ "$PROBES_MADE" = 1 ]; then
		perf probe -q -d "$PROBE_GROUP:*" >/dev/null 2>&1 || true
	fi
	if [ -n "$TMP" ]; then
		if [ "$KEEP" = 1 ]; then log "bench-goroutines: logs kept in $TMP"; else rm -rf "$TMP"; fi
	fi
	exit "$rc"
}

# Poll until file $1 has a line matching $2; 1 if process $3 exits first or
# nothing comes within READY_TIMEOUT seconds.
wait_line() {
	local f=$1 re=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT))
	until grep -qE "$re" "$f" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { grep -qE "$re" "$f" 2>/dev/null; return; }
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# ---------------------------------------------------------------- targets

# Start a target in the background (stdout+stderr to $1, stdin from fd
# $TARGET_IN if set) and wait for its READY line.
start_target() {
	local out=$1; shift
	: >"$out"
	if [ -n "${TARGET_IN:-}" ]; then
		"$@" >"$out" 2>&1 <&"$TARGET_IN" &
	else
		"$@" >"$out" 2>&1 </dev/null &
	fi
	target_pid=$!
	if ! wait_line "$out" '^READY' "$target_pid"; then
		log "bench-goroutines: $1 did not get ready: $(last_err "$out")"
		stop_target
		return 1
	fi
}

stop_target() {
	[ -n "$target_pid" ] || return 0
	kill -TERM "$target_pid" 2>/dev/null || true
	wait "$target_pid" 2>/dev/null || true
	target_pid=""
}

# ---------------------------------------------------------------- tracers

# Uprobe floors: perf probe events where a park/ready/exit tracer hooks --
# runtime.gopark, runtime.ready (runtime.goready if absent), runtime.gdestroy
# (runtime.goexit0 before Go 1.21) -- once at entry (the stack-bound check
# `cmp rsp,[r14+0x10]`, which the kernel single-steps out of line) and once on
# the `jbe` right after that check (which the kernel emulates; parkwatch
# --go-precise puts its probes there), for binary $1 under the short name $2.
FLOOR_ROLES=(park ready exit)
define_probes() {
	local bin=$1 short=$2 role fn cand start jbe off syms
	[ -z "${SKIP[floor]:-}" ] || return 0
	[ "$PROBES_MADE" = 1 ] || perf probe -q -d "$PROBE_GROUP:*" >/dev/null 2>&1 || true
	syms=$(nm "$bin" 2>/dev/null | awk '$2 == "T" || $2 == "t" { print $3 }')
	for role in "${FLOOR_ROLES[@]}"; do
		case $role in
		park)  cand="runtime.gopark" ;;
		ready) cand="runtime.ready runtime.goready" ;;
		exit)  cand="runtime.gdestroy runtime.goexit0" ;;
		esac
		fn=""
		for c in $cand; do grep -qxF "$c" <<<"$syms" && { fn=$c; break; }; done
		if [ -z "$fn" ]; then
			SKIP[floor]="none of $cand in $short"; return 0
		fi
		start="" jbe=""
		read -r start jbe < <(objdump -d --no-show-raw-insn --disassemble="$fn" "$bin" |
			awk '/^[0-9a-f]+ </ { s = $1; n = 0; next }
			     s != "" && /^ +[0-9a-f]+:/ { n++
				if (/cmp +.*\(%r14\),/) c = 1
				else if (c && /jbe/) { sub(":", "", $1); print s, $1; exit }
				if (n >= 4) exit }') || true
		if [ -z "${jbe:-}" ]; then
			SKIP[floor]="no stack-check jbe at the start of $fn in $short"; return 0
		fi
		off=$((16#$jbe - 16#$start))
		if ! perf probe -q -x "$bin" -a "$PROBE_GROUP:${short}_${role}_e=$fn" \
			-a "$PROBE_GROUP:${short}_${role}_j=$fn+$off" >"$TMP/probe.err" 2>&1; then
			SKIP[floor]="perf probe failed: $(last_err "$TMP/probe.err")"; return 0
		fi
		PROBES_MADE=1
		PROBE_AT[$short]+="${PROBE_AT[$short]:+, }$fn+$off"
	done
	log "  uprobe floors on ${PROBE_AT[$short]} (and at +0)"
}
declare -A PROBE_AT=()

# Command line, log that carries the readiness line, and the line itself,
# for variant $1 on process $2 of binary short name $3.
tracer_cmd() {
	local ev fn sfx
	case $1 in
	floor_entry | floor_body)
		[ "$1" = floor_entry ] && sfx=e || sfx=j
		ev=""
		for fn in "${FLOOR_ROLES[@]}"; do ev+="${ev:+,}$PROBE_GROUP:${3}_${fn}_$sfx"; done
		# Counting only (no BPF program): the cost of the uprobe hit itself.
		# -I prints a line every 100 ms: the first one says it is counting.
		CMD=(perf stat -x, -I 100 -e "$ev" -p "$2" -o "$TMP/$1.out")
		READY_LOG=out; READY_RE="$PROBE_GROUP:" ;;
	pw_snap)    CMD=("$OUT/parkwatch" -p "$2" -t 1h -i 1h);              READY_LOG=err; READY_RE='parkwatch: watching' ;;
	pw_precise) CMD=("$OUT/parkwatch" -p "$2" --go-precise -t 1h -i 1h); READY_LOG=err; READY_RE='parkwatch: watching' ;;
	*) die "unknown variant $1" ;;
	esac
}

start_tracer() {
	local v=$1 pid=$2 short=$3 out=$TMP/$1.out err=$TMP/$1.err rc
	[ "$v" = untraced ] && return 0
	tracer_cmd "$v" "$pid" "$short"
	: >"$out"; : >"$err"
	"${CMD[@]}" >>"$out" 2>"$err" </dev/null &
	tracer_pid=$!
	tracer_name=$v
	if ! wait_line "$TMP/$v.$READY_LOG" "$READY_RE" "$tracer_pid"; then
		if kill -0 "$tracer_pid" 2>/dev/null; then
			stop_tracer || true
			SKIP[$v]="not attached after ${READY_TIMEOUT}s"
		else
			rc=0; wait "$tracer_pid" || rc=$?
			tracer_pid=""
			SKIP[$v]="exited $rc before attaching: $(last_err "$err")"
		fi
		return 1
	fi
}

# Uprobe hits counted by a floor variant (sum of perf's interval counts).
floor_hits() {
	awk -F, -v g="$PROBE_GROUP:" 'index($4, g) == 1 && $2 ~ /^[0-9]+$/ { n += $2 } END { print n + 0 }' \
		"$TMP/$1.out" 2>/dev/null
}

# ---------------------------------------------------------------- 1. snapshot

# Largest gap in ms between consecutive heartbeats of $1 around the window
# [$2, $3] (microseconds): waits (up to 5 s) for a heartbeat after the window
# so a stop that outlasts it still counts.  Prints "-" if there is none.
heartbeat_gap() {
	local f=$1 t0=$2 t1=$3 i
	for ((i = 0; i < 250; i++)); do
		awk -v t="$t1" '$1 == "HB" && $2 / 1000 > t { found = 1; exit } END { exit !found }' "$f" && break
		sleep 0.02
	done
	awk -v t0="$t0" -v t1="$t1" '$1 == "HB" { t = $2 / 1000
		if (prev != "" && t >= t0 && prev <= t1 && t - prev > gap) gap = t - prev
		prev = t }
		END { if (gap == "") print "-"; else printf "%.1f\n", gap / 1000 }' "$f"
}

# One snapshot variant, one round, on the running bigpark of version $2.
# Result line: "seconds extra gap_ms" (extra: peak RSS KiB for parkwatch,
# dump bytes for the runtime).
run_snap() {
	local v=$1 gv=$2 r=$3 out=$TMP/bigpark.$gv.out t0 t1 rc=0 extra="-" cpu="-" secs gap n line
	case $v in
	pw_json | pw_text)
		local dest=/dev/null args=(--json)
		[ "$v" = pw_text ] && { dest=$TMP/text.$gv; args=(); }
		t0=$(now_us)
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -f '%M %U %S' -o "$TMP/time" "$OUT/parkwatch" --once -t 0 -p "$target_pid" \
				"${args[@]}" >"$dest" 2>"$TMP/pw.err" || rc=$?
		else
			"$OUT/parkwatch" --once -t 0 -p "$target_pid" "${args[@]}" >"$dest" 2>"$TMP/pw.err" || rc=$?
		fi
		t1=$(now_us)
		if [ "$rc" -ne 0 ]; then
			NOTE[$v]="exit status $rc in round $r: $(last_err "$TMP/pw.err")"
			log "  $(printf '%-6s %-26s' "$gv" "${LABEL[$v]}") discarded (${NOTE[$v]})"
			return 0
		fi
		[ -x /usr/bin/time ] && set -- $(tail -n1 "$TMP/time") &&
			extra=$1 && cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }')
		if [ "$v" = pw_text ] && [ "$(awk '/^  [0-9]+ goroutines \[chan receive\]/ { n += $1 }
			END { print n + 0 }' "$dest")" != "$GOROUTINES" ]; then
			NOTE[$v.$gv]="round $r: the text report's chan receive groups do not add up to $GOROUTINES"
		fi
		;;
	go_dump)
		t0=$(now_us)
		request_dump "$out" || { NOTE[$v]="no dump in round $r"; return 0; }
		t1=$(now_us)
		line=$(grep '^DUMP_NS' "$out" | tail -n1)
		set -- $line
		secs=$(awk -v ns="$2" 'BEGIN { printf "%.4f", ns / 1e9 }')
		extra=$3
		;;
	esac
	[ "$v" = go_dump ] || secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')
	gap=$(heartbeat_gap "$out" "$t0" "$t1")
	if ! kill -0 "$target_pid" 2>/dev/null; then
		NOTE[$v]="bigpark-$gv exited during round $r"
		return 0
	fi
	echo "$secs $extra $gap $cpu" >>"$TMP/res.snap.$gv.$v"
	log "  $(printf '%-6s %-26s %8.3f s  %10s %s  heartbeat gap %s ms' "$gv" "${LABEL[$v]}" "$secs" \
		"$extra" "$([ "$v" = go_dump ] && echo bytes || echo KiB)" "$gap")"
}

# Ask the running bigpark (output $1) for one runtime.Stack(all) and wait for
# its DUMP_NS line.
request_dump() {
	local out=$1 n deadline=$((SECONDS + READY_TIMEOUT))
	n=$(grep -c '^DUMP_NS' "$out" || true)
	echo dump >&"$DUMP_FD"
	until [ "$(grep -c '^DUMP_NS' "$out" || true)" -gt "$n" ]; do
		[ "$SECONDS" -lt "$deadline" ] && kill -0 "$target_pid" 2>/dev/null || return 1
		sleep 0.01
	done
}

# bigpark exits by itself after 120 s: start a fresh one when the current one
# is older than 90 s (or gone), before a round.
ensure_bigpark() {
	local gv=$1
	if [ -n "$target_pid" ] && kill -0 "$target_pid" 2>/dev/null &&
		[ $((SECONDS - BIGPARK_STARTED)) -lt 90 ]; then
		return 0
	fi
	stop_target
	[ -n "${DUMP_FD:-}" ] && exec {DUMP_FD}>&-
	rm -f "$TMP/dump.fifo"; mkfifo "$TMP/dump.fifo"
	# Read-write: opening does not wait for bigpark, which opens it before READY.
	exec {DUMP_FD}<>"$TMP/dump.fifo"
	local t0=$SECONDS
	PARKWATCH_GO_HEARTBEAT=1 PARKWATCH_GO_DUMP_FIFO=$TMP/dump.fifo \
		start_target "$TMP/bigpark.$gv.out" "$OUT/fixtures/go/$(target_bin "$gv")" leak "$GOROUTINES" \
		"$(target_sites "$gv")" || return 1
	BIGPARK_STARTED=$SECONDS
	log "  $(target_bin "$gv") x$(target_sites "$gv") sites: $GOROUTINES goroutines parked, READY after $((SECONDS - t0)) s (pid $target_pid)"
	# Warm-ups, not counted: bigpark's first dump grows its buffer (several
	# dumps); parkwatch's first look at a process is reported on its own.
	request_dump "$TMP/bigpark.$gv.out" || return 1
	local a b
	a=$(now_us)
	"$OUT/parkwatch" --once -t 0 -p "$target_pid" --json >/dev/null 2>&1 || true
	b=$(now_us)
	[ -n "${FIRST[$gv]:-}" ] ||
		FIRST[$gv]=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
	log "  warm-up: one runtime dump, one parkwatch --once --json ($(awk -v a="$a" -v b="$b" \
		'BEGIN { printf "%.2f", (b - a) / 1e6 }') s, not counted)"
}

part_snapshot() {
	local gv r i n=${#SNAP_VARIANTS[@]}
	for gv in "${GOVERS[@]}"; do
		log "snapshot: $(target_bin "$gv") leak $GOROUTINES $(target_sites "$gv")"
		if ! ensure_bigpark "$gv"; then
			SKIP[snap.$gv]="bigpark-$gv did not get ready"
			continue
		fi
		for ((r = 0; r < ROUNDS; r++)); do
			log " round $((r + 1))/$ROUNDS"
			ensure_bigpark "$gv" || { NOTE[snap.$gv]="bigpark-$gv restart failed"; break; }
			for ((i = 0; i < n; i++)); do
				run_snap "${SNAP_VARIANTS[(i + r) % n]}" "$gv" $((r + 1))
			done
		done
		stop_target
		exec {DUMP_FD}>&-
		DUMP_FD=""
	done
}
declare -A FIRST=()
DUMP_FD=""
BIGPARK_STARTED=0

# ---------------------------------------------------------------- 2. ping-pong

run_pingpong() {
	local v=$1 r=$2 out=$TMP/pp.out fd res hits=""
	if [ -n "${SKIP[$v]:-}" ]; then
		log "  $(printf '%-28s' "${LABEL[$v]}") n/a (${SKIP[$v]})"; return 0
	fi
	rm -f "$TMP/go.fifo"; mkfifo "$TMP/go.fifo"
	exec {fd}<>"$TMP/go.fifo"
	TARGET_IN=$fd start_target "$out" taskset -c 0 "$OUT/bench/gopingpong" "$ITER" "$PP_SECS" ||
		{ exec {fd}>&-; NOTE[$v]="gopingpong did not start in round $r"; return 0; }
	if ! start_tracer "$v" "$target_pid" pp; then
		exec {fd}>&-; stop_target
		log "  $(printf '%-28s' "${LABEL[$v]}") n/a (${SKIP[$v]})"; return 0
	fi
	echo go >&"$fd"
	# gopingpong stays alive after its result until stopped: a tracer that
	# exits with its target cannot be mistaken for one that died.
	wait_line "$out" '^ns_per_rt=' "$target_pid" || true
	res=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { if (v["ns_per_rt"] != "") print v["ns_per_rt"], v["iters"] }' "$out")
	if ! tracer_alive; then
		tracer_pid=""; stop_target; exec {fd}>&-
		NOTE[$v]="died during round $r: $(last_err "$TMP/$v.err")"
		log "  $(printf '%-28s' "${LABEL[$v]}") discarded (${NOTE[$v]})"; return 0
	fi
	stop_tracer
	stop_target
	exec {fd}>&-
	[ -n "$res" ] || { NOTE[$v]="no result in round $r: $(last_err "$out")"; return 0; }
	case $v in floor_*) hits=$(awk -v h="$(floor_hits "$v")" -v n="${res#* }" \
		'BEGIN { printf "%.2f", h / n }') ;; esac
	echo "${res% *} ${hits:--}" >>"$TMP/res.pp.$v"
	log "  $(printf '%-28s %10.1f ns/rt  (%s round trips)%s' "${LABEL[$v]}" "${res% *}" "${res#* }" \
		"${hits:+  [$hits uprobe hits/rt]}")"
}

part_pingpong() {
	local r i n=${#TRACE_VARIANTS[@]}
	log "ping-pong: gopingpong $ITER (at most ${PP_SECS}s), GOMAXPROCS=1, taskset -c 0"
	define_probes "$OUT/bench/gopingpong" pp
	[ -n "${SKIP[floor]:-}" ] && SKIP[floor_entry]=${SKIP[floor]} && SKIP[floor_body]=${SKIP[floor]}
	for ((r = 0; r < ROUNDS; r++)); do
		log " round $((r + 1))/$ROUNDS"
		for ((i = 0; i < n; i++)); do
			run_pingpong "${TRACE_VARIANTS[(i + r) % n]}" $((r + 1))
		done
	done
}

# ---------------------------------------------------------------- 3. HTTP

# Prints "requests/s p99_ms errors requests".
run_wrk() {
	taskset -c 1 wrk -t1 -c"$CONNS" -d"$1"s --latency "http://$2/" 2>&1 | awk '
		/^Requests\/sec:/ { rps = $2 }
		/ requests in / { reqs = $1 }
		/^ +99%/ { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; p99 = v }
		/Non-2xx|Socket errors/ { err = err $0 }
		END { if (rps == "") exit 1; printf "%s %.2f %s %s\n", rps, p99, (err == "" ? "-" : "errors"), reqs }'
}

# CPU time (utime + stime, all threads) of process $1 in clock ticks; empty
# if it is gone.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || true; }
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

run_http() {
	local v=$1 r=$2 out=$TMP/http.out addr res hits=""
	if [ -n "${SKIP[$v]:-}" ]; then
		log "  $(printf '%-28s' "${LABEL[$v]}") n/a (${SKIP[$v]})"; return 0
	fi
	start_target "$out" taskset -c 0 "$OUT/bench/gohttp" ||
		{ NOTE[$v]="gohttp did not start in round $r"; return 0; }
	addr=$(awk '/^READY/ { print $3; exit }' "$out")
	if ! start_tracer "$v" "$target_pid" http; then
		stop_target
		log "  $(printf '%-28s' "${LABEL[$v]}") n/a (${SKIP[$v]})"; return 0
	fi
	local s0 s1 t0="" t1="" cpu tcpu="-"
	s0=$(cpu_ticks "$target_pid")
	[ -n "$tracer_pid" ] && t0=$(cpu_ticks "$tracer_pid")
	res=$(run_wrk "$HTTP_SECS" "$addr") || res=""
	s1=$(cpu_ticks "$target_pid")
	[ -n "$tracer_pid" ] && t1=$(cpu_ticks "$tracer_pid")
	if ! tracer_alive; then
		tracer_pid=""; stop_target
		NOTE[$v]="died during round $r: $(last_err "$TMP/$v.err")"
		log "  $(printf '%-28s' "${LABEL[$v]}") discarded (${NOTE[$v]})"; return 0
	fi
	stop_tracer
	stop_target
	[ -n "$res" ] || { NOTE[$v]="wrk failed in round $r"; return 0; }
	set -- $res
	[ "$3" = errors ] && NOTE[$v]="wrk reported errors in round $r"
	case $v in floor_*) hits=$(awk -v h="$(floor_hits "$v")" -v n="$4" \
		'BEGIN { printf "%.2f", h / n }') ;; esac
	# The server's CPU time per request (it is CPU-bound on its CPU): what a
	# hook costs it, steadier than req/s when something else shares the CPUs.
	cpu=$(awk -v a="$s0" -v b="$s1" -v n="$4" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }')
	[ -n "$t0" ] && [ -n "$t1" ] && tcpu=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$HTTP_SECS" \
		'BEGIN { printf "%.1f", (b - a) / hz / s * 100 }')
	echo "$1 $2 ${hits:--} $cpu $tcpu" >>"$TMP/res.http.$v"
	log "  $(printf '%-28s %10.0f req/s  p99 %s ms  server %s us/req  tracer CPU %s%%%s' "${LABEL[$v]}" \
		"$1" "$2" "$cpu" "$tcpu" "${hits:+  [$hits uprobe hits/request]}")"
}

part_http() {
	local r i n=${#TRACE_VARIANTS[@]}
	if [ -n "${SKIP[http]:-}" ]; then log "http: n/a (${SKIP[http]})"; return 0; fi
	log "http: gohttp on 127.0.0.1 (CPU 0), wrk -t1 -c$CONNS -d${HTTP_SECS}s (CPU 1)"
	define_probes "$OUT/bench/gohttp" http
	[ -n "${SKIP[floor]:-}" ] && SKIP[floor_entry]=${SKIP[floor]} && SKIP[floor_body]=${SKIP[floor]}
	# Warm-up: page cache, connection setup paths, CPU frequency.
	if start_target "$TMP/http.out" taskset -c 0 "$OUT/bench/gohttp"; then
		run_wrk 1 "$(awk '/^READY/ { print $3; exit }' "$TMP/http.out")" >/dev/null || true
		stop_target
	fi
	for ((r = 0; r < ROUNDS; r++)); do
		log " round $((r + 1))/$ROUNDS"
		for ((i = 0; i < n; i++)); do
			run_http "${TRACE_VARIANTS[(i + r) % n]}" $((r + 1))
		done
	done
}

# ---------------------------------------------------------------- report

# Max of column $2 of file $1.
maxcol() { awk -v c="$2" 'NR == 1 || $c + 0 > m { m = $c + 0 } END { print m }' "$1"; }

rounds_note() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -lt "$ROUNDS" ] && printf ' (%s/%s rounds)' "$n" "$ROUNDS"
	return 0
}

why() { echo "${SKIP[$1]:-${NOTE[$1]:-no samples}}"; }

print_snapshot() {
	local gv v f med ratio base rss gap xtext cpu text
	echo "1. Snapshot of $GOROUTINES parked goroutines (bigpark leak $GOROUTINES [SITES]), same process, median of $ROUNDS"
	printf '%-8s %-25s %-9s %-9s %-7s %-7s %-9s %-11s %s\n' target method median "x runtime" "x text" \
		"CPU s" "peak RSS" "max HB gap" spread
	for gv in "${GOVERS[@]}"; do
		if [ -n "${SKIP[snap.$gv]:-}" ]; then
			printf '%-8s n/a (%s)\n' "$gv" "${SKIP[snap.$gv]}"; continue
		fi
		base=$TMP/res.snap.$gv.go_dump
		text=$TMP/res.snap.$gv.pw_text
		for v in "${SNAP_VARIANTS[@]}"; do
			f=$TMP/res.snap.$gv.$v
			if [ ! -s "$f" ]; then
				printf '%-8s %-25s n/a (%s)\n' "$gv" "${LABEL[$v]}" "$(why "$v")"; continue
			fi
			med=$(median "$f")
			ratio="-" xtext="-" cpu="-" rss="-"
			[ -s "$base" ] && ratio=$(awk -v a="$med" -v b="$(median "$base")" 'BEGIN { printf "%.2f", a / b }')
			[ "$v" = pw_json ] && [ -s "$text" ] &&
				xtext=$(awk -v a="$med" -v b="$(median "$text")" 'BEGIN { printf "%.2f", a / b }')
			if [ "$v" != go_dump ] && [ -x /usr/bin/time ]; then
				rss=$(awk -v k="$(maxcol "$f" 2)" 'BEGIN { printf "%.1f MiB", k / 1024 }')
				cpu=$(median "$f" 4)
			fi
			gap="$(maxcol "$f" 3) ms"
			printf '%-8s %-25s %-9s %-9s %-7s %-7s %-9s %-11s %s%s\n' "$gv" "${LABEL[$v]}" \
				"$(printf '%.3f s' "$med")" "$ratio" "$xtext" "$cpu" "$rss" "$gap" \
				"$(spread "$f" "$med")" "$(rounds_note "$f")"
		done
		[ -s "$base" ] && echo "        runtime dump: $(awk '{ printf "%.1f", $2 / 1048576; exit }' "$base") MiB of text;" \
			"first parkwatch look at this process (not counted): ${FIRST[$gv]:-?} s"
	done
	echo "runtime.Stack(buf, true) stops the world for its whole duration (every goroutine, the"
	echo "heartbeat too: its gap ~ the dump time); parkwatch reads with process_vm_readv and stops"
	echo "nothing: the heartbeat (every 10 ms, on the other CPU) keeps beating through the snapshot."
	echo "max HB gap: largest gap between two heartbeats around the measurement, over all rounds."
	echo "x runtime: wall time over the runtime dump's; x text: --json's over the text report's (goals:"
	echo "<= 2 and <= 1.5).  CPU s: parkwatch's user + system time (steadier than the wall time when"
	echo "other work shares the CPUs).  peak RSS: largest over the rounds (goal: <= 64 MiB)."
	echo "Targets: goNNN, all on one channel from one site; goNNNx3, a channel each, three sites."
}

# Table of part $1 (pp or http).
print_traced() {
	local w=$1 v f base med ratio hits extra cpu cratio tcpu
	base=$TMP/res.$w.untraced
	if [ "$w" = pp ]; then
		echo "2. Channel ping-pong (gopingpong, GOMAXPROCS=1, taskset -c 0), ns per round trip, median of $ROUNDS"
		printf '%-30s %-11s %-7s %-14s %s\n' variant median ratio "uprobe hits" spread
	else
		echo "3. net/http hello on 127.0.0.1 (gohttp on CPU 0; wrk -t1 -c$CONNS -d${HTTP_SECS}s on CPU 1), median of $ROUNDS"
		printf '%-30s %-8s %-6s %-11s %-6s %-7s %-8s %-10s %s\n' variant "req/s" ratio "srv us/req" ratio \
			"p99 ms" "tracer" "hits/req" spread
	fi
	for v in "${TRACE_VARIANTS[@]}"; do
		f=$TMP/res.$w.$v
		if [ ! -s "$f" ]; then
			printf '%-30s n/a (%s)\n' "${LABEL[$v]}" "$(why "$v")"; continue
		fi
		med=$(median "$f")
		ratio="-"
		if [ -s "$base" ]; then
			if [ "$w" = pp ]; then
				ratio=$(awk -v a="$med" -v b="$(median "$base")" 'BEGIN { printf "%.2f", a / b }')
			else
				ratio=$(awk -v a="$med" -v b="$(median "$base")" 'BEGIN { printf "%.2f", b / a }')
			fi
		fi
		if [ "$w" = pp ]; then
			hits=-
			[ "$(awk '{ print $2; exit }' "$f")" = - ] || hits=$(printf '%.2f/rt' "$(median "$f" 2)")
			printf '%-30s %-11s %-7s %-14s %s%s\n' "${LABEL[$v]}" "$(printf '%.1f ns' "$med")" "$ratio" \
				"$hits" "$(spread "$f" "$med")" "$(rounds_note "$f")"
		else
			hits=$(median "$f" 3 2>/dev/null || echo -)
			[ "$(awk '{ print $3; exit }' "$f")" = - ] && hits=-
			extra=$(median "$f" 2)
			cpu=$(median "$f" 4)
			cratio="-"
			[ -s "$base" ] && cratio=$(awk -v a="$cpu" -v b="$(median "$base" 4)" 'BEGIN { printf "%.2f", a / b }')
			tcpu=$(awk '{ print $5; exit }' "$f")
			[ "$tcpu" = - ] || tcpu="$(median "$f" 5)%"
			[ "$hits" = - ] || hits=$(printf '%.2f' "$hits")
			[ "$tcpu" = - ] || tcpu=$(printf '%.1f%%' "${tcpu%\%}")
			printf '%-30s %-8.0f %-6s %-11.1f %-6s %-7.2f %-8s %-10s %s%s\n' "${LABEL[$v]}" "$med" "$ratio" \
				"$cpu" "$cratio" "$extra" "$tcpu" "$hits" "$(spread "$f" "$med")" "$(rounds_note "$f")"
		fi
	done
}

print_table() {
	local k
	echo
	if want snapshot; then print_snapshot; echo; fi
	if want pingpong; then print_traced pp; echo; fi
	if ! want http; then
		:
	elif [ -n "${SKIP[http]:-}" ]; then
		echo "3. net/http: n/a (${SKIP[http]})"; echo
	else
		print_traced http; echo
	fi
	if want pingpong || want http; then
		echo "ratio: times slower than untraced (ping-pong: ns/rt over untraced; HTTP: untraced req/s over"
		echo "the variant's, so 1.05 = 5% fewer requests; srv us/req: the server's CPU time per request,"
		echo "over untraced's).  tracer: the tracer's own CPU use during the load.  spread: (max - min) /"
		echo "median over the rounds (of ns/rt, req/s)."
		echo "uprobe +0 / jbe: perf counting events (no BPF program) on runtime.gopark, runtime.ready,"
		echo "runtime.gdestroy, at the first instruction (Go's stack-bound check, which the kernel"
		echo "single-steps) or at the jbe after it (emulated; where --go-precise probes): the floor of a"
		echo "park/ready/exit tracer.  hits: probe hits per round trip / request (they fired)."
	fi
	echo "CPU steal (hypervisor) over the whole run: $STEAL"
	for k in "${!NOTE[@]}"; do
		echo "note: ${LABEL[$k]:-$k}: ${NOTE[$k]}"
	done
	return 0
}

want() { [[ " $PARTS " == *" $1 "* ]]; }

# "steal total" ticks of all CPUs from /proc/stat.
steal_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t }' /proc/stat; }

# ---------------------------------------------------------------- main

main() {
	resolve_out "${1:-build}"
	build_helpers
	check_prereqs
	ensure_tracefs
	TMP=$(mktemp -d /tmp/bench-goroutines.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	log "bench-goroutines: $(uname -r), $(nproc) CPUs, ROUNDS=$ROUNDS GOROUTINES=$GOROUTINES" \
		"ITER=$ITER PP_SECS=$PP_SECS HTTP_SECS=$HTTP_SECS CONNS=$CONNS"
	[ -n "${SKIP[pw_precise]:-}" ] && log "bench-goroutines: parkwatch has no --go-precise yet: its rows are n/a"
	warn_foreign_tracers
	local st0 st1
	st0=$(steal_ticks)
	if want snapshot; then part_snapshot; fi
	if want pingpong; then part_pingpong; fi
	if want http; then part_http; fi
	st1=$(steal_ticks)
	STEAL=$(awk -v a="$st0" -v b="$st1" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%.1f%%", (y[2] > x[2]) ? (y[1] - x[1]) / (y[2] - x[2]) * 100 : 0 }')
	print_table
}

main "$@"
