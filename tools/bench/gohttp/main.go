// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

// gohttp [ADDR]: a small net/http server for tools/bench-goroutines.sh.
// One handler, "hello\n" on every path, on ADDR (default 127.0.0.1:0, a free
// loopback port).  Prints "READY <pid> <host:port>" once it is listening
// (the listener exists before the line is printed, so a client may connect
// at once).  GOMAXPROCS is the runtime's default.  It exits by itself after
// 10 minutes so a benchmark that dies does not leave it behind.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "hello\n")
}

func main() {
	time.AfterFunc(10*time.Minute, func() { os.Exit(0) })
	addr := "127.0.0.1:0"
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: gohttp [ADDR]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gohttp:", err)
		os.Exit(1)
	}
	fmt.Println("READY", os.Getpid(), ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(hello)}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "gohttp:", err)
		os.Exit(1)
	}
}
