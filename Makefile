# parkwatch — build everything into $(OUT).
#   make            build parkwatch, fixtures and unit tests
#   make run        install deps, build, one system-wide sweep
#   make test       install deps, build, run unit tests and the bats suite,
#                   then make sanitize
#   make sanitize   ASan+UBSan build in build-san/: unit tests and a bats subset
#   make bench      futex overhead benchmark (tools/bench-futex.sh), then thread
#                   sweeps at scale next to eu-stack (tools/bench-scale-threads.sh)
#   make bench-go   goroutine benchmarks (tools/bench-goroutines.sh)
#   make fuzz       libFuzzer targets of the Go binary readers, FUZZ_RUNS
#                   executions each (tools/doc/fuzzing.md); make fuzz-short:
#                   FUZZ_SHORT_TIME seconds each (part of make test)
#   make bench-leakproof  --prove on a 1 GiB heap and 100k goroutines, next to
#                   the runtime's own leak profile (tools/bench-leakproof.sh)
#   make bench-suites  a Go test suite with and without parkwatch (tools/bench-suites.sh)
#   make install    install into $(PREFIX) (binary, man page, systemd unit)
#   make soak       parkwatch serve soak: RSS and fds over 10,000 sweeps
#   V=1             show full commands
#   VMLINUX_H=path  use a pinned vmlinux.h instead of the running kernel's BTF

OUT ?= build
PREFIX ?= /usr/local
# systemd reads units from /usr/local/lib/systemd/system as well as from
# /usr/lib/systemd/system, so the unit follows PREFIX (not enabled by install).
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
GO ?= /usr/local/go/bin/go
GO119 ?= /usr/lib/go-1.19/bin/go
# Go 1.27.3, the one newer release the tests use: fetched once by the go
# command from the module proxy into the module cache (`make go127`), where
# later builds find it (a second `make test` fetches nothing).
GO127_VERSION = go1.27.3
GOMODCACHE ?= $(shell $(GO) env GOMODCACHE 2>/dev/null)
GO127 ?= $(GOMODCACHE)/golang.org/toolchain@v0.0.1-$(GO127_VERSION).linux-amd64/bin/go

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -I$(OUT) -Ibpf -Iuser $(SANITIZE_FLAGS)
# libiberty (static only in Debian) demangles C++ and Rust names.
LIBS = -lbpf -lelf -ldw -lz -ljson-c -liberty -lmicrohttpd -pthread
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I$(OUT) -Ibpf -Wall -Wno-unused-function

# user/ is grouped by concern (see tools/doc/architecture.md): the top holds
# main, the session and the BPF lifecycle; threads/, go/, report/ and rules/
# one concern each. Includes are spelled from user/ ("go/elf.h").
USER_SRCS = $(wildcard user/*.c user/*/*.c)
USER_HDRS = $(wildcard user/*.h user/*/*.h)
USER_OBJS = $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
BPF_SRCS = $(wildcard bpf/*.bpf.c)
SKELS = $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

# C fixtures: built like real-world release code, -O2 without frame pointers.
FIXTURE_CFLAGS = -O2 -g -fomit-frame-pointer -pthread -Wall
FIXTURE_SRCS = $(wildcard tests/fixtures/*.c)
FIXTURES = $(patsubst tests/fixtures/%.c,$(OUT)/fixtures/%,$(FIXTURE_SRCS))
# Go fixtures: one directory each, built with the current Go, Debian's 1.19
# and 1.27.3. (a directory may link ../fixture.go, the helpers the leak
# fixtures share)
GO_FIXTURE_DIRS = $(patsubst %/main.go,%,$(wildcard tests/fixtures/go/*/main.go))
GO_FIXTURES = $(foreach d,$(GO_FIXTURE_DIRS),$(foreach v,go126 go119 go127,$(OUT)/fixtures/go/$(notdir $(d))-$(v)))
# The Go binary matrix (tests/gomatrix.bats): the mutexhold fixture built by
# each toolchain in each way real programs are shipped, see
# tools/go-matrix-build.sh. One file per build: make -j builds them in parallel.
GO_MATRIX_TOOLCHAINS = go119 go126 go127
GO_MATRIX_KINDS = default sw trimpath nobuildinfo pie cgo
GO_MATRIX = $(foreach t,$(GO_MATRIX_TOOLCHAINS),$(foreach k,$(GO_MATRIX_KINDS),$(OUT)/fixtures/go/matrix/mutexhold-$(t)-$(k)))
# Stripped builds for tests/gostacks.bats, whose thread stacks are named from
# .gopclntab alone: -s -w drops the symbols, DWARF and .debug_frame; -w alone
# (cgo) keeps the C functions' symbols but no CFI for Go code.
GO_STRIPPED_FIXTURES = $(OUT)/fixtures/go/threadstacks-go126-s $(OUT)/fixtures/go/threadstacks-go119-s \
	$(OUT)/fixtures/go/cgostacks-go126-s $(OUT)/fixtures/go/cgostacks-go126-w
