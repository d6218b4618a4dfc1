//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package storage

import (
	"errors"
	"os"
	"syscall"
)

// openLockFile opens (creating) the lock file p. Read access is enough for
// flock, so a lock file another user created stays usable.
func openLockFile(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o644)
}

// lockFile takes flock's shared or exclusive lock on f, which the kernel
// drops when the process dies however it dies; without wait, a lock held
// elsewhere is errLocked. flock locks belong to the open file, so two
// opens in one process exclude each other as two processes do.
func lockFile(f *os.File, exclusive, wait bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		}
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}
