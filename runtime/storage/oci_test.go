package storage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
)

// ociRegistry is go-containerregistry's registry (the distribution API,
// in memory) on a loopback socket, counting what is fetched, and, once
// users are set, behind Docker's token authentication (or Basic).
type ociRegistry struct {
	*httptest.Server
	host string

	mu         sync.Mutex
	blobGets   int
	tokenCalls int
	users      map[string]string // user -> password; nil: no authentication
	refresh    string            // an identity token the token service takes
	basic      bool              // Basic authentication instead of tokens
	generation int               // tokens of older generations have expired
	rotate     bool              // each manifest served expires the token
	tamper     string            // a blob digest served with one byte changed
	hang       string            // a blob digest served in part, then nothing until the client leaves
}

func (o *ociRegistry) currentToken() string { return fmt.Sprintf("t0k3n-%d", o.generation) }

func newOCIRegistry(t *testing.T) *ociRegistry {
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	o := &ociRegistry{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if r.URL.Path == "/token" {
			o.tokenCalls++
			user, pass, ok := r.BasicAuth()
			switch {
			case r.Method == http.MethodPost && r.FormValue("grant_type") == "refresh_token" && r.FormValue("refresh_token") == o.refresh && o.refresh != "" &&
				r.FormValue("scope") == "repository:modelcar:pull":
				_ = json.NewEncoder(w).Encode(map[string]string{"access_token": o.currentToken()})
			case r.Method == http.MethodGet && ok && pass != "" && o.users[user] == pass && r.URL.Query().Get("scope") == "repository:modelcar:pull" &&
				r.URL.Query().Get("service") == "test":
				_ = json.NewEncoder(w).Encode(map[string]string{"token": o.currentToken()})
			default:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`)
			}
			return
		}
		if o.users != nil {
			var challenge string
			if o.basic {
				if user, pass, ok := r.BasicAuth(); !ok || o.users[user] != pass {
					challenge = `Basic realm="test"`
				}
			} else if r.Header.Get("Authorization") != "Bearer "+o.currentToken() {
				challenge = fmt.Sprintf(`Bearer realm=%q,service="test",scope="repository:modelcar:pull"`, o.URL+"/token")
			}
			if challenge != "" {
				w.Header().Set("WWW-Authenticate", challenge)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if o.rotate && strings.Contains(r.URL.Path, "/manifests/") {
			defer func() { o.generation++ }()
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			o.blobGets++
			if o.hang != "" && strings.HasSuffix(r.URL.Path, "/"+o.hang) {
				o.mu.Unlock()
				defer o.mu.Lock()
				w.Header().Set("Content-Length", "100000")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(make([]byte, 1000))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
		}
		if r.Method == http.MethodGet && o.tamper != "" && strings.HasSuffix(r.URL.Path, "/"+o.tamper) {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			b := rec.Body.Bytes()
			b[len(b)/3] ^= 0x01
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(b)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(o.Close)
	o.host = strings.TrimPrefix(o.URL, "http://")
	return o
}

func (o *ociRegistry) gets() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.blobGets
}

func (o *ociRegistry) repo(t *testing.T, name string) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(o.host + "/" + name)
	require.NoError(t, err)
	repo.PlainHTTP = true
	return repo
}

// push stores b in repo as a blob of mediaType.
func push(t *testing.T, repo *remote.Repository, mediaType string, b []byte) ocispec.Descriptor {
	t.Helper()
	d := content.NewDescriptorFromBytes(mediaType, b)
	require.NoError(t, repo.Push(context.Background(), d, bytes.NewReader(b)))
	return d
}

type testLayer struct {
	mediaType string
	data      []byte
}

func gzLayer(t *testing.T, entries ...entry) testLayer {
	return testLayer{ocispec.MediaTypeImageLayerGzip, tarball(t, true, entries...)}
}

func tarLayer(t *testing.T, entries ...entry) testLayer {
	return testLayer{ocispec.MediaTypeImageLayer, tarball(t, false, entries...)}
}

// pushImage pushes an image of layers and tags it (tag "": untagged); it
// returns the manifest's descriptor.
func pushImage(t *testing.T, repo *remote.Repository, tag string, layers ...testLayer) ocispec.Descriptor {
	t.Helper()
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    push(t, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"`+runtime.GOARCH+`","os":"linux","rootfs":{"type":"layers"}}`)),
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, push(t, repo, l.mediaType, l.data))
	}
	return pushManifest(t, repo, tag, ocispec.MediaTypeImageManifest, m)
}