GO_FIXTURES += $(GO_STRIPPED_FIXTURES)
# tests/proved_leaks.bats: the truth from Go itself (its goroutineleak
# profile, behind GOEXPERIMENT=goroutineleakprofile in 1.26), and stripped
# builds, whose heap layout comes from the version tables or, with them
# switched off (tests/proved_leaks_inferred.bats), is inferred.
GO_LEAKPROOF_FIXTURES = $(OUT)/fixtures/go/leakshapes-go126-leakprof \
	$(OUT)/fixtures/go/leakshapes-go126-s $(OUT)/fixtures/go/leakshapes-go119-s \
	$(OUT)/fixtures/go/leakshapes-go127-s
GO_FIXTURES += $(GO_LEAKPROOF_FIXTURES)
# C unit tests for pure parsers: tests/unit/test_X.c links the modules listed
# below for it (plus report/stack.c, the frame model).
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNITS = $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
# Benchmark helpers.
BENCH_SRCS = $(wildcard tools/bench/*.c)
BENCH_BINS = $(patsubst tools/bench/%.c,$(OUT)/bench/%,$(filter-out %.bpf.c,$(BENCH_SRCS)))

.PHONY: all deps run test unit bats bench bench-spin bench-go bench-leakproof bench-suites soak soak-valgrind install clean fixtures sanitize go127 fuzz fuzz-short
# Keep the BPF object and skeleton: they are inputs, not throwaway steps.
.SECONDARY:
all: $(OUT)/parkwatch fixtures $(UNITS)

# Real servers for the idle tests (tests/servers.bats): the JVM one compiled
# with the JDK; the Node and Python ones run from the source tree.
SERVER_FIXTURES = $(OUT)/fixtures/servers/HttpPool.class
fixtures: $(FIXTURES) $(GO_FIXTURES) $(GO_MATRIX) $(SERVER_FIXTURES)

$(OUT)/fixtures/servers/%.class: tests/fixtures/servers/%.java
	$(call msg,JAVAC,$@)
	$(Q)mkdir -p $(@D) && javac -d $(@D) $<
# Fetch go1.27.3 through the module proxy once (the go command verifies it
# against the checksum database); nothing when it is in the module cache.
go127: $(GO127)
$(GO127):
	$(call msg,FETCH,$(GO127_VERSION))
	$(Q)GOTOOLCHAIN=$(GO127_VERSION) $(GO) version >/dev/null
	$(Q)test -x $@ || { echo "$(GO127_VERSION) is not at $@ after the fetch" >&2; exit 1; }

# tests/suites.bats runs `go test` on tests/fixtures/gotest offline with both
# toolchains; their build caches live here, warmed once (Go 1.26 builds the
# testing package's dependencies from source: about a minute).
GOTEST_SRCS = $(wildcard tests/fixtures/gotest/go.mod tests/fixtures/gotest/*/*.go)
GOTEST_CACHES = $(OUT)/gocache/go126.stamp $(OUT)/gocache/go119.stamp
GOTEST_ENV = GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off GOTELEMETRY=off \
	GOPATH=$(CURDIR)/$(OUT)/gopath
