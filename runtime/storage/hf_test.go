package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hub is a local stand-in for the Hugging Face Hub's two read endpoints
// (the real one cannot be reached from here): model info at a revision, and
// file downloads by commit, large files redirected to separate storage, as
// the Hub does. A private repository needs the token.
type hub struct {
	*httptest.Server
	storage *httptest.Server // where "large" files are redirected

	mu        sync.Mutex
	repos     map[string]hubRepo // id -> repo
	infoCalls int
	fileCalls int
	authSeen  []string // Authorization headers the storage server received
}

type hubRepo struct {
	private bool
	commits map[string]string            // revision -> sha
	files   map[string]map[string]string // sha -> path -> content
}

const hubToken = "hf_secret"

func newHub(t *testing.T) *hub {
	h := &hub{repos: map[string]hubRepo{}}
	h.storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.authSeen = append(h.authSeen, r.Header.Get("Authorization"))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "binary/octet-stream")
		_, _ = w.Write([]byte(r.URL.Query().Get("content")))
	}))
	t.Cleanup(h.storage.Close)
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		h.infoCalls++
		id, rev, ok := strings.Cut(rest, "/revision/")
		repo, found := h.repos[id]
		if !ok || !found || repo.private && r.Header.Get("Authorization") != "Bearer "+hubToken {
			http.Error(w, `{"error":"Repository not found"}`, http.StatusUnauthorized)
			return
		}
		sha, ok := repo.commits[rev]
		if !ok {
			http.Error(w, `{"error":"Revision not found"}`, http.StatusNotFound)
			return
		}
		var siblings []map[string]any
		for f, content := range repo.files[sha] {
			sib := map[string]any{"rfilename": f}
			if r.URL.Query().Get("blobs") == "true" {
				sum := sha256.Sum256([]byte(content))
				sib["blobId"] = hex.EncodeToString(sum[:20])
				if strings.HasSuffix(f, ".onnx") { // stored with LFS
					sib["lfs"] = map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": len(content)}
				}
			}
			siblings = append(siblings, sib)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "sha": sha, "siblings": siblings, "private": repo.private})
		return
	}
	// /<owner>/<model>/resolve/<sha>/<path>
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	h.fileCalls++
	repo := h.repos[parts[0]+"/"+parts[1]]
	if repo.private && r.Header.Get("Authorization") != "Bearer "+hubToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	content, ok := repo.files[parts[3]][parts[4]]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(parts[4], ".onnx") {
		http.Redirect(w, r, h.storage.URL+"/blob?content="+url.QueryEscape(content), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(content))
}

func (h *hub) put(id string, private bool, revision, sha string, files map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	repo, ok := h.repos[id]
	if !ok {
		repo = hubRepo{private: private, commits: map[string]string{}, files: map[string]map[string]string{}}
	}
	repo.commits[revision] = sha
	repo.commits[sha] = sha
	repo.files[sha] = files
	h.repos[id] = repo
}

func (h *hub) calls() (info, files int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infoCalls, h.fileCalls
}

func hubEnv(t *testing.T, h *hub) *downloadEnv {
	d := newDownloadEnv(t)
	d.env["HF_ENDPOINT"] = h.URL
	// huggingface_hub's home: a token file from the machine's own
	// `hf auth login` must not reach the tests.
	d.env["HF_HOME"] = t.TempDir()
	return d
}

var onnxRepo = map[string]string{
	"config.json":               `{"model_type":"bert"}`,
	"onnx/model.onnx":           "fp32 weights",
	"onnx/model_quantized.onnx": "int8 weights",
	"tokenizer.json":            "{}",
}

