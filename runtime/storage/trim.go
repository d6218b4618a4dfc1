package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
)

// DefaultCacheMaxAge is how long a cached model may go unused before a
// start removes it: each one is gigabytes, and a developer who serves
// model-v1, -v2, -v3 ... would otherwise keep every one of them until the
// disk is full. Go's build cache keeps its entries 5 days; a model is far
// slower to fetch again than a compiled package, and cannot be fetched at
// all offline, hence a month.
const DefaultCacheMaxAge = 30 * 24 * time.Hour

// envCacheMaxAge changes DefaultCacheMaxAge ("off" keeps everything).
// KServe downloads afresh on every start and has no such setting to
// follow; an environment variable, like the storage settings beside it,
// serves the few who need another age without a flag on every server.
const envCacheMaxAge = "KSERVE_GEN_CACHE_MAX_AGE"

// usedInterval is how stale a record's last-used time may get before a use
// rewrites it: a server in a restart loop then rewrites its record once an
// hour, not at every start, and the time is still far finer than the
// month it is compared with (Go's build cache updates its mtimes hourly
// too).
const usedInterval = time.Hour

// errLocked is a lock that another open of the file (another process, or
// this one) holds.
var errLocked = errors.New("locked")

// cacheMaxAge reads KSERVE_GEN_CACHE_MAX_AGE: a Go duration ("720h"), a
// number of days ("30d"), or off (0: nothing is removed).
func (r Resolver) cacheMaxAge() (time.Duration, error) {
	v := strings.TrimSpace(r.getenv(envCacheMaxAge))
	if v == "" {
		return DefaultCacheMaxAge, nil
	}
	if v == "off" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%s=%q: want how long an unused model stays in the cache, e.g. 30d or 720h, or off", envCacheMaxAge, v)
}

// inUse holds this process's locks on the cache entries it resolved, open
// until it exits: a server keeps reading its model folder after the start
// (a --workers process that is restarted loads it again), so another
// process's trimming must not remove it however long the server runs.
var inUse struct {
	sync.Mutex
	held map[string]*heldEntry // by lock file
}

// heldEntry is this process's one lock on an entry (flock conflicts
// between two opens of one process too, so there is one per entry
// whatever the number of Resolve calls using it).
type heldEntry struct {
	f       *os.File
	pending int  // Resolve calls using it that have not ended
	kept    bool // a Resolve call returned it: held for good
}

// entryUses are the entries one Resolve call began to use; those it did
// not return are released when it ends, unless another call holds them.
type entryUses struct {
	dirs []string
	// retired are entries of the previous layout moved into this one, to
	// remove once this call has released them (retireLegacy).
	retired []string
	// warned: a lock could not be taken, which was said once; the others
	// of the call fail alike (a file system without locks).
	warned bool
}

// useEntry marks dir, a cache entry or a version of one, as in use by
// this process: a shared lock on dir+".lock", which trimming takes
// exclusively to remove it. It is taken before the record is read, so
// nothing removes what it names between that and serving it.
func (r Resolver) useEntry(dir string) {
	p := dir + ".lock"
	inUse.Lock()
	defer inUse.Unlock()
	h := inUse.held[p]
	if h == nil {
		f, err := lockInUse(p)
		if err != nil {
			if r.uses == nil || !r.uses.warned {
				r.logger().Warn(fmt.Sprintf("Cannot mark %s as in use; trimming the cache in another process may remove it: %v", dir, err))
			}
			if r.uses != nil {
				r.uses.warned = true
			}
			return
		}
		if inUse.held == nil {
			inUse.held = map[string]*heldEntry{}
		}
		h = &heldEntry{f: f}
		inUse.held[p] = h
	}
	if r.uses == nil {
		h.kept = true // no Resolve call to say when it ends
		return
	}
	h.pending++
	r.uses.dirs = append(r.uses.dirs, dir)
}

// dropEntry ends this Resolve call's use of dir, which it began, before
// the call ends: a version it found replaced, or replaced itself.
func (r Resolver) dropEntry(dir string) {
	if r.uses == nil {
		return
	}
	if i := slices.Index(r.uses.dirs, dir); i >= 0 {
		r.uses.dirs = slices.Delete(r.uses.dirs, i, i+1)
		doneWithEntry(dir, false)
	}
}