fixtures: $(GOTEST_CACHES) $(OUT)/gocache/pprof.stamp

# Go 1.26 ships no prebuilt pprof: `go tool pprof` (tests/outputs.bats,
# hostile_names.bats) builds it on first use, ~30 s with a cold build cache
# (a fresh CI machine), inside a test's timeout. Built here instead, into the
# default build cache the tests use.
$(OUT)/gocache/pprof.stamp:
	$(call msg,GOTOOL,pprof)
	$(Q)mkdir -p $(@D) && GOTOOLCHAIN=local $(GO) tool pprof -h >/dev/null 2>&1 && touch $@

$(OUT)/gocache/go%.stamp: $(GOTEST_SRCS)
	$(call msg,GOCACHE,$@)
	$(Q)mkdir -p $(@D) && cd tests/fixtures/gotest && \
		$(GOTEST_ENV) GOCACHE=$(CURDIR)/$(OUT)/gocache/go$* \
		$(if $(filter 119,$*),$(GO119),$(GO)) test -count=1 -run '^$$' ./... >/dev/null && touch $(CURDIR)/$@

deps:
	$(Q)tools/install-deps.sh

$(OUT) $(OUT)/user $(OUT)/fixtures $(OUT)/fixtures/go $(OUT)/unit $(OUT)/bench:
	$(Q)mkdir -p $@

# vmlinux.h from the running kernel's BTF unless a pinned copy is given.
$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)tools/gen-vmlinux-h.sh $@ $(VMLINUX_H)

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/parkwatch.h $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && llvm-strip -g $@.tmp && mv $@.tmp $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/user/%.o: user/%.c $(USER_HDRS) bpf/parkwatch.h $(SKELS) | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CFLAGS) -c $< -o $@

$(OUT)/parkwatch: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# --- pprof output: user/report/profile.proto compiled by protoc-c (protobuf-c) ------
# build/profile.pb-c.{c,h} are generated; every object that includes the header
# depends on it (so a clean parallel build generates it first), and the
# generated code links into parkwatch with libprotobuf-c (zlib gzips it).
PROTOC_C ?= protoc-c
LIBS += -lprotobuf-c
$(OUT)/%.pb-c.c $(OUT)/%.pb-c.h: user/report/%.proto | $(OUT)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --c_out=$(OUT) --proto_path=user/report $<
$(OUT)/profile.pb-c.o: $(OUT)/profile.pb-c.c $(OUT)/profile.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
$(OUT)/user/report/pprof.o: $(OUT)/profile.pb-c.h
$(OUT)/parkwatch: $(OUT)/profile.pb-c.o
# --- end pprof -----------------------------------------------------------------

