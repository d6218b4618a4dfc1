package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// putVersion has the origin serve version n of a model archive of two
// files, so a folder that mixes versions, or misses a file, shows.
func putVersion(t *testing.T, o *origin, n int) {
	t.Helper()
	o.put("/m/model.tgz", file{
		body: tarball(t, true,
			entry{name: "model.onnx", body: fmt.Sprintf("weights v%d", n)},
			entry{name: "labels.txt", body: fmt.Sprintf("labels v%d", n)}),
		contentType: "application/gzip", etag: fmt.Sprintf(`"v%d"`, n),
	})
}

// versionFiles is tree's listing of version n's folder.
func versionFiles(n int) []string {
	return []string{fmt.Sprintf("labels.txt=labels v%d", n), fmt.Sprintf("model.onnx=weights v%d", n)}
}

// A start that finds a new version of its model downloads it into a folder
// of its own: the folder another process serves (a server, whose --workers
// load the model again from it at each restart) keeps the version it
// serves, unchanged, for as long as that process holds it, and is removed
// by the first start after it let go.
func TestCache_NewVersionLeavesTheServedFolderAlone(t *testing.T) {
	o := newOrigin(t)
	putVersion(t, o, 1)
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.tgz"
	ctx := context.Background()

	v1, err := d.start(ctx, uri)
	require.NoError(t, err)
	exitProcess()
	// The server serving v1, as another process holds it.
	server, err := lockInUse(v1 + ".lock")
	require.NoError(t, err)

	putVersion(t, o, 2)
	v2, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.NotEqual(t, v1, v2)
	assert.Equal(t, versionFiles(2), tree(t, v2))
	assert.Equal(t, versionFiles(1), tree(t, v1), "the folder served, changed under its server")
	d.logs.take()

	// A restart while the server still runs keeps v1; once it stopped, the
	// next start removes it (KSERVE_GEN_CACHE_MAX_AGE=off too: a replaced
	// version is never served again).
	d.env[envCacheMaxAge] = "off"
	exitProcess()
	again, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, v2, again)
	assert.DirExists(t, v1)
	require.NoError(t, server.Close())
	exitProcess()
	again, err = d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, v2, again)
	assert.NoDirExists(t, v1)
	assert.NoFileExists(t, v1+".lock")
	assert.Equal(t, versionFiles(2), tree(t, v2))
	logs := d.logs.take()
	require.Len(t, logs, 2, logs)
	assert.Regexp(t, `^INFO \S+ is not modified since its download on \S+; using `+regexpQuote(v2)+`$`, logs[1])
	assert.EqualValues(t, 2, o.downloads.Load())
}

// While the model is downloaded again and again, a process that holds the
// folder it resolved (a --workers parent whose workers load it at each
// restart) always finds it complete and of its version, and a process
// resolving the model meanwhile (a second server starting) always gets a
// complete folder of one version. Replacing the folder in place, a reader
// could find it missing, half of it, or another version.
func TestCache_ReadersRacingReDownloadsSeeCompleteFolders(t *testing.T) {
	const rounds = 30
	o := newOrigin(t)
	putVersion(t, o, 1)
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.tgz"
	ctx := context.Background()
	held, err := d.start(ctx, uri)
	require.NoError(t, err)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the holder, loading its folder again and again
		for last := false; !last; {
			select {
			case <-done:
				last = true // one more look after the last download
			default:
			}
			if !assert.Equal(t, versionFiles(1), readFolder(held)) {
				return
			}
		}
	})
	wg.Go(func() { // starts resolving the model meanwhile
		for range rounds {
			dir, err := d.start(ctx, uri)
			if !assert.NoError(t, err) {
				return
			}
			files := readFolder(dir)
			var n int
			_, err = fmt.Sscanf(files[0], "labels.txt=labels v%d", &n)
			if !assert.NoError(t, err, files) || !assert.Equal(t, versionFiles(n), files, "one version, complete") {
				return
			}
		}
	})
	for n := 2; n <= rounds; n++ {
		putVersion(t, o, n)
		_, err := d.start(ctx, uri)
		require.NoError(t, err)
	}
	close(done)
	wg.Wait()
	assert.Equal(t, versionFiles(1), tree(t, held))

	// Once this process has let go of them all, the next start removes
	// every version but the current one.
	exitProcess()
	dir, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, versionFiles(rounds), tree(t, dir))
	assert.Equal(t, []string{filepath.Base(dir), filepath.Base(dir) + ".lock"}, cacheNames(t, filepath.Dir(dir)))
}