func pushManifest(t *testing.T, repo *remote.Repository, tag, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	d := content.NewDescriptorFromBytes(mediaType, b)
	if tag == "" {
		require.NoError(t, repo.Push(context.Background(), d, bytes.NewReader(b)))
	} else {
		require.NoError(t, repo.PushReference(context.Background(), d, bytes.NewReader(b), tag))
	}
	return d
}

// baseLayer is a base image's file system: none of it is the model.
func baseLayer(t *testing.T) testLayer {
	return gzLayer(t,
		entry{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "bin/sh", body: "#!", mode: 0o755},
		entry{name: "etc/os-release", body: "ID=debian"},
	)
}

func ociEnv(t *testing.T) *downloadEnv {
	d := newDownloadEnv(t)
	// Docker's config of the machine running the tests must not count.
	d.env["DOCKER_CONFIG"] = t.TempDir()
	return d
}

func TestOCI_ModelcarDownloadedAndKeptUntilTheTagMoves(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	v1 := pushImage(t, repo, "v1",
		baseLayer(t),
		gzLayer(t,
			entry{name: "models/", typ: tar.TypeDir, mode: 0o755},
			entry{name: "models/model.onnx", body: "weights"},
			entry{name: "models/old.bin", body: "stale"},
			entry{name: "models/tokenizer/config.json", body: "{}"},
			entry{name: "models/latest", typ: tar.TypeSymlink, link: "tokenizer"},
			entry{name: "./models/abs", typ: tar.TypeSymlink, link: "/models/model.onnx"},
		),
		// A later layer: whiteouts of the layers below, and a hard link.
		tarLayer(t,
			entry{name: "models/.wh.old.bin"},
			entry{name: "models/tokenizer/.wh..wh..opq"},
			entry{name: "models/tokenizer/vocab.txt", body: "a b c"},
			entry{name: "models/hard", typ: tar.TypeLink, link: "models/model.onnx"},
		),
	)
	d := ociEnv(t)
	ctx := context.Background()
	uri := "oci://" + o.host + "/modelcar:v1"

	dir, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, []string{"abs->model.onnx", "hard=weights", "latest->tokenizer", "model.onnx=weights", "tokenizer/vocab.txt=a b c"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 3)
	assert.Equal(t, "INFO Copying contents of "+uri+" (manifest "+v1.Digest.String()+", 3 layers) to local", logs[0])
	assert.Equal(t, "INFO Successfully copied "+uri+" to "+dir, logs[1])
	assert.Regexp(t, `^INFO Model downloaded in \S+ \(3 layers, \d+ bytes\)\.$`, logs[2])
	assert.Equal(t, 3, o.gets(), "the config is not fetched, the three layers are")

	// A restart asks which manifest the tag names; nothing else while it stays.
	again, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Equal(t, 3, o.gets())
	assert.Regexp(t, `^INFO `+regexpQuote(uri)+` is at manifest `+v1.Digest.String()+`, downloaded on \S+; using `+regexpQuote(dir)+`$`, d.logs.take()[0])

	// KServe's newer spellings name the same image, and the same copy.
	for _, scheme := range []string{"oci+fetch://", "oci+native://"} {
		again, err = d.resolver().Resolve(ctx, scheme+o.host+"/modelcar:v1")
		require.NoError(t, err, scheme)
		assert.Equal(t, dir, again, scheme)
	}
	assert.Equal(t, 3, o.gets())
	d.logs.take()

	// The tag moves: downloaded again, into a folder of its own, without the
	// base image's layer, which had nothing for /models last time.
	base := content.NewDescriptorFromBytes(ocispec.MediaTypeImageLayerGzip, baseLayer(t).data).Digest.String()
	v2 := pushImage(t, repo, "v1", baseLayer(t), gzLayer(t, entry{name: "models/model.onnx", body: "retrained"}))
	again, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.NotEqual(t, dir, again)
	dir = again
	assert.Equal(t, []string{"model.onnx=retrained"}, tree(t, dir))
	assert.Equal(t, 4, o.gets(), "only the new model layer")
	logs = d.logs.take()
	require.Len(t, logs, 5)
	assert.Regexp(t, `^INFO `+regexpQuote(uri)+` has changed since its download on \S+ \(manifest `+v1.Digest.String()+`, now `+v2.Digest.String()+`\); downloading it again$`, logs[0])
	assert.Equal(t, "INFO Skipped 1 layer without /models, as in the last download: "+base, logs[2])
	assert.Regexp(t, `^INFO Model downloaded in \S+ \(1 layer, \d+ bytes\)\.$`, logs[4])

	// By digest: its own folder, and once cached it needs no registry.
	byDigest := "oci://" + o.host + "/modelcar@" + v1.Digest.String()
	pinned, err := d.resolver().Resolve(ctx, byDigest)
	require.NoError(t, err)
	assert.NotEqual(t, dir, pinned)
	assert.Len(t, tree(t, pinned), 5)
	d.logs.take()
	o.Close()
	again, err = d.resolver().Resolve(ctx, byDigest)
	require.NoError(t, err)
	assert.Equal(t, pinned, again)
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^INFO `+regexpQuote(byDigest)+` is at manifest `, logs[0])

	// The registry unreachable: the tag's cached copy, with a warning.
	again, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot ask the registry about `+regexpQuote(uri)+` \(storage uri `+regexpQuote(uri)+`: .*connection refused\); serving the copy of manifest `+v2.Digest.String()+` downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
}

func TestOCI_IndexPicksThisMachinesPlatform(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	ours := pushImage(t, repo, "", gzLayer(t, entry{name: "models/arch.txt", body: runtime.GOARCH}))
	other := pushImage(t, repo, "", gzLayer(t, entry{name: "models/arch.txt", body: "other"}))
	att := pushImage(t, repo, "", tarLayer(t, entry{name: "attestation.json", body: "{}"}))
	withPlatform := func(d ocispec.Descriptor, os, arch string) ocispec.Descriptor {
		d.Platform = &ocispec.Platform{OS: os, Architecture: arch}
		return d
	}
	index := func(ds ...ocispec.Descriptor) ocispec.Index {
		return ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: ds}
	}
	pushManifest(t, repo, "multi", ocispec.MediaTypeImageIndex, index(
		withPlatform(att, "unknown", "unknown"),
		withPlatform(other, "linux", "notanarch"),
		withPlatform(ours, "linux", runtime.GOARCH),
	))
	pushManifest(t, repo, "elsewhere", ocispec.MediaTypeImageIndex, index(
		withPlatform(other, "linux", "notanarch"),
		withPlatform(other, "windows", runtime.GOARCH),
		withPlatform(att, "unknown", "unknown"),
	))
	d := ociEnv(t)
	ctx := context.Background()

	dir, err := d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:multi")
	require.NoError(t, err)
	assert.Equal(t, []string{"arch.txt=" + runtime.GOARCH}, tree(t, dir))

	_, err = d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:elsewhere")
	assert.EqualError(t, err, "storage uri oci://"+o.host+"/modelcar:elsewhere: the image has no linux/"+runtime.GOARCH+
		" variant (it has linux/notanarch, windows/"+runtime.GOARCH+"), which KServe would pull on this machine")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestOCI_ImagesWithoutAModel(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	pushImage(t, repo, "base", baseLayer(t))
	pushImage(t, repo, "deleted", baseLayer(t), gzLayer(t, entry{name: "models/m.onnx", body: "w"}), tarLayer(t, entry{name: ".wh.models"}))
	pushImage(t, repo, "empty", baseLayer(t), gzLayer(t, entry{name: "models/", typ: tar.TypeDir}))
	pushImage(t, repo, "linked", baseLayer(t), gzLayer(t, entry{name: "models", typ: tar.TypeSymlink, link: "/data"}))
	ctx := context.Background()
	noModels := ": the image has no /models/ directory: a modelcar image keeps its model in /models, which KServe mounts at /mnt/models"
	for tag, want := range map[string]string{
		"base":    "storage uri oci://" + o.host + "/modelcar:base" + noModels,
		"deleted": "storage uri oci://" + o.host + "/modelcar:deleted" + noModels,
		"empty":   "Failed to fetch model. No model found in oci://" + o.host + "/modelcar:empty.",
		"linked":  "storage uri oci://" + o.host + "/modelcar:linked: layer 2 of 2 (",
	} {
		d := ociEnv(t)
		_, err := d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:"+tag)
		require.Error(t, err, tag)
		if tag == "linked" {
			assert.Contains(t, err.Error(), want)
			assert.True(t, strings.HasSuffix(err.Error(), "): the image's /models is a symbolic link to /data, not a folder"), err.Error())
		} else {
			assert.EqualError(t, err, want)
			assert.ErrorIs(t, err, ErrNotFound)
		}
		assertNoModelLeft(t, d.cache)
	}
}

func TestOCI_RefusedLayers(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	model := tarball(t, false, entry{name: "models/m.onnx", body: "w"})
	zstd := pushImage(t, repo, "zstd", baseLayer(t), testLayer{ocispec.MediaTypeImageLayerZstd, []byte{0x28, 0xb5, 0x2f, 0xfd, 0}})
	artifact := pushImage(t, repo, "artifact", testLayer{"application/vnd.acme.model.onnx", model})
	pushImage(t, repo, "mislabelled", testLayer{ocispec.MediaTypeImageLayer, []byte{0x28, 0xb5, 0x2f, 0xfd, 0}})
	d := ociEnv(t)
	ctx := context.Background()
	before := o.gets()

	_, err := d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:zstd")
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(fetch(t, repo, zstd), &m))
	assert.EqualError(t, err, "storage uri oci://"+o.host+"/modelcar:zstd: layer "+m.Layers[1].Digest.String()+
		": zstd-compressed layers are not supported (neither are they by KServe's storage-initializer); push the image with gzip layers (docker buildx: --output type=image,compression=gzip)")
	assert.ErrorIs(t, err, ErrDownload)

	_, err = d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:artifact")
	require.NoError(t, json.Unmarshal(fetch(t, repo, artifact), &m))
	assert.EqualError(t, err, "storage uri oci://"+o.host+"/modelcar:artifact: layer "+m.Layers[0].Digest.String()+
		": media type application/vnd.acme.model.onnx is not an image file-system layer: oci:// takes modelcar images, whose file system has the model in /models")
	assert.Equal(t, before, o.gets(), "refused before any layer is downloaded")

	_, err = d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:mislabelled")
	assert.Regexp(t, `^storage uri oci://`+regexpQuote(o.host)+`/modelcar:mislabelled: layer 1 of 1 \(sha256:\w+\): the layer is zstd-compressed, which is not supported; push the image with gzip layers$`, err.Error())
	assertNoModelLeft(t, d.cache)
}

