#!/usr/bin/env bats
# The manual page tools/parkwatch.8: installed by `make install`, renders
# without warnings, and documents every option --help lists (so adding an
# option without documenting it fails here).

load helpers

MANPAGE=$PW_REPO/tools/parkwatch.8

setup() {
	require_parkwatch
}

require_man() {
	command -v man >/dev/null && command -v groff >/dev/null ||
		skip_or_fail "man/groff not installed (Debian: man-db groff-base; make deps)"
}

# render FILE: the page as plain text, 100 columns, tabs expanded.
render() {
	MANWIDTH=100 MANPAGER=cat PAGER=cat LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -bx
}

# option_entries: "-p, --pid=PID", "--fail", ... one per line, as the option
# table of `parkwatch --help` (on stdin) spells them.
option_entries() {
	grep -oE '^ {2,}(-[^ ,], )?--[a-z][a-z-]*(=[A-Z]+)?' | sed -E 's/^ +//'
}

# man_entries: the tags of the rendered page's option entries (stdin), in the
# same form: lines indented like a .TP tag that start with an option.
man_entries() {
	grep -oE '^ {7}(-[^ ,], )?--[a-z][a-z-]*(=[A-Z]+)?' | sed -E 's/^ +//' | sort -u
}

# undocumented HELP_TEXT_FILE MAN_TEXT_FILE: the --help entries with no entry of
# the same spelling (short option, long option, argument name) in the page.
undocumented() {
	comm -23 <(option_entries <"$1" | sort -u) <(man_entries <"$2")
}

@test "make install puts the binary, the manual page and the bats helpers under DESTDIR" {
	local root=$BATS_TEST_TMPDIR/root
	# -o: install what is built; this test does not rebuild parkwatch.
	run make -C "$PW_REPO" --no-print-directory OUT="$PARKWATCH_BUILD" \
		-o "$PARKWATCH_BUILD/parkwatch" install DESTDIR="$root"
	assert_success
	[ -x "$root/usr/local/sbin/parkwatch" ] || fail "no $root/usr/local/sbin/parkwatch"
	cmp "$root/usr/local/share/man/man8/parkwatch.8" "$MANPAGE"
	cmp "$root/usr/local/share/parkwatch/parkwatch.bash" "$PW_REPO/tools/parkwatch.bash"
	[ "$(stat -c %a "$root/usr/local/share/man/man8/parkwatch.8")" = 644 ]
	# PREFIX moves everything.
	run make -C "$PW_REPO" --no-print-directory OUT="$PARKWATCH_BUILD" \
		-o "$PARKWATCH_BUILD/parkwatch" install DESTDIR="$root" PREFIX=/usr
	assert_success
	[ -x "$root/usr/sbin/parkwatch" ] && [ -f "$root/usr/share/man/man8/parkwatch.8" ] ||
		fail "PREFIX=/usr not honoured"
}

@test "the installed page renders with man and groff without a warning" {
	require_man
	local root=$BATS_TEST_TMPDIR/root page
	make -C "$PW_REPO" --no-print-directory OUT="$PARKWATCH_BUILD" \
		-o "$PARKWATCH_BUILD/parkwatch" install DESTDIR="$root" >/dev/null
	page=$root/usr/local/share/man/man8/parkwatch.8

	run --separate-stderr env MANWIDTH=80 MANPAGER=cat PAGER=cat LC_ALL=C.UTF-8 \
		man --warnings -l "$page"
	assert_success
	assert_equal "$stderr" ""
	assert_output --partial "PARKWATCH(8)"
	for section in NAME SYNOPSIS DESCRIPTION MODES OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
		assert_line "$section"
	done
	# Every groff warning category, ASCII and UTF-8 devices.
	for dev in utf8 ascii; do
		run --separate-stderr groff -man -T"$dev" -ww -z "$page"
		assert_success
		assert_equal "$stderr" ""
	done
	# man finds it by name in the installed tree.
	run env MANPAGER=cat PAGER=cat man -M "$root/usr/local/share/man" 8 parkwatch
	assert_success
	assert_output --regexp "find +threads +parked +forever"
}

