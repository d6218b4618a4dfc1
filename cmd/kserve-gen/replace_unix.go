//go:build unix

package main

import "github.com/google/renameio/v2"

// replaceFile writes data to path through a temporary file renamed over
// it, so a failed write leaves the old file whole; a file already there
// keeps its permissions.
func replaceFile(path string, data []byte) error {
	return renameio.WriteFile(path, data, 0o644, renameio.WithExistingPermissions())
}
