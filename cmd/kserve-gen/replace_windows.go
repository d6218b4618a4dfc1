package main

import "github.com/google/renameio/v2/maybe"

// replaceFile writes data to path. renameio has no Windows support (a
// rename over a file is not atomic there, and fails while another program
// has it open); its maybe package writes in place instead, as here: a
// failed write can leave the file cut short, and the file keeps its
// permissions (its ACL) as any in-place write does.
func replaceFile(path string, data []byte) error {
	return maybe.WriteFile(path, data, 0o644)
}
