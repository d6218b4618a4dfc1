// Command httpecho is the floor the REST load test compares against: a bare
// net/http handler that echoes the request body, with nothing else.
//
// With -work it also burns a fixed amount of user CPU per request (a loop
// calibrated at start). scripts/bench-rest.sh runs such a floor beside the
// plain one to show what a known added cost measures as in its harness:
// the kernel's cost of waking the load generator grows with the server's
// time per request, so an added microsecond of work reads as more than one.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	work := flag.Duration("work", 0, "user CPU to burn per request, e.g. 3us (calibrated at start)")
	flag.Parse()
	iters := calibrate(*work)
	if iters > 0 {
		fmt.Fprintf(os.Stderr, "httpecho: %v of work per request = %d loop iterations\n", *work, iters)
	}
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if iters > 0 && burn(iters) == 0 {
			// Never true in practice; the result is used, so the call is
			// not one without effect (staticcheck SA4017).
			w.Header().Set("X-Burn", "0")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})))
}

// burn runs n steps of a linear congruential generator, a loop the
// compiler cannot remove (the result feeds the return value) and that
// touches no memory, so it costs the same in any cache state.
//
//go:noinline
func burn(n int) uint64 {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// calibrate returns the iterations of burn that take d, from the fastest
// of several timed runs (the least disturbed by other load).
func calibrate(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const n = 1 << 22
	best := time.Duration(1 << 62)
	for range 7 {
		t0 := time.Now()
		if burn(n) == 0 { // used, as in the handler
			fmt.Fprintln(os.Stderr, "httpecho: burn returned 0")
		}
		best = min(best, time.Since(t0))
	}
	return max(1, int(float64(n)*float64(d)/float64(best)))
}
