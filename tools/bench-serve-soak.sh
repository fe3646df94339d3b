#!/usr/bin/env bash
# Soak of parkwatch serve: does a long-running daemon stay flat?
#
#   tools/bench-serve-soak.sh [BUILD_DIR] [SWEEPS] [INTERVAL]     (make soak)
#   tools/bench-serve-soak.sh --valgrind [BUILD_DIR] [SWEEPS]     leak check
#
# Default: 10,000 machine-wide sweeps at --interval 10ms (-t 1h, so each sweep
# reads every task but unwinds nothing: the daemon's own per-sweep work is
# what is measured) while processes churn (a loop of churn fixtures, each
# creating and joining 200 threads, then killed) and a stranding process
# comes and goes, and a client scrapes /metrics and /report all along.
# Unless SOAK_SERVE_ARGS has --no-goroutines, Go processes churn too (the Go
# fixtures of the three toolchains, each started, read for a while and
# killed, one after the other) and SOAK_GO_KEEP (2) more are always alive
# (restarted when they exit by themselves), so every sweep reads goroutines
# and Go binaries are opened and dropped all along. A
# second phase sweeps the strand fixture with -t 1ms for 80 s, so that
# flagged threads are unwound, rendered and published each time. RSS and
# open descriptors are sampled after a warm-up (10% of the sweeps), along the
# way and at the end; the
# figures, not a verdict, are the output (timings here are too noisy for
# thresholds).
#
# Phase 3 (unless --no-goroutines): SWEEPS sweeps of three Go processes
# (tools/bench/gosoak built by Go 1.19, 1.26 and 1.27: ~200 goroutines each
# that never stop coming and going, parked in channels, selects, mutexes,
# wait groups, conds and sleeps, 8 parked for good) with -t 100ms, so every
# sweep reads every goroutine, its stack and wait object, and flags and
# publishes some. Machine-wide sweeps (phase 1) read whatever Go processes
# the machine runs, which on a shared machine can be one with 100,000
# goroutines: phase 3 is the goroutine soak that does not depend on them.
# SOAK_PHASES (default "1 2 3") picks the phases.
#
# --valgrind: a short run (default 30 sweeps of flagged threads and of a Go
# process with churning goroutines, tools/bench/gosoak) under valgrind
# --leak-check=full; prints its LEAK SUMMARY and the error count.
set -euo pipefail

valgrind=false
if [ "${1:-}" = --valgrind ]; then
	valgrind=true
	shift
