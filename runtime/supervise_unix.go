//go:build unix && !linux

package runtime

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// On Unix systems other than Linux (macOS, where developers run their
// projects with `go run .`) there is no parent-death signal: a worker
// notices its supervisor is gone when the heartbeat pipe closes, and stops
// itself as SIGTERM would.

func workerProcAttr() *syscall.SysProcAttr { return nil }

// supervisorGone stops this worker gracefully, as Linux's Pdeathsig does.
func supervisorGone() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
}

// streamSocket is a TCP socket of family, closed on exec. Without
// SOCK_CLOEXEC the flag is set after creation, under ForkLock so that no
// exec in between inherits the socket.
func streamSocket(family int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}
