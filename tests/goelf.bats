#!/usr/bin/env bats
# Go binary reader (user/go/elf.c, pclntab.c, allgs.c, dwarf.c,
# runtime.c, version.c) on binaries built here with Go 1.26, 1.27.3 and Debian's 1.19: the
# idle fixture with and without -ldflags='-s -w', stripped after linking,
# as PIE, externally linked; inlined frames against the Go runtime's own
# runtime.CallersFrames. No root needed: files only.
#
#   GOELF_TOOLCHAINS="go go..."  extra toolchains for the last test (default:
#                                 those GOTOOLCHAIN downloads left in the
#                                 module cache, if any)

load helpers

TEST_GOELF=$PARKWATCH_BUILD/unit/test_goelf
IDLE_DIR=$PW_REPO/tests/fixtures/go/idle

setup() {
	[ -x "$TEST_GOELF" ] || skip_or_fail "$TEST_GOELF not built (make)"
}

# go1.27.3 in the module cache, where `make go127` put it.
go127_path() {
	echo "$("${GO:-/usr/local/go/bin/go}" env GOMODCACHE)/golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64/bin/go"
}

toolchain() {
	case $1 in
	go126) echo "${GO:-/usr/local/go/bin/go}" ;;
	go119) echo "${GO119:-/usr/lib/go-1.19/bin/go}" ;;
	go127) echo "${GO127:-$(go127_path)}" ;;
	*) echo "$1" ;;
	esac
}

# go_build GO DIR OUT [BUILD FLAGS...]: build DIR/main.go (GO_PKG=. : the
# package in DIR) with toolchain GO (no user go env: GOFLAGS there may name
# flags old toolchains lack).
go_build() {
	local go dir=$2 out=$3
	go=$(toolchain "$1")
	shift 3
	[ -x "$go" ] || skip_or_fail "$go not installed"
	(cd "$dir" && GOENV=off GOFLAGS= GOTOOLCHAIN=local "$go" build "$@" -o "$out" "${GO_PKG:-main.go}")
}

# idle_pair GO: the idle fixture built plain ($T/plain) and -s -w ($T/sw).
idle_pair() {
	T=$BATS_TEST_TMPDIR
	go_build "$1" "$IDLE_DIR" "$T/plain"
	go_build "$1" "$IDLE_DIR" "$T/sw" -ldflags='-s -w'
}

stripped_matches_unstripped() {
	idle_pair "$1"
	run "$TEST_GOELF" "$T/sw" "$T/plain"
	echo "$output"
	assert_success
	assert_output --partial "(code: runtime.allgadd), reference"
	assert_output --partial "no DWARF: layout from table go1."
	assert_line --regexp '^test_goelf: [0-9]+ passed, 0 failed$'
}

strip_copy_same_addresses() {
	idle_pair "$1"
	strip -o "$T/stripcopy" "$T/plain"
	run "$TEST_GOELF" --exact "$T/stripcopy" "$T/plain"
	echo "$output"
	assert_success
	assert_output --partial "(code: runtime.allgadd), reference"
}

pie_build() {
	T=$BATS_TEST_TMPDIR
	go_build "$1" "$IDLE_DIR" "$T/pie" -buildmode=pie
	go_build "$1" "$IDLE_DIR" "$T/pie-sw" -buildmode=pie -ldflags='-s -w'
	run "$TEST_GOELF" "$T/pie"
	echo "$output"
	assert_success
	run "$TEST_GOELF" "$T/pie-sw" "$T/pie"
	echo "$output"
	assert_success
}

# A program that asks its own runtime for the inlined frames at a pc.
write_inline_program() {
	mkdir -p "$BATS_TEST_TMPDIR/inl"
	cat >"$BATS_TEST_TMPDIR/inl/main.go" <<-'EOF'
	package main

	import (
		"fmt"
		"runtime"
	)

	// here returns the pcs of its callers: the first is a pc in leaf's
	// code inlined into middle's inlined into outer; the runtime gives one
	// pc per logical frame.
	//go:noinline
	func here() []uintptr {
		pcs := make([]uintptr, 8)
		return pcs[:runtime.Callers(2, pcs)]
	}

	func leaf() []uintptr { return here()[:] }

	func middle() []uintptr { return leaf()[:] }

	//go:noinline
	func outer() []uintptr { return middle()[:] }

	func main() {
		pcs := outer()
		fmt.Printf("%#x\n", pcs[0])
		frames := runtime.CallersFrames(pcs)
		for {
			f, more := frames.Next()
			fmt.Printf("%s %s:%d\n", f.Function, f.File, f.Line)
			if !more || f.Function == "main.outer" {
				break
			}
		}
	}
	EOF
}