fi
build=$(cd "${1:-build}" && pwd)
sweeps=${2:-$($valgrind && echo 30 || echo 10000)}
interval=${3:-10ms}
pw=$build/parkwatch
fx=$build/fixtures
phases=" ${SOAK_PHASES:-1 2 3} "
for f in "$pw" "$fx/churn" "$fx/strand"; do
	[ -x "$f" ] || { echo "bench-serve-soak: $f not built (make all)" >&2; exit 3; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench-serve-soak: needs root (BPF)" >&2; exit 3; }

tmp=$(mktemp -d)
bg=()
cleanup() {
	local p
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${bg[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_line FILE REGEX SECONDS
wait_line() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench-serve-soak: no /$2/ in $1 after $3 s" >&2
	cat "$1" >&2
	return 1
}

# Processes that come and go, threads that come and go.
churner() {
	local n=0
	while :; do
		n=$((n + 1))
		mkfifo "$tmp/fifo.$n"
		"$fx/churn" "$tmp/fifo.$n" 200 >"$tmp/churn.out" 2>/dev/null &
		local c=$!
		"$fx/strand" 3 >/dev/null 2>&1 &
		local s=$!
		wait_line "$tmp/churn.out" '^READY' 20 >/dev/null 2>&1 || true
		echo go >"$tmp/fifo.$n"
		wait_line "$tmp/churn.out" '^CHURNED' 20 >/dev/null 2>&1 || true
		kill "$c" "$s" 2>/dev/null || true
		wait "$c" "$s" 2>/dev/null || true
		rm -f "$tmp/fifo.$n"
	done
}

# Go processes that come and go: each Go fixture of the three toolchains in
# turn, started, left to be swept for a second, killed.
go_churner() {
	local n=0 f p=
	trap 'kill "$p" 2>/dev/null; exit 0' TERM
	local bins=(chansend-go119 chanrecv-go126 mutexhold-go127 chanrecv-go119
		mutexhold-go126 chansend-go127 mutexhold-go119 chansend-go126 chanrecv-go127)
	while :; do
		f=${bins[n % ${#bins[@]}]}
		n=$((n + 1))
		"$fx/go/$f" >"$tmp/gochurn.out" 2>/dev/null &
		p=$!
		wait_line "$tmp/gochurn.out" '^READY' 30 >/dev/null 2>&1 || true
		sleep 1
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# One Go process always alive: restarted when it exits (the fixtures end by
# themselves after 120 s).
go_keeper() {
	local c=
	trap 'kill "$c" 2>/dev/null; exit 0' TERM
	while :; do
		"$fx/go/$1" >/dev/null 2>&1 &
		c=$!
		wait "$c" || true
	done
}

scraper() {
	while :; do
		curl -s "$1/metrics" >/dev/null || true
		curl -s -H 'Accept: application/openmetrics-text' "$1/metrics" >/dev/null || true
		curl -s "$1/report" >/dev/null || true
		sleep 0.05
	done
}

metric() {
	curl -s "$url/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# The heap and other private memory: VmRSS also counts the pages of the
# ELF files mapped to symbolize (the Go binaries of whatever runs on the
# machine come and go), which says nothing about a leak.
anon_kb() {
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

# sample: "sweeps rss anon fds go_procs" of the daemon, one table row
# (go_procs: the Go processes whose goroutines the latest sweep read; each
# keeps its binary's tables while it lives).
sample() {
	printf '  %8s %10s %10s %5s %8s\n' "$(metric parkwatch_sweeps_total)" "$(rss_kb "$daemon")" \
		"$(anon_kb "$daemon")" "$(fds "$daemon")" \
		"$(curl -s "$url/report" | jq '.go_processes | length' 2>/dev/null)"
}

fds() {
	ls "/proc/$1/fd" | wc -l
}

# start_serve ARGS...: parkwatch serve (under valgrind with --valgrind);
# sets daemon and url.
start_serve() {
	local pre=()
	$valgrind && pre=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
		--errors-for-leak-kinds=definite --log-file="$tmp/valgrind.log")
	"${pre[@]}" "$pw" serve --listen 127.0.0.1:0 "$@" 2>"$tmp/serve.err" &
	daemon=$!
	bg+=("$daemon")
	wait_line "$tmp/serve.err" '^parkwatch: serving on' 300
	url=http://127.0.0.1:$(sed -nE 's/^parkwatch: serving on .*:([0-9]+)$/\1/p' "$tmp/serve.err")
}

# wait_sweeps N: until the daemon has done N sweeps.
wait_sweeps() {
	local s
	while :; do
		s=$(metric parkwatch_sweeps_total)
		[ "${s:-0}" -ge "$1" ] && return 0
		kill -0 "$daemon" 2>/dev/null || { cat "$tmp/serve.err" >&2; exit 1; }
		sleep 0.5
	done
}

stop_serve() {
	kill -TERM "$daemon"
	local rc=0
	wait "$daemon" || rc=$?
	echo "  exit status after SIGTERM: $rc"
}

if $valgrind; then
	command -v valgrind >/dev/null || { echo "bench-serve-soak: valgrind not installed" >&2; exit 3; }
	"$fx/strand" 5 >"$tmp/strand.out" 2>/dev/null &
	sp=$!
	bg+=($!)
	wait_line "$tmp/strand.out" '^READY' 20
	# And a Go process whose goroutines churn: goroutines, stacks and
	# wait objects read, flagged and published every sweep.
	gp=()
	if [ -x "$build/bench/gosoak-go126" ]; then
		"$build/bench/gosoak-go126" 200 3600 >"$tmp/gosoak.out" 2>&1 &
		bg+=($!)
		gp=(-p $!)
		wait_line "$tmp/gosoak.out" '^READY' 30
	fi
	start_serve -p "$sp" "${gp[@]}" -t 1ms -i 100ms
	scraper "$url" & bg+=($!)
	wait_sweeps "$sweeps"
	echo "valgrind: $sweeps sweeps of 5 flagged threads${gp:+ and the churning goroutines of a Go process}," \
		"scraped all along"
	stop_serve
	cp "$tmp/valgrind.log" "$build/soak-valgrind.log"
	sed -n '/HEAP SUMMARY/,/suppressed/p;/ERROR SUMMARY/p' "$tmp/valgrind.log"
	echo "  (whole log: $build/soak-valgrind.log; the \"uninitialised\" reports are" \
		"bytes the kernel filled through bpf(2), which valgrind cannot see)"
	exit 0
fi

if [[ $phases == *" 1 "* ]]; then
churner & bg+=($!)
go_bg=()
if [[ " ${SOAK_SERVE_ARGS:-} " != *" --no-goroutines "* ]]; then
	for f in chansend-go126 chanrecv-go127 mutexhold-go119; do
		[ -x "$fx/go/$f" ] || { echo "bench-serve-soak: $fx/go/$f not built (make all)" >&2; exit 3; }
	done
	go_churner & go_bg+=($!)
	for ((k = 0; k < ${SOAK_GO_KEEP:-2}; k++)); do
		go_keeper "$([ $((k % 2)) = 0 ] && echo chansend-go126 || echo chanrecv-go127)" &
		go_bg+=($!)
	done
	bg+=("${go_bg[@]}")
fi
# SOAK_SERVE_ARGS: more options for phase 1 (e.g. --no-goroutines).
# shellcheck disable=SC2086
start_serve -t 1h -i "$interval" ${SOAK_SERVE_ARGS:-}
scraper "$url" & bg+=($!)
warm=$((sweeps / 10 > 100 ? sweeps / 10 : 100))
wait_sweeps "$warm"
s0=$(metric parkwatch_sweeps_total) a0=$(anon_kb "$daemon") fd0=$(fds "$daemon") t0=$SECONDS
echo "phase 1: machine-wide, -t 1h, --interval $interval ${SOAK_SERVE_ARGS:-}, processes churning, scraped"
printf '  %8s %10s %10s %5s %8s\n' sweeps rss_kB anon_kB fds go_procs
sample
step=$(((sweeps - warm) / 5))
for ((target = warm + step; target < sweeps; target += step)); do
	wait_sweeps "$target"
	sample
done
wait_sweeps "$sweeps"
a1=$(anon_kb "$daemon") fd1=$(fds "$daemon")
sample
echo "  $(($(metric parkwatch_sweeps_total) - s0)) sweeps in $((SECONDS - t0)) s; anonymous" \
	"memory $a0 -> $a1 kB (ratio $(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.3f", b / a }'))," \
	"fds $fd0 -> $fd1, sweep errors $(metric parkwatch_sweep_errors_total)"
if [ ${#go_bg[@]} -gt 0 ]; then
	# The Go fixtures gone (their keepers first, then the processes):
	# what the daemon holds once it has forgotten them.
	for p in "${go_bg[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${go_bg[@]}"; do wait "$p" 2>/dev/null || true; done
	s=$(metric parkwatch_sweeps_total)
	wait_sweeps $((s + 200))
	echo "  200 sweeps after the Go fixtures exited:"
	sample
fi
stop_serve
fi

# Phase 2: flagged threads every sweep, for up to 90 s (the fixture's own
# lifetime is bounded at 120 s).
if [[ $phases == *" 2 "* ]]; then
"$fx/strand" 20 >"$tmp/strand.out" 2>/dev/null &
sp=$!
bg+=("$sp")
wait_line "$tmp/strand.out" '^READY' 20
start_serve -p "$sp" -t 1ms -i "$interval"
scraper "$url" & bg+=($!)
wait_sweeps 20 # all 20 threads stranded (4 s) and every cache warm
a0=$(anon_kb "$daemon") fd0=$(fds "$daemon") s0=$(metric parkwatch_sweeps_total) t0=$SECONDS
echo "phase 2: -p strand, 20 threads flagged, unwound and published each sweep"
printf '  %8s %10s %10s %5s %8s\n' sweeps rss_kB anon_kB fds go_procs
sample
while [ $((SECONDS - t0)) -lt 80 ]; do
	sleep 10
	sample
done
a1=$(anon_kb "$daemon") fd1=$(fds "$daemon")
echo "  $(($(metric parkwatch_sweeps_total) - s0)) sweeps in $((SECONDS - t0)) s; anonymous" \
	"memory $a0 -> $a1 kB (ratio $(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.3f", b / a }'))," \
	"fds $fd0 -> $fd1"
stop_serve
fi

# Phase 3: goroutines read every sweep, from Go processes that live through
# all of it while their goroutines churn.
if [[ $phases == *" 3 "* && " ${SOAK_SERVE_ARGS:-} " != *" --no-goroutines "* ]]; then
	gopids=()
	for v in go119 go126 go127; do
		[ -x "$build/bench/gosoak-$v" ] ||
			{ echo "bench-serve-soak: $build/bench/gosoak-$v not built (make soak)" >&2; exit 3; }
		"$build/bench/gosoak-$v" 200 36000 >"$tmp/gosoak-$v.out" 2>&1 &
		gopids+=($!)
		bg+=($!)
		wait_line "$tmp/gosoak-$v.out" '^READY' 30
	done
	start_serve -p "${gopids[0]}" -p "${gopids[1]}" -p "${gopids[2]}" -t 100ms -i "$interval"
	scraper "$url" & bg+=($!)
	warm=$((sweeps / 10 > 100 ? sweeps / 10 : 100))
	wait_sweeps "$warm"
	# anon_min_kB: the least of 20 looks 50 ms apart. A look lands in a
	# sweep in flight (its snapshot buffers) more often than not; the
	# minimum is what the daemon keeps between sweeps.
	anon_min() {
		local i v m=
		for ((i = 0; i < 20; i++)); do
			v=$(anon_kb "$daemon")
			[ -z "$m" ] || [ "$v" -lt "$m" ] && m=$v
			sleep 0.05
		done
		echo "$m"
	}
	gsample() {
		printf '  %8s %10s %10s %12s %5s %8s %10s\n' "$(metric parkwatch_sweeps_total)" \
			"$(rss_kb "$daemon")" "$(anon_kb "$daemon")" "$(anon_min)" "$(fds "$daemon")" \
			"$(curl -s "$url/report" | jq '.go_processes | length' 2>/dev/null)" \
			"$(curl -s "$url/report" | jq '[.go_processes[].goroutines // 0] | add' 2>/dev/null)"
	}
	s0=$(metric parkwatch_sweeps_total) a0=$(anon_min) fd0=$(fds "$daemon") t0=$SECONDS
	echo "phase 3: -p three Go processes (Go 1.19, 1.26, 1.27; ~200 goroutines each, churning)," \
		"-t 100ms, --interval $interval, scraped"
	printf '  %8s %10s %10s %12s %5s %8s %10s\n' sweeps rss_kB anon_kB anon_min_kB fds \
		go_procs goroutines
	gsample
	step=$(((sweeps - warm) / 5))
	for ((target = warm + step; target < sweeps; target += step)); do
		wait_sweeps "$target"
		gsample
	done
	wait_sweeps "$sweeps"
	a1=$(anon_min) fd1=$(fds "$daemon")
	gsample
	echo "  $(($(metric parkwatch_sweeps_total) - s0)) sweeps in $((SECONDS - t0)) s; least anonymous" \
		"memory $a0 -> $a1 kB (ratio $(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.3f", b / a }'))," \
		"fds $fd0 -> $fd1, sweep errors $(metric parkwatch_sweep_errors_total)"
	stop_serve
fi
