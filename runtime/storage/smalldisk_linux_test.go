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
	// A file the test left open keeps the mount busy; say so rather than
	// leave a mounted tmpfs behind in the temporary folder of every run.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount the test's tmpfs %s (a file in it still open?): %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}
