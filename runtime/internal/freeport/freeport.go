// Package freeport finds free loopback ports for tests that start servers
// in other processes.
package freeport

import (
	"fmt"
	"net"
)

// Ports returns n distinct free ports on 127.0.0.1. The listeners stay
// open until all are found: one closed at once can be handed out again,
// and a server then refuses the same port for REST and gRPC.
func Ports(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