// fetch reads a manifest back.
func fetch(t *testing.T, repo *remote.Repository, d ocispec.Descriptor) []byte {
	t.Helper()
	rc, err := repo.Fetch(context.Background(), d)
	require.NoError(t, err)
	defer rc.Close()
	b, err := content.ReadAll(rc, d)
	require.NoError(t, err)
	return b
}

func TestOCI_TamperedLayerIsRefused(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	layer := tarLayer(t, entry{name: "models/model.onnx", body: strings.Repeat("weights ", 200)})
	pushImage(t, repo, "v1", layer)
	o.tamper = content.NewDescriptorFromBytes(layer.mediaType, layer.data).Digest.String()
	d := ociEnv(t)

	_, err := d.resolver().Resolve(context.Background(), "oci://"+o.host+"/modelcar:v1")
	require.Error(t, err)
	assert.Regexp(t, `^downloading oci://`+regexpQuote(o.host)+`/modelcar:v1: layer 1 of 1 \(`+o.tamper+`\): the content the registry sent does not match its digest \(got sha256:\w{64}, want `+o.tamper+`\)$`, err.Error())
	assert.ErrorIs(t, err, ErrDownload)
	assertNoModelLeft(t, d.cache)

	// A manifest asked for by digest is checked against it too.
	m := pushImage(t, repo, "", gzLayer(t, entry{name: "models/m", body: "w"}))
	o.mu.Lock()
	o.tamper = m.Digest.String()
	o.mu.Unlock()
	uri := "oci://" + o.host + "/modelcar@" + o.tamper
	_, err = d.resolver().Resolve(context.Background(), uri)
	assert.Regexp(t, `^storage uri `+regexpQuote(uri)+`: the content the registry sent does not match its digest \(got sha256:\w{64}, want `+o.tamper+`\)$`, err.Error())
	assert.ErrorIs(t, err, ErrDownload)
	assertNoModelLeft(t, d.cache)
}

