package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

const (
	hfPrefix = "hf://"
	// DefaultHFEndpoint is the Hugging Face Hub; HF_ENDPOINT replaces it (a
	// mirror, or a local stand-in in tests), as huggingface_hub does.
	DefaultHFEndpoint = "https://huggingface.co"
)

// hfRepo is an hf://<owner>/<model>[:<revision>] URI.
type hfRepo struct {
	id       string // owner/model
	revision string // branch, tag or commit; "main" when not given
}

// parseHF checks an hf:// URI with KServe's rules and messages.
func parseHF(uri string) (hfRepo, error) {
	parts := strings.Split(strings.TrimPrefix(uri, hfPrefix), "/")
	if len(parts) != 2 {
		return hfRepo{}, newError(ErrInvalidURI, "storage uri %s: URI must contain exactly one '/' separating the repo and model name", uri)
	}
	if parts[0] == "" {
		return hfRepo{}, newError(ErrInvalidURI, "storage uri %s: Repository name cannot be empty", uri)
	}
	model, revision, _ := strings.Cut(parts[1], ":")
	if model == "" {
		return hfRepo{}, newError(ErrInvalidURI, "storage uri %s: Model name cannot be empty", uri)
	}
	if revision == "" {
		revision = "main"
	}
	return hfRepo{id: parts[0] + "/" + model, revision: revision}, nil
}

