package rest

import "golang.org/x/sys/windows"

// errConnResetOS is a connection reset by the peer as Winsock reports it:
// syscall.ECONNRESET is a value Go invents on Windows, which no socket
// call returns.
var errConnResetOS error = windows.WSAECONNRESET
