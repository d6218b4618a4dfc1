package storage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const day = 24 * time.Hour

// plantedVersion names the version plantEntry plants.
const plantedVersion = "20250101T000000Z-1"

// plantEntry puts in cache the entry of uri as an earlier start left it:
// its record, naming its current version, and that version's folder,
// holding model.onnx (body), downloaded and (unless zero, as in older
// versions' records) last used at the times given, its files dated to the
// latest of the two. It returns the entry's folder; the model's is
// <entry>/plantedVersion.
func plantEntry(t *testing.T, cache, uri, body string, downloaded, lastUsed time.Time) string {
	t.Helper()
	dir := filepath.Join(cache, entryKey(uri, "model.onnx"))
	plant(t, dir, filepath.Join(dir, plantedVersion), plantedVersion, uri, body, downloaded, lastUsed)
	return dir
}

// plantLegacyEntry is plantEntry in the previous layout, where the entry's
// folder is the model's and the record names no version.
func plantLegacyEntry(t *testing.T, cache, uri, body string, downloaded, lastUsed time.Time) string {
	t.Helper()
	dir := filepath.Join(cache, cacheKey(uri, "model.onnx"))
	plant(t, dir, dir, "", uri, body, downloaded, lastUsed)
	return dir
}

func plant(t *testing.T, dir, model, version, uri, body string, downloaded, lastUsed time.Time) {
	t.Helper()
	mkfileWith(t, filepath.Join(model, "model.onnx"), body)
	rec := map[string]any{"uri": uri, "etag": `"1"`, "downloaded": downloaded.UTC()}
	if version != "" {
		rec["version"] = version
	}
	mtime := downloaded
	if !lastUsed.IsZero() {
		rec["last_used"] = lastUsed.UTC()
		mtime = lastUsed
	}
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+".json", b, 0o644))
	for _, p := range []string{filepath.Join(model, "model.onnx"), model, dir, dir + ".json"} {
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
}

// exitProcess releases the locks this process holds on the cache's
// entries, as a server's exit does: what a test resolves next finds the
// cache as a later process would.
func exitProcess() {
	inUse.Lock()
	defer inUse.Unlock()
	for p, h := range inUse.held {
		h.f.Close()
		delete(inUse.held, p)
	}
}