// readFolder is tree without a test to fail: what a model server loading
// dir would find, an error included.
func readFolder(dir string) []string {
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		return []string{err.Error()}
	}
	return out
}

// A cache entry of the previous layout (the entry's folder is the model) is
// revalidated as it was recorded: unchanged, it becomes the first version of
// the model's entry without a download (its files linked, not copied), and
// the old entry goes, unless a process of an older version still serves it,
// which keeps it as it is; changed, the new version is downloaded into the
// new entry, and the old one goes too.
func TestCache_PreviousLayoutMigrates(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("weights"), contentType: "application/octet-stream", etag: `"1"`})
	uri := o.URL + "/m/model.onnx"
	ctx := context.Background()
	now := time.Now()

	t.Run("free", func(t *testing.T) {
		d := newDownloadEnv(t)
		old := plantLegacyEntry(t, d.cache, uri, "weights", now.Add(-3*day), now.Add(-2*day))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.NotEqual(t, old, dir)
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
		assert.Zero(t, o.downloads.Load(), "revalidated, not downloaded")
		logs := d.logs.take()
		require.Len(t, logs, 1, logs)
		assert.Regexp(t, `^INFO \S+ is not modified since its download on `+now.Add(-3*day).UTC().Format(time.RFC3339)+`; using `+regexpQuote(dir)+`$`, logs[0])
		assert.NoDirExists(t, old)
		assert.NoFileExists(t, old+".json")
		assert.NoFileExists(t, old+".lock")
		// The next start finds it where it is now.
		exitProcess()
		again, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, dir, again)
		assert.Zero(t, o.downloads.Load())
	})
	t.Run("folders and links", func(t *testing.T) {
		d := newDownloadEnv(t)
		old := plantLegacyEntry(t, d.cache, uri, "weights", now.Add(-3*day), now.Add(-2*day))
		mkfileWith(t, filepath.Join(old, "sub", "deeper", "vocab.txt"), "words")
		require.NoError(t, os.Symlink("sub/deeper/vocab.txt", filepath.Join(old, "vocab.txt")))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.NotEqual(t, old, dir)
		assert.Equal(t, []string{"model.onnx=weights", "sub/deeper/vocab.txt=words", "vocab.txt->sub/deeper/vocab.txt"}, tree(t, dir))
		assert.NoDirExists(t, old)
		assert.Empty(t, d.logs.take()[1:], "no warning")
		assert.Zero(t, o.downloads.Load())
	})
	t.Run("served by an older version", func(t *testing.T) {
		d := newDownloadEnv(t)
		old := plantLegacyEntry(t, d.cache, uri, "weights", now.Add(-3*day), now.Add(-2*day))
		server, err := lockInUse(old + ".lock")
		require.NoError(t, err)
		defer server.Close()
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.NotEqual(t, old, dir)
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, old))
		assert.FileExists(t, old+".json")
		linked, err := os.Stat(filepath.Join(dir, "model.onnx"))
		require.NoError(t, err)
		orig, err := os.Stat(filepath.Join(old, "model.onnx"))
		require.NoError(t, err)
		assert.True(t, os.SameFile(orig, linked), "a link, not a second copy")
		assert.Zero(t, o.downloads.Load())
	})
	t.Run("changed", func(t *testing.T) {
		d := newDownloadEnv(t)
		old := plantLegacyEntry(t, d.cache, uri, "weights", now.Add(-3*day), now.Add(-2*day))
		require.NoError(t, writeMeta(old+".json", cacheMeta{URI: uri, ETag: `"0"`, Downloaded: now.Add(-3 * day)}))
		before := o.downloads.Load()
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.NotEqual(t, old, dir)
		assert.Equal(t, before+1, o.downloads.Load())
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
		assert.NoDirExists(t, old)
		assert.NoFileExists(t, old+".json")
	})
}