@test "every option of --help has its entry in the page, spelled the same" {
	require_man
	"$PARKWATCH" --help >"$BATS_TEST_TMPDIR/help"
	render "$MANPAGE" >"$BATS_TEST_TMPDIR/man"
	# Sanity: both sides were read.
	[ "$(option_entries <"$BATS_TEST_TMPDIR/help" | wc -l)" -ge 20 ] || fail "no options read from --help"
	[ "$(man_entries <"$BATS_TEST_TMPDIR/man" | wc -l)" -ge 20 ] || fail "no option entries read from the page"
	run undocumented "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/man"
	assert_success
	[ -z "$output" ] || fail "options in --help without an entry in tools/parkwatch.8: $output"
}

@test "the page documents no option that --help does not have" {
	require_man
	"$PARKWATCH" --help >"$BATS_TEST_TMPDIR/help"
	render "$MANPAGE" >"$BATS_TEST_TMPDIR/man"
	run comm -13 <(option_entries <"$BATS_TEST_TMPDIR/help" | sort -u) \
		<(man_entries <"$BATS_TEST_TMPDIR/man")
	[ -z "$output" ] || fail "entries in tools/parkwatch.8 that --help does not list: $output"
}

@test "the check catches an option added to --help without documentation" {
	require_man
	"$PARKWATCH" --help >"$BATS_TEST_TMPDIR/help"
	{
		cat "$BATS_TEST_TMPDIR/help"
		echo "      --brand-new=THING      An option nobody documented"
		echo "  -Z, --zap                  Another one"
	} >"$BATS_TEST_TMPDIR/help+2"
	render "$MANPAGE" >"$BATS_TEST_TMPDIR/man"
	# Exactly the two new ones are reported, whatever else is missing.
	run comm -13 <(undocumented "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/man") \
		<(undocumented "$BATS_TEST_TMPDIR/help+2" "$BATS_TEST_TMPDIR/man")
	assert_output "$(printf '%s\n' '--brand-new=THING' '-Z, --zap')"
}

@test "the page's version and exit codes match the program's" {
	local version
	version=$("$PARKWATCH" --version | head -n 1)
	grep -qF "\"$version\"" "$MANPAGE" || fail "the .TH line does not say \"$version\""
	for code in 0 1 2 3; do
		grep -qE "^\.B $code\$" "$MANPAGE" || fail "exit status $code is not documented"
	done
	for var in NO_COLOR PARKWATCH_TEST_GATE; do
		grep -qE "^\.B $var\$" "$MANPAGE" || fail "$var is not documented"
	done
}

@test "the README's exit code table lists the page's exit statuses" {
	local readme=$PW_REPO/README.md codes
	# | code | meaning | rows under "## Exit codes", up to the next heading
	codes=$(awk '/^## Exit codes/ { on = 1; next } on && /^#/ { exit }
		on && /^\| [0-9N]+ \|/ { print $2 }' "$readme" | sort | tr '\n' ' ')
	assert_equal "$codes" "0 1 2 3 N "
	# the page has the same rows: .B 0 ... .B 3 and .I N under EXIT STATUS
	for code in 0 1 2 3; do
		grep -qE "^\.B $code\$" "$MANPAGE" || fail "exit status $code is not in the page"
	done
	sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$MANPAGE" | grep -qE '^\.I N$' ||
		fail "the command's own status (N) is not in the page's EXIT STATUS"
	# and the same usage errors: an unreadable ignore file or baseline is exit 2 in both
	grep -q '^| 2 |.*unreadable ignore file or baseline' "$readme" ||
		fail "README's exit status 2 does not mention unreadable ignore files and baselines"
}