$(OUT)/fixtures/%: tests/fixtures/%.c $(wildcard tests/fixtures/*.h) | $(OUT)/fixtures
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $< -o $@

$(OUT)/fixtures/go/%-go126: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -o $(abspath $@) *.go

$(OUT)/fixtures/go/%-go119: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO119) build -o $(abspath $@) *.go

$(OUT)/fixtures/go/%-go127: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go $(GO127)
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO127) build -o $(abspath $@) *.go

$(OUT)/fixtures/go/matrix/%: tests/fixtures/go/mutexhold/main.go tests/fixtures/go/fixture.go \
		tests/fixtures/go/cgo/cgo.go.in tools/go-matrix-build.sh | $(GO127)
	$(call msg,GO,$@)
	$(Q)GO=$(GO) GO119=$(GO119) GO127=$(GO127) tools/go-matrix-build.sh $@

$(OUT)/fixtures/go/%-go126-s: tests/fixtures/go/%/main.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -ldflags='-s -w' -o $(CURDIR)/$@ *.go

$(OUT)/fixtures/go/%-go127-s: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go $(GO127)
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO127) build -ldflags='-s -w' -o $(abspath $@) *.go

$(OUT)/fixtures/go/%-go126-leakprof: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOEXPERIMENT=goroutineleakprofile $(GO) build -o $(CURDIR)/$@ *.go

$(OUT)/fixtures/go/%-go126-w: tests/fixtures/go/%/main.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -ldflags=-w -o $(CURDIR)/$@ *.go

$(OUT)/fixtures/go/%-go119-s: tests/fixtures/go/%/main.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO119) build -ldflags='-s -w' -o $(CURDIR)/$@ *.go

# Each unit test links the modules it tests (plus the frame model).
UNIT_MODULES_test_durations = user/report/durations.c
UNIT_MODULES_test_escape = user/report/escape.c
# The Go binary reader, from the file alone and (inference, remote reads) the
# live process: the unit test and the fuzz targets link all of it.
GO_READER_SRCS = user/go/image.c user/go/elf.c user/go/version.c user/go/reasons.c user/go/infer.c user/go/infer_chan.c user/go/remote.c user/go/pclntab.c user/go/allgs.c user/go/dwarf.c user/go/runtime.c user/go/heap_layout.c user/go/heap_infer.c
UNIT_MODULES_test_goelf = $(GO_READER_SRCS)
UNIT_MODULES_test_golayouts = user/go/runtime.c
UNIT_MODULES_test_goprobe = user/go/probe.c
UNIT_MODULES_test_remote = user/go/remote.c
UNIT_MODULES_test_idle = user/rules/idle.c
UNIT_MODULES_test_ignore = user/rules/ignore.c user/rules/baseline.c user/rules/json_split.c user/report/report.c user/report/escape.c
UNIT_MODULES_test_json = user/report/json_writer.c user/report/escape.c
UNIT_MODULES_test_report_folded = user/report/folded.c user/report/report.c user/report/escape.c
UNIT_MODULES_test_report_verdicts = user/report/report.c user/report/escape.c
UNIT_MODULES_test_procstat = user/threads/procstat.c
UNIT_MODULES_test_metrics = user/serve/labels.c user/serve/listen.c user/serve/metrics.c \
	user/threads/waitgraph.c
# AddressSanitizer: metrics.c keeps pointers into its own tables.
$(OUT)/unit/test_metrics: UNIT_LIBS = -fsanitize=address
UNIT_MODULES_test_spin = user/threads/spin.c user/threads/cpu_sample.c
UNIT_MODULES_test_syscalls = user/threads/syscalls.c
UNIT_MODULES_test_wait_time = user/threads/wait_time.c
UNIT_MODULES_test_waitgraph = user/threads/waitgraph.c
$(OUT)/unit/test_goelf: UNIT_LIBS = -lelf -ldw
$(OUT)/unit/test_remote: UNIT_LIBS = -lelf
$(OUT)/unit/test_ignore: UNIT_LIBS = -ljson-c
.SECONDEXPANSION:
$(OUT)/unit/test_%: tests/unit/test_%.c $$(UNIT_MODULES_test_$$*) user/report/stack.c $(USER_HDRS) | $(OUT)/unit
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c,$^) -o $@ $(UNIT_LIBS)

$(OUT)/bench/%: tools/bench/%.c | $(OUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 -pthread -Wall $< -o $@

# --- benchmark: floor BPF programs for tools/bench-futex.sh -------------------
# build/bench/floor loads tools/bench/floor.bpf.c through a skeleton, so it
# needs its own rules (these explicit ones win over the pattern rule above).
$(OUT)/bench/floor.bpf.o: tools/bench/floor.bpf.c $(OUT)/vmlinux.h | $(OUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && llvm-strip -g $@.tmp && mv $@.tmp $@

$(OUT)/bench/floor.skel.h: $(OUT)/bench/floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/bench/floor: tools/bench/floor.c $(OUT)/bench/floor.skel.h | $(OUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 -Wall -I$(OUT)/bench $< -lbpf -lelf -lz -o $@

# build/bench/spin_sample links the CPU sampler it measures.
$(OUT)/bench/spin_sample: tools/bench/spin_sample.c user/threads/cpu_sample.c user/threads/cpu_sample.h | $(OUT)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) -O2 -pthread -Wall -Ibpf -Iuser tools/bench/spin_sample.c user/threads/cpu_sample.c -o $@
# --- end benchmark -------------------------------------------------------------

unit: $(UNITS)
	$(Q)set -e; for t in $(UNITS); do $$t; done

bats: all
	$(Q)PARKWATCH_BUILD=$(CURDIR)/$(OUT) tools/run-bats.sh tests/

run: deps
	$(Q)$(MAKE) --no-print-directory $(OUT)/parkwatch
	$(OUT)/parkwatch --once

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory bats
	$(Q)$(MAKE) --no-print-directory fuzz-short
	$(Q)$(MAKE) --no-print-directory sanitize

# --- make sanitize: parkwatch and the unit tests under ASan + UBSan ------------
# A second build dir with the sanitizers (fixtures are shared with $(OUT):
# they are the targets, built like release code), then the unit tests and
# a subset of the bats suite that runs every fixture kind (C threads, Go,
# command mode, every output format, hostile input). Any UBSan report is
# fatal; ASan's leak check stays on.
SAN_OUT ?= build-san
SAN_FLAGS = -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# (command.bats is left out: under ASan's slower start, its Go-exit test
# sometimes catches a runtime thread inside runtime.clone at exit and flags
# it as running, ~1 run in 10; goroutines.bats covers command mode for Go.)
SAN_BATS = hostile_names output_errors input_limits pid_identity go_unreadable bad_input cli condvar \
	join_deadlock goroutines outputs json ignore
sanitize: all
	$(Q)$(MAKE) --no-print-directory OUT=$(SAN_OUT) SANITIZE_FLAGS="$(SAN_FLAGS)" \
		$(SAN_OUT)/parkwatch $(patsubst $(OUT)/%,$(SAN_OUT)/%,$(UNITS))
	$(Q)ln -sfn $(CURDIR)/$(OUT)/fixtures $(SAN_OUT)/fixtures
	$(Q)set -e; export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
		for t in $(patsubst $(OUT)/%,$(SAN_OUT)/%,$(UNITS)); do $$t; done
	$(Q)UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PARKWATCH_SANITIZED=1 \
		PARKWATCH_BUILD=$(CURDIR)/$(SAN_OUT) tools/run-bats.sh \
		$(foreach b,$(SAN_BATS),$(wildcard tests/$(b).bats))
# --- end sanitize ----------------------------------------------------------------

bench: deps $(OUT)/parkwatch $(BENCH_BINS) $(OUT)/fixtures/many_sites $(OUT)/fixtures/condvar_leak
	tools/bench-futex.sh $(OUT)
	tools/bench-scale-threads.sh $(OUT)

# What one CPU sample of a spinning thread costs (~10 s).
bench-spin: $(OUT)/bench/spin_sample
	$(OUT)/bench/spin_sample 16

# parkwatch serve: RSS and descriptors over 10,000 sweeps of churning
# processes (tools/bench-serve-soak.sh), and a short run under valgrind.
# tools/bench/gosoak: a long-lived Go process whose goroutines come and go,
# built by each toolchain of the fixture matrix.
GOSOAK_BINS = $(foreach v,go119 go126 go127,$(OUT)/bench/gosoak-$(v))
$(OUT)/bench/gosoak-go119: tools/bench/gosoak/main.go | $(OUT)/bench
	$(call msg,GO,$@)
	$(Q)cd tools/bench/gosoak && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO119) build -o $(abspath $@) main.go
$(OUT)/bench/gosoak-go126: tools/bench/gosoak/main.go | $(OUT)/bench
	$(call msg,GO,$@)
	$(Q)cd tools/bench/gosoak && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -o $(abspath $@) main.go
$(OUT)/bench/gosoak-go127: tools/bench/gosoak/main.go | $(OUT)/bench $(GO127)
	$(call msg,GO,$@)
	$(Q)cd tools/bench/gosoak && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO127) build -o $(abspath $@) main.go
soak: deps $(OUT)/parkwatch $(OUT)/fixtures/churn $(OUT)/fixtures/strand $(GO_FIXTURES) $(GOSOAK_BINS)
	tools/bench-serve-soak.sh $(OUT)
soak-valgrind: deps $(OUT)/parkwatch $(OUT)/fixtures/churn $(OUT)/fixtures/strand $(OUT)/bench/gosoak-go126
	tools/bench-serve-soak.sh --valgrind $(OUT)

# --- benchmark: goroutines (tools/bench-goroutines.sh) -------------------------
# Go bench programs: tools/bench/NAME/main.go -> $(OUT)/bench/NAME (current Go,
# standard library only).
GO_BENCH_BINS = $(OUT)/bench/gopingpong $(OUT)/bench/gohttp
$(GO_BENCH_BINS): $(OUT)/bench/%: tools/bench/%/main.go | $(OUT)/bench
	$(call msg,GO,$@)
	$(Q)cd tools/bench/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -o $(abspath $@) main.go

# tools/bench-leakproof.sh: --prove on a 1 GiB heap, next to the runtime's
# own goroutineleak profile (built with GOEXPERIMENT=goroutineleakprofile).
$(OUT)/bench/goleakheap: tools/bench/goleakheap/main.go | $(OUT)/bench
	$(call msg,GO,$@)
	$(Q)cd tools/bench/goleakheap && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOEXPERIMENT=goroutineleakprofile $(GO) build -o $(abspath $@) main.go

bench-leakproof: deps $(OUT)/parkwatch $(OUT)/bench/goleakheap
	tools/bench-leakproof.sh $(OUT)

bench-go: deps $(OUT)/parkwatch $(OUT)/fixtures/go/bigpark-go126 $(OUT)/fixtures/go/bigpark-go119 $(GO_BENCH_BINS)
	tools/bench-goroutines.sh $(OUT)
# --- end benchmark: goroutines ---------------------------------------------------

# --- fuzzing: tests/fuzz/fuzz_NAME.c, one libFuzzer target per reader -------
# Each links the Go binary reader (and for goroutines the memory readers)
# with ASan and UBSan; seeds come from the Go fixtures, a small C program
# whose DWARF looks like Go's (tests/fuzz/seed_dwarf.c) and a memory image
# the goroutines target writes itself. Inputs that once crashed are kept in
# tests/fuzz/regressions/NAME and run first every time.
FUZZ_TARGETS = pclntab elf allgs dwarf goroutines heap
FUZZ_CC ?= clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -I$(OUT) -Ibpf -Iuser
FUZZ_READER = $(GO_READER_SRCS)
FUZZ_MODULES_goroutines = user/go/goroutines.c user/go/stacks.c user/go/wait.c user/report/stack.c
FUZZ_MODULES_heap = user/go/heap.c
FUZZ_BINS = $(patsubst %,$(OUT)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_GO_BINARY = $(OUT)/fixtures/go/chansend-go126
FUZZ_SEED_BINS = $(OUT)/fixtures/go/threadstacks-go126-s $(OUT)/fixtures/go/threadstacks-go119-s
FUZZ_RUNS ?= 1000000
FUZZ_TIME ?= 0
FUZZ_SHORT_TIME ?= 8
FUZZ_SEEDS = $(OUT)/fuzz/seeds

$(OUT)/fuzz:
	$(Q)mkdir -p $@

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_READER) $$(FUZZ_MODULES_$$*) \
		tests/fuzz/fuzz_file.h $(USER_HDRS) | $(OUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) -lelf -ldw -o $@

# C names cannot hold a dot: runtime_g becomes runtime.g in the built file.
$(OUT)/fuzz/seed_dwarf: tests/fuzz/seed_dwarf.c | $(OUT)/fuzz
	$(call msg,SEED,$@)
	$(Q)$(CC) -g -gdwarf-4 -O0 $< -o $@.tmp && LC_ALL=C sed 's/runtime_/runtime./g' $@.tmp > $@ && rm $@.tmp

# Small seeds made from the real binaries: libFuzzer's cost per run grows
# with the input, and a Go binary is megabytes (tests/fuzz/seed_pclntab.c).
$(OUT)/fuzz/seed_pclntab: tests/fuzz/seed_pclntab.c $(FUZZ_READER) $(USER_HDRS) | $(OUT)/fuzz
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c,$^) -lelf -ldw -o $@

$(FUZZ_SEEDS)/.done: $(FUZZ_SEED_BINS) $(FUZZ_GO_BINARY) $(OUT)/fuzz/seed_dwarf \
		$(OUT)/fuzz/seed_pclntab $(OUT)/fuzz/fuzz_goroutines
	$(call msg,SEEDS,$(FUZZ_SEEDS))
	$(Q)rm -rf $(FUZZ_SEEDS) && mkdir -p $(addprefix $(FUZZ_SEEDS)/,$(FUZZ_TARGETS))
	$(Q)for f in $(FUZZ_SEED_BINS); do \
		$(OUT)/fuzz/seed_pclntab $$f $(FUZZ_SEEDS)/pclntab/$${f##*/} || exit 1; done
	$(Q)f=$(OUT)/fixtures/go/threadstacks-go119-s; s=$(FUZZ_SEEDS)/small-go119; \
		e=$$($(OUT)/fuzz/seed_pclntab $$f $$s.pclntab $$s.code) && \
		objcopy --update-section .gopclntab=$$s.pclntab --update-section .text=$$s.code \
			--change-section-address .text=$$e -R .rodata -R .typelink -R .itablink \
			-R .data -R .noptrdata $$f $(FUZZ_SEEDS)/elf/small-go119 2>/dev/null && \
		cp $(FUZZ_SEEDS)/elf/small-go119 $(FUZZ_SEEDS)/allgs/ && rm $$s.*
	$(Q)for t in elf allgs dwarf; do cp $(OUT)/fuzz/seed_dwarf $(FUZZ_SEEDS)/$$t/; done
	$(Q)PARKWATCH_FUZZ_GO_BINARY=$(FUZZ_GO_BINARY) \
		PARKWATCH_FUZZ_WRITE_SEED=$(FUZZ_SEEDS)/goroutines/two_parked $(OUT)/fuzz/fuzz_goroutines
	$(Q)touch $@

