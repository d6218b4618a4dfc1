package scriptcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripts/setup-buildpacks.sh stopped by a failure leaves nothing behind
// of what it staged: a failed (or interrupted) docker import of the build
// image left its root file system with Go appended, some 580 MB, in the
// temporary folder, and a failed debootstrap its partial root in the
// cache. The script runs with stand-ins for docker (an engine that has
// the run image, lacks the build image and refuses the import), go (a
// small GOROOT) and debootstrap (which fails).
func TestSetupScript_FailureLeavesNothingStaged(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the script sets up a Linux machine")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	suite := "bookworm"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VERSION_CODENAME="); ok && v != "" {
				suite = strings.Trim(v, `"`)
			}
		}
	}

	t.Run("docker import", func(t *testing.T) {
		cache, tmp := setupScriptCache(t, suite, "run", "build"), t.TempDir()
		out, err := runSetupScript(t, cache, tmp)
		require.Error(t, err, "%s", out)
		require.Contains(t, out, "setup-buildpacks: docker import kserve-gen/cnb-build:"+suite+"-go1.99.0\nError response from daemon: no space left on device\n")
		assert.Empty(t, entries(t, tmp), "left in the temporary folder")
	})

	t.Run("debootstrap", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("as another user the script runs debootstrap through sudo, which does not take the test's stand-in")
		}
		cache, tmp := setupScriptCache(t, suite), t.TempDir()
		out, err := runSetupScript(t, cache, tmp, "KSERVE_GEN_TEST_RUN_IMAGE_MISSING=1")
		require.Error(t, err, "%s", out)
		if strings.Contains(out, "no Debian mirror found") {
			t.Skip("this machine names no Debian mirror, so the script stops before debootstrap")
		}
		require.Contains(t, out, "setup-buildpacks: debootstrap "+suite+" (run image; packages: ca-certificates)\ndebootstrap: no network here\n")
		assert.Equal(t, []string{"debootstrap-run.log"}, entries(t, filepath.Join(cache, "buildpacks")), "left in the cache")
		assert.Empty(t, entries(t, tmp), "left in the temporary folder")
	})
}

// setupScriptCache makes a KSERVE_GEN_CACHE holding the base file systems
// of kinds, so the script does not debootstrap them.
func setupScriptCache(t *testing.T, suite string, kinds ...string) string {
	t.Helper()
	cache := t.TempDir()
	root := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("base\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(cache, "buildpacks"), 0o755))
	for _, kind := range kinds {
		out, err := exec.Command("tar", "-C", root, "-cf", filepath.Join(cache, "buildpacks", "rootfs-"+suite+"-"+kind+".tar"), ".").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	return cache
}

// runSetupScript runs scripts/setup-buildpacks.sh with stand-ins for
// docker, dockerd, debootstrap and go first on PATH.
func runSetupScript(t *testing.T, cache, tmp string, env ...string) (string, error) {
	t.Helper()
	fake, goroot := t.TempDir(), filepath.Join(t.TempDir(), "go")
	require.NoError(t, os.MkdirAll(filepath.Join(goroot, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(goroot, "bin", "go"), []byte("a Go toolchain"), 0o755))
	for name, script := range map[string]string{
		"docker": `case "$1 $2" in
"info "*) exit 0 ;;
"image inspect") case "$3" in kserve-gen/cnb-run:*) [ -z "$KSERVE_GEN_TEST_RUN_IMAGE_MISSING" ] && exit 0 ;; esac; exit 1 ;;
"import "*) cat >/dev/null; echo "Error response from daemon: no space left on device" >&2; exit 1 ;;
esac
exit 1`,
		"go": `case "$*" in
"env GOVERSION") echo go1.99.0 ;;
"env GOROOT") echo "` + goroot + `" ;;
*) echo "go $*: not in this test" >&2; exit 1 ;;
esac`,
		"dockerd": "exit 1",
		// As debootstrap fails: part of the root written, then an error.
		"debootstrap": `dir=$(eval echo "\${$(($#-1))}") # SUITE DIR MIRROR come last
mkdir -p "$dir/usr/bin" && echo partial >"$dir/usr/bin/sh"
echo "debootstrap: no network here"
exit 1`,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(fake, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755))
	}
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "setup-buildpacks.sh"))
	cmd.Env = append([]string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"KSERVE_GEN_CACHE=" + cache, "TMPDIR=" + tmp}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}