func TestHF_RepositoryDownloadedAndKeptUntilItsCommitMoves(t *testing.T) {
	h := newHub(t)
	h.put("onnx-community/bert", false, "main", "c0ffee1", onnxRepo)
	d := hubEnv(t, h)
	ctx := context.Background()

	dir, err := d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	assert.Equal(t, []string{"config.json={\"model_type\":\"bert\"}", "onnx/model.onnx=fp32 weights", "onnx/model_quantized.onnx=int8 weights", "tokenizer.json={}"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 3)
	assert.Equal(t, "INFO Copying contents of hf://onnx-community/bert (commit c0ffee1, 4 files) to local", logs[0])
	assert.Equal(t, "INFO Successfully copied hf://onnx-community/bert to "+dir, logs[1])
	assert.Regexp(t, `^INFO Model downloaded in \S+ \(4 files, 47 bytes\)\.$`, logs[2])

	// Restarts ask which commit main is at; nothing else while it stays.
	again, err := d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	info, files := h.calls()
	assert.Equal(t, 2, info)
	assert.Equal(t, 4, files)
	assert.Regexp(t, `^INFO hf://onnx-community/bert is at commit c0ffee1, downloaded on \S+; using `+regexpQuote(dir)+`$`, d.logs.take()[0])

	// main moves: downloaded again.
	h.put("onnx-community/bert", false, "main", "beef002", map[string]string{"onnx/model.onnx": "retrained"})
	again, err = d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	assert.NotEqual(t, dir, again, "a new version, in a folder of its own")
	dir = again
	assert.Equal(t, []string{"onnx/model.onnx=retrained"}, tree(t, dir))
	assert.Equal(t, "INFO Copying contents of hf://onnx-community/bert (commit beef002, 1 file) to local", d.logs.take()[0])

	// A pinned revision is its own download.
	pinned, err := d.resolver().Resolve(ctx, "hf://onnx-community/bert:c0ffee1")
	require.NoError(t, err)
	assert.NotEqual(t, dir, pinned)
	assert.Len(t, tree(t, pinned), 4)
	d.logs.take()

	// The Hub unreachable: the cached copy, with a warning.
	h.Close()
	again, err = d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot ask the Hub about hf://onnx-community/bert \(asking `+regexpQuote(h.URL)+` about hf://onnx-community/bert:main: .*connection refused\); serving the copy of commit beef002 downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
}

func TestHF_Patterns(t *testing.T) {
	h := newHub(t)
	h.put("onnx-community/bert", false, "main", "c0ffee1", onnxRepo)
	for name, c := range map[string]struct {
		allow, ignore string
		want          []string
	}{
		"JSON allow":          {`["onnx/model.onnx", "*.json"]`, "", []string{"config.json=", "onnx/model.onnx=", "tokenizer.json="}},
		"comma allow":         {"onnx/model.onnx, config.json", "", []string{"config.json=", "onnx/model.onnx="}},
		"star crosses slash":  {"*.onnx", "", []string{"onnx/model.onnx=", "onnx/model_quantized.onnx="}},
		"folder":              {"onnx/", "*quantized*", []string{"onnx/model.onnx="}},
		"ignore only":         {"", `["onnx/*"]`, []string{"config.json=", "tokenizer.json="}},
		"set and single char": {"onnx/model[._]?*", "", []string{"onnx/model.onnx=", "onnx/model_quantized.onnx="}},
	} {
		t.Run(name, func(t *testing.T) {
			d := hubEnv(t, h)
			d.env["STORAGE_ALLOW_PATTERNS"] = c.allow
			d.env["STORAGE_IGNORE_PATTERNS"] = c.ignore
			dir, err := d.resolver().Resolve(context.Background(), "hf://onnx-community/bert")
			require.NoError(t, err)
			var got []string
			for _, f := range tree(t, dir) {
				name, _, _ := strings.Cut(f, "=")
				got = append(got, name+"=")
			}
			assert.Equal(t, c.want, got)
		})
	}

	d := hubEnv(t, h)
	d.env["STORAGE_ALLOW_PATTERNS"] = "*.safetensors"
	_, err := d.resolver().Resolve(context.Background(), "hf://onnx-community/bert")
	assert.EqualError(t, err, `Failed to fetch model. No model found in hf://onnx-community/bert (commit c0ffee1 has 4 files; STORAGE_ALLOW_PATTERNS ["*.safetensors"], STORAGE_IGNORE_PATTERNS []).`)
	assertNoModelLeft(t, d.cache)

	d.env["STORAGE_ALLOW_PATTERNS"] = `["unclosed`
	_, err = d.resolver().Resolve(context.Background(), "hf://onnx-community/bert")
	assert.EqualError(t, err, "environment variable STORAGE_ALLOW_PATTERNS: want a JSON array of strings or a comma-separated list: unexpected end of JSON input")
}

// A private repository needs HF_TOKEN; the token goes to the Hub, not to
// the storage it redirects large files to.
func TestHF_PrivateRepositoryAndToken(t *testing.T) {
	h := newHub(t)
	h.put("acme/private-model", true, "main", "aaa111", map[string]string{"model.onnx": "secret weights", "README.md": "hi"})
	d := hubEnv(t, h)
	_, err := d.resolver().Resolve(context.Background(), "hf://acme/private-model")
	assert.EqualError(t, err, "hf://acme/private-model:main: the Hub answered 401 (no such repository or revision, or it is private or gated: set HF_TOKEN (or log in with hf auth login) to a token that may read it)")
	assert.ErrorIs(t, err, ErrNotFound)

	d.env["HF_TOKEN"] = hubToken
	dir, err := d.resolver().Resolve(context.Background(), "hf://acme/private-model")
	require.NoError(t, err)
	assert.Equal(t, []string{"README.md=hi", "model.onnx=secret weights"}, tree(t, dir))
	assert.Equal(t, []string{""}, h.authSeen, "the token is not sent to the redirect's host")
	for _, l := range d.logs.take() {
		assert.NotContains(t, l, hubToken)
	}

	_, err = d.resolver().Resolve(context.Background(), "hf://acme/private-model:no-such-branch")
	assert.EqualError(t, err, "hf://acme/private-model:no-such-branch: the Hub answered 404 (no such repository or revision, or HF_TOKEN may not read it)")
}

// Without HF_TOKEN the token is the file `hf auth login` wrote, found as
// huggingface_hub finds it; HF_HUB_DISABLE_IMPLICIT_TOKEN sends none.
func TestHF_TokenFromTheLoginFile(t *testing.T) {
	h := newHub(t)
	h.put("acme/private-model", true, "main", "aaa111", map[string]string{"model.onnx": "secret weights"})
	d := hubEnv(t, h)
	require.NoError(t, os.WriteFile(filepath.Join(d.env["HF_HOME"], "token"), []byte("  "+hubToken+"\r\n"), 0o600))
	dir, err := d.resolver().Resolve(context.Background(), "hf://acme/private-model")
	require.NoError(t, err, "the token in $HF_HOME/token")
	assert.Equal(t, []string{"model.onnx=secret weights"}, tree(t, dir))

	// HF_TOKEN_PATH names another file; a wrong token there is refused.
	other := filepath.Join(t.TempDir(), "hf-token")
	require.NoError(t, os.WriteFile(other, []byte("hf_wrong"), 0o600))
	d.env["HF_TOKEN_PATH"] = other
	_, err = d.resolver().Resolve(context.Background(), "hf://acme/private-model")
	assert.ErrorContains(t, err, "the Hub answered 401")

	// HF_TOKEN wins over any file.
	d.env["HF_TOKEN"] = hubToken
	_, err = d.resolver().Resolve(context.Background(), "hf://acme/private-model")
	require.NoError(t, err)

	// The default home: $XDG_CACHE_HOME/huggingface.
	delete(d.env, "HF_TOKEN")
	delete(d.env, "HF_TOKEN_PATH")
	delete(d.env, "HF_HOME")
	d.env["XDG_CACHE_HOME"] = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(d.env["XDG_CACHE_HOME"], "huggingface"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(d.env["XDG_CACHE_HOME"], "huggingface", "token"), []byte(hubToken+"\n"), 0o600))
	r := d.resolver()
	assert.Equal(t, hubToken, r.hfToken())
	d.env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "yes"
	assert.Empty(t, d.resolver().hfToken(), "no implicit token")
}

