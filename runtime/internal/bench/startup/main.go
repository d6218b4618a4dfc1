// Command startup measures a model server's start-to-ready time and idle
// memory: it runs the command given after --, polls URL until it answers
// 200 (every 500 µs), waits a second, reads the process's VmRSS, and stops it.
//
//	startup -url http://127.0.0.1:18099/v2/health/ready -- ./passthrough --http_port=18099
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "", "readiness URL to poll")
	runs := flag.Int("runs", 5, "number of starts")
	flag.Parse()
	if *url == "" || flag.NArg() == 0 {
		log.Fatal("usage: startup -url URL -- command args...")
	}
	client := &http.Client{Timeout: 100 * time.Millisecond}
	var best time.Duration
	for i := range *runs {
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		var ready time.Duration
		for {
			resp, err := client.Get(*url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ready = time.Since(start)
					break
				}
			}
			if time.Since(start) > 30*time.Second {
				log.Fatal("not ready after 30s")
			}
			time.Sleep(500 * time.Microsecond)
		}
		if i == 0 || ready < best {
			best = ready
		}
		fmt.Printf("run %d: start to ready %.1f ms\n", i+1, float64(ready.Microseconds())/1000)
		if i == *runs-1 {
			time.Sleep(time.Second)
			fmt.Printf("idle RSS: %s\n", rss(cmd.Process.Pid))
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	fmt.Printf("best start to ready: %.1f ms\n", float64(best.Microseconds())/1000)
}

func rss(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
