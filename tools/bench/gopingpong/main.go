// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

// gopingpong [N [SECS]]: two goroutines hand a value back and forth over two
// unbuffered channels N times (default 1000000), or for SECS seconds if that
// comes first (default 1, so a heavily traced run stays short), and print the
// mean cost of one round trip, for tools/bench-goroutines.sh.
//
// GOMAXPROCS is 1 unless the GOMAXPROCS environment variable says otherwise:
// with one P every handoff is a plain goroutine switch inside one OS thread,
// so a round trip is exactly 2 gopark + 2 ready in the runtime (no futex, no
// idle P spinning, no thread wakeups) -- the highest rate of park/ready events
// a Go program produces, and the worst case for anything hooked on them.
// (With 2 Ps the receiver still runs mostly on the sender's P, via runnext,
// at about the same cost, but thread wakeups add noise.)
//
// It prints "READY <pid>" once both goroutines exist and have warmed up (the
// echo goroutine parked in chan receive), then waits for a line (or EOF) on
// stdin before starting, so a tracer can attach first.  Output:
// "ns_per_rt=X iters=N gomaxprocs=P" (N: round trips done).  Then it waits
// for another line (or EOF) before exiting, so that a tracer of this process
// sees it alive until the tracer is stopped; it exits by itself after 10
// minutes.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

//go:noinline
func echo(ping <-chan int, pong chan<- int) {
	for v := range ping {
		pong <- v + 1
	}
}

// rounds does up to n round trips, stopping early once deadline (if not
// zero) has passed; it returns how many it did.
//
//go:noinline
func rounds(ping chan<- int, pong <-chan int, n int, deadline time.Time) int {
	for i := 0; i < n; i++ {
		ping <- i
		if <-pong != i+1 {
			panic("gopingpong: wrong value")
		}
		if i&1023 == 1023 && !deadline.IsZero() && time.Now().After(deadline) {
			return i + 1
		}
	}
	return n
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gopingpong [N [SECS]]")
	os.Exit(2)
}

func main() {
	time.AfterFunc(10*time.Minute, func() { os.Exit(0) })
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	args := []int{1000000, 1}
	if len(os.Args) > 3 {
		usage()
	}
	for i, a := range os.Args[1:] {
		v, err := strconv.Atoi(a)
		if err != nil || v <= 0 {
			usage()
		}
		args[i] = v
	}
	n, secs := args[0], args[1]
	ping, pong := make(chan int), make(chan int)
	go echo(ping, pong)
	rounds(ping, pong, 1000, time.Time{}) // warm up: goroutine stack, channel paths
	fmt.Println("READY", os.Getpid())
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n')

	start := time.Now()
	done := rounds(ping, pong, n, start.Add(time.Duration(secs)*time.Second))
	el := time.Since(start)
	fmt.Printf("ns_per_rt=%.1f iters=%d gomaxprocs=%d\n",
		float64(el.Nanoseconds())/float64(done), done, runtime.GOMAXPROCS(0))
	in.ReadString('\n')
}
