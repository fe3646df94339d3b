#!/usr/bin/env bash
# Futex overhead benchmark: what each way of watching futex waits costs the
# programs being watched.  `make bench` runs it as: tools/bench-futex.sh build
#
#   tools/bench-futex.sh [OUT]        OUT: build directory (default: build)
#
# Environment:
#   ROUNDS=5         rounds; every variant runs once per round, median kept
#   ITER=200000      ping-pong round trips per run
#   PERF_SECS=3      seconds per `perf bench futex hash` run
#   READY_TIMEOUT=60 seconds a tracer may take to attach before it is n/a
#   KEEP=1           keep the per-run logs (their directory is printed)
#
# Workloads (both pinned to CPU 0, the worst case for per-call hooks):
#   pingpong    tools/bench/pingpong.c: two threads hand a token back and forth
#               with FUTEX_WAIT/FUTEX_WAKE, ns per round trip
#   futex hash  `perf bench futex hash -r 3 -t 1`: back-to-back FUTEX_WAITs
#               that return at once (value mismatch), ops/sec
# Variants:
#   untraced    nothing attached by us
#   floor A     empty programs on the futex syscall tracepoints (enter+exit)
#   floor B     one empty tp_btf/sys_enter program filtering futex waits
#   pw hooks    parkwatch --futex-hooks -i 1s -t 1h
#   pw sweep    parkwatch -i 1s -t 1h (no per-syscall hook, sweep every second)
#   bpftrace    tools/bench/futex-track.bt, the naive per-tid tracker
#
# The machine is shared and noisy, so variants are interleaved: each round
# runs every variant (in an order rotated per round, so no variant always
# runs first or last), and the table shows the per-variant median.  Ratios
# are always "how many times slower than untraced": >1 means slower.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
. "$ROOT/tools/bench/common.sh"
ROUNDS=${ROUNDS:-5}
ITER=${ITER:-200000}
PERF_SECS=${PERF_SECS:-3}
READY_TIMEOUT=${READY_TIMEOUT:-60}
KEEP=${KEEP:-0}

VARIANTS=(untraced floor_a floor_b pw_hooks pw_sweep bpftrace)
declare -A LABEL=(
	[untraced]="untraced"
	[floor_a]="floor A: futex syscall tps"
	[floor_b]="floor B: tp_btf/sys_enter"
	[pw_hooks]="parkwatch --futex-hooks"
	[pw_sweep]="parkwatch (sweep, no hooks)"
	[bpftrace]="bpftrace futex-track.bt"
)
declare -A SKIP=()   # variant -> why it cannot run (then "n/a (why)")
declare -A NOTE=()   # variant -> problems seen in some round
SKIP_HASH=""         # why the futex hash workload cannot run, if it cannot
tracer_pid=""
tracer_name=""
TMP=""

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-futex: $*"; exit 1; }

# ---------------------------------------------------------------- setup

# The bench helpers are cheap to build; do it here too so the script also
# works when run by hand, not only through `make bench`.
build_helpers() {
	local need=() t
	for t in bench/pingpong bench/floor; do
		[ -x "$OUT/$t" ] || need+=("$OUT/$t")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	log "bench-futex: building ${need[*]}"
	make --no-print-directory -C "$ROOT" OUT="$OUT" "${need[@]}" >&2 ||
		die "could not build the benchmark helpers"
}