func TestHF_BadURIsAndListings(t *testing.T) {
	for uri, want := range map[string]string{
		"hf://just-a-name": "storage uri hf://just-a-name: URI must contain exactly one '/' separating the repo and model name",
		"hf://a/b/c":       "storage uri hf://a/b/c: URI must contain exactly one '/' separating the repo and model name",
		"hf:///model":      "storage uri hf:///model: Repository name cannot be empty",
		"hf://owner/":      "storage uri hf://owner/: Model name cannot be empty",
		"hf://owner/:v1":   "storage uri hf://owner/:v1: Model name cannot be empty",
	} {
		_, err := newDownloadEnv(t).resolver().Resolve(context.Background(), uri)
		assert.EqualError(t, err, want)
		assert.ErrorIs(t, err, ErrInvalidURI)
	}

	h := newHub(t)
	h.put("evil/repo", false, "main", "bad", map[string]string{"../outside.onnx": "x"})
	d := hubEnv(t, h)
	_, err := d.resolver().Resolve(context.Background(), "hf://evil/repo")
	assert.EqualError(t, err, `storage uri hf://evil/repo: the Hub listed the file "../outside.onnx", which would be written outside the model folder`)
	assertNoModelLeft(t, d.cache)
}

func TestFnmatch(t *testing.T) {
	for pattern, cases := range map[string]map[string]bool{
		"*.onnx":           {"model.onnx": true, "onnx/model.onnx": true, "model.onnx.data": false},
		"onnx/model?.onnx": {"onnx/model1.onnx": true, "onnx/model.onnx": false},
		"[!m]*":            {"config.json": true, "model.onnx": false},
		"a[bc]d":           {"abd": true, "acd": true, "add": false},
		"weird[":           {"weird[": true, "weird": false},
		"a.b":              {"a.b": true, "axb": false},
	} {
		re, err := fnmatch(pattern)
		require.NoError(t, err, pattern)
		for name, want := range cases {
			assert.Equal(t, want, re.MatchString(name), "%s ~ %s", name, pattern)
		}
	}
}