func TestOCI_StalledAndCancelledDownloads(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	layer := gzLayer(t, entry{name: "models/model.onnx", body: "weights"})
	pushImage(t, repo, "v1", baseLayer(t), layer)
	o.mu.Lock()
	o.hang = content.NewDescriptorFromBytes(layer.mediaType, layer.data).Digest.String()
	o.mu.Unlock()
	uri := "oci://" + o.host + "/modelcar:v1"

	d := ociEnv(t)
	r := d.resolver()
	r.StallTimeout = 300 * time.Millisecond
	_, err := r.Resolve(context.Background(), uri)
	assert.EqualError(t, err, "downloading "+uri+": layer 2 of 2 ("+o.hang+"): no data received for 300ms")
	assert.ErrorIs(t, err, ErrDownload)
	assertNoModelLeft(t, d.cache)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = d.resolver().Resolve(ctx, uri)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, strings.HasPrefix(err.Error(), "downloading "+uri+": layer 2 of 2 ("), err.Error())
	assertNoModelLeft(t, d.cache)
}

func TestOCI_HostileLayers(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	d := ociEnv(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(d.cache), "escaped")
	for tag, c := range map[string]struct {
		layer testLayer
		want  string // the error's end; "" for none
	}{
		"climbing-name": {gzLayer(t, entry{name: "models/../../../" + outside, body: "x"}, entry{name: "models/m", body: "w"}), ""},
		"link-out":      {gzLayer(t, entry{name: "models/evil", typ: tar.TypeSymlink, link: "../../etc"}), "models/evil: symbolic link to ../../etc points outside the target folder"},
		"abs-link":      {gzLayer(t, entry{name: "models/evil", typ: tar.TypeSymlink, link: "/etc/passwd"}), "models/evil: symbolic link to the absolute path /etc/passwd"},
		"hard-link-out": {gzLayer(t, entry{name: "etc/passwd", body: "root"}, entry{name: "models/h", typ: tar.TypeLink, link: "etc/passwd"}), "models/h: hard link to etc/passwd, which is not a file of /models extracted before it"},
		"device":        {gzLayer(t, entry{name: "models/dev", typ: tar.TypeChar}), "models/dev: character device entries are not allowed in a model folder"},
		// The later entry makes x, lexically inside, the folder above
		// /models.
		"link-out-through-link": {gzLayer(t, entry{name: "models/x", typ: tar.TypeSymlink, link: "d/c/.."}, entry{name: "models/d/c", typ: tar.TypeSymlink, link: ".."}),
			"models/x: symbolic link to d/c/.. points outside the target folder"},
		"through-link": {gzLayer(t, entry{name: "models/l", typ: tar.TypeSymlink, link: "."}, entry{name: "models/l/x", body: "w"}),
			"models/l/x: the entry's folder l is a symbolic link"},
	} {
		t.Run(tag, func(t *testing.T) {
			pushImage(t, repo, tag, c.layer)
			dir, err := d.resolver().Resolve(ctx, "oci://"+o.host+"/modelcar:"+tag)
			if c.want == "" {
				require.NoError(t, err)
				assert.Equal(t, []string{"m=w"}, tree(t, dir), "a name climbing out of the image's root stays outside /models")
				assert.NoFileExists(t, outside)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasSuffix(err.Error(), c.want), err.Error())
			assert.ErrorIs(t, err, ErrDownload)
		})
	}
}

