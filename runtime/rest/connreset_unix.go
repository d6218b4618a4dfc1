//go:build unix

package rest

import "syscall"

// errConnResetOS is a connection reset by the peer: syscall.ECONNRESET on
// Unix (see connreset_windows.go for Windows').
var errConnResetOS error = syscall.ECONNRESET