// A new commit that changed one file downloads that file only; the others
// come from the copy of the previous commit (their blob ids, or LFS
// sha256, are the same).
func TestHF_NewCommitReusesUnchangedFiles(t *testing.T) {
	h := newHub(t)
	h.put("onnx-community/bert", false, "main", "c0ffee1", onnxRepo)
	d := hubEnv(t, h)
	ctx := context.Background()
	dir, err := d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	_, files := h.calls()
	require.Equal(t, 4, files)

	changed := map[string]string{}
	for k, v := range onnxRepo {
		changed[k] = v
	}
	changed["config.json"] = `{"model_type":"bert","fixed":true}`
	h.put("onnx-community/bert", false, "main", "beef002", changed)
	d.logs.take()
	again, err := d.resolver().Resolve(ctx, "hf://onnx-community/bert")
	require.NoError(t, err)
	assert.NotEqual(t, dir, again, "a new version, in a folder of its own")
	dir = again
	_, files = h.calls()
	assert.Equal(t, 5, files, "only config.json fetched again")
	assert.Equal(t, []string{`config.json={"model_type":"bert","fixed":true}`, "onnx/model.onnx=fp32 weights", "onnx/model_quantized.onnx=int8 weights", "tokenizer.json={}"}, tree(t, dir))
	assert.Contains(t, d.logs.take(), "INFO Reused 3 unchanged files of commit c0ffee1")
}
