# Helpers shared by the benchmark scripts (tools/bench-futex.sh,
# tools/bench-goroutines.sh): sourced, not run. They use the caller's
# globals: tracer_pid, tracer_name, NOTE (associative array), TMP.

# Build directory: as given (relative to the caller), like make passes it.
resolve_out() {
	OUT=${1:-build}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
}

# Last meaningful stderr line of a tracer, for "n/a (why)".
last_err() {
	grep -v -e '^[[:space:]]*$' -e 'RLIMIT_MEMLOCK' "$1" 2>/dev/null | tail -n1 | cut -c1-70
}

# Stop the running tracer with SIGTERM (all of them treat it like Ctrl-C; a
# background job of a script has SIGINT ignored, so SIGINT is not reliable
# here) and wait for it, so its hooks are gone before the next variant.
stop_tracer() {
	[ -n "$tracer_pid" ] || return 0
	local pid=$tracer_pid v=$tracer_name rc=0 i
	tracer_pid=""
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do # up to 10 s
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		NOTE[$v]="did not stop on SIGTERM, killed"
	fi
	wait "$pid" 2>/dev/null || rc=$?
	# 143 is our own SIGTERM (a tracer without a handler); 0 a clean stop.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 143 ]; then
		NOTE[$v]="exit status $rc on stop: $(last_err "$TMP/$v.err")"
	fi
	return 0
}

tracer_alive() { [ -z "$tracer_pid" ] || kill -0 "$tracer_pid" 2>/dev/null; }

# Median of column $2 (default 1) of file $1.
median() {
	sort -g -k"${2:-1},${2:-1}" "$1" | awk -v c="${2:-1}" '
		{ v[NR] = $c }
		END { if (NR == 0) exit 1
		      if (NR % 2) printf "%.12g\n", v[(NR + 1) / 2]
		      else printf "%.12g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Spread of column 1 as (max-min)/median in percent: how far to trust a ratio.
spread() {
	awk -v m="$2" 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
		END { printf "%.0f%%", (hi - lo) / m * 100 }' "$1"
}
