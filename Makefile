# parkwatch — build everything into $(OUT).
#   make            build parkwatch, fixtures and unit tests
#   make run        install deps, build, one system-wide sweep
#   make test       install deps, build, run unit tests and the bats suite
#   make bench      futex overhead benchmark (tools/bench-futex.sh)
#   make bench-go   goroutine benchmarks (tools/bench-goroutines.sh)
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

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -I$(OUT) -Ibpf -Iuser
LIBS = -lbpf -lelf -ldw -lz -ljson-c -lmicrohttpd -lpthread
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
# Go fixtures: one directory each, built with the current Go and Debian's 1.19.
# (a directory may link ../fixture.go, the helpers the leak fixtures share)
GO_FIXTURE_DIRS = $(patsubst %/main.go,%,$(wildcard tests/fixtures/go/*/main.go))
GO_FIXTURES = $(foreach d,$(GO_FIXTURE_DIRS),$(OUT)/fixtures/go/$(notdir $(d))-go126 $(OUT)/fixtures/go/$(notdir $(d))-go119)
# C unit tests for pure parsers: tests/unit/test_X.c links the modules listed
# below for it (plus report/stack.c, the frame model).
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNITS = $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
# Benchmark helpers.
BENCH_SRCS = $(wildcard tools/bench/*.c)
BENCH_BINS = $(patsubst tools/bench/%.c,$(OUT)/bench/%,$(filter-out %.bpf.c,$(BENCH_SRCS)))

.PHONY: all deps run test unit bats bench bench-go soak soak-valgrind install clean fixtures
# Keep the BPF object and skeleton: they are inputs, not throwaway steps.
.SECONDARY:
all: $(OUT)/parkwatch fixtures $(UNITS)

fixtures: $(FIXTURES) $(GO_FIXTURES)

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
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -o $(CURDIR)/$@ *.go

$(OUT)/fixtures/go/%-go119: tests/fixtures/go/%/main.go tests/fixtures/go/fixture.go | $(OUT)/fixtures/go
	$(call msg,GO,$@)
	$(Q)cd tests/fixtures/go/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO119) build -o $(CURDIR)/$@ *.go

# Each unit test links the modules it tests (plus the frame model).
UNIT_MODULES_test_durations = user/report/durations.c
UNIT_MODULES_test_goelf = user/go/image.c user/go/elf.c user/go/pclntab.c user/go/allgs.c user/go/dwarf.c user/go/runtime.c
UNIT_MODULES_test_goprobe = user/go/probe.c
UNIT_MODULES_test_idle = user/rules/idle.c
UNIT_MODULES_test_ignore = user/rules/ignore.c user/rules/baseline.c user/report/report.c
UNIT_MODULES_test_json = user/report/json_writer.c
UNIT_MODULES_test_metrics = user/serve/labels.c user/serve/listen.c user/serve/metrics.c \
	user/threads/waitgraph.c
# AddressSanitizer: metrics.c keeps pointers into its own tables.
$(OUT)/unit/test_metrics: UNIT_LIBS = -fsanitize=address
UNIT_MODULES_test_report_folded = user/report/folded.c user/report/report.c
UNIT_MODULES_test_syscalls = user/threads/syscalls.c
UNIT_MODULES_test_wait_time = user/threads/wait_time.c
UNIT_MODULES_test_waitgraph = user/threads/waitgraph.c
$(OUT)/unit/test_goelf: UNIT_LIBS = -lelf -ldw
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

bench: deps $(OUT)/parkwatch $(BENCH_BINS)
	tools/bench-futex.sh $(OUT)

# parkwatch serve: RSS and descriptors over 10,000 sweeps of churning
# processes (tools/bench-serve-soak.sh), and a short run under valgrind.
soak: deps $(OUT)/parkwatch $(OUT)/fixtures/churn $(OUT)/fixtures/strand
	tools/bench-serve-soak.sh $(OUT)
soak-valgrind: deps $(OUT)/parkwatch $(OUT)/fixtures/churn $(OUT)/fixtures/strand
	tools/bench-serve-soak.sh --valgrind $(OUT)

# --- benchmark: goroutines (tools/bench-goroutines.sh) -------------------------
# Go bench programs: tools/bench/NAME/main.go -> $(OUT)/bench/NAME (current Go,
# standard library only).
GO_BENCH_BINS = $(OUT)/bench/gopingpong $(OUT)/bench/gohttp
$(GO_BENCH_BINS): $(OUT)/bench/%: tools/bench/%/main.go | $(OUT)/bench
	$(call msg,GO,$@)
	$(Q)cd tools/bench/$* && GOFLAGS=-mod=mod GOTOOLCHAIN=local $(GO) build -o $(CURDIR)/$@ main.go

bench-go: deps $(OUT)/parkwatch $(OUT)/fixtures/go/bigpark-go126 $(OUT)/fixtures/go/bigpark-go119 $(GO_BENCH_BINS)
	tools/bench-goroutines.sh $(OUT)
# --- end benchmark: goroutines ---------------------------------------------------

install: $(OUT)/parkwatch
	install -D -m 0755 $(OUT)/parkwatch $(DESTDIR)$(PREFIX)/sbin/parkwatch
	install -D -m 0644 tools/parkwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/parkwatch.8
	install -D -m 0644 tools/parkwatch-serve.8 $(DESTDIR)$(PREFIX)/share/man/man8/parkwatch-serve.8
	install -D -m 0644 tools/parkwatch.bash $(DESTDIR)$(PREFIX)/share/parkwatch/parkwatch.bash
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' tools/parkwatch.service > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/parkwatch.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/parkwatch.service

clean:
	rm -rf $(OUT)