// hfInfo is the part of the Hub's model info this needs.
type hfInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		BlobID    string `json:"blobId"` // with ?blobs=true
		LFS       *struct {
			SHA256 string `json:"sha256"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// fetchHF downloads a Hugging Face Hub repository at a revision, as KServe's
// snapshot_download does: every file, or those STORAGE_ALLOW_PATTERNS and
// STORAGE_IGNORE_PATTERNS select, with the repository's folders. The token
// is huggingface_hub's (hfToken), sent to the Hub only (not to the storage
// it redirects large files to).
//
// Like an http(s):// download it is cached, keyed by repository, revision
// and patterns; the next start asks the Hub which commit the revision is at
// and downloads only when it moved (a commit hash as revision never moves).
// An unreachable Hub serves the cached copy with a warning.
func (r Resolver) fetchHF(ctx context.Context, uri string) (string, error) {
	repo, err := parseHF(uri)
	if err != nil {
		return "", err
	}
	sel, err := r.selection()
	if err != nil {
		return "", err
	}
	endpoint := strings.TrimRight(r.getenv("HF_ENDPOINT"), "/")
	if endpoint == "" {
		endpoint = DefaultHFEndpoint
	}
	header := http.Header{}
	if token := r.hfToken(); token != "" {
		header.Set("Authorization", "Bearer "+token)
	}

	snap := &snapshot{uri: uri, source: uri + sel.source(), name: strings.ReplaceAll(repo.id, "/", "--"), where: "the Hub", what: "commit"}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}
	info, err := r.hfModelInfo(ctx, endpoint, repo, header)
	if err != nil {
		return r.listFailed(ctx, snap, err)
	}
	if r.current(snap, info.SHA) {
		return snap.dir, nil
	}
	var files []remoteFile
	for _, s := range info.Siblings {
		if sel.keep(s.RFilename) {
			segments := strings.Split(s.RFilename, "/")
			for i, seg := range segments {
				segments[i] = url.PathEscape(seg)
			}
			u := endpoint + "/" + repo.id + "/resolve/" + info.SHA + "/" + strings.Join(segments, "/")
			version := s.BlobID
			if s.LFS != nil && s.LFS.SHA256 != "" {
				version = "sha256:" + s.LFS.SHA256
			}
			files = append(files, remoteFile{url: u, rel: s.RFilename, version: version})
		}
	}
	if len(files) == 0 {
		return "", newError(ErrDownload, "Failed to fetch model. No model found in %s (commit %s has %d files; STORAGE_ALLOW_PATTERNS %q, STORAGE_IGNORE_PATTERNS %q).",
			uri, info.SHA, len(info.Siblings), sel.allow, sel.ignore)
	}
	return r.downloadSnapshot(ctx, snap, info.SHA, files, header)
}

// hfModelInfo asks the Hub which commit repo's revision is at and which
// files it has (GET /api/models/<id>/revision/<revision>).
func (r Resolver) hfModelInfo(ctx context.Context, endpoint string, repo hfRepo, header http.Header) (hfInfo, error) {
	// blobs=true adds each file's blob id (and an LFS file's sha256), so a
	// new commit reuses the files it did not change.
	u := endpoint + "/api/models/" + repo.id + "/revision/" + url.PathEscape(repo.revision) + "?blobs=true"
	where := "hf://" + repo.id + ":" + repo.revision
	t, err := r.get(ctx, u, header)
	if err != nil {
		return hfInfo{}, newError(ErrDownload, "asking %s about %s: %v", endpoint, where, err)
	}
	defer t.close()
	switch t.resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		hint := "no such repository or revision, or it is private or gated: set HF_TOKEN (or log in with hf auth login) to a token that may read it"
		if header.Get("Authorization") != "" {
			hint = "no such repository or revision, or HF_TOKEN may not read it"
		}
		return hfInfo{}, newError(ErrNotFound, "%s: the Hub answered %d (%s)", where, t.resp.StatusCode, hint)
	default:
		return hfInfo{}, newError(ErrDownload, "%s: the Hub answered %d to %s", where, t.resp.StatusCode, u)
	}
	var info hfInfo
	if err := json.NewDecoder(io.LimitReader(t.body, 64<<20)).Decode(&info); err != nil {
		return hfInfo{}, t.readError(ctx, where, fmt.Errorf("the Hub's model info: %w", err))
	}
	if info.SHA == "" {
		return hfInfo{}, newError(ErrDownload, "%s: the Hub's model info names no commit", where)
	}
	return info, nil
}

// patterns reads STORAGE_ALLOW_PATTERNS or STORAGE_IGNORE_PATTERNS: a JSON
// array of strings, or a comma-separated list.
func (r Resolver) patterns(name string) ([]string, error) {
	raw := strings.TrimSpace(r.getenv(name))
	if raw == "" {
		return nil, nil
	}
	var out []string
	if strings.HasPrefix(raw, "[") {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			return nil, newError(ErrInvalidURI, "environment variable %s: want a JSON array of strings or a comma-separated list: %v", name, err)
		}
	} else {
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	for _, p := range out {
		if _, err := fnmatch(p); err != nil {
			return nil, newError(ErrInvalidURI, "environment variable %s: pattern %q: %v", name, p, err)
		}
	}
	return out, nil
}

// selection is what STORAGE_ALLOW_PATTERNS and STORAGE_IGNORE_PATTERNS
// keep of a repository's or a bucket prefix's files.
type selection struct{ allow, ignore []string }

func (r Resolver) selection() (selection, error) {
	allow, err := r.patterns("STORAGE_ALLOW_PATTERNS")
	if err != nil {
		return selection{}, err
	}
	ignore, err := r.patterns("STORAGE_IGNORE_PATTERNS")
	return selection{allow, ignore}, err
}

// source is what the selection adds to a cache key: other patterns, other
// content.
func (s selection) source() string {
	if len(s.allow) == 0 && len(s.ignore) == 0 {
		return ""
	}
	return fmt.Sprintf(" allow=%q ignore=%q", s.allow, s.ignore)
}

// keep applies huggingface_hub's filter_repo_objects to a path relative to
// the download: kept when it matches an allow pattern (or there are none)
// and no ignore pattern; a pattern ending in "/" means everything under
// that folder.
func (s selection) keep(file string) bool { return selected(file, s.allow, s.ignore) }

func selected(file string, allow, ignore []string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if strings.HasSuffix(p, "/") {
				p += "*"
			}
			if re, err := fnmatch(p); err == nil && re.MatchString(file) {
				return true
			}
		}
		return false
	}
	if len(allow) > 0 && !match(allow) {
		return false
	}
	return !match(ignore)
}

// fnmatch compiles a Python fnmatch pattern: * matches any run of
// characters, "/" included (unlike path.Match), ? one character, [seq] and
// [!seq] a set.
func fnmatch(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(pattern) && pattern[j] == '!' {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				j++
			}
			for j < len(pattern) && pattern[j] != ']' {
				j++
			}
			if j >= len(pattern) {
				b.WriteString(`\[`) // no closing bracket: a literal, as Python does
				continue
			}
			set := pattern[i+1 : j]
			if strings.HasPrefix(set, "!") {
				set = "^" + set[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(set, `\`, `\\`) + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// hfToken is the token huggingface_hub sends when none is given, as
// snapshot_download in KServe's storage-initializer does: HF_TOKEN (or the
// older HUGGING_FACE_HUB_TOKEN), else the file `hf auth login` writes
// (HF_TOKEN_PATH, else $HF_HOME/token, HF_HOME defaulting to
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), stripped of line
// breaks and surrounding space; none at all when
// HF_HUB_DISABLE_IMPLICIT_TOKEN is set true.
func (r Resolver) hfToken() string {
	switch strings.ToUpper(strings.TrimSpace(r.getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN"))) {
	case "1", "ON", "YES", "TRUE":
		return ""
	}
	clean := func(t string) string {
		return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(t))
	}
	if t := clean(firstNonEmpty(r.getenv("HF_TOKEN"), r.getenv("HUGGING_FACE_HUB_TOKEN"))); t != "" {
		return t
	}
	path := r.getenv("HF_TOKEN_PATH")
	if path == "" {
		home := r.getenv("HF_HOME")
		if home == "" {
			cache := r.getenv("XDG_CACHE_HOME")
			if cache == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return ""
				}
				cache = filepath.Join(h, ".cache")
			}
			home = filepath.Join(cache, "huggingface")
		}
		path = filepath.Join(home, "token")
	}
	b, err := os.ReadFile(expandHome(path))
	if err != nil {
		return "" // not logged in (or unreadable): anonymous, as huggingface_hub
	}
	return clean(string(b))
}

// expandHome replaces a leading ~ with the home folder, as Python's
// os.path.expanduser does for the HF_* paths.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}
