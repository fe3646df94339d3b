#!/usr/bin/env bash
# Writes vmlinux.h for CO-RE BPF programs: from a pinned copy when one is given,
# else from the running kernel's BTF.
set -euo pipefail
out=$1
pinned=${2:-}
if [ -n "$pinned" ]; then
	cp "$pinned" "$out"
	exit 0
fi
btf=/sys/kernel/btf/vmlinux
if [ ! -r "$btf" ]; then
	echo "gen-vmlinux-h: $btf not found: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF)." >&2
	echo "gen-vmlinux-h: give a pinned header with: make VMLINUX_H=path/to/vmlinux.h" >&2
	exit 3
fi
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
