#!/usr/bin/env bash
# go-matrix-build.sh OUTPUT: build one binary of the Go binary matrix
# (tests/gomatrix.bats), named FIXTURE-TOOLCHAIN-KIND:
#   FIXTURE    a directory of tests/fixtures/go (main.go + ../fixture.go)
#   TOOLCHAIN  go119 ($GO119), go126 ($GO), go127 ($GO127)
#   KIND       default | sw (-ldflags='-s -w') | trimpath | nobuildinfo
#              (-s -w, then objcopy --remove-section .go.buildinfo) |
#              pie (-buildmode=pie) | cgo (CGO_ENABLED=1 and a file that
#              imports "C", tests/fixtures/go/cgo/cgo.go.in)
# The sources are copied to a scratch directory first: the cgo file must sit
# next to main.go, and the fixture directory stays untouched.
set -euo pipefail

out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
base=$(basename "$out")
kind=${base##*-}
rest=${base%-*}
tc=${rest##*-}
fixture=${rest%-*}
src=$here/tests/fixtures/go/$fixture

case $tc in
go119) go=${GO119:-/usr/lib/go-1.19/bin/go} ;;
go126) go=${GO:-/usr/local/go/bin/go} ;;
go127) go=${GO127:?GO127 names the go1.27.3 toolchain} ;;
*) echo "go-matrix-build: unknown toolchain $tc in $base" >&2; exit 2 ;;
esac
[ -f "$src/main.go" ] || { echo "go-matrix-build: no fixture $fixture" >&2; exit 2; }

flags=()
cgo=0
case $kind in
default) ;;
sw | nobuildinfo) flags=(-ldflags='-s -w') ;;
trimpath) flags=(-trimpath) ;;
pie) flags=(-buildmode=pie) ;;
cgo) cgo=1 ;;
*) echo "go-matrix-build: unknown kind $kind in $base" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/go-matrix.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src/main.go" "$here/tests/fixtures/go/fixture.go" "$work/"
[ "$cgo" = 1 ] && cp "$here/tests/fixtures/go/cgo/cgo.go.in" "$work/cgo.go"
mkdir -p "$(dirname "$out")"
(cd "$work" && CGO_ENABLED=$cgo GOFLAGS=-mod=mod GOTOOLCHAIN=local \
	"$go" build "${flags[@]}" -o "$work/bin" ./*.go)
if [ "$kind" = nobuildinfo ]; then
	objcopy --remove-section .go.buildinfo "$work/bin" "$work/bin.nbi"
	mv "$work/bin.nbi" "$work/bin"
fi
mv "$work/bin" "$out"