// recordOf reads an entry's record as stored (dir: the entry's folder).
func recordOf(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(dir + ".json")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// A start removes, once its own model is there, the entries of the cache
// that went unused for 30 days, each with a line naming its URI and size;
// an older version's record, without a last-used time, counts as used when
// downloaded. Fresh entries, and what is not an entry, stay.
func TestCache_UnusedModelsRemoved(t *testing.T) {
	o := newOrigin(t)
	o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
	d := newDownloadEnv(t)
	now := time.Now()
	// The older version's record named the token; the log line does not.
	oldURI, legacyURI := o.URL+"/old/model.onnx", o.URL+"/legacy/model.onnx?token=s3cr3t"
	old := plantEntry(t, d.cache, oldURI, "old weights", now.Add(-60*day), now.Add(-31*day))
	legacy := plantLegacyEntry(t, d.cache, legacyURI, "legacy weights!", now.Add(-45*day), time.Time{})
	fresh := plantEntry(t, d.cache, o.URL+"/fresh/model.onnx", "w", now.Add(-60*day), now.Add(-29*day))
	legacyFresh := plantLegacyEntry(t, d.cache, o.URL+"/legacy-fresh/model.onnx", "w", now.Add(-10*day), time.Time{})
	// Not named as entries are: someone else's, however old.
	notes := filepath.Join(d.cache, "notes")
	mkfileWith(t, filepath.Join(notes, "todo.txt"), "x")
	mkfileWith(t, notes+".json", "{}")
	for _, p := range []string{notes, notes + ".json"} {
		require.NoError(t, os.Chtimes(p, now.Add(-90*day), now.Add(-90*day)))
	}

	dir, err := d.start(context.Background(), o.URL+"/new/model.onnx")
	require.NoError(t, err)

	logs := d.logs.take()
	require.Len(t, logs, 5, logs)
	assert.ElementsMatch(t, []string{
		"INFO Removed " + oldURI + " (" + old + ") from the model cache: 11 B, unused since " + now.Add(-31*day).UTC().Format(time.DateOnly) +
			", more than 30 days ago (KSERVE_GEN_CACHE_MAX_AGE sets how long)",
		"INFO Removed " + o.URL + "/legacy/model.onnx?token=xxxxx (" + legacy + ") from the model cache: 15 B, unused since " + now.Add(-45*day).UTC().Format(time.DateOnly) +
			", more than 30 days ago (KSERVE_GEN_CACHE_MAX_AGE sets how long)",
	}, logs[3:])
	for _, gone := range []string{old, legacy} {
		assert.NoDirExists(t, gone)
		assert.NoFileExists(t, gone+".json")
		assert.NoFileExists(t, gone+".lock")
	}
	for _, kept := range []string{fresh, legacyFresh, filepath.Dir(dir)} {
		assert.DirExists(t, kept)
		assert.FileExists(t, kept+".json")
	}
	assert.DirExists(t, notes)
	assert.FileExists(t, notes+".json")
	// The download is recorded as a use.
	rec := recordOf(t, filepath.Dir(dir))
	assert.Equal(t, rec["downloaded"], rec["last_used"])
}

// The entry just resolved stays however long it went unused, and its
// record says it was used now; a use within the hour does not rewrite it.
func TestCache_ResolvedModelKeptAndMarkedUsed(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("weights"), contentType: "application/octet-stream", etag: `"1"`})
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.onnx"
	ctx := context.Background()
	start := time.Now()
	entry := plantEntry(t, d.cache, uri, "weights", start.Add(-60*day), start.Add(-40*day))

	dir, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(entry, plantedVersion), dir)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 1, logs)
	assert.Regexp(t, `^INFO \S+ is not modified since its download on \S+; using `+regexpQuote(dir)+`$`, logs[0])
	assert.EqualValues(t, 0, o.downloads.Load())
	rec := recordOf(t, entry)
	assert.Equal(t, start.Add(-60*day).UTC().Format(time.RFC3339Nano), rec["downloaded"])
	used, err := time.Parse(time.RFC3339Nano, rec["last_used"].(string))
	require.NoError(t, err)
	assert.False(t, used.Before(start.Truncate(time.Second)), "last used %s, before the start at %s", used, start)
	// This process holds it, and its version, while it lives: another's
	// trimming cannot take either.
	for _, p := range []string{entry, dir} {
		f, err := openLockFile(p + ".lock")
		require.NoError(t, err)
		defer f.Close()
		assert.ErrorIs(t, lockFile(f, true, false), errLocked, p)
	}

	// Used 10 minutes ago: the record is left as it is.
	plantEntry(t, d.cache, uri, "weights", start.Add(-60*day), start.Add(-10*time.Minute))
	before, err := os.ReadFile(entry + ".json")
	require.NoError(t, err)
	_, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	after, err := os.ReadFile(entry + ".json")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}

// An entry another process holds (a server serving it, a resolver
// downloading into it) stays, however old its record; once released it
// goes.
func TestCache_ModelInUseKept(t *testing.T) {
	o := newOrigin(t)
	o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
	d := newDownloadEnv(t)
	old := plantEntry(t, d.cache, o.URL+"/old/model.onnx", "old", time.Now().Add(-60*day), time.Now().Add(-40*day))
	// Another open of the lock file: to flock, as good as another process.
	other, err := lockInUse(old + ".lock")
	require.NoError(t, err)

	_, err = d.start(context.Background(), o.URL+"/new/model.onnx")
	require.NoError(t, err)
	assert.DirExists(t, old)
	assert.FileExists(t, old+".json")
	assert.Len(t, d.logs.take(), 3) // the download's lines only

	require.NoError(t, other.Close())
	_, err = d.start(context.Background(), o.URL+"/new/model.onnx")
	require.NoError(t, err)
	assert.NoDirExists(t, old)
	assert.NoFileExists(t, old+".lock")
}

