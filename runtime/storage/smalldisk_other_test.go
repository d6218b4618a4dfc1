//go:build !linux

package storage

import "testing"

// smallDisk needs Linux's tmpfs; the declared-size test runs everywhere.
func smallDisk(t *testing.T, _, _ int) string {
	t.Helper()
	t.Skip("a small disk of a given size and inode count is a Linux tmpfs")
	return ""
}
