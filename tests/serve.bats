#!/usr/bin/env bats
# parkwatch serve: the daemon that feeds Prometheus. A real Prometheus
# (Debian's package, started here on loopback with its own storage) scrapes
# it while a fixture strands one thread per 200 ms; promtool checks the
# output; the endpoints, signals, --prom-file and the defaults are checked
# against the running daemon. Everything listens on 127.0.0.1 / ::1 only.

load helpers

setup() {
	require_root
	require_parkwatch
	require_fixture strand
}

# start_serve ARGS...: parkwatch serve on a free loopback port (the kernel
# picks it: --listen 127.0.0.1:0) unless ARGS give --listen; waits for
# "serving on" and sets PW_PORT and PW_URL.
start_serve() {
	local listen=(--listen 127.0.0.1:0)
	[[ " $* " == *" --listen "* || " $* " == *" --prom-file "* ]] && listen=()
	start_parkwatch serve "${listen[@]}" "$@"
	wait_for_line "$PW_ERR" '^parkwatch: (serving on|writing metrics)' 30 ||
		fail "parkwatch serve did not start"
	PW_PORT=$(sed -nE 's/^parkwatch: serving on .*:([0-9]+)$/\1/p' "$PW_ERR")
	PW_URL=http://127.0.0.1:$PW_PORT
}

