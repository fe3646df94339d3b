#!/usr/bin/env bats
# Many threads at a few sites (many_sites): what a code address means is
# looked up once per sweep and shared by every thread and process that has
# it (user/threads/unwind_cache.c), and each stack is read in one go. The
# counts and the stacks must be those of every thread looked at alone.

load helpers

# The three sites: the blocking call, the fixture's function, its caller.
site_ok() { # SITE_FN LIBC_FN_REGEX: all threads parked there have the full stack
	jq_check "[mine[] | select(has_fn(\"^$1\$\"))] as \$t
		| (\$t | length) > 0
		and (\$t | all(fns as \$f
			| (\$f | index(\"$1\")) as \$s
			| (\$f | index(\"site_worker\")) as \$w
			| (\$f | index(\"start_thread\")) as \$st
			| \$s != null and \$w != null and \$st != null and \$s < \$w and \$w < \$st
			and (\$f[0] | test(\"$2\"))))"
}

# sweep_sites ARGS N [PID...]: the N processes of "many_sites ARGS" (and
# the PIDs given), in $pids comma-separated, swept with one -p each.
sweep_sites() {
	local p args=()
	pids=$(pgrep -d, -f "^$FIXTURES/many_sites $1\$")
	[ "$(tr , '\n' <<<"$pids" | wc -l)" -eq "$2" ]
	shift 2
	for p in "$@"; do pids+=,$p; done
	for p in ${pids//,/ }; do
		args+=(-p "$p")
	done
	run_parkwatch --once -t 0 --json "${args[@]}"
	assert_success
}

@test "2,000 threads at 3 sites: three groups of the right sizes, every thread's stack full" {
	require_root
	require_parkwatch
	start_fixture many_sites 2000
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 2000'
	jq_check 'mine | map(.tid) | unique | length == 2000'
	# Thread i parks at site i % 3: 667 at the condition variable, 667 at
	# the mutex, 666 at the semaphore.
	jq_check '[mine[] | select(has_fn("^cond_site$"))] | length == 667'
	jq_check '[mine[] | select(has_fn("^mutex_site$"))] | length == 667'
	jq_check '[mine[] | select(has_fn("^sem_site$"))] | length == 666'
	jq_check '[.groups[] | select(.pid == $pid)] | length == 3
		and (map(.count) | sort) == [666, 667, 667]'
	site_ok cond_site '^__futex_abstimed_wait_common'
	site_ok mutex_site 'lll_lock_wait'
	site_ok sem_site '^__futex_abstimed_wait_common'
	# Every frame named, with its module; the fixture's own frames with
	# their source lines.
	jq_check 'mine | all(.stack | length >= 5 and all(.function != null and .module != null))'
	jq_check '[mine[].stack[] | select(.module == "many_sites")]
		| length == 4000 and all((.file // "" | split("/") | last) == "many_sites.c" and .line > 0)'
	jq_check 'mine | all(.stack_error == null)'
}

@test "the same program in 5 processes at two load addresses: every process's stacks are named alike" {
	require_root
	require_parkwatch
	[ "$(cat /proc/sys/kernel/randomize_va_space)" != 0 ] || skip "needs ASLR (two load addresses)"
	# Four processes forked from one (one layout), and one started apart
	# (another layout): what is learnt of an address in one must be found
	# by file and offset in the other, not by address.
	start_fixture many_sites 300 1
	local apart=$FIXTURE_PID pids
	start_fixture many_sites 300 4
	sweep_sites "300 4" 4 "$apart"
	jq_check "[.threads[] | select([.pid] | inside([$pids]))] | length == 1500"
	# The same three stacks in every process.
	jq_check "[.threads[] | select([.pid] | inside([$pids]))]
		| group_by(.pid) | length == 5
		and (map(map(fns | join(\" \")) | unique) | unique | length == 1)
		and (.[0] | map(fns | join(\" \")) | unique | length == 3)"
	jq_check "[.threads[] | select([.pid] | inside([$pids]))]
		| all(.stack | length >= 5 and any(.function == \"site_worker\" and .module == \"many_sites\"
			and (.file | split(\"/\") | last) == \"many_sites.c\" and .line > 0))"
	# Two layouts: three return addresses in site_worker each.
	jq_check "[.threads[] | select([.pid] | inside([$pids])) | .stack[]
		| select(.function == \"site_worker\") | .address] | unique | length == 6"
}

@test "12 processes, more than the unwinders a sweep keeps open: every thread of every process named" {
	require_root
	require_parkwatch
	start_fixture many_sites 30 12
	local pids
	sweep_sites "30 12" 12
	jq_check "[.threads[] | select([.pid] | inside([$pids]))] | length == 360"
	jq_check "[.threads[] | select([.pid] | inside([$pids]))]
		| group_by(.pid) | length == 12
		and all(length == 30 and (map(fns | join(\" \")) | unique | length == 3))
		and (map(map(fns | join(\" \")) | unique) | unique | length == 1)"
	jq_check "[.threads[] | select([.pid] | inside([$pids]))]
		| all(.stack_error == null and (.stack | length >= 5 and all(.function != null)))"
}
