//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNew_ModelThatIsAPipeSaysSo: --model naming a named pipe was "not a
// regular file"; it now says what the path is and what --model takes
// (and does not block reading it).
func TestNew_ModelThatIsAPipeSaysSo(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "pipe.onnx")
	require.NoError(t, syscall.Mkfifo(pipe, 0o644))
	t.Chdir(t.TempDir())
	runCLIErrors(t, []cliError{
		{[]string{"new", "demo", "--yes", "--model", pipe}, "--model " + pipe + ": a named pipe, not a file; give your .onnx model file, or a folder holding one"},
	}, func(cliError) string { return "pipe" })
}
