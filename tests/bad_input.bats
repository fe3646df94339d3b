#!/usr/bin/env bats
# Careless input gets a sentence and the documented exit code: -d 0, a
# kernel thread given to -p, a --btf file that is not BTF.

load helpers

setup() {
	require_parkwatch
}

@test "-d 0 is refused as a usage error (leave -d out to watch until Ctrl-C)" {
	run --separate-stderr timeout 10 "$PARKWATCH" -d 0
	assert_failure 2
	[[ $stderr == *"--duration must be more than 0"* ]] || fail "$stderr"
	run --separate-stderr timeout 10 "$PARKWATCH" -d 0s -p 1
	assert_failure 2
}

@test "-p of a kernel thread says it is a kernel thread, exit 2" {
	local kt
	# kthreadd, or any task with PF_KTHREAD (field 9 of /proc/PID/stat).
	kt=$(for s in /proc/[0-9]*/stat; do
		awk '{ sub(/.*\) /, ""); if (int($7 / 2097152) % 2) { split(FILENAME, p, "/"); print p[3]; exit } }' "$s" 2>/dev/null
	done | head -1)
	[ -n "$kt" ] || skip "no kernel thread visible in this PID namespace"
	run --separate-stderr "$PARKWATCH" --once -p "$kt"
	assert_failure 2
	[[ $stderr == *"$kt is a kernel thread"* ]] || fail "$stderr"
}

@test "--btf FILE that is not BTF: a sentence, not 'Unknown error 4001'" {
	require_root
	run --separate-stderr "$PARKWATCH" --once --btf /etc/passwd
	assert_failure 3
	[[ $stderr == *"--btf /etc/passwd: not a BTF file"* ]] || fail "$stderr"
	[[ $stderr != *"Unknown error"* ]] || fail "$stderr"
	run --separate-stderr "$PARKWATCH" --once --btf /dev/zero
	assert_failure 3
	[[ $stderr == *"not a BTF file"* ]] || fail "$stderr"
}
