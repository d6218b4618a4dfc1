package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// envNoFlock runs a test in a child process whose flock calls all fail
// with ENOLCK, as they do on an NFS mount whose lock manager is not
// reachable.
const envNoFlock = "KSERVE_GEN_TEST_NO_FLOCK"

// inProcessWithoutFlock runs the calling test again in a child process
// whose every flock(2) fails with ENOLCK (a seccomp filter, which the
// kernel applies: the code under test is unchanged) and reports whether
// this is that child. The parent fails when the child does.
func inProcessWithoutFlock(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envNoFlock) != "" {
		if err := denyFlock(); err != nil {
			t.Skipf("cannot install a seccomp filter here: %v", err)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "probe"))
		require.NoError(t, err)
		defer f.Close()
		require.ErrorIs(t, syscall.Flock(int(f.Fd()), syscall.LOCK_SH), syscall.ENOLCK)
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envNoFlock+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("the test without flock failed:\n%s", out)
		}
		t.Fatal(err)
	}
	if skipped := regexp.MustCompile(`(?m)^\s+\S+: (cannot install a seccomp filter here: .*)$`).FindSubmatch(out); skipped != nil {
		t.Skip(string(skipped[1]))
	}
	return false
}

// denyFlock makes flock(2) fail with ENOLCK in every thread of this
// process, now and later.
func denyFlock() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_FLOCK},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOLCK)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return errno
	}
	return nil
}

// On a cache folder whose file system has no flock (NFS without its lock
// manager: ENOLCK), a start downloads, serves and revalidates its model
// as anywhere else; that nothing can be locked is a warning, and nothing
// is trimmed, since no one can say what another process is using.
func TestCache_NoFlock(t *testing.T) {
	if !inProcessWithoutFlock(t) {
		return
	}
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("weights"), contentType: "application/octet-stream", etag: `"1"`})
	d := newDownloadEnv(t)
	long := time.Now().Add(-40 * day)
	old := plantEntry(t, d.cache, o.URL+"/old/model.onnx", "old", long, long)
	uri := o.URL + "/m/model.onnx"
	dir := filepath.Join(d.cache, entryKey(uri, "model.onnx"))
	noLocks := func(p string) string { return "flock " + p + ": no locks available" }
	notInUse := "WARN Cannot mark " + dir + " as in use; trimming the cache in another process may remove it: " + noLocks(dir+".lock")
	notTrimmed := "WARN Cannot remove " + old + " from the model cache: " + noLocks(old+".lock")

	model, err := d.start(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, dir, filepath.Dir(model))
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, model))
	logs := d.logs.take()
	require.Len(t, logs, 6, logs)
	assert.Equal(t, notInUse, logs[0])
	assert.Equal(t, "WARN Cannot lock the model cache to move the download of "+uri+" into place; moving it unlocked: "+noLocks(filepath.Join(d.cache, ".lock")), logs[2])
	assert.Equal(t, notTrimmed, logs[5])
	assert.Equal(t, `"1"`, recordOf(t, dir)["etag"])
	assert.DirExists(t, old)

	// A second start revalidates the copy and serves it.
	got, err := d.start(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, model, got)
	logs = d.logs.take()
	require.Len(t, logs, 3, logs)
	assert.Equal(t, notInUse, logs[0])
	assert.Regexp(t, `^INFO \S+ is not modified since its download on \S+; using `+regexpQuote(model)+`$`, logs[1])
	assert.Equal(t, notTrimmed, logs[2])
	assert.EqualValues(t, 1, o.downloads.Load())
}

// Without flock, no replaced version can be removed (no process can tell
// whether another still serves it), and they pile up as the model changes:
// a start says so in one WARNING, how many and how much, however many
// there are, not one line per version at every start.
func TestCache_NoFlockReplacedVersionsOneWarning(t *testing.T) {
	if !inProcessWithoutFlock(t) {
		return
	}
	o := newOrigin(t)
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.tgz"
	var versions []string
	for n := 1; n <= 4; n++ {
		putVersion(t, o, n)
		dir, err := d.start(context.Background(), uri)
		require.NoError(t, err)
		versions = append(versions, dir)
	}
	logs := d.logs.take()
	var replaced []string
	for _, l := range logs {
		if strings.Contains(l, "replaced") {
			replaced = append(replaced, l)
		}
	}
	// Starts 2, 3 and 4 each found 1, 2 and 3 replaced versions.
	require.Len(t, replaced, 3, logs)
	first := versions[0]
	assert.Equal(t, "WARN Cannot remove the replaced version "+first+" from the model cache: flock "+first+".lock: no locks available", replaced[0])
	size := treeSize(first)            // the versions are the same size
	byName := slices.Min(versions[:3]) // the first the folder lists
	assert.Equal(t, fmt.Sprintf("WARN Cannot remove 3 replaced versions of models from the model cache (%s in all; delete them by hand once no server uses them), the first %s: flock %s.lock: no locks available",
		bytesize.Format(3*size), byName, byName), replaced[2])
	for _, v := range versions {
		assert.DirExists(t, v)
	}
}
