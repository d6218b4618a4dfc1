//go:build unix

package config

import (
	"os"

	"golang.org/x/sys/unix"
)

// stdoutColumns is the width of the terminal on standard output, 0 when it
// is not a terminal.
func stdoutColumns() int {
	ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
