package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// snapshot is a remote set of files — a Hub repository at a commit, the
// objects under a bucket prefix — kept in the cache as one folder and
// revalidated by a version string (the commit; a digest of the objects'
// generations) that the listing reports.
type snapshot struct {
	uri    string // for logs and errors
	source string // what the cache keys it by: uri and whatever selects the content, no secrets
	name   string // the readable part of its folder's name
	where  string // who is asked for the listing, for log lines ("the Hub")
	what   string // what its version is, for log lines ("commit")
	// unpackSingle unpacks a snapshot of one archive (KServe does for
	// buckets, not for Hub repositories).
	unpackSingle bool

	entry  *cacheEntry
	dir    string // the cached copy's folder, when entry.cached
	meta   cacheMeta
	cached bool
}

// listingVersion is a short digest of a listing's "name#generation"
// entries: it changes when an object is added, removed or replaced.
func listingVersion(entries []string) string {
	sorted := slices.Sorted(slices.Values(entries))
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:6])
}

// pageTokens are the continuation tokens a listing has followed: a service
// that hands one out again (a bug; botocore's paginator refuses it too)
// would otherwise be listed forever, the objects of every page piling up
// in memory while the server never starts.
type pageTokens map[string]bool

// follow records token, or returns the error that it came before.
func (p pageTokens) follow(uri, token string) error {
	if p[token] {
		return newError(ErrDownload, "listing %s: the service sent the continuation token %q twice: its listing would never end", uri, token)
	}
	p[token] = true
	return nil
}

// withTransport returns the resolver's client with its transport wrapped
// (request signing, tokens), for the requests of one download.
func (r Resolver) withTransport(wrap func(http.RoundTripper) http.RoundTripper) *http.Client {
	base := r.client()
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c := *base
	c.Transport = wrap(rt)
	return &c
}

// remoteFile is one file of a snapshot: where to GET it, its path in the
// model folder, and the version of its content when the listing says
// (empty: always fetched).
type remoteFile struct {
	url, rel, version string
	size              int64 // as listed; 0: not known
}

// openSnapshot finds s's folder in the cache and what was recorded about it.
func (r Resolver) openSnapshot(s *snapshot) error {
	cache, err := r.cacheDir()
	if err != nil {
		return newError(ErrDownload, "storage uri %s: no folder to download into: %v", s.uri, err)
	}
	s.entry = r.openEntry(cache, s.source, s.name)
	s.dir, s.meta, s.cached = s.entry.model, s.entry.meta, s.entry.cached
	return nil
}

// listFailed decides what a failed listing means: not reaching the source,
// or a failure on its side (ErrDownload), serves the cached copy with a
// warning; an answer saying no (ErrNotFound: 401, 403, 404) does not. A
// sign-in's first token is decided the same way (signInFailed).
func (r Resolver) listFailed(ctx context.Context, s *snapshot, err error) (string, error) {
	return r.cannotAsk(ctx, s, fmt.Sprintf("Cannot ask %s about %s", s.where, s.uri), err)
}

// cannotAsk serves the cached copy of s when err is an ErrDownload, with
// a warning that starts with what could not be done; otherwise it returns
// err.
func (r Resolver) cannotAsk(ctx context.Context, s *snapshot, what string, err error) (string, error) {
	if ctx.Err() != nil {
		return "", fmt.Errorf("downloading %s: %w", s.uri, ctx.Err())
	}
	if s.cached && errors.Is(err, ErrDownload) {
		r.logger().Warn(fmt.Sprintf("%s (%v); serving the copy of %s %s downloaded %s from %s",
			what, err, s.what, s.meta.ETag, s.meta.Downloaded.Format(time.RFC3339), r.serve(s)))
		return s.dir, nil
	}
	return "", err
}

// current reports whether the cached copy is of version, logging so.
func (r Resolver) current(s *snapshot, version string) bool {
	if !s.cached || s.meta.ETag != version {
		return false
	}
	r.logger().Info(fmt.Sprintf("%s is at %s %s, downloaded on %s; using %s", s.uri, s.what, version, s.meta.Downloaded.Format(time.RFC3339), r.serve(s)))
	return true
}

// serve sets s.dir to the cached copy's folder to serve (serveCached), and
// returns it.
func (r Resolver) serve(s *snapshot) string {
	s.dir = r.serveCached(s.uri, s.entry)
	return s.dir
}

