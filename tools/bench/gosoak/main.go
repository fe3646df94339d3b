// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

// gosoak [N [SECS]]: a Go process whose goroutines never stop coming and
// going, for the serve soak (tools/bench-serve-soak.sh): about N (default
// 200) live goroutines at any time, each parked for 1-500 ms in one of the
// usual ways (chan receive, chan send, select, sync.Mutex.Lock,
// sync.WaitGroup.Wait, sync.Cond.Wait, sleep) and then gone, replaced by a
// new one; plus 8 that stay parked for the whole run (a channel nobody
// sends on), so a sweep with a short threshold always flags some. A sweep
// therefore reads a different set of goroutines, stacks and wait objects
// every time, from a process that lives long enough for 10,000 sweeps.
// Prints "READY <pid>" once the population is up; exits by itself after
// SECS seconds (default 3600).
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var live atomic.Int64

func park(kind int, d time.Duration) {
	defer live.Add(-1)
	switch kind {
	case 0: // chan receive, released by a timer
		ch := make(chan int)
		time.AfterFunc(d, func() { ch <- 1 })
		<-ch
	case 1: // chan send
		ch := make(chan int)
		time.AfterFunc(d, func() { <-ch })
		ch <- 1
	case 2: // select on two channels
		a, b := make(chan int), make(chan int)
		time.AfterFunc(d, func() { close(b) })
		select {
		case <-a:
		case <-b:
		}
	case 3: // sync.Mutex held by someone else for d
		var mu sync.Mutex
		mu.Lock()
		time.AfterFunc(d, mu.Unlock)
		mu.Lock()
		mu.Unlock()
	case 4: // sync.WaitGroup
		var wg sync.WaitGroup
		wg.Add(1)
		time.AfterFunc(d, wg.Done)
		wg.Wait()
	case 5: // sync.Cond
		var mu sync.Mutex
		c := sync.NewCond(&mu)
		done := false
		time.AfterFunc(d, func() { mu.Lock(); done = true; mu.Unlock(); c.Broadcast() })
		mu.Lock()
		for !done {
			c.Wait()
		}
		mu.Unlock()
	default:
		time.Sleep(d)
	}
}

func main() {
	n, secs := 200, 3600
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		secs, _ = strconv.Atoi(os.Args[2])
	}
	if n < 1 || secs < 1 {
		fmt.Fprintln(os.Stderr, "usage: gosoak [N [SECS]]")
		os.Exit(2)
	}
	forever := make(chan int)
	for i := 0; i < 8; i++ {
		go func() { <-forever }()
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	ready := false
	for time.Now().Before(deadline) {
		for live.Load() < int64(n) {
			live.Add(1)
			go park(rand.Intn(7), time.Duration(1+rand.Intn(500))*time.Millisecond)
		}
		if !ready {
			fmt.Println("READY", os.Getpid())
			ready = true
		}
		time.Sleep(5 * time.Millisecond)
	}
}
