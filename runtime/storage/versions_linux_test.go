package storage

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opens counts this process's open files at p (Linux: /proc/self/fd).
func opens(p string) int {
	n := 0
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if to, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && to == p {
			n++
		}
	}
	return n
}

// A start reads the record, then locks the version it names. Should that
// version be replaced meanwhile, and its removal stop half-way (a file
// open elsewhere on Windows, a remover killed), the start must not serve
// what is left of it: the record, read again under the lock, names the
// version to serve.
func TestCache_VersionReplacedBetweenRecordAndLock(t *testing.T) {
	o := newOrigin(t)
	putVersion(t, o, 1)
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.tgz"
	ctx := context.Background()
	v1, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	exitProcess()
	entry := filepath.Dir(v1)

	// Another process removing v1, its lock taken: the start below reads
	// the record (naming v1), opens v1's lock and waits.
	remover, err := openLockFile(v1 + ".lock")
	require.NoError(t, err)
	require.NoError(t, lockFile(remover, true, false))
	got := make(chan string, 1)
	go func() {
		dir, err := d.resolver().Resolve(ctx, uri)
		assert.NoError(t, err)
		got <- dir
	}()
	// Its open of the lock, beside the remover's, says it has read the
	// record (polling for that state: no outcome depends on the time).
	for opens(v1+".lock") < 2 {
		time.Sleep(time.Millisecond)
	}

	// Meanwhile another start made a copy of the same content current as
	// v2, and the removal of v1 stopped half-way.
	v2 := filepath.Join(entry, "20990101T000000Z-2")
	require.NoError(t, os.CopyFS(v2, os.DirFS(v1)))
	m, err := readRecord(entry + ".json")
	require.NoError(t, err)
	m.Version = filepath.Base(v2)
	require.NoError(t, writeMeta(entry+".json", m))
	require.NoError(t, os.Remove(filepath.Join(v1, "model.onnx")))
	require.NoError(t, remover.Close())

	dir := <-got
	assert.Equal(t, v2, dir)
	assert.Equal(t, versionFiles(1), tree(t, dir))
	assert.EqualValues(t, 1, o.downloads.Load())
}

// Where the cache's file system has no hard links, a previous layout's
// folder is copied into its version: the copies keep their modes (an
// archive's executable file stays executable), as links would.
func TestLinkTree_CopyKeepsModes(t *testing.T) {
	src, err := os.MkdirTemp("/dev/shm", "linktree-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	dst := t.TempDir()
	var a, b syscall.Stat_t
	require.NoError(t, syscall.Stat(src, &a))
	require.NoError(t, syscall.Stat(dst, &b))
	if a.Dev == b.Dev {
		t.Skip("/dev/shm is on the same file system as the test's folder: files would be linked")
	}
	mkfileWith(t, filepath.Join(src, "bin", "run.sh"), "#!/bin/sh\n")
	require.NoError(t, os.Chmod(filepath.Join(src, "bin", "run.sh"), 0o755))
	mkfileWith(t, filepath.Join(src, "model.onnx"), "weights")
	require.NoError(t, os.Chmod(filepath.Join(src, "model.onnx"), 0o640))

	require.NoError(t, linkTree(src, dst))
	for name, want := range map[string]os.FileMode{"bin/run.sh": 0o755, "model.onnx": 0o640} {
		fi, err := os.Stat(filepath.Join(dst, name))
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode().Perm(), name)
	}
}