// downloadSnapshot returns s's folder when the cached copy is of version;
// otherwise it fetches files into a scratch folder and moves it into place
// as s's folder, recording version. A single archive is unpacked when
// s.unpackSingle, as KServe does for buckets.
func (r Resolver) downloadSnapshot(ctx context.Context, s *snapshot, version string, files []remoteFile, header http.Header) (string, error) {
	if r.current(s, version) {
		return s.dir, nil
	}
	log := r.logger()
	log.Info(fmt.Sprintf("Copying contents of %s (%s %s, %s) to local", s.uri, s.what, version, count(len(files), "file")))
	start := time.Now()
	scratch, doneScratch, err := newScratch(filepath.Dir(s.entry.dir))
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: %v", s.uri, err)
	}
	defer doneScratch() // gone once moved into place; the leftovers of a failure otherwise
	var need int64
	for _, f := range files {
		if !(s.cached && f.version != "" && s.meta.Files[f.rel] == f.version) {
			need += f.size // a file reused from the cached copy is a hard link
		}
	}
	if err := checkDownloadRoom(s.uri, filepath.Dir(s.entry.dir), need); err != nil {
		return "", err
	}
	var total int64
	var last string
	reused := 0
	versions := map[string]string{}
	for _, f := range files {
		target, err := entryPath(scratch, f.rel)
		if err != nil || target == "" {
			return "", newError(ErrDownload, "storage uri %s: %s listed the file %q, which would be written outside the model folder", s.uri, s.where, f.rel)
		}
		if f.version != "" {
			versions[f.rel] = f.version
			if s.cached && s.meta.Files[f.rel] == f.version && reuseFile(filepath.Join(s.dir, f.rel), target) == nil {
				reused++
				last = target
				continue
			}
		}
		n, err := r.downloadFile(ctx, f.url, s.uri+": "+f.rel, header, target)
		if err != nil {
			return "", err
		}
		total += n
		last = target
	}
	if reused > 0 {
		log.Info(fmt.Sprintf("Reused %d unchanged files of %s %s", reused, s.what, s.meta.ETag))
	}
	if s.unpackSingle && len(files) == 1 {
		if typ, _ := guessType(last); typ == tarType || typ == zipType {
			if err := r.unpackDownload(s.uri, last, typ, scratch); err != nil {
				return "", err
			}
		}
	}
	if len(versions) == 0 {
		versions = nil
	}
	if s.dir, err = r.commit(s.uri, scratch, s.entry, cacheMeta{URI: s.source, ETag: version, Downloaded: time.Now().UTC(), Files: versions}); err != nil {
		return "", newError(ErrDownload, "storage uri %s: moving the download into %s: %v", s.uri, s.entry.dir, err)
	}
	log.Info(fmt.Sprintf("Successfully copied %s to %s", s.uri, s.dir))
	log.Info(fmt.Sprintf("Model downloaded in %s (%s, %d bytes).", time.Since(start).Round(time.Millisecond), count(len(files), "file"), total))
	return s.dir, nil
}

// downloadFile GETs url into target (its folders made), the stall watchdog
// and progress lines running; where names it in errors and logs.
func (r Resolver) downloadFile(ctx context.Context, rawURL, where string, header http.Header, target string) (int64, error) {
	t, err := r.get(ctx, rawURL, header)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("downloading %s: %w", where, ctx.Err())
		}
		return 0, newError(ErrDownload, "downloading %s: %v", where, err)
	}
	defer t.close()
	if t.resp.StatusCode != http.StatusOK {
		// The file's URL may carry the URI's shared access signature.
		return 0, newError(ErrDownload, "URI: %s returned a %d response code.", shownURL(rawURL), t.resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return 0, newError(ErrDownload, "downloading %s: %v", where, err)
	}
	if err := checkDownloadRoom(where, filepath.Dir(target), t.resp.ContentLength); err != nil {
		return 0, err
	}
	stop := r.reportProgress(where, t.body, t.resp.ContentLength)
	n, err := writeFile(target, t.body)
	stop()
	if err != nil {
		return 0, t.readError(ctx, where, err)
	}
	return n, nil
}