fuzz: $(FUZZ_BINS) $(FUZZ_SEEDS)/.done
	$(Q)PARKWATCH_FUZZ_GO_BINARY=$(FUZZ_GO_BINARY) tools/run-fuzz.sh $(OUT) "$(FUZZ_RUNS)" \
		"$(FUZZ_TIME)" $(FUZZ_TARGETS)

fuzz-short: $(FUZZ_BINS) $(FUZZ_SEEDS)/.done
	$(Q)PARKWATCH_FUZZ_GO_BINARY=$(FUZZ_GO_BINARY) tools/run-fuzz.sh $(OUT) 0 \
		"$(FUZZ_SHORT_TIME)" $(FUZZ_TARGETS)
# --- end fuzzing -----------------------------------------------------------------

# --- benchmark: test suites (tools/bench-suites.sh) ------------------------------
bench-suites: deps $(OUT)/parkwatch
	tools/bench-suites.sh $(OUT)

install: $(OUT)/parkwatch
	install -D -m 0755 $(OUT)/parkwatch $(DESTDIR)$(PREFIX)/sbin/parkwatch
	install -D -m 0644 tools/parkwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/parkwatch.8
	install -D -m 0644 tools/parkwatch-serve.8 $(DESTDIR)$(PREFIX)/share/man/man8/parkwatch-serve.8
	install -D -m 0644 tools/parkwatch.bash $(DESTDIR)$(PREFIX)/share/parkwatch/parkwatch.bash
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' tools/parkwatch.service > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/parkwatch.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/parkwatch.service

clean:
	rm -rf $(OUT) $(SAN_OUT)