func TestOCI_Credentials(t *testing.T) {
	o := newOCIRegistry(t)
	pushImage(t, o.repo(t, "modelcar"), "v1", gzLayer(t, entry{name: "models/m.onnx", body: "private"}))
	o.mu.Lock()
	o.users = map[string]string{"alice": "s3cret"}
	o.mu.Unlock()
	ctx := context.Background()
	uri := "oci://" + o.host + "/modelcar:v1"

	t.Run("none", func(t *testing.T) {
		_, err := ociEnv(t).resolver().Resolve(ctx, uri)
		assert.EqualError(t, err, "storage uri "+uri+": the registry refused access (401 UNAUTHORIZED: bad credentials): log in with docker login "+o.host+
			", or set KSERVE_OCI_DOCKER_CONFIG to a Docker config.json with credentials for it")
		assert.ErrorIs(t, err, ErrNotFound)
	})

	basic := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	t.Run("KServe's mounted config", func(t *testing.T) {
		d := ociEnv(t)
		cfg := filepath.Join(t.TempDir(), "config.json")
		require.NoError(t, os.WriteFile(cfg, []byte(`{"auths":{"`+o.host+`":{"auth":"`+basic+`"}}}`), 0o600))
		d.env["KSERVE_OCI_DOCKER_CONFIG"] = cfg
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"m.onnx=private"}, tree(t, dir))
	})

	t.Run("docker login's credential helper", func(t *testing.T) {
		bin := t.TempDir()
		helper := "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = \"" + o.host + "\" ] && echo '{\"ServerURL\":\"'$server'\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}'\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, "docker-credential-kservetest"), []byte(helper), 0o755))
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		d := ociEnv(t)
		require.NoError(t, os.WriteFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"), []byte(`{"credHelpers":{"`+o.host+`":"kservetest"}}`), 0o600))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"m.onnx=private"}, tree(t, dir))
	})

	t.Run("an identity token", func(t *testing.T) {
		o.mu.Lock()
		o.refresh = "refresh-123"
		o.mu.Unlock()
		d := ociEnv(t)
		require.NoError(t, os.WriteFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"),
			[]byte(`{"auths":{"http://`+o.host+`/v2/":{"identitytoken":"refresh-123"}}}`), 0o600))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"m.onnx=private"}, tree(t, dir))
	})

	t.Run("a token that expires during the download", func(t *testing.T) {
		o.mu.Lock()
		o.rotate, o.tokenCalls = true, 0
		o.mu.Unlock()
		defer func() { o.mu.Lock(); o.rotate = false; o.mu.Unlock() }()
		d := ociEnv(t)
		require.NoError(t, os.WriteFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"), []byte(`{"auths":{"`+o.host+`":{"username":"alice","password":"s3cret"}}}`), 0o600))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"m.onnx=private"}, tree(t, dir))
		o.mu.Lock()
		defer o.mu.Unlock()
		assert.Equal(t, 3, o.tokenCalls, "one token for the tag, a new one for the manifest, and another for the layer")
	})

	t.Run("Basic authentication", func(t *testing.T) {
		o.mu.Lock()
		o.basic = true
		o.mu.Unlock()
		defer func() { o.mu.Lock(); o.basic = false; o.mu.Unlock() }()
		d := ociEnv(t)
		_, err := d.resolver().Resolve(ctx, uri)
		assert.EqualError(t, err, "storage uri "+uri+": the registry refused access (401 the registry wants a user name and password): log in with docker login "+o.host+
			", or set KSERVE_OCI_DOCKER_CONFIG to a Docker config.json with credentials for it")
		require.NoError(t, os.WriteFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"), []byte(`{"auths":{"`+o.host+`":{"auth":"`+basic+`"}}}`), 0o600))
		dir, err := d.resolver().Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"m.onnx=private"}, tree(t, dir))
	})

	t.Run("unreadable config", func(t *testing.T) {
		d := ociEnv(t)
		require.NoError(t, os.WriteFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"), []byte(`{"auths":`), 0o600))
		_, err := d.resolver().Resolve(ctx, uri)
		assert.ErrorIs(t, err, ErrNotFound)
		logs := d.logs.take()
		require.NotEmpty(t, logs)
		assert.Regexp(t, `^WARN Cannot read registry credentials for `+regexpQuote(o.host)+` \(.*config\.json.*\); pulling anonymously$`, logs[0])
	})
}