// staleAfter is how old a scratch folder is when its download must have
// died with its process (a SIGKILL leaves it behind).
const staleAfter = 24 * time.Hour

// newScratch makes a scratch folder in cache for a download, first removing
// scratch folders (and the replaced copies of the previous layout) that
// dead downloads left behind; done removes the folder (unless moved into
// place) and its lock, and must be called once the download is over.
//
// Each scratch folder <cache>/.download-<n> has a lock file
// .download-<n>.lock, created and locked before the folder and held for
// as long as the download runs: the kernel drops the lock of a process
// that dies however it dies, so a folder whose lock can be taken belongs
// to no live download and is removed at once. Before, a download killed
// mid-way (an OOM kill, a liveness probe restarting a pod stuck
// downloading) left its partial copy for a day, and a pod restarting in a
// loop piled one up per attempt until the disk was full. A folder without
// a lock file (an older kserve-gen's, or one whose lock could not be taken
// where the file system refuses locks) is removed only a day later, as
// before: it may belong to a download still running.
func newScratch(cache string) (dir string, done func(), err error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", nil, err
	}
	sweepScratch(cache)
	lock, err := os.CreateTemp(cache, ".download-*"+scratchLockSuffix)
	if err != nil {
		return "", nil, err
	}
	lockPath := lock.Name()
	_ = lock.Chmod(0o644) // as the cache's other lock files: another user's sweep may take it
	if lockFile(lock, true, false) != nil {
		// No lock to hold: a folder without a lock file is another's to
		// remove only a day later, never while this download runs.
		lock.Close()
		_ = os.Remove(lockPath)
		lock = nil
	}
	dir = strings.TrimSuffix(lockPath, scratchLockSuffix)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if lock != nil {
			lock.Close()
			_ = os.Remove(lockPath)
		}
		return "", nil, err
	}
	return dir, sync.OnceFunc(func() {
		_ = os.RemoveAll(dir) // nothing left once moved into place
		if lock != nil {
			// Closed before removed (Windows removes no open file); a
			// sweep that locks it meanwhile finds no folder to remove.
			lock.Close()
			_ = os.Remove(lockPath)
		}
	}), nil
}

const scratchLockSuffix = ".lock"

// lockUnheld opens the lock file p and takes its exclusive lock without
// waiting: the open file when no process held it, else nil.
func lockUnheld(p string) *os.File {
	f, err := openLockFile(p)
	if err != nil {
		return nil
	}
	if lockFile(f, true, false) != nil {
		f.Close()
		return nil
	}
	return f
}

// sweepScratch removes what dead downloads left in cache: a scratch folder
// whose lock no process holds (and that lock file, or one left without its
// folder), and, a day later, any scratch folder or temporary record.
func sweepScratch(cache string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".download-") && !strings.Contains(name, ".old-.download-") {
			continue
		}
		p := filepath.Join(cache, name)
		if strings.HasPrefix(name, ".download-") && strings.HasSuffix(name, scratchLockSuffix) {
			// The folder is created after its lock file, so a lock file
			// without one is of a download starting now, or of a dead
			// one; either way, only a lock file no process holds goes.
			if names[strings.TrimSuffix(name, scratchLockSuffix)] {
				continue // with its folder, below
			}
			if f := lockUnheld(p); f != nil {
				f.Close() // before the removal, which Windows refuses of an open file
				_ = os.Remove(p)
			}
			continue
		}
		if lockName := name + scratchLockSuffix; e.IsDir() && names[lockName] {
			if f := lockUnheld(filepath.Join(cache, lockName)); f != nil {
				_ = os.RemoveAll(p)
				f.Close()
				_ = os.Remove(f.Name())
			}
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			_ = os.RemoveAll(p)
		}
	}
}

// reuseFile puts the cached file old at target: a hard link (same folder
// tree, no copy), else a copy of the same mode. Nothing ever writes to a
// cached file, so the versions sharing it share its content.
func reuseFile(old, target string) error {
	st, err := os.Lstat(old)
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("no cached file %s", old)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if os.Link(old, target) == nil {
		return nil
	}
	in, err := os.Open(old)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := writeFile(target, in); err != nil {
		return err
	}
	// The copy's mode as the link's would be: an executable file stays one.
	return os.Chmod(target, st.Mode().Perm())
}