# Syscall tracepoints (floor A, bpftrace, likely parkwatch --futex-hooks) are
# resolved by name through tracefs, which this machine does not mount.
ensure_tracefs() {
	[ -d /sys/kernel/tracing/events/syscalls ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		log "bench-futex: warning: could not mount tracefs; syscall tracepoint variants will fail"
}

check_prereqs() {
	[ "$(id -u)" -eq 0 ] || die "run as root (BPF programs are attached)"
	command -v taskset >/dev/null || die "taskset missing (util-linux)"
	command -v perf >/dev/null || SKIP_HASH="perf not installed"
	command -v bpftrace >/dev/null || SKIP[bpftrace]="bpftrace not installed"
	if [ ! -x "$OUT/parkwatch" ]; then
		SKIP[pw_hooks]="$OUT/parkwatch not built"
		SKIP[pw_sweep]="$OUT/parkwatch not built"
	fi
}

# Anything else hooking syscalls or sweeping tasks right now skews every
# variant, the untraced one included.  We cannot fix that, only say it.
warn_foreign_tracers() {
	local others links
	others=$(pgrep -a -x 'parkwatch|bpftrace|floor' 2>/dev/null || true)
	links=$(bpftool link show 2>/dev/null |
		grep -cE "perf_event|tp 'sys_(enter|exit)'" || true)
	if [ -n "$others" ]; then
		log "bench-futex: warning: other tracers are running (they slow every variant):"
		log "$(sed 's/^/    /' <<<"$others")"
	fi
	if [ "${links:-0}" -gt 0 ]; then
		log "bench-futex: warning: $links BPF link(s) on perf events or sys_enter/sys_exit already attached"
	fi
}

cleanup() {
	local rc=$?
	stop_tracer || true
	if [ -n "$TMP" ]; then
		if [ "$KEEP" = 1 ]; then log "bench-futex: logs kept in $TMP"; else rm -rf "$TMP"; fi
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- tracers

# Command line, log that carries the readiness line, and the line itself.
tracer_cmd() {
	case $1 in
	floor_a)  CMD=("$OUT/bench/floor" a);                        READY_LOG=out; READY_RE='^READY' ;;
	floor_b)  CMD=("$OUT/bench/floor" b);                        READY_LOG=out; READY_RE='^READY' ;;
	pw_hooks) CMD=("$OUT/parkwatch" --futex-hooks -i 1s -t 1h);  READY_LOG=err; READY_RE='parkwatch: watching' ;;
	pw_sweep) CMD=("$OUT/parkwatch" -i 1s -t 1h);                READY_LOG=err; READY_RE='parkwatch: watching' ;;
	# bpftrace prints "Attaching N probes..." *before* it attaches; the
	# script's BEGIN fires only once all probes are in, so wait for its
	# READY (after the Attaching line).
	bpftrace) CMD=(bpftrace "$ROOT/tools/bench/futex-track.bt"); READY_LOG=out; READY_RE='^READY' ;;
	*) die "unknown variant $1" ;;
	esac
}

# Start the tracer of variant $1 and wait until it says it is attached.
# Polls its log (no fixed sleep): returns 1 with SKIP[$1] set if it exits or
# does not get ready in READY_TIMEOUT seconds.
start_tracer() {
	local v=$1 out=$TMP/$1.out err=$TMP/$1.err ready deadline rc
	[ "$v" = untraced ] && return 0
	tracer_cmd "$v"
	ready=$TMP/$v.$READY_LOG
	: >"$out"; : >"$err"
	"${CMD[@]}" >"$out" 2>"$err" </dev/null &
	tracer_pid=$!
	tracer_name=$v
	deadline=$((SECONDS + READY_TIMEOUT))
	until grep -qE "$READY_RE" "$ready"; do
		if ! kill -0 "$tracer_pid" 2>/dev/null; then
			rc=0; wait "$tracer_pid" || rc=$?
			tracer_pid=""
			SKIP[$v]="exited $rc before attaching: $(last_err "$err")"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			stop_tracer || true
			SKIP[$v]="not attached after ${READY_TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
}

# ---------------------------------------------------------------- workloads

# Prints "NS_PER_RT FUTEX_CALLS_PER_RT".
run_pingpong() {
	taskset -c 0 "$OUT/bench/pingpong" "$ITER" |
		awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		       print v["ns_per_rt"], v["futex_calls_per_rt"] }'
}

# Prints ops/sec of the single hashing thread (perf pins it to the first CPU).
run_hash() {
	perf bench futex hash -r "$PERF_SECS" -t 1 2>&1 |
		awk '/^Averaged/ { print $2; found = 1 } END { exit !found }'
}

# One variant, one round: attach, run both workloads, detach.  Samples are
# kept only if the tracer was still alive at the end (a tracer that died
# mid-run measured nothing).
run_variant() {
	local v=$1 r=$2 pp hash="" hits=""
	if [ -n "${SKIP[$v]:-}" ]; then
		log "  $(printf '%-28s' "${LABEL[$v]}")   n/a (${SKIP[$v]})"
		return 0
	fi
	start_tracer "$v" || { log "  $(printf '%-28s' "${LABEL[$v]}")   n/a (${SKIP[$v]})"; return 0; }
	pp=$(run_pingpong) || { pp=""; NOTE[$v]="pingpong failed in round $r"; }
	[ -n "${SKIP_HASH:-}" ] || hash=$(run_hash) || hash=""
	if ! tracer_alive; then
		tracer_pid=""
		NOTE[$v]="died during round $r: $(last_err "$TMP/$v.err")"
		log "  $(printf '%-28s' "${LABEL[$v]}") discarded (${NOTE[$v]})"
		return 0
	fi
	stop_tracer
	# The floor loader reports how often its programs ran: proof they fired.
	case $v in floor_*) hits=$(grep -oE '[0-9]+ hits' "$TMP/$v.err" || true) ;; esac
	[ -n "$pp" ] && echo "$pp" >>"$TMP/res.pingpong.$v"
	[ -n "$hash" ] && echo "$hash" >>"$TMP/res.hash.$v"
	log "  $(printf '%-28s %10s ns/rt (%s futex/rt) %10s ops/s %s' "${LABEL[$v]}" \
		"${pp% *}" "${pp#* }" "${hash:-n/a}" "${hits:+[$hits]}")"
}

