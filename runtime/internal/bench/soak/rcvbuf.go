//go:build linux

package main

import (
	"errors"
	"syscall"
)

// smallReceiveBuffer makes the kernel hold little of an answer for a
// client that does not read it.
func smallReceiveBuffer(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	return errors.Join(err, serr)
}
