package runtime

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// workerProcAttr has the kernel send a worker SIGTERM when its supervisor
// dies, however it dies.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// supervisorGone is called in a worker whose heartbeat pipe closed: the
// supervisor is gone, and Pdeathsig has already sent the SIGTERM that
// stops this worker gracefully.
func supervisorGone() {}

// streamSocket is a TCP socket of family, closed on exec.
func streamSocket(family int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
}
