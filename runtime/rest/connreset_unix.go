//go:build unix

package rest

import "syscall"

// errConnResetOS is a connection reset by the peer, the one error that says
// so on each OS: syscall.ECONNRESET on Unix (connreset_windows.go: Windows').
var errConnResetOS error = syscall.ECONNRESET
