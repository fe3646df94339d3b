// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

// goleakheap HEAP_MIB GOROUTINES: the target of tools/bench-leakproof.sh. A
// heap of HEAP_MIB MiB of 64-byte nodes holding pointers (a tree reachable
// from a global, so a reachability pass must walk all of it), and
// GOROUTINES goroutines: half leaked (each sends on its own channel nobody
// else holds), half parked on one channel kept in a global. A heartbeat
// goroutine ticks every millisecond and keeps the largest gap between two
// ticks: a stopped world shows as a gap as long as the stop.
//
// Prints "READY <pid>", then answers commands on stdin, one a line:
//   gap      "GAP <us>": the largest heartbeat gap since the last "gap"
//   profile  "PROFILE <us> <leaked>": pprof.Lookup("goroutineleak") written
//            (debug=1) and timed, its count; "PROFILE none" without it
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"
)

type node struct {
	left, right *node
	payload     [6]uint64
}

var (
	root    []*node
	shared  = make(chan int)
	maxGap  atomic.Int64
	lastTic atomic.Int64
)

//go:noinline
func leak(ch chan int) { ch <- 1 }

//go:noinline
func park() { <-shared }

func heartbeat() {
	lastTic.Store(time.Now().UnixMicro())
	for {
		time.Sleep(time.Millisecond)
		now := time.Now().UnixMicro()
		if gap := now - lastTic.Swap(now); gap > maxGap.Load() {
			maxGap.Store(gap)
		}
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goleakheap HEAP_MIB GOROUTINES")
		os.Exit(2)
	}
	mib, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	nodes := mib << 20 / 64
	// Chunks of 4096 nodes, each chunk a binary tree: every node reachable.
	for done := 0; done < nodes; done += 4096 {
		chunk := make([]node, 4096)
		for i := 1; i < len(chunk); i++ {
			p := &chunk[(i-1)/2]
			if i%2 == 1 {
				p.left = &chunk[i]
			} else {
				p.right = &chunk[i]
			}
		}
		root = append(root, &chunk[0])
	}
	for i := 0; i < n/2; i++ {
		go leak(make(chan int))
	}
	for i := n / 2; i < n; i++ {
		go park()
	}
	for runtime.NumGoroutine() < n+1 {
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	go heartbeat()
	time.Sleep(10 * time.Millisecond)
	fmt.Println("READY", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "gap":
			fmt.Println("GAP", maxGap.Swap(0))
		case "profile":
			p := pprof.Lookup("goroutineleak")
			if p == nil {
				fmt.Println("PROFILE none")
				continue
			}
			t := time.Now()
			if err := p.WriteTo(io.Discard, 1); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println("PROFILE", time.Since(t).Microseconds(), p.Count())
		}
	}
}