# ---------------------------------------------------------------- report

# One table line.  $1 workload key, $2 title, $3 variant.
row() {
	local w=$1 title=$2 v=$3 f=$TMP/res.$1.$3 base=$TMP/res.$1.untraced
	local med ratio="-" percall="-" calls n note=""
	if [ ! -s "$f" ]; then
		printf '%-19s %-28s n/a (%s)\n' "$title" "${LABEL[$v]}" \
			"${SKIP[$v]:-${NOTE[$v]:-${SKIP_HASH:-no samples}}}"
		return
	fi
	med=$(median "$f")
	n=$(wc -l <"$f")
	[ "$n" -lt "$ROUNDS" ] && note=" ($n/$ROUNDS rounds)"
	if [ -s "$base" ]; then
		local bmed
		bmed=$(median "$base")
		if [ "$w" = pingpong ]; then
			# ns/rt: bigger is slower.  Per call: the slowdown divided by
			# the futex calls this variant made per round trip.
			calls=$(median "$f" 2)
			ratio=$(awk -v a="$med" -v b="$bmed" 'BEGIN { printf "%.2f", a / b }')
			[ "$v" != untraced ] && percall=$(awk -v a="$med" -v b="$bmed" -v c="$calls" \
				'BEGIN { x = (a - b) / c; printf "%+.0f", (x > -0.5 && x < 0.5) ? 0 : x }')
		else
			# ops/s: smaller is slower; one op is one futex call.
			ratio=$(awk -v a="$med" -v b="$bmed" 'BEGIN { printf "%.2f", b / a }')
			[ "$v" != untraced ] && percall=$(awk -v a="$med" -v b="$bmed" \
				'BEGIN { x = 1e9 / a - 1e9 / b; printf "%+.0f", (x > -0.5 && x < 0.5) ? 0 : x }')
		fi
	fi
	# The sweep variant hooks no syscall: its "per call" figure is its
	# background cost spread over the calls, not a per-call price.
	[ "$v" = pw_sweep ] && [ "$percall" != "-" ] && percall="$percall*"
	printf '%-19s %-28s %-11.0f %-7s %-10s %s%s\n' "$title" "${LABEL[$v]}" "$med" \
		"$ratio" "$percall" "$(spread "$f" "$med")" "$note"
}

print_table() {
	local v
	echo
	printf '%-19s %-28s %-11s %-7s %-10s %s\n' workload variant median ratio "ns/call" spread
	for v in "${VARIANTS[@]}"; do row pingpong "pingpong (ns/rt)" "$v"; done
	for v in "${VARIANTS[@]}"; do row hash "futex hash (ops/s)" "$v"; done
	echo
	echo "ratio: times slower than untraced (median over ROUNDS=$ROUNDS; pingpong $ITER round trips, futex hash ${PERF_SECS}s)."
	echo "ns/call: added ns per futex syscall (pingpong: per round trip / futex calls per round trip)."
	echo "*: no per-call hook; background sweep cost spread over the calls."
	echo "spread: (max - min) / median over the rounds."
	if [ -s "$TMP/res.pingpong.untraced" ]; then
		echo "futex calls per pingpong round trip (untraced): $(median "$TMP/res.pingpong.untraced" 2)"
	fi
	for v in "${VARIANTS[@]}"; do
		[ -n "${NOTE[$v]:-}" ] && echo "note: ${LABEL[$v]}: ${NOTE[$v]}"
	done
	return 0
}

# ---------------------------------------------------------------- main

main() {
	resolve_out "${1:-build}"
	check_prereqs
	build_helpers
	ensure_tracefs
	TMP=$(mktemp -d /tmp/bench-futex.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	log "bench-futex: $(uname -r), $(nproc) CPUs, ROUNDS=$ROUNDS ITER=$ITER PERF_SECS=$PERF_SECS"
	warn_foreign_tracers
	# One short untraced pingpong first: page cache, CPU frequency, thread
	# stacks; the first measured run should not pay for them.
	taskset -c 0 "$OUT/bench/pingpong" $((ITER / 10 + 1)) >/dev/null

	local r i n=${#VARIANTS[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		log "round $((r + 1))/$ROUNDS"
		for ((i = 0; i < n; i++)); do
			run_variant "${VARIANTS[(i + r) % n]}" $((r + 1))
		done
	done
	print_table
}

main "$@"
