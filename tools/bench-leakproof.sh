#!/usr/bin/env bash
# The cost of --prove (tools/doc/proved-leaks.md): the reachability pass over
# a live heap, next to the Go runtime's own goroutineleak profile on the same
# process. `make bench-leakproof` runs it as: tools/bench-leakproof.sh build
#
#   tools/bench-leakproof.sh [OUT]   OUT: build directory (default: build)
#
# Environment:
#   HEAP_MIB=1024       heap of the target (64-byte nodes with pointers, all reachable)
#   GOROUTINES=100000   half leaked (chan send on a channel nobody holds),
#                       half parked on a channel kept in a global
#   ROUNDS=3            rounds; variants interleaved, order rotated, medians kept
#   PW=OUT/parkwatch    the parkwatch binary measured
#
# Target: OUT/bench/goleakheap (tools/bench/goleakheap), built by Go 1.26 with
# GOEXPERIMENT=goroutineleakprofile. Its heartbeat goroutine ticks every
# millisecond; the largest gap between two ticks while a variant runs says
# how long the target was held up (a stopped world shows as a gap as long as
# the stop; the baseline, nothing running, is measured the same way).
# Variants, each on the same process:
#   idle         nothing: the heartbeat's own largest gap over 1 s
#   pw snapshot  parkwatch --once -t 1h -p PID --json (goroutines, no --prove)
#   pw prove     parkwatch --once -t 1h -p PID --prove --json
#   runtime      pprof.Lookup("goroutineleak").WriteTo(io.Discard, 1) inside
#                the target (a GC cycle with leak detection), timed there
# Columns: wall seconds (parkwatch: the whole run; prove: also the pass alone
# from JSON), parkwatch's peak RSS (/usr/bin/time), largest heartbeat gap,
# leaked goroutines found.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/build}
HEAP_MIB=${HEAP_MIB:-1024}
GOROUTINES=${GOROUTINES:-100000}
ROUNDS=${ROUNDS:-3}
PW=${PW:-$OUT/parkwatch}
TARGET=$OUT/bench/goleakheap

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-leakproof: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root"
[ -x "$PW" ] && [ -x "$TARGET" ] ||
	make --no-print-directory -C "$ROOT" OUT="$OUT" "$PW" "$TARGET" >&2 || die "build failed"
command -v jq >/dev/null || die "jq missing"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (Debian package time)"

TMP=$(mktemp -d)
FIFO=$TMP/in
TPID=
cleanup() {
	exec 7>&- 2>/dev/null || true
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$FIFO"

log "bench-leakproof: starting the target (${HEAP_MIB} MiB heap, $GOROUTINES goroutines)"
"$TARGET" "$HEAP_MIB" "$GOROUTINES" <"$FIFO" >"$TMP/target.out" 2>"$TMP/target.err" &
TPID=$!
exec 7>"$FIFO"
for _ in $(seq 600); do
	grep -q '^READY' "$TMP/target.out" && break
	kill -0 "$TPID" 2>/dev/null || die "target died: $(cat "$TMP/target.err")"
	sleep 0.2
done
grep -q '^READY' "$TMP/target.out" || die "target not ready after 120 s"
RSS_TARGET=$(awk '/VmRSS/ {print $2}' "/proc/$TPID/status")
log "bench-leakproof: target $TPID ready, RSS $((RSS_TARGET / 1024)) MiB"

# reply CMD PREFIX: send a command, print the target's answer line (the
# first line with PREFIX after those already seen).
declare -A SEEN
reply() {
	local n
	echo "$1" >&7
	for _ in $(seq 3000); do
		n=$(grep -c "^$2" "$TMP/target.out" || true)
		if [ "$n" -gt "${SEEN[$2]:-0}" ]; then
			SEEN[$2]=$n
			grep "^$2" "$TMP/target.out" | tail -n 1
			return 0
		fi
		sleep 0.01
	done
	die "no $2 answer from the target"
}

run_variant() { # VARIANT ROUND
	local v=$1 r=$2 gap t0 t1 json out
	reply gap GAP >/dev/null
	case $v in
	idle)
		sleep 1
		echo "$v 1 0 $(reply gap GAP | awk '{print $2}') 0 0" ;;
	"pw snapshot" | "pw prove")
		local extra=()
		[ "$v" = "pw prove" ] && extra=(--prove)
		json=$TMP/report.$r.json
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M' -o "$TMP/rss" "$PW" --once -t 1h -p "$TPID" --json "${extra[@]}" >"$json"
		t1=$EPOCHREALTIME
		gap=$(reply gap GAP | awk '{print $2}')
		echo "$v $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') $(cat "$TMP/rss") $gap" \
			"$(jq '.go_processes[0].prove.leaked // 0' "$json")" \
			"$(jq '(.go_processes[0].prove.elapsed_us // 0) / 1e6' "$json")" ;;
	runtime)
		out=$(reply profile PROFILE)
		gap=$(reply gap GAP | awk '{print $2}')
		[ "$out" = "PROFILE none" ] && { echo "$v 0 0 $gap 0 0"; return; }
		echo "$v $(awk '{printf "%.3f", $2 / 1e6}' <<<"$out") 0 $gap $(awk '{print $3}' <<<"$out") 0" ;;
	esac
}

VARIANTS=("idle" "pw snapshot" "pw prove" "runtime")
: >"$TMP/results"
for r in $(seq "$ROUNDS"); do
	for k in "${!VARIANTS[@]}"; do
		v=${VARIANTS[$(((k + r) % ${#VARIANTS[@]}))]}
		log "bench-leakproof: round $r: $v"
		run_variant "$v" "$r" | sed 's/^pw /pw_/' >>"$TMP/results"
	done
done

med() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '\n--prove on a %s MiB heap (target RSS %s MiB), %s goroutines; medians of %s rounds\n' \
	"$HEAP_MIB" "$((RSS_TARGET / 1024))" "$GOROUTINES" "$ROUNDS"
printf '%-12s %10s %10s %12s %14s %8s\n' variant wall_s pass_s pw_rss_MiB max_gap_ms leaked
for v in idle pw_snapshot pw_prove runtime; do
	col() { awk -v v="$v" -v c="$1" '$1 == v {print $c}' "$TMP/results" | med; }
	printf '%-12s %10s %10s %12s %14s %8s\n' "$v" "$(col 2)" "$(col 6)" \
		"$(awk -v k="$(col 3)" 'BEGIN {printf "%.1f", k / 1024}')" \
		"$(awk -v u="$(col 4)" 'BEGIN {printf "%.1f", u / 1000}')" "$(col 5)"
done