# inline_frames_like_runtime GO [BUILD FLAGS]: our frames for the return
# address (minus one, as tracebacks do) equal what the runtime printed.
inline_frames_like_runtime() {
	local go=$1 pc
	shift
	write_inline_program
	go_build "$go" "$BATS_TEST_TMPDIR/inl" "$BATS_TEST_TMPDIR/inl/prog" "$@"
	"$BATS_TEST_TMPDIR/inl/prog" >"$BATS_TEST_TMPDIR/want"
	pc=$(head -1 "$BATS_TEST_TMPDIR/want")
	tail -n +2 "$BATS_TEST_TMPDIR/want" >"$BATS_TEST_TMPDIR/want.frames"
	# Not vacuous: leaf and middle were inlined into outer.
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want.frames")" -eq 3 ]
	run "$TEST_GOELF" --frames "$BATS_TEST_TMPDIR/inl/prog" "$(printf '%#x' $((pc - 1)))"
	assert_success
	diff -u "$BATS_TEST_TMPDIR/want.frames" <(echo "$output")
}

@test "go1.26: -s -w build: same functions, lines and allgs place as unstripped" {
	stripped_matches_unstripped go126
}

@test "go1.19: -s -w build: same functions, lines and allgs place as unstripped" {
	stripped_matches_unstripped go119
}

@test "go1.27.3: -s -w build: same functions, lines and allgs place as unstripped" {
	stripped_matches_unstripped go127
}

# no_buildinfo GO [BUILD FLAGS]: -s -w and no .go.buildinfo; the version
# comes from runtime.buildVersion through runtime.schedinit's code, equal to
# what `go version` says of the unstripped build.
no_buildinfo() {
	local go=$1 want
	shift
	T=$BATS_TEST_TMPDIR
	go_build "$go" "$IDLE_DIR" "$T/plain" "$@"
	go_build "$go" "$IDLE_DIR" "$T/sw" -ldflags='-s -w' "$@"
	objcopy --remove-section .go.buildinfo "$T/sw" "$T/nbi"
	! readelf -SW "$T/nbi" | grep -q '\.go\.buildinfo'
	want=$("$(toolchain "$go")" version "$T/plain" | awk '{ print $2 }')
	run "$TEST_GOELF" "$T/nbi" "$T/plain"
	echo "$output"
	assert_success
	assert_output --partial "$T/nbi: $want (runtime.buildVersion (code: runtime.schedinit))"
	# unstripped: by symbol
	objcopy --remove-section .go.buildinfo "$T/plain" "$T/plain-nbi"
	run "$TEST_GOELF" "$T/plain-nbi"
	assert_success
	assert_output --partial "$T/plain-nbi: $want (runtime.buildVersion (symtab))"
}

@test "no build info: version from runtime.buildVersion, all three toolchains, also PIE" {
	for go in go119 go126 go127; do
		no_buildinfo $go
		no_buildinfo $go -buildmode=pie
	done
}

@test "go1.26: strip(1) copy: allgs from code at the symbol's address" {
	strip_copy_same_addresses go126
}

@test "go1.19: strip(1) copy: allgs from code at the symbol's address" {
	strip_copy_same_addresses go119
}

@test "go1.26: PIE builds, with and without -s -w" {
	pie_build go126
}

@test "go1.19: PIE builds, with and without -s -w" {
	pie_build go119
}

@test "go1.27.3: PIE builds, with and without -s -w" {
	pie_build go127
}