// A removal that fails is a warning; the start goes on. (A record that is
// a folder with a file in it: a failure even for root, whom permissions do
// not stop.)
func TestCache_RemovalFailureWarns(t *testing.T) {
	o := newOrigin(t)
	o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
	d := newDownloadEnv(t)
	long := time.Now().Add(-40 * day)
	old := plantEntry(t, d.cache, o.URL+"/old/model.onnx", "old", long, long)
	require.NoError(t, os.Remove(old+".json"))
	mkfileWith(t, filepath.Join(old+".json", "x"), "x")
	require.NoError(t, os.Chtimes(old+".json", long, long))

	dir, err := d.start(context.Background(), o.URL+"/new/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=new"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 4, logs)
	assert.Regexp(t, `^WARN Cannot remove `+regexpQuote(old)+` from the model cache, unused since `+long.UTC().Format(time.DateOnly)+
		`: remove `+regexpQuote(old+".json")+`: directory not empty$`, logs[3])
	assert.DirExists(t, old)
}

// KSERVE_GEN_CACHE_MAX_AGE sets the age (a Go duration or days) or turns
// trimming off; a value it cannot read removes nothing and says so.
func TestCache_MaxAgeSetting(t *testing.T) {
	for _, tc := range []struct {
		value   string
		removed bool
		warning string
	}{
		{value: "", removed: false}, // 3 days < 30 days
		{value: "2d", removed: true},
		{value: "48h", removed: true},
		{value: "4d", removed: false},
		{value: "off", removed: false},
		{value: "soon", warning: `WARN Not removing unused models from the cache: KSERVE_GEN_CACHE_MAX_AGE="soon": want how long an unused model stays in the cache, e.g. 30d or 720h, or off`},
		{value: "-1d", warning: `WARN Not removing unused models from the cache: KSERVE_GEN_CACHE_MAX_AGE="-1d": want how long an unused model stays in the cache, e.g. 30d or 720h, or off`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			o := newOrigin(t)
			o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
			d := newDownloadEnv(t)
			d.env[envCacheMaxAge] = tc.value
			old := plantEntry(t, d.cache, o.URL+"/old/model.onnx", "old", time.Now().Add(-3*day), time.Now().Add(-3*day))
			_, err := d.start(context.Background(), o.URL+"/new/model.onnx")
			require.NoError(t, err)
			logs := d.logs.take()
			if tc.removed {
				assert.NoDirExists(t, old)
				require.Len(t, logs, 4, logs)
				assert.Contains(t, logs[3], "INFO Removed "+o.URL+"/old/model.onnx")
				return
			}
			assert.DirExists(t, old)
			if tc.warning != "" {
				require.Len(t, logs, 4, logs)
				assert.Equal(t, tc.warning, logs[3])
			} else {
				assert.Len(t, logs, 3, logs)
			}
		})
	}
}

// Each writer of a record has a temporary file of its own: with one name
// shared (<record>.tmp), two processes writing one record could rename
// each other's half-written file into place, and a name taken (here by a
// folder) stopped every download from being recorded.
func TestCache_RecordWritersDoNotShareATemporaryFile(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("weights"), contentType: "application/octet-stream", etag: `"1"`})
	d := newDownloadEnv(t)
	uri := o.URL + "/m/model.onnx"
	dir := filepath.Join(d.cache, entryKey(uri, "model.onnx"))
	mkfileWith(t, filepath.Join(dir+".json.tmp", "x"), "x")

	_, err := d.resolver().Resolve(context.Background(), uri)
	require.NoError(t, err)
	for _, l := range d.logs.take() {
		assert.NotContains(t, l, "WARN", l)
	}
	assert.Equal(t, `"1"`, recordOf(t, dir)["etag"])
}

