package pb_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the code from the proto into a
// temporary directory and fails when it differs from what is committed.
// It needs protoc (Debian: protobuf-compiler) and builds the pinned plugins
// from the Go module proxy; without protoc it is skipped, and CI runs
// scripts/gen-proto.sh --check directly.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerates code; skipped with -short")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed (apt-get install protobuf-compiler)")
	}
	script, err := filepath.Abs("../../scripts/gen-proto.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("runtime/pb is out of date with runtime/proto (run scripts/gen-proto.sh):\n%s", out)
	}
}
