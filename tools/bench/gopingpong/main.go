// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

// gopingpong [SECONDS]: two goroutines pass a token over unbuffered channels
// (each round trip: 2 gopark + 2 ready in the runtime), printing "READY
// <pid>" and then, every 500 ms, "<ns per round trip>" of the last window,
// for SECONDS (default 10). For the cost of --go-precise: attach parkwatch
// -p PID --go-precise midway and compare the windows before and after.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	secs := 10
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: gopingpong [SECONDS]")
			os.Exit(2)
		}
		secs = v
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	fmt.Println("READY", os.Getpid())
	end := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(end) {
		start, n := time.Now(), 0
		for time.Since(start) < 500*time.Millisecond {
			for i := 0; i < 1000; i++ {
				ping <- i
				<-pong
			}
			n += 1000
		}
		fmt.Println(time.Since(start).Nanoseconds() / int64(n))
	}
}