func TestParseOCI(t *testing.T) {
	for uri, want := range map[string]string{
		"oci://ubuntu":                                "docker.io/library/ubuntu:latest",
		"oci://kserve/modelcar:v1":                    "docker.io/kserve/modelcar:v1",
		"oci://localhost:5000/models/iris":            "localhost:5000/models/iris:latest",
		"oci://ghcr.io/acme/bert:int8":                "ghcr.io/acme/bert:int8",
		"oci://quay.io/acme/bert@sha256:" + zeros(64): "quay.io/acme/bert@sha256:" + zeros(64),
		"oci+fetch://ghcr.io/acme/bert:int8":          "ghcr.io/acme/bert:int8",
		"oci+native://ghcr.io/acme/bert:int8":         "ghcr.io/acme/bert:int8",
	} {
		ref, err := parseOCI(uri)
		require.NoError(t, err, uri)
		assert.Equal(t, want, ref.String(), uri)
	}
	for uri, why := range map[string]string{
		"oci://ghcr.io/Acme/Bert":                  "the repository Acme/Bert must be lowercase letters and digits, separated by / . _ or -",
		"oci://ghcr.io/acme//bert":                 "the repository acme//bert must be lowercase letters and digits, separated by / . _ or -",
		"oci://ghcr.io/acme/bert:v1/x":             "the repository acme/bert:v1/x must be lowercase letters and digits, separated by / . _ or -",
		"oci://ghcr.io/acme/bert:-v1":              "the tag -v1 has characters other than letters, digits, _ . - or more than 128 of them",
		"oci://ghcr.io/acme/bert@sha256:":          "the digest sha256: is not sha256:<64 hex digits> or sha512:<128 hex digits>",
		"oci://ghcr.io/acme/bert@md5:" + zeros(32): "the digest md5:" + zeros(32) + " is not sha256:<64 hex digits> or sha512:<128 hex digits>",
	} {
		_, err := parseOCI(uri)
		assert.EqualError(t, err, "storage uri "+uri+": want oci://<registry>/<repository>[:<tag>|@<digest>]: "+why, uri)
		assert.ErrorIs(t, err, ErrInvalidURI)
	}
}