// Two Resolve calls of one URI at once in one process (a program serving
// several models): when the first fails, the second, which serves the
// model, still holds it, so another process's trimming cannot remove it.
// The first's failure released the process's one lock on it.
func TestCache_ConcurrentResolveOfOneModelKeepsItHeld(t *testing.T) {
	first, second, firstDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1: // fails once the second call holds the entry too
			close(first)
			<-second
			http.Error(w, "busy", http.StatusInternalServerError)
		default: // served once the first call has failed
			close(second)
			<-firstDone
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("ETag", `"1"`)
			_, _ = w.Write([]byte("weights"))
		}
	}))
	defer srv.Close()
	d := newDownloadEnv(t)
	uri := srv.URL + "/m/model.onnx"
	ctx := context.Background()

	errc := make(chan error, 1)
	go func() {
		_, err := d.resolver().Resolve(ctx, uri)
		errc <- err
		close(firstDone)
	}()
	<-first
	dirc := make(chan string, 1)
	go func() {
		dir, err := d.resolver().Resolve(ctx, uri)
		assert.NoError(t, err)
		dirc <- dir
	}()
	require.ErrorContains(t, <-errc, "returned a 500 response code")
	dir := <-dirc
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))

	f, err := openLockFile(dir + ".lock")
	require.NoError(t, err)
	defer f.Close()
	assert.ErrorIs(t, lockFile(f, true, false), errLocked, "the model served is not held")
}

// MarkUsed, which a server calls as it stops, moves an entry's last-used
// time to now, so a model served for months is not taken for unused once
// its server stops; a folder outside the cache, and a file beside it that
// looks like a record, are left as they are.
func TestCache_MarkUsedAtStop(t *testing.T) {
	cache := t.TempDir()
	r := Resolver{CacheDir: cache}
	long := time.Now().Add(-60 * day)
	for _, dir := range []string{
		plantEntry(t, cache, "https://models.example.com/m/model.onnx", "m", long, long),
		plantLegacyEntry(t, cache, "https://models.example.com/m/model.onnx", "m", long, long),
	} {
		model := dir
		if _, err := os.Stat(filepath.Join(dir, plantedVersion)); err == nil {
			model = filepath.Join(dir, plantedVersion)
		}
		require.NoError(t, r.MarkUsed(model))
		used, err := time.Parse(time.RFC3339Nano, recordOf(t, dir)["last_used"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), used, time.Minute, model)
	}

	elsewhere := filepath.Join(t.TempDir(), "model-0123456789abcdef")
	require.NoError(t, os.MkdirAll(elsewhere, 0o755))
	decoy := `{"uri":"mine","downloaded":"2020-01-01T00:00:00Z"}`
	require.NoError(t, os.WriteFile(elsewhere+".json", []byte(decoy), 0o644))
	require.NoError(t, r.MarkUsed(elsewhere))
	b, err := os.ReadFile(elsewhere + ".json")
	require.NoError(t, err)
	assert.Equal(t, decoy, string(b), "a file outside the cache is not a record")
}

