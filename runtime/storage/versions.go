package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
)

// The cache keeps each source as an entry: its record <key>.json, its lock
// <key>.lock, and the folder <key>/ of its versions, each a complete model
// folder <key>/<version>/ with a lock of its own, <key>/<version>.lock.
// The record names the current version. A folder Resolve returned is never
// changed, moved or removed while a process holds its lock (each server
// holds it for as long as it runs, a --workers parent for its workers): a
// new version of the model is downloaded into a folder of its own and made
// current by rewriting the record, and a replaced version is removed once no
// process holds it. Replacing one folder in place instead (as the previous
// layout did) let a process that read it in that instant, a --workers
// restart loading its model or a second server starting, miss it or load
// the new version while its siblings served the old one.

// versionedLayout is part of what an entry's key hashes, so that no entry of
// this layout shares a path with one of the previous layout (cacheKey of the
// source alone, its folder the model itself), which a process of an older
// version may still be serving from the same cache.
const versionedLayout = "versions\n"

// entryKey names source's entry in the cache.
func entryKey(source, name string) string { return cacheKey(versionedLayout+source, name) }

// versionName matches the names commit gives versions (versionID); a record
// naming anything else (a path) names no version.
var versionName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]*$`)
})

// versionID names the version committed from scratch: when, readably, and
// the scratch folder's unique suffix, so two downloads never share a name.
func versionID(scratch string) string {
	return time.Now().UTC().Format("20060102T150405Z") + "-" + strings.TrimPrefix(filepath.Base(scratch), ".download-")
}

// cacheEntry is a source's place in the cache, and the copy found there.
type cacheEntry struct {
	dir    string    // <cache>/<key>: its versions' folder; <key>.json and <key>.lock beside it
	meta   cacheMeta // the found copy's record
	cached bool      // a copy was found: model is its folder, which this process holds
	model  string    // the current version's folder, or an entry of the previous layout
	legacy bool      // model is an entry of the previous layout, to move into this one
}

// openEntry finds source's entry in cache, locks it and its current
// version (before reading the record, so nothing removes what it names),
// and reads the record. Without a version of its own, an entry of the
// previous layout for source is the cached copy (legacy), revalidated like
// any other and moved into this layout when served (serveCached).
func (r Resolver) openEntry(cache, source, name string) *cacheEntry {
	e := &cacheEntry{dir: filepath.Join(cache, entryKey(source, name))}
	r.useEntry(e.dir)
	// The version named may be replaced and removed between reading the
	// record and locking it; the record then names a newer one. Its
	// removal may also have stopped half-way (a file open in another
	// process on Windows, a remover killed), leaving part of it: so the
	// record is read again under the lock, and still names it only if no
	// remover touched it (a version the record stopped naming is never
	// named again). A few rounds: a source replaced that often is
	// downloaded again instead.
	for range 3 {
		m, ok := readMeta(e.dir+".json", source)
		if !ok || !versionName().MatchString(m.Version) {
			break
		}
		v := filepath.Join(e.dir, m.Version)
		r.useEntry(v)
		if again, ok := readMeta(e.dir+".json", source); ok && again.Version == m.Version && dirHasEntries(v) {
			e.meta, e.cached, e.model = again, true, v
			return e
		}
		r.dropEntry(v)
	}
	old := filepath.Join(cache, cacheKey(source, name))
	if _, ok := readMeta(old+".json", source); !ok {
		return e
	}
	r.useEntry(old)
	// Again under its lock: a trimmer may have removed it meanwhile.
	if m, ok := readMeta(old+".json", source); ok && m.Version == "" && dirHasEntries(old) {
		e.meta, e.cached, e.model, e.legacy = m, true, old, true
		return e
	}
	r.dropEntry(old)
	return e
}

// serveCached returns the folder of e's cached copy to serve. An entry of
// the previous layout becomes the first version of e: its files are hard
// linked (copied where links fail) into a new version folder, so nothing is
// downloaded again and the old folder, which a process of an older version
// may be serving, is not moved; it is removed at the end of the call
// unless a process holds it (retireLegacy). Should that fail, the old
// folder is served where it is, with a warning.
func (r Resolver) serveCached(shown string, e *cacheEntry) string {
	if !e.legacy {
		return e.model
	}
	old := e.model
	v, err := r.migrate(shown, e)
	if err != nil {
		r.logger().Warn(fmt.Sprintf("Cannot move the cached copy of %s into a folder of its version (%v); serving it from %s", shown, err, old))
		return old
	}
	return v
}

// migrate makes a version of e from its legacy folder, as serveCached says.
func (r Resolver) migrate(shown string, e *cacheEntry) (string, error) {
	scratch, doneScratch, err := newScratch(filepath.Dir(e.dir))
	if err != nil {
		return "", err
	}
	defer doneScratch() // gone once moved into place; the leftovers of a failure otherwise
	if err := linkTree(e.model, scratch); err != nil {
		return "", err
	}
	m := e.meta
	m.LastUsed = time.Now().UTC()
	return r.commit(shown, scratch, e, m)
}

// linkTree recreates the tree src in dst (an empty folder): folders made,
// with their modes once filled (an archive's read-only folder would refuse
// its files), files hard linked (copied where the file system has no
// links), symbolic links made again with their targets, which archives
// keep inside the folder.
func linkTree(src, dst string) error {
	modes := map[string]fs.FileMode{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch d.Type() {
		case fs.ModeDir:
			info, err := d.Info()
			if err != nil {
				return err
			}
			modes[target] = info.Mode().Perm()
			return os.Mkdir(target, 0o755)
		case fs.ModeSymlink:
			to, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(to, target)
		case 0:
			return reuseFile(p, target)
		}
		return fmt.Errorf("%s is neither a file, a folder nor a link", p)
	})
	for dir, mode := range modes {
		if err == nil {
			err = os.Chmod(dir, mode)
		}
	}
	return err
}

// commit moves scratch into e as a new version and records m, naming it,
// as e's record, under the cache's write lock; it returns the version's
// folder. The version is locked before it is in place, so no pruning takes
// it for a replaced one before the record names it, and the version this
// call held until now (e.model) is released, to be removed once no process
// holds it. A record that cannot be written is a warning: the next start
// downloads again. So is a lock that cannot be taken (a cache on NFS
// without its lock manager answers ENOLCK; a .lock file of another user's
// that this one cannot open): the download is moved into place unlocked,
// as before the cache had a lock, rather than thrown away with the start.
func (r Resolver) commit(shown, scratch string, e *cacheEntry, m cacheMeta) (string, error) {
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return "", err
	}
	if unlock, err := lockCache(filepath.Dir(e.dir)); err != nil {
		r.logger().Warn(fmt.Sprintf("Cannot lock the model cache to move the download of %s into place; moving it unlocked: %v", shown, err))
	} else {
		defer unlock()
	}
	v, same := r.committed(e, m)
	if same {
		m.Version = filepath.Base(v)
	} else {
		m.Version = versionID(scratch)
		v = filepath.Join(e.dir, m.Version)
		r.useEntry(v)
		if err := os.Rename(scratch, v); err != nil {
			r.dropEntry(v)
			return "", err
		}
		if m.LastUsed.IsZero() {
			m.LastUsed = m.Downloaded
		}
		if err := writeMeta(e.dir+".json", m); err != nil {
			r.logger().Warn(fmt.Sprintf("Cannot record the download of %s for revalidation: %v", shown, err))
		}
	}
	switch {
	case e.legacy && r.uses != nil:
		// Moved or downloaded into this layout, the old copy is only
		// kept for a process of an older version that may serve it.
		r.uses.retired = append(r.uses.retired, e.model)
	case e.model != "":
		r.dropEntry(e.model)
	}
	e.meta, e.cached, e.model, e.legacy = m, true, v, false
	return v, nil
}

// committed returns, held for this call, the current version of e when
// its record says it is the content m describes (the same URI, ETag or
// Last-Modified): another process downloaded it meanwhile (two starts at
// once), and this download, left in its scratch folder, is dropped rather
// than kept as a second copy. The caller holds the cache's write lock, so
// the record stays as read, and only a replaced version is ever removed.
func (r Resolver) committed(e *cacheEntry, m cacheMeta) (string, bool) {
	cur, err := readRecord(e.dir + ".json")
	if err != nil || cur.URI != m.URI || cur.ETag != m.ETag || cur.LastModified != m.LastModified ||
		cur.ETag == "" && cur.LastModified == "" || !versionName().MatchString(cur.Version) {
		return "", false
	}
	v := filepath.Join(e.dir, cur.Version)
	r.useEntry(v)
	if !dirHasEntries(v) {
		r.dropEntry(v)
		return "", false
	}
	return v, true
}

// entryOf returns the entry of cache that dir, a folder Resolve returned,
// belongs to: <cache>/<key> for a version <cache>/<key>/<version>, or dir
// itself for an entry of the previous layout served where it is.
func entryOf(cache, dir string) (string, bool) {
	cache = filepath.Clean(cache)
	if e := filepath.Dir(dir); filepath.Dir(e) == cache && entryName().MatchString(filepath.Base(e)) && versionName().MatchString(filepath.Base(dir)) {
		return e, true
	}
	if filepath.Dir(dir) == cache && entryName().MatchString(filepath.Base(dir)) {
		return dir, true
	}
	return "", false
}

// pruneVersions removes the versions of the entry dir that its record no
// longer names and that no process holds; those it cannot lock or remove
// go to stuck, which the caller reports. Only an entry whose record names
// a version is of this layout: the folder of one of the previous layout is
// a model, none of whose files is a version.
//
// It stops when ctx ends, returning its error; a version partly removed
// then is one its record no longer names, never served, and removed by
// the next Trim.
func (r Resolver) pruneVersions(ctx context.Context, dir string, stuck *stuckVersions) error {
	m, err := readRecord(dir + ".json")
	if err != nil || !versionName().MatchString(m.Version) {
		return nil
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	seen := map[string]bool{m.Version: true}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".lock")
		if seen[name] || !versionName().MatchString(name) {
			continue
		}
		seen[name] = true
		if err := r.removeVersion(ctx, dir, name); ctx.Err() != nil {
			return ctx.Err()
		} else if err != nil {
			stuck.add(filepath.Join(dir, name), err)
		}
	}
	return nil
}

// stuckVersions are the replaced versions one start could not remove.
// Where the cache's file system has no locks (ENOLCK) none ever can be,
// and they pile up as the model changes: one line per start says so,
// rather than one per version at every start.
type stuckVersions struct {
	n     int
	bytes int64
	first string // the first version, and its error
	err   error
}

func (s *stuckVersions) add(v string, err error) {
	if s.n == 0 {
		s.first, s.err = v, err
	}
	s.n++
	s.bytes += treeSize(v)
}

// report logs the versions that could not be removed, in one line.
func (s *stuckVersions) report(r Resolver) {
	switch s.n {
	case 0:
	case 1:
		r.logger().Warn(fmt.Sprintf("Cannot remove the replaced version %s from the model cache: %v", s.first, s.err))
	default:
		r.logger().Warn(fmt.Sprintf("Cannot remove %d replaced versions of models from the model cache (%s in all; delete them by hand once no server uses them), the first %s: %v",
			s.n, bytesize.Format(s.bytes), s.first, s.err))
	}
}

// removeVersion removes the version name of the entry dir, and its lock
// file, unless a process holds it or the record names it. A version the
// record stopped naming is never named again (each download has a new
// name), so the record read under the lock decides. It returns what kept
// it from locking or removing the version.
func (r Resolver) removeVersion(ctx context.Context, dir, name string) error {
	v := filepath.Join(dir, name)
	f, err := openLockFile(v + ".lock")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, true, false); err != nil {
		if errors.Is(err, errLocked) {
			return nil // served: removed by a start after its server stops
		}
		return err
	}
	if same, err := isLockFile(f, v+".lock"); err != nil || !same {
		return nil
	}
	if m, err := readRecord(dir + ".json"); err != nil || m.Version == name {
		return nil
	}
	if err := r.removeTree(ctx, v); err != nil {
		return err
	}
	_ = os.Remove(v + ".lock") // under our lock; isLockFile makes a waiting useEntry take a new one
	return nil
}

// retireLegacy removes old, an entry of the previous layout whose model
// has become a version of its new entry, unless a process (one of an older
// version, serving it) holds it; trimming removes it once unused.
func (r Resolver) retireLegacy(old string) {
	f, err := openLockFile(old + ".lock")
	if err != nil {
		return
	}
	defer f.Close()
	if lockFile(f, true, false) != nil {
		return
	}
	if same, err := isLockFile(f, old+".lock"); err != nil || !same {
		return
	}
	// The record goes first: a folder half removed is then never served.
	if err := os.Remove(old + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.logger().Warn(fmt.Sprintf("Cannot remove %s, moved into a folder of its version, from the model cache: %v", old, err))
		return
	}
	if err := os.RemoveAll(old); err != nil {
		r.logger().Warn(fmt.Sprintf("Cannot remove %s, moved into a folder of its version, from the model cache: %v", old, err))
		return
	}
	_ = os.Remove(old + ".lock")
}