@test "go1.26: externally linked and stripped: runtime.text from moduledata" {
	command -v gcc >/dev/null || skip_or_fail "gcc not installed"
	T=$BATS_TEST_TMPDIR
	go_build go126 "$IDLE_DIR" "$T/ext" -ldflags='-linkmode=external'
	strip -o "$T/ext-stripcopy" "$T/ext"
	# C start-up code comes first in .text: the section start is wrong.
	text_sec=$(readelf -SW "$T/ext" | awk '$2 == ".text" { print $4 }')
	text_sym=$(nm "$T/ext" | awk '$3 == "runtime.text" { print $1 }')
	[ "$((16#$text_sec))" -ne "$((16#$text_sym))" ]
	run "$TEST_GOELF" --exact "$T/ext-stripcopy" "$T/ext"
	echo "$output"
	assert_success
	assert_output --partial "(moduledata)"
}

@test "go1.26: inlined frames equal runtime.CallersFrames, also with -s -w" {
	inline_frames_like_runtime go126
	inline_frames_like_runtime go126 -ldflags='-s -w'
}

@test "go1.27.3: inlined frames equal runtime.CallersFrames, also with -s -w" {
	inline_frames_like_runtime go127
	inline_frames_like_runtime go127 -ldflags='-s -w'
}

@test "go1.19: inlined frames equal runtime.CallersFrames, also with -s -w" {
	inline_frames_like_runtime go119
	inline_frames_like_runtime go119 -ldflags='-s -w'
}

@test "build info: main package and module path of a module build" {
	local go
	for go in go126 go119; do
		mkdir -p "$BATS_TEST_TMPDIR/$go/cmd/pwtool"
		printf 'module example.com/pwtest\n\ngo 1.19\n' >"$BATS_TEST_TMPDIR/$go/go.mod"
		cp "$IDLE_DIR/main.go" "$BATS_TEST_TMPDIR/$go/cmd/pwtool/"
		GO_PKG=. go_build "$go" "$BATS_TEST_TMPDIR/$go/cmd/pwtool" \
			"$BATS_TEST_TMPDIR/$go/pwtool" -ldflags='-s -w'
		run "$TEST_GOELF" "$BATS_TEST_TMPDIR/$go/pwtool"
		echo "$output"
		assert_success
		assert_output --partial "main example.com/pwtest/cmd/pwtool, module example.com/pwtest"
	done
}

@test "not Go, not ELF, missing: clear answers" {
	run "$TEST_GOELF" /bin/true
	assert_failure
	assert_output --partial "not a Go binary"
	# any file that is not ELF will do (its text is not read)
	run "$TEST_GOELF" "$PW_REPO/README.md"
	assert_failure
	assert_output --partial "not an ELF file"
}

# Every toolchain GOTOOLCHAIN downloads left in the module cache (go1.16+:
# the idle fixture needs os.ReadDir): go1.27.3, which `make go127` fetched,
# and any other a developer has there. Nothing is fetched here.
@test "more Go versions (module cache toolchains): all checks" {
	local cache tcs go n=0
	[ -x "$(go127_path)" ] || skip_or_fail "go1.27.3 not in the module cache (make go127)"
	cache=$("$(toolchain go126)" env GOMODCACHE 2>/dev/null)
	tcs=${GOELF_TOOLCHAINS:-$(ls -d "$cache"/golang.org/toolchain@v0.0.1-go1.*.linux-amd64/bin/go 2>/dev/null)}
	[ -n "$tcs" ] || fail "no Go toolchains in $cache"
	T=$BATS_TEST_TMPDIR
	for go in $tcs; do
		case $go in *go1.1[0-5]*) continue ;; esac
		echo "== $go"
		go_build "$go" "$IDLE_DIR" "$T/plain"
		go_build "$go" "$IDLE_DIR" "$T/sw" -ldflags='-s -w'
		strip -o "$T/stripcopy" "$T/plain"
		"$TEST_GOELF" "$T/sw" "$T/plain" >"$T/out" || { cat "$T/out"; return 1; }
		tail -1 "$T/out"
		"$TEST_GOELF" --exact "$T/stripcopy" "$T/plain" >"$T/out" || { cat "$T/out"; return 1; }
		tail -1 "$T/out"
		inline_frames_like_runtime "$go"
		n=$((n + 1))
	done
	echo "checked $n toolchains"
}
