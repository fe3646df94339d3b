#!/usr/bin/env bash
# Installs the Debian packages parkwatch needs to build and test, if missing.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config       # build (clang -target bpf, llvm-strip)
	bpftool libbpf-dev                   # skeletons, libbpf 1.1
	libelf-dev libdw-dev zlib1g-dev      # ELF, DWARF/CFI unwinding
	libjson-c-dev                        # reading --baseline reports
	libiberty-dev                        # C++ and Rust names demangled
	libc6-dbg                            # glibc internals by name and file:line
	libprotobuf-c-dev protobuf-c-compiler # --format pprof (profile.proto)
	bats bats-assert bats-support jq     # test suite
	python3-jsonschema                   # tools/validate-json.py: reports against the schema
	python3                              # hostile-input tests: damaged copies, ns_last_pid
	man-db groff-base bsdextrautils      # manual page tests (man, groff, col)
	golang-1.19-go                       # Go fixtures on Debian's older runtime
	bpftrace linux-perf util-linux       # benchmark comparison, perf bench, setpriv
	wrk time binutils                    # goroutine benchmark: HTTP load, peak RSS, objdump
	elfutils                             # thread scale benchmark: eu-stack for comparison
	redis-server curl                    # healthy-server tests: a real redis, HTTP requests
	openjdk-17-jdk-headless nodejs        # healthy-server tests: a JVM, Node (CPython above)
	libclang-rt-14-dev                   # make fuzz: libFuzzer and sanitizer runtimes for clang
	libmicrohttpd-dev                    # parkwatch serve: the HTTP server
	prometheus iproute2                  # serve tests: a real Prometheus + promtool, ss
	valgrind                             # serve soak: leak check (make soak)
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 3
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# The tests start their own Prometheus on a free loopback port; the package's
# service, started by the install on a systemd machine, is not needed: stop
# it when this script is what installed it (never one that was there before).
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