# wait_for_metric REGEX TIMEOUT_S: poll /metrics until a line matches.
wait_for_metric() {
	local regex=$1 timeout=$2
	local deadline=$(($(now_ms) + timeout * 1000))

	until curl -sf "$PW_URL/metrics" | grep -Eq -- "$regex"; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			echo "no /metrics line matching /$regex/ after ${timeout}s:" >&2
			curl -s "$PW_URL/metrics" | sed 's/^/  | /' >&2
			sed 's/^/  stderr | /' "$PW_ERR" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_for_more_sweeps TIMEOUT_S: until parkwatch_sweeps_total has grown.
wait_for_more_sweeps() {
	local before now deadline=$(($(now_ms) + $1 * 1000))
	before=$(curl -sf "$PW_URL/metrics" | awk '$1 == "parkwatch_sweeps_total" { print $2 }')
	until now=$(curl -sf "$PW_URL/metrics" | awk '$1 == "parkwatch_sweeps_total" { print $2 }') &&
		[ "${now:-0}" -gt "${before:-0}" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "no sweep after $before in $1s"
		sleep 0.1
	done
}

# free_port: a loopback TCP port nobody listens on now.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! ss -Htln "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# prom_query PROMQL: the first result's value from Prometheus' HTTP API.
prom_query() {
	curl -sf "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

# start_prometheus TARGET: a Prometheus of our own scraping TARGET every
# 200 ms; waits until it is ready. Sets PROM_URL.
start_prometheus() {
	command -v prometheus >/dev/null ||
		skip_or_fail "prometheus not installed (Debian: prometheus; make deps)"
	local dir=$BATS_TEST_TMPDIR/prometheus port deadline
	mkdir -p "$dir"
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 200ms
		  scrape_timeout: 200ms
		scrape_configs:
		  - job_name: parkwatch
		    static_configs:
		      - targets: ['$1']
	EOF
	# A port free a moment ago can be taken by the time Prometheus binds
	# it: try another then.
	for _ in 1 2 3; do
		port=$(free_port) || fail "no free port for Prometheus"
		PROM_URL=http://127.0.0.1:$port
		start_bg "$dir/out" "$dir/err" prometheus --config.file="$dir/prometheus.yml" \
			--storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
			--log.level=warn
		deadline=$(($(now_ms) + 60000))
		until curl -sf "$PROM_URL/-/ready" >/dev/null; do
			if is_gone "$BG_PID"; then
				grep -q 'address already in use' "$dir/err" && continue 2
				break
			fi
			[ "$(now_ms)" -lt "$deadline" ] || break
			sleep 0.2
		done
		curl -sf "$PROM_URL/-/ready" >/dev/null && return 0
		break
	done
	sed 's/^/  prometheus | /' "$dir/err" >&2
	fail "Prometheus did not become ready on $PROM_URL"
}

@test "a real Prometheus scrapes serve and sees a leak's parked count rise" {
	local first value deadline comm
	start_fixture strand 200 hostile
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
	start_prometheus "127.0.0.1:$PW_PORT"
	local q="sum(parkwatch_parked_threads{pid=\"$FIXTURE_PID\",site=\"strand_wait\"})"

	# The first value Prometheus stored, then a larger one.
	deadline=$(($(now_ms) + 60000))
	until first=$(prom_query "$q") && [ -n "$first" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "Prometheus never got $q"
		sleep 0.2
	done
	until value=$(prom_query "$q") && [ -n "$value" ] && [ "$value" -gt "$first" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "$q stayed at $first (last: $value)"
		sleep 0.2
	done
	echo "parked threads seen by Prometheus: $first, then $value" >&3
	# The scrape itself was healthy, and the hostile name arrived intact
	# (escaped on the wire, parsed back by Prometheus; the invalid byte
	# became U+FFFD).
	[ "$(prom_query 'up{job="parkwatch"}')" = 1 ] || fail "target not up"
	comm=$(curl -sf "$PROM_URL/api/v1/query" \
		--data-urlencode "query=parkwatch_parked_threads{pid=\"$FIXTURE_PID\"}" |
		jq -r '.data.result[0].metric.comm')
	[ "$comm" = $'pw"q\\\n\xef\xbf\xbdz' ] || fail "comm label came back as: $(printf %q "$comm")"
	[ "$(prom_query "parkwatch_oldest_parked_seconds{pid=\"$FIXTURE_PID\"} > 0")" != "" ] ||
		fail "no parkwatch_oldest_parked_seconds"
}

@test "promtool accepts /metrics; every family has HELP and TYPE; OpenMetrics on request" {
	command -v promtool >/dev/null || skip_or_fail "promtool not installed (Debian: prometheus)"
	start_fixture strand 20 hostile
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
	wait_for_metric "^parkwatch_parked_threads\\{pid=\"$FIXTURE_PID\"" 30
	curl -sf -D "$BATS_TEST_TMPDIR/h" "$PW_URL/metrics" >"$BATS_TEST_TMPDIR/m"
	run promtool check metrics <"$BATS_TEST_TMPDIR/m"
	assert_success
	grep -qi '^content-type: text/plain; version=0.0.4' "$BATS_TEST_TMPDIR/h"
	# The escaped hostile name, byte for byte.
	grep -qF 'comm="pw\"q\\\n'$'\xef\xbf\xbd''z"' "$BATS_TEST_TMPDIR/m" ||
		fail "hostile comm not escaped as expected: $(grep parked_threads "$BATS_TEST_TMPDIR/m")"
	# Every sample's family has HELP and TYPE lines.
	local name
	for name in $(grep -v '^#' "$BATS_TEST_TMPDIR/m" | sed -E 's/[{ ].*//' | sort -u); do
		grep -q "^# HELP $name " "$BATS_TEST_TMPDIR/m" || fail "no HELP for $name"
		grep -q "^# TYPE $name " "$BATS_TEST_TMPDIR/m" || fail "no TYPE for $name"
	done
	for name in parkwatch_parked_goroutines parkwatch_oldest_parked_seconds \
		parkwatch_sweeps_total parkwatch_sweep_duration_seconds \
		parkwatch_map_overflows_total parkwatch_series_dropped_total \
		parkwatch_sweep_errors_total parkwatch_build_info; do
		grep -q "^# TYPE $name " "$BATS_TEST_TMPDIR/m" || fail "$name missing"
	done
	! grep -q '^# EOF' "$BATS_TEST_TMPDIR/m"
	# Every family served is documented in parkwatch-serve(8).
	for name in $(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$BATS_TEST_TMPDIR/m"); do
		grep -qx ".B $name" "$PW_REPO/tools/parkwatch-serve.8" ||
			fail "$name is not documented in tools/parkwatch-serve.8"
	done
	# OpenMetrics when the Accept header prefers it (as Prometheus sends it).
	curl -sf -D "$BATS_TEST_TMPDIR/h" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
		"$PW_URL/metrics" >"$BATS_TEST_TMPDIR/om"
	grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$BATS_TEST_TMPDIR/h"
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/om")" = "# EOF" ] || fail "OpenMetrics does not end with # EOF"
	grep -qx '# TYPE parkwatch_sweeps counter' "$BATS_TEST_TMPDIR/om"
	grep -qx '# TYPE parkwatch_build info' "$BATS_TEST_TMPDIR/om"
	grep -q '^parkwatch_sweeps_total [0-9]' "$BATS_TEST_TMPDIR/om"
}

@test "/healthz says ok and /report serves the latest JSON report" {
	start_fixture strand 10
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
	wait_for_metric "^parkwatch_parked_threads\\{pid=\"$FIXTURE_PID\"" 30
	run curl -sf "$PW_URL/healthz"
	assert_success
	assert_output "ok"
	REPORT=$BATS_TEST_TMPDIR/report.json
	curl -sf -D "$BATS_TEST_TMPDIR/h" "$PW_URL/report" >"$REPORT"
	grep -qi '^content-type: application/json' "$BATS_TEST_TMPDIR/h"
	jq_check '.schema == "parkwatch/1" and .mode == "serve"'
	jq_check 'mine | length >= 1 and all(has_fn("^strand_wait$"))'
	run curl -s -o /dev/null -w '%{http_code}' "$PW_URL/nothing-here"
	assert_output 404
}

@test "a sweep in progress never blocks a scrape; /healthz says so until the first sweep" {
	start_fixture strand 5
	# The test gate holds every sweep before unwinding until the file exists.
	export PARKWATCH_TEST_GATE=$BATS_TEST_TMPDIR/gate
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
	unset PARKWATCH_TEST_GATE
	wait_for_line "$PW_ERR" '^parkwatch: test gate$' 30
	# The first sweep is stuck: /metrics still answers at once (the
	# daemon's own metrics), /healthz and /report say there is no sweep yet.
	run curl -s -m 5 -o "$BATS_TEST_TMPDIR/m" -w '%{http_code}' "$PW_URL/metrics"
	assert_output 200
	grep -qx 'parkwatch_sweeps_total 0' "$BATS_TEST_TMPDIR/m"
	run curl -s -m 5 -w ' %{http_code}' "$PW_URL/healthz"
	assert_output "no sweep yet
 503"
	run curl -s -m 5 -o /dev/null -w '%{http_code}' "$PW_URL/report"
	assert_output 503
	touch "$BATS_TEST_TMPDIR/gate"
	wait_for_metric '^parkwatch_sweeps_total [1-9]' 30
	run curl -sf "$PW_URL/healthz"
	assert_output "ok"
}

@test "only GET and HEAD: every other method gets 405 and changes nothing" {
	start_fixture strand 5
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
	wait_for_metric '^parkwatch_sweeps_total [1-9]' 30
	local m
	for m in POST PUT DELETE PATCH OPTIONS; do
		run curl -s -o /dev/null -w '%{http_code}' -X "$m" -d x "$PW_URL/metrics"
		assert_output 405
	done
	curl -s -D - -o /dev/null -X POST "$PW_URL/report" | grep -qi '^allow: GET, HEAD'
	# HEAD: the headers of a GET, no body.
	run curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$PW_URL/metrics"
	assert_output "200 0"
	run curl -sf "$PW_URL/healthz"
	assert_output "ok"
}

@test "SIGHUP re-reads the ignore and idle files; a broken file keeps the old rules" {
	local rules=$BATS_TEST_TMPDIR/rules idle=$BATS_TEST_TMPDIR/idle
	echo "# nothing ignored yet" >"$rules"
	echo "# no idle functions" >"$idle"
	start_fixture strand 10
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms --ignore-file "$rules" --idle-file "$idle"
	wait_for_metric "^parkwatch_parked_threads\\{pid=\"$FIXTURE_PID\"" 30
	echo "any strand_wait" >"$rules"
	kill -HUP "$PW_PID"
	wait_for_metric '^parkwatch_reloads_total\{result="ok"\} 1$' 30
	wait_for_metric '^parkwatch_hidden_waits\{reason="ignored"\} [1-9]' 30
	curl -sf "$PW_URL/metrics" | grep -q "^parkwatch_parked_threads{pid=\"$FIXTURE_PID\"" &&
		fail "still flagged after the reload"
	# A broken file: refused with a message, the previous rules stay.
	echo "bottom strand_wait" >"$rules" # not a rule kind
	kill -HUP "$PW_PID"
	wait_for_metric '^parkwatch_reloads_total\{result="error"\} 1$' 30
	grep -q 'reload: .*keeping the previous rules' "$PW_ERR"
	# Sweeps go on with the old rules.
	wait_for_more_sweeps 30
	curl -sf "$PW_URL/metrics" | grep -q "^parkwatch_parked_threads{pid=\"$FIXTURE_PID\"" &&
		fail "the broken file dropped the old rules"
	# A broken idle file is refused the same way.
	echo "not a function name" >"$idle"
	kill -HUP "$PW_PID"
	wait_for_metric '^parkwatch_reloads_total\{result="error"\} 2$' 30
	! is_gone "$PW_PID"
}

@test "SIGTERM and SIGINT end serve with status 0 and close its socket" {
	local sig
	start_fixture strand 5
	for sig in TERM INT; do
		start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms
		wait_for_metric '^parkwatch_sweeps_total [1-9]' 30
		kill -"$sig" "$PW_PID"
		wait_exit "$PW_PID" 20
		[ "$EXIT_STATUS" -eq 0 ] || fail "exit status $EXIT_STATUS after SIG$sig"
		run curl -s -o /dev/null "$PW_URL/healthz"
		[ "$status" -eq 7 ] || fail "port $PW_PORT still answers after SIG$sig (curl: $status)"
	done
}

@test "serve binds loopback by default; IPv6 loopback accepted; bad addresses refused" {
	start_fixture strand 5
	# ":PORT" (no address) is loopback too.
	start_serve -p "$FIXTURE_PID" --listen :0
	grep -qE '^parkwatch: serving on 127\.0\.0\.1:[0-9]+$' "$PW_ERR"
	ss -Htln "sport = :$PW_PORT" | grep -q '127.0.0.1:' || fail "not bound to 127.0.0.1"
	kill_started
	start_fixture strand 5
	if ! ss -Htln 'sport = :9477' | grep -q .; then
		start_parkwatch serve -p "$FIXTURE_PID"
		wait_for_line "$PW_ERR" '^parkwatch: serving on 127\.0\.0\.1:9477$' 30
		run ss -Htln 'sport = :9477'
		assert_output --regexp '127\.0\.0\.1:9477'
		refute_output --regexp '(0\.0\.0\.0|\*|\[::\]):9477'
		kill_started
		start_fixture strand 5
	fi
	if [ -e /proc/net/if_inet6 ] && ip -6 addr show dev lo | grep -q '::1'; then
		start_parkwatch serve -p "$FIXTURE_PID" --listen '[::1]:0'
		wait_for_line "$PW_ERR" '^parkwatch: serving on \[::1\]:[0-9]+$' 30
		PW_PORT=$(sed -nE 's/^parkwatch: serving on .*:([0-9]+)$/\1/p' "$PW_ERR")
		run curl -sf -g "http://[::1]:$PW_PORT/healthz"
		assert_success
	fi
	for bad in example.com:80 127.0.0.1 127.0.0.1:70000 '::1:80'; do
		run_parkwatch serve -p "$FIXTURE_PID" --listen "$bad"
		assert_equal "$status" 2
		[[ "$stderr" == *"invalid --listen"* ]] || fail "no clear message for $bad: $stderr"
	done
}

@test "--prom-file alone writes the metrics atomically, without a port" {
	command -v promtool >/dev/null || skip_or_fail "promtool not installed (Debian: prometheus)"
	local dir=$BATS_TEST_TMPDIR/textfile deadline
	mkdir "$dir"
	start_fixture strand 10
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms --prom-file "$dir/parkwatch.prom"
	! grep -q 'serving on' "$PW_ERR" || fail "listening although only --prom-file was given"
	deadline=$(($(now_ms) + 30000))
	until grep -q "^parkwatch_parked_threads{pid=\"$FIXTURE_PID\"" "$dir/parkwatch.prom" 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "no parked threads in $dir/parkwatch.prom"
		sleep 0.1
	done
	run promtool check metrics <"$dir/parkwatch.prom"
	assert_success
	[ "$(stat -c %a "$dir/parkwatch.prom")" = 644 ]
	kill -TERM "$PW_PID"
	wait_exit "$PW_PID" 20
	[ "$EXIT_STATUS" -eq 0 ]
	# Only the file itself: no temporary left behind.
	run ls -A "$dir"
	assert_output parkwatch.prom
	# With --listen too: both.
	start_serve -p "$FIXTURE_PID" -i 200ms --prom-file "$dir/both.prom" --listen 127.0.0.1:0
	grep -q 'serving on 127.0.0.1:' "$PW_ERR"
	wait_for_line "$dir/both.prom" '^parkwatch_sweeps_total [1-9]' 30
	# A directory that cannot be written: a usage error, at once.
	run_parkwatch serve -p "$FIXTURE_PID" --prom-file /nonexistent/dir/x.prom
	assert_equal "$status" 2
	[[ "$stderr" == *"--prom-file"* ]]
}

@test "--max-series caps the per-process series and counts the dropped ones" {
	start_fixture strand 10
	start_serve -p "$FIXTURE_PID" -t 1ms -i 200ms --max-series 1
	wait_for_metric '^parkwatch_series_dropped_total [1-9]' 30
	# Two series (parked threads, oldest): only the larger one is kept.
	run bash -c "curl -sf '$PW_URL/metrics' | grep -c '^parkwatch_\(parked_threads\|parked_goroutines\|oldest_parked_seconds\){'"
	assert_output 1
}

@test "serve refuses options it cannot honour, and serve options need serve" {
	start_fixture strand 1
	for args in "--once" "--json" "--format folded" "--futex-hooks" "--fail" "-o /dev/null"; do
		# shellcheck disable=SC2086
		run_parkwatch serve -p "$FIXTURE_PID" $args
		assert_equal "$status" 2
		[[ "$stderr" == *"serve cannot be combined with"* ]] || fail "$args: $stderr"
	done
	run_parkwatch --once -p "$FIXTURE_PID" --listen 127.0.0.1:0
	assert_equal "$status" 2
	[[ "$stderr" == *"options of 'parkwatch serve'"* ]]
	run_parkwatch --once -p "$FIXTURE_PID" serve
	assert_equal "$status" 2
	run_parkwatch serve -p "$FIXTURE_PID" --max-series lots
	assert_equal "$status" 2
}

@test "make install puts a valid systemd unit for serve under PREFIX/lib/systemd/system" {
	local prefix=$BATS_TEST_TMPDIR/prefix unit
	run make -C "$PW_REPO" --no-print-directory OUT="$PARKWATCH_BUILD" \
		-o "$PARKWATCH_BUILD/parkwatch" install PREFIX="$prefix"
	assert_success
	unit=$prefix/lib/systemd/system/parkwatch.service
	[ -f "$unit" ] || fail "no $unit"
	[ "$(stat -c %a "$unit")" = 644 ]
	grep -qx "ExecStart=$prefix/sbin/parkwatch serve --listen 127.0.0.1:9477 --interval 30s" "$unit"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
	# The ExecStart line runs as written: serve's options parse (usage
	# errors exit 2 before anything loads; --help exits 0).
	run "$prefix/sbin/parkwatch" serve --listen 127.0.0.1:9477 --interval 30s --help
	assert_success
	# Its manual page, installed beside parkwatch(8), renders cleanly.
	[ -f "$prefix/share/man/man8/parkwatch-serve.8" ] || fail "parkwatch-serve.8 not installed"
	if command -v groff >/dev/null; then
		run --separate-stderr groff -man -Tutf8 -ww -z "$prefix/share/man/man8/parkwatch-serve.8"
		assert_success
		assert_equal "$stderr" ""
	fi
	if command -v systemd-analyze >/dev/null; then
		run systemd-analyze verify --man=no "$unit"
		assert_success
	fi
}
