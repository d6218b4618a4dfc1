//go:build unix

package scriptcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNPM stands in for npm pack: it keeps what it downloads in its cache
// (--cache, else ~/.npm, as npm does) and writes a tarball that is not the
// pinned one; with NPM_STALL set it writes part of it and waits.
const fakeNPM = `#!/bin/sh
cache="$HOME/.npm"
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=$2; shift ;;
	--silent | pack) ;;
	*) pkg=$1 ;;
	esac
	shift
done
mkdir -p "$cache/_cacache" && echo "a copy of $pkg" >"$cache/_cacache/content"
tgz=$(echo "${pkg%@*}" | sed 's,^@,,; s,/,-,')-${pkg##*@}.tgz
echo "part of $pkg" >"$tgz"
[ -z "$NPM_STALL" ] || exec sleep 60
echo "not $pkg" >"$tgz"
echo "$tgz"
`

// runSetupONNX starts scripts/setup-onnx.sh, in a process group of its
// own, with the fake npm first on PATH and fresh HOME and KSERVE_GEN_CACHE.
func runSetupONNX(t *testing.T, env ...string) (cmd *exec.Cmd, out *strings.Builder, home, cache string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("runs the script with Linux's tools")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	fake, home, cache := t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fake, "npm"), []byte(fakeNPM), 0o755))
	cmd = exec.Command("bash", filepath.Join("..", "..", "scripts", "setup-onnx.sh"))
	cmd.Env = append([]string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home,
		"KSERVE_GEN_CACHE=" + cache, "TMPDIR=" + t.TempDir()}, env...)
	out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	return cmd, out, home, cache
}

// A download refused for its checksum leaves neither its scratch folder
// nor a copy in npm's own cache: npm pack kept every tarball, 112 MB for
// ONNX Runtime, in ~/.npm besides the one the script keeps.
func TestSetupONNX_RefusedDownloadLeavesNoCopies(t *testing.T) {
	cmd, out, home, cache := runSetupONNX(t)
	err := cmd.Wait()
	require.Error(t, err, "%s", out)
	assert.Regexp(t, `setup-onnx: error: onnxruntime-node@1\.29\.0: tarball sha256 is [0-9a-f]{64}, expected cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037 \(pinned in `, out.String())
	assert.Empty(t, entries(t, filepath.Join(cache, "npm")), "left in the script's tarball folder")
	assert.Empty(t, entries(t, home), "left in the home folder")
}

// Interrupted while npm downloads (SIGTERM to the script's process group,
// as Ctrl+C signals the terminal's), the script leaves nothing in its
// tarball folder: the download's scratch folder, with the part received,
// stayed there.
func TestSetupONNX_InterruptedDownloadLeavesNothing(t *testing.T) {
	cmd, out, _, cache := runSetupONNX(t, "NPM_STALL=1")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	part := func() bool {
		m, _ := filepath.Glob(filepath.Join(cache, "npm", ".pack.*", "onnxruntime-node-1.29.0.tgz"))
		return len(m) > 0
	}
	deadline := time.Now().Add(30 * time.Second)
	for !part() {
		select {
		case err := <-done:
			t.Fatalf("the script ended before the download began (%v): %s", err, out)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the download never began: %s", out)
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM))
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the script did not stop within 30 s of SIGTERM: %s", out)
	}
	assert.False(t, cmd.ProcessState.Success(), "%s", out)
	assert.Empty(t, entries(t, filepath.Join(cache, "npm")), "left in the script's tarball folder")
}
