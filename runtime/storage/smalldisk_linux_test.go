package storage

import (
	"fmt"
	"syscall"
	"testing"
)

// smallDisk mounts a tmpfs of size bytes and inodes inodes for the test
// (root only: elsewhere the test is skipped; the declared-size test
// runs everywhere).
func smallDisk(t *testing.T, size, inodes int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,nr_inodes=%d", size, inodes)); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}