// lockInUse opens the lock file p and takes its shared lock.
func lockInUse(p string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	for {
		f, err := openLockFile(p)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f, false, true); err != nil {
			f.Close()
			return nil, err
		}
		// A trimmer that held the lock meanwhile removed the file with the
		// entry: a lock on that file guards nothing, so take a new one.
		same, err := isLockFile(f, p)
		if err != nil {
			f.Close()
			return nil, err
		}
		if same {
			return f, nil
		}
		f.Close()
	}
}

// doneWithEntry ends one Resolve call's use of dir, an entry it began to
// use: kept when the call returns it. The process's lock is dropped once
// no call that is still running, nor any that returned it, uses the
// entry, and with it the lock file when nothing else is there: a failed
// download leaves nothing in the cache.
func doneWithEntry(dir string, kept bool) {
	p := dir + ".lock"
	inUse.Lock()
	h := inUse.held[p]
	if h == nil {
		inUse.Unlock()
		return
	}
	h.pending--
	h.kept = h.kept || kept
	if h.pending > 0 || h.kept {
		inUse.Unlock()
		return
	}
	delete(inUse.held, p)
	inUse.Unlock()
	h.f.Close()
	if exists(dir) || exists(dir+".json") {
		return
	}
	g, err := openLockFile(p)
	if err != nil {
		return
	}
	defer g.Close()
	if lockFile(g, true, false) == nil {
		if same, _ := isLockFile(g, p); same {
			_ = os.Remove(p)
		}
	}
}