// Resolve removes nothing but what it resolves for: the start it serves
// does not wait for gigabytes to be deleted. Trim, which a server calls
// once ready, removes the unused entries and the replaced versions.
func TestCache_ResolveLeavesRemovalToTrim(t *testing.T) {
	o := newOrigin(t)
	o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
	d := newDownloadEnv(t)
	now := time.Now()
	old := plantEntry(t, d.cache, o.URL+"/old/model.onnx", "old weights", now.Add(-60*day), now.Add(-31*day))
	fresh := plantEntry(t, d.cache, o.URL+"/fresh/model.onnx", "w", now.Add(-2*day), now.Add(-2*day))
	// A version its record no longer names, which no process holds.
	replaced := filepath.Join(fresh, "20240101T000000Z-0")
	mkfileWith(t, filepath.Join(replaced, "model.onnx"), "replaced")
	ctx := context.Background()

	dir, err := d.resolver().Resolve(ctx, o.URL+"/new/model.onnx")
	require.NoError(t, err)
	logs := d.logs.take()
	require.Len(t, logs, 3, logs) // the download's lines only
	assert.DirExists(t, old)
	assert.FileExists(t, old+".json")
	assert.DirExists(t, replaced)

	require.NoError(t, d.resolver().Trim(ctx, dir))
	logs = d.logs.take()
	require.Len(t, logs, 1, logs)
	assert.Equal(t, "INFO Removed "+o.URL+"/old/model.onnx ("+old+") from the model cache: 11 B, unused since "+
		now.Add(-31*day).UTC().Format(time.DateOnly)+", more than 30 days ago (KSERVE_GEN_CACHE_MAX_AGE sets how long)", logs[0])
	assert.NoDirExists(t, old)
	assert.NoFileExists(t, old+".json")
	assert.NoFileExists(t, old+".lock")
	assert.NoDirExists(t, replaced)
	assert.Equal(t, []string{"model.onnx=new"}, tree(t, dir))
	assert.Equal(t, []string{plantedVersion + "/model.onnx=w"}, tree(t, fresh))

	// A folder outside the cache removes nothing.
	require.NoError(t, d.resolver().Trim(ctx, t.TempDir()))
	assert.Empty(t, d.logs.take())
}

// A Trim stopped half-way through a removal (the server shutting down)
// leaves the cache consistent: the model's record is gone and its folder
// out of its entry's place, so nothing serves what is left of it; the
// next start downloads that model again whole, and the next Trim removes
// the rest.
func TestCache_TrimStoppedLeavesCacheConsistent(t *testing.T) {
	o := newOrigin(t)
	o.put("/new/model.onnx", file{body: []byte("new"), contentType: "application/octet-stream", etag: `"n"`})
	o.put("/old/model.onnx", file{body: []byte("old weights"), contentType: "application/octet-stream", etag: `"1"`})
	d := newDownloadEnv(t)
	now := time.Now()
	oldURI := o.URL + "/old/model.onnx"
	old := plantEntry(t, d.cache, oldURI, "old weights", now.Add(-60*day), now.Add(-31*day))
	for _, f := range []string{"a.bin", "b.bin", "c.bin"} {
		mkfileWith(t, filepath.Join(old, plantedVersion, f), f)
	}
	require.NoError(t, os.Chtimes(old, now.Add(-31*day), now.Add(-31*day)))
	ctx := context.Background()
	dir, err := d.resolver().Resolve(ctx, o.URL+"/new/model.onnx")
	require.NoError(t, err)
	d.logs.take()

	// Stopped as the second file is about to go.
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	r := d.resolver()
	files := 0
	r.removing = func(p string) {
		if filepath.Ext(p) == ".bin" || filepath.Base(p) == "model.onnx" {
			if files++; files == 2 {
				stop()
			}
		}
	}
	require.ErrorIs(t, r.Trim(tctx, dir), context.Canceled)
	logs := d.logs.take()
	require.Len(t, logs, 1, logs)
	assert.Equal(t, "INFO Stopped removing "+oldURI+" ("+old+") from the model cache: context canceled; the next start removes the rest", logs[0])
	assert.NoFileExists(t, old+".json")
	assert.NoDirExists(t, old)
	assert.NoFileExists(t, old+".lock")
	left, err := filepath.Glob(old + ".removing-*")
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Len(t, tree(t, left[0]), 3, "one of the four files removed")

	// The old model is downloaded again, whole.
	again, err := d.resolver().Resolve(ctx, oldURI)
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=old weights"}, tree(t, again))
	d.logs.take()
	require.NoError(t, d.resolver().Trim(ctx, dir))
	assert.Empty(t, d.logs.take())
	assert.NoDirExists(t, left[0])
	assert.Equal(t, []string{"model.onnx=old weights"}, tree(t, again))
	assert.Equal(t, []string{"model.onnx=new"}, tree(t, dir))
}