func zeros(n int) string { return strings.Repeat("0", n) }

func TestDockerCredentials(t *testing.T) {
	ctx := context.Background()
	cfg := filepath.Join(t.TempDir(), "config.json")
	write := func(s string) {
		require.NoError(t, os.WriteFile(cfg, []byte(s), 0o600))
	}
	alice := base64.StdEncoding.EncodeToString([]byte("alice:pw:with:colons"))

	// Docker Hub's credentials are kept under Docker's index URL.
	write(`{"auths":{"https://index.docker.io/v1/":{"auth":"` + alice + `"},"ghcr.io":{"username":"bob","password":"x"}}}`)
	c, err := readDockerCredential(ctx, cfg, "docker.io")
	require.NoError(t, err)
	assert.Equal(t, registryCredential{user: "alice", secret: "pw:with:colons"}, c)
	c, err = readDockerCredential(ctx, cfg, "ghcr.io")
	require.NoError(t, err)
	assert.Equal(t, registryCredential{user: "bob", secret: "x"}, c)
	c, err = readDockerCredential(ctx, cfg, "quay.io")
	require.NoError(t, err)
	assert.Equal(t, registryCredential{}, c, "no entry: anonymous")

	_, err = readDockerCredential(ctx, filepath.Join(t.TempDir(), "none.json"), "ghcr.io")
	require.NoError(t, err, "no config file: anonymous")

	write(`{"auths":{"ghcr.io":{"auth":"not base64!"}}}`)
	_, err = readDockerCredential(ctx, cfg, "ghcr.io")
	assert.ErrorContains(t, err, cfg+`: auths["ghcr.io"].auth is not base64`)

	// A credential store that knows nothing is no credentials; one that is
	// not installed is an error (and a warning: the pull goes on anonymously).
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "docker-credential-empty"), []byte("#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	write(`{"credsStore":"empty"}`)
	c, err = readDockerCredential(ctx, cfg, "ghcr.io")
	require.NoError(t, err)
	assert.Equal(t, registryCredential{}, c)
	write(`{"credsStore":"absent"}`)
	_, err = readDockerCredential(ctx, cfg, "ghcr.io")
	assert.ErrorContains(t, err, "docker-credential-absent get: ")
}