// isLockFile reports whether f is still the file at p.
func isLockFile(f *os.File, p string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// lockCache takes the cache's write lock, which every change of an entry's
// folder or record holds: without it two processes that download one URI
// at once (two servers started together, pods sharing a hostPath cache) could leave
// one's folder beside the other's record, and a last-used update could
// write back the record a download had just replaced. Each holds it for a
// rename and a small write, never for a download.
func lockCache(cache string) (unlock func(), err error) {
	f, err := openLockFile(filepath.Join(cache, ".lock"))
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, true, true); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// readRecord reads an entry's record whatever its URI.
func readRecord(p string) (cacheMeta, error) {
	var m cacheMeta
	b, err := os.ReadFile(p)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// lastUsed is when the entry dir was last used as its record m says, or,
// for a record of an older version that kept no such time, the latest of
// its download time and the record's and folder's modification times.
func lastUsed(dir string, m cacheMeta) time.Time {
	if !m.LastUsed.IsZero() {
		return m.LastUsed
	}
	t := m.Downloaded
	for _, p := range []string{dir + ".json", dir} {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// MarkUsed records that dir, a model folder Resolve returned from the
// download cache (a version of an entry), has been in use until now. Use
// is otherwise recorded when a start resolves the model, so a server that serves one model for longer
// than the cache's maximum age would leave it looking unused the moment it
// stops, and the next start of another model would remove it; a server
// calls this as it stops. A folder that is not an entry of the cache (a
// local path, pvc://, --model_dir) is left alone, a file beside it named
// like a record included.
func (r Resolver) MarkUsed(dir string) error {
	e, ok := r.cacheEntry(dir)
	if !ok {
		return nil
	}
	return markUsed(e, time.Now())
}

// cacheEntry is the entry of the model cache that dir, a folder Resolve
// returned, is in; false for a folder outside the cache.
func (r Resolver) cacheEntry(dir string) (string, bool) {
	cache, err := r.cacheDir()
	if err != nil {
		return "", false
	}
	return entryOf(cache, dir)
}

// markUsed records in dir's record that it was used at now, unless the
// record says so already within usedInterval.
func markUsed(dir string, now time.Time) error {
	m, err := readRecord(dir + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing recorded, nothing served from it again
	}
	if err != nil || now.Sub(lastUsed(dir, m)) < usedInterval {
		return err
	}
	unlock, err := lockCache(filepath.Dir(dir))
	if err != nil {
		return err
	}
	defer unlock()
	// Read again under the lock: a download may have replaced it since.
	if m, err = readRecord(dir + ".json"); err != nil {
		return err
	}
	m.LastUsed = now.UTC()
	return writeMeta(dir+".json", m)
}

// entryName matches the names cacheKey gives entries; nothing else in the
// cache folder (CacheDir may be any folder) is ever trimmed.
var entryName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9._-]*-[0-9a-f]{16}$`)
})

// Trim removes, from the cache that dir (a folder Resolve returned) was
// resolved into, the models unused for longer than the maximum age
// (DefaultCacheMaxAge, KSERVE_GEN_CACHE_MAX_AGE), except dir's own and
// those a process holds (a server serving one, a resolver downloading or
// revalidating one), and, whatever the age, the replaced versions of every
// model that no process holds; each removal is logged as Resolve logs. A
// dir outside the cache (a local path, pvc://) removes nothing.
//
// Resolve leaves this to its caller because deleting gigabytes on a slow
// disk would delay the start: a server calls it once it is ready, in the
// background. It stops, between two files, when ctx ends, and returns
// ctx's error then; the cache stays consistent: a model's record goes
// before its folder, which is renamed out of the way before its files are
// removed, so a model partly removed is never served, and the next Trim
// removes the rest. Nothing else is an error: what cannot be removed is a
// warning in the log.
func (r Resolver) Trim(ctx context.Context, dir string) error {
	e, ok := r.cacheEntry(dir)
	if !ok {
		return nil
	}
	return r.trimCache(ctx, e)
}

// removingInfix marks a folder that trimEntry took out of the cache to
// remove: <entry>.removing-<n>. It names no entry (entryName ends in hex
// digits after the infix's 13 at most), so nothing serves it.
const removingInfix = ".removing-"

// trimCache removes the entries of keep's cache folder unused for longer
// than the maximum age, except keep, and the replaced versions that no
// process holds (see Trim).
func (r Resolver) trimCache(ctx context.Context, keep string) error {
	log := r.logger()
	now := time.Now()
	var stuck stuckVersions
	defer stuck.report(r)
	if err := r.pruneVersions(ctx, keep, &stuck); err != nil {
		return err
	}
	maxAge, err := r.cacheMaxAge()
	if err != nil {
		log.Warn(fmt.Sprintf("Not removing unused models from the cache: %v", err))
		maxAge = 0
	}
	cache := filepath.Dir(keep)
	names, err := os.ReadDir(cache)
	if err != nil {
		log.Warn(fmt.Sprintf("Cannot look for unused models in the cache: %v", err))
		return nil
	}
	seen := map[string]bool{filepath.Base(keep): true}
	for _, e := range names {
		name := e.Name()
		if err := ctx.Err(); err != nil {
			return err
		}
		if base, _, ok := strings.Cut(name, removingInfix); ok && entryName().MatchString(base) {
			// What a Trim stopped at shutdown left: its record is gone,
			// and nothing else names it.
			if err := r.removeTree(ctx, filepath.Join(cache, name)); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		for _, ext := range []string{".json", ".lock"} {
			name = strings.TrimSuffix(name, ext)
		}
		if seen[name] || !entryName().MatchString(name) {
			continue
		}
		seen[name] = true
		removed, err := false, error(nil)
		if maxAge != 0 {
			removed, err = r.trimEntry(ctx, filepath.Join(cache, name), maxAge, now)
		}
		if err == nil && !removed {
			err = r.pruneVersions(ctx, filepath.Join(cache, name), &stuck)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// trimEntry removes the entry dir (its folder of versions, record and lock
// file) when it has not been used for maxAge and no process holds it, and
// reports whether it did; the error is ctx's, when it ended during the
// removal.
func (r Resolver) trimEntry(ctx context.Context, dir string, maxAge time.Duration, now time.Time) (bool, error) {
	if !r.unused(dir, maxAge, now) {
		return false, nil
	}
	f, err := openLockFile(dir + ".lock")
	if err != nil {
		r.logger().Warn(fmt.Sprintf("Cannot remove %s from the model cache: %v", dir, err))
		return false, nil
	}
	defer f.Close()
	if err := lockFile(f, true, false); err != nil {
		if !errors.Is(err, errLocked) {
			r.logger().Warn(fmt.Sprintf("Cannot remove %s from the model cache: %v", dir, err))
		}
		return false, nil
	}
	// Look again under the lock: a process may have used the entry between
	// the first look and the lock, or removed it.
	if same, err := isLockFile(f, dir+".lock"); err != nil || !same || !r.unused(dir, maxAge, now) {
		return false, nil
	}
	m, recErr := readRecord(dir + ".json")
	what := dir // the record, unreadable, does not say what it held
	if recErr == nil && m.URI != "" {
		// Shown as in every log line: an older version's record may name
		// a token (see legacyCacheSource).
		// A bucket's or the Hub's record follows the URI with what else
		// selects the copy (" endpoint=... allow=[...]"), which escaped
		// as part of a URL read s3://b/m%20endpoint=http:...%5B%22.
		uri, qualifiers, found := strings.Cut(m.URI, " ")
		what = shownURL(uri)
		if found {
			what += " " + qualifiers
		}
		what += " (" + dir + ")"
	}
	since := lastUsed(dir, m).UTC().Format(time.DateOnly)
	_, recStat := os.Lstat(dir + ".json")
	_, dirStat := os.Lstat(dir)
	size := treeSize(dir)
	// The record goes first: a folder half removed is then never served as
	// a model, whatever stops the removal. The folder is then renamed out
	// of the entry's place, so that a removal stopped half-way (at
	// shutdown, or killed) leaves no part of it there, where it would
	// look like a fresh entry for another month (its folder's time is that
	// of the last file removed); the next Trim removes the rest.
	err = os.Remove(dir + ".json")
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		gone := dir
		if dirStat == nil {
			gone = dir + removingInfix + strconv.FormatInt(now.UnixNano(), 36)
			if os.Rename(dir, gone) != nil {
				gone = dir // removed in place, as before (a file open on Windows)
			}
		}
		err = r.removeTree(ctx, gone)
	}
	if err != nil && ctx.Err() != nil {
		_ = os.Remove(dir + ".lock")
		r.logger().Info(fmt.Sprintf("Stopped removing %s from the model cache: %v; the next start removes the rest", what, ctx.Err()))
		return false, ctx.Err()
	}
	if err != nil {
		r.logger().Warn(fmt.Sprintf("Cannot remove %s from the model cache, unused since %s: %v", what, since, err))
		return false, nil
	}
	_ = os.Remove(dir + ".lock") // under our lock; isLockFile makes a waiting useEntry take a new one
	if recStat != nil && dirStat != nil {
		return true, nil // a lock file alone, left by a process killed while downloading
	}
	r.logger().Info(fmt.Sprintf("Removed %s from the model cache: %s, unused since %s, more than %s ago (%s sets how long)",
		what, bytesize.Format(size), since, days(maxAge), envCacheMaxAge))
	return true, nil
}

// removeTree removes p and what is under it, like os.RemoveAll, but stops
// between two files once ctx ends (returning its error): a model is many
// gigabytes, and a server stopping must not wait for all of them.
func (r Resolver) removeTree(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.removing != nil {
		r.removing(p)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		names, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := r.removeTree(ctx, filepath.Join(p, n.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(p) // what Remove refuses (a read-only file on Windows), RemoveAll handles
	}
	return nil
}

// unused reports whether the entry dir has not been used for maxAge. An
// entry with neither a record nor a folder (a lock file alone) is unused.
func (r Resolver) unused(dir string, maxAge time.Duration, now time.Time) bool {
	m, err := readRecord(dir + ".json")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m = cacheMeta{} // unreadable: its files' times say how old it is
	}
	return now.Sub(lastUsed(dir, m)) > maxAge
}

// treeSize is the bytes of the files under p (p itself when a file).
func treeSize(p string) int64 {
	var n int64
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// days is d in days when whole ("30 days"), else as Go writes it.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return count(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}
