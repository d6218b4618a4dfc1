package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// stdoutColumns is the width of the console window on standard output, as
// Python's os.get_terminal_size computes it on Windows (the visible
// window, not the scroll-back buffer), 0 when it is not a console.
func stdoutColumns() int {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(os.Stdout.Fd()), &info); err != nil {
		return 0
	}
	return int(info.Window.Right-info.Window.Left) + 1
}