func TestParseChallenge(t *testing.T) {
	scheme, params := parseChallenge(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push", error=insufficient_scope`)
	assert.Equal(t, "Bearer", scheme)
	assert.Equal(t, map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:a/b:pull,push", "error": "insufficient_scope"}, params)
	scheme, params = parseChallenge(`Basic realm="Registry \"x\""`)
	assert.Equal(t, "Basic", scheme)
	assert.Equal(t, map[string]string{"realm": `Registry "x"`}, params)
}

// A whiteout applies to the folder its layer names, never through a link:
// x, lexically inside /models, resolves to the folder above it (the cache)
// through d/c, and its whiteouts deleted the cache's other entries.
func TestOCI_WhiteoutsThroughLinks(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	d := ociEnv(t)
	require.NoError(t, os.MkdirAll(d.cache, 0o755))
	victim := filepath.Join(d.cache, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("another model"), 0o644))
	escape := []entry{{name: "models/d/c", typ: tar.TypeSymlink, link: ".."}, {name: "models/x", typ: tar.TypeSymlink, link: "d/c/.."}}
	for tag, c := range map[string]struct {
		whiteout string
		want     string
	}{
		"file":   {"models/x/.wh.victim", "models/x/.wh.victim: the entry's folder x is a symbolic link"},
		"opaque": {"models/x/.wh..wh..opq", "models/x/.wh..wh..opq: the entry's folder x is a symbolic link"},
	} {
		t.Run(tag, func(t *testing.T) {
			pushImage(t, repo, tag, gzLayer(t, append(escape, entry{name: c.whiteout})...))
			_, err := d.resolver().Resolve(context.Background(), "oci://"+o.host+"/modelcar:"+tag)
			require.Error(t, err)
			assert.True(t, strings.HasSuffix(err.Error(), c.want), err.Error())
			assert.FileExists(t, victim)
		})
	}
}

// A whiteout names one entry of its folder: ".wh.", ".wh.." and ".wh..."
// name none. ".wh..." removed the folder above /models, the download
// cache with every model in it.
func TestOCI_WhiteoutOfDotDot(t *testing.T) {
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	for tag, name := range map[string]string{"dotdot": "models/.wh...", "dot": "models/.wh..", "sub-dotdot": "models/sub/.wh...", "empty": "models/sub/.wh."} {
		t.Run(tag, func(t *testing.T) {
			d := ociEnv(t)
			require.NoError(t, os.MkdirAll(d.cache, 0o755))
			victim := filepath.Join(d.cache, "victim")
			require.NoError(t, os.WriteFile(victim, []byte("another model"), 0o644))
			pushImage(t, repo, tag, gzLayer(t, entry{name: "models/sub/m", body: "w"}, entry{name: name}))
			_, err := d.resolver().Resolve(context.Background(), "oci://"+o.host+"/modelcar:"+tag)
			require.Error(t, err)
			assert.True(t, strings.HasSuffix(err.Error(), name+": a whiteout must name a file or folder"), err.Error())
			assert.FileExists(t, victim)
		})
	}
}
