// Package freeport finds free loopback ports for tests that start servers
// in other processes.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the lowest port handed out: well above the ports of services a
// machine runs.
const lowest = 15000

// given holds the ports handed out in this process, so that two parallel
// tests never get the same one. It is process-wide by nature: the ports it
// guards are.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// Ports returns n distinct free ports on 127.0.0.1, free when asked.
//
// They are taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), where neither a listener on port 0 nor an
// outgoing connection is given ports. A port from that range, free when
// asked and closed, could go to another parallel test's httptest server
// before the process that was meant to listen on it binds it, and the test
// would then talk to that server.
func Ports(n int) ([]int, error) {
	high := ephemeralLow()
	given.Lock()
	defer given.Unlock()
	if given.ports == nil {
		given.ports = map[int]bool{}
	}
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 10000 {
			return nil, errors.New("find a free port: none free below the ephemeral range")
		}
		port := lowest + rand.IntN(high-lowest)
		if given.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // in use
		}
		l.Close()
		given.ports[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range, Linux's
// default where it cannot be read (or leaves too little room below it).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowest+1000 {
				low = n
			}
		}
	}
	return low
}
