package storage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pod lays out a pod's mount points in a temporary directory.
type pod struct {
	root   string
	models string
	pvc    string
}

func newPod(t *testing.T) pod {
	root := t.TempDir()
	return pod{root: root, models: filepath.Join(root, "mnt", "models"), pvc: filepath.Join(root, "mnt", "pvc")}
}

func (p pod) resolver() Resolver { return Resolver{ModelsRoot: p.models, PVCRoot: p.pvc} }

func mkfile(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("model"), 0o644))
}

func TestResolve_Local(t *testing.T) {
	p := newPod(t)
	model := filepath.Join(p.root, "work", "model.onnx")
	mkfile(t, model)
	dir := filepath.Dir(model)
	r := p.resolver()
	ctx := context.Background()

	for uri, want := range map[string]string{
		dir:               dir,
		model:             model,
		"file://" + dir:   dir,
		"file://" + model: model,
	} {
		got, err := r.Resolve(ctx, uri)
		require.NoError(t, err, uri)
		assert.Equal(t, want, got, uri)
	}
}

func TestResolve_RelativePath(t *testing.T) {
	dir := t.TempDir()
	mkfile(t, filepath.Join(dir, "models", "m.bin"))
	t.Chdir(dir)
	got, err := Resolver{}.Resolve(context.Background(), "models")
	require.NoError(t, err)
	assert.Equal(t, "models", got)
}

func TestResolve_MissingLocal(t *testing.T) {
	p := newPod(t)
	missing := filepath.Join(p.root, "nope")
	for _, uri := range []string{"file://" + missing, missing} {
		_, err := p.resolver().Resolve(context.Background(), uri)
		assert.EqualError(t, err, "Local path "+uri+" does not exist.")
		assert.ErrorIs(t, err, ErrNotFound)
	}
}

func TestResolve_MissingPVCMountPath(t *testing.T) {
	p := newPod(t)
	uri := filepath.Join(p.pvc, "iris")
	_, err := p.resolver().Resolve(context.Background(), uri)
	assert.EqualError(t, err, "Cannot locate source uri "+uri+" for PVC")
	assert.ErrorIs(t, err, ErrNotFound)

	mkfile(t, filepath.Join(uri, "model.joblib"))
	got, err := p.resolver().Resolve(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, uri, got)
}

func TestResolve_ModelsRootPassesThrough(t *testing.T) {
	p := newPod(t)
	// Multi-model mode: the agent fills /mnt/models later, so it need not exist.
	uri := filepath.Join(p.models, "m1")
	got, err := p.resolver().Resolve(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, uri, got)
}

func TestResolve_PVC(t *testing.T) {
	ctx := context.Background()

	t.Run("legacy mount under /mnt/pvc", func(t *testing.T) {
		p := newPod(t)
		mkfile(t, filepath.Join(p.pvc, "models", "iris", "model.joblib"))
		mkfile(t, filepath.Join(p.models, "other"))
		got, err := p.resolver().Resolve(ctx, "pvc://claim/models/iris")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(p.pvc, "models", "iris"), got)
	})
	t.Run("sub-path mounted at /mnt/models", func(t *testing.T) {
		p := newPod(t)
		mkfile(t, filepath.Join(p.models, "model.joblib"))
		got, err := p.resolver().Resolve(ctx, "pvc://claim/models/iris")
		require.NoError(t, err)
		assert.Equal(t, p.models, got)
	})
	t.Run("whole claim", func(t *testing.T) {
		p := newPod(t)
		mkfile(t, filepath.Join(p.pvc, "model.joblib"))
		got, err := p.resolver().Resolve(ctx, "pvc://claim")
		require.NoError(t, err)
		assert.Equal(t, p.pvc, got)
	})
	t.Run("path cannot climb out of the mount", func(t *testing.T) {
		p := newPod(t)
		mkfile(t, filepath.Join(p.pvc, "etc", "m"))
		mkfile(t, filepath.Join(p.root, "mnt", "etc", "secret"))
		got, err := p.resolver().Resolve(ctx, "pvc://claim/../etc")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(p.pvc, "etc"), got)
	})
	t.Run("nothing mounted", func(t *testing.T) {
		p := newPod(t)
		_, err := p.resolver().Resolve(ctx, "pvc://claim/models/iris")
		assert.EqualError(t, err, "Cannot locate source uri pvc://claim/models/iris for PVC (looked for "+
			filepath.Join(p.pvc, "models", "iris")+" and "+p.models+")")
		assert.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("no claim", func(t *testing.T) {
		p := newPod(t)
		_, err := p.resolver().Resolve(ctx, "pvc:///models")
		assert.EqualError(t, err, "invalid pvc uri pvc:///models: want pvc://<claim>/<path>")
		assert.ErrorIs(t, err, ErrInvalidURI)
	})
}

func TestResolve_RemoteSchemes(t *testing.T) {
	ctx := context.Background()
	// The error shows the URI as logs do: a SAS signature or a password as
	// xxxxx.
	uris := map[string]struct{ scheme, shown string }{
		"https://acct.z12.file.storage.azure.net/s/iris":                 {"Azure File storage", ""},
		"https://acct.file.core.windows.net/s/iris?sv=2021-08-06&sig=S3": {"Azure File storage", "https://acct.file.core.windows.net/s/iris?sig=xxxxx&sv=2021-08-06"},
		"modelscope://qwen/Qwen2-0.5B":                                   {"modelscope://", ""},
		"hdfs://nn/models":                                               {"hdfs://", ""},
		"https://git.example.com/team/models.git":                        {"a git repository", ""},
		"https://me:t0ken@git.example.com/team/models.git":               {"a git repository", "https://me:xxxxx@git.example.com/team/models.git"},
	}
	for uri, c := range uris {
		t.Run(uri, func(t *testing.T) {
			scheme, shown := c.scheme, c.shown
			if shown == "" {
				shown = uri
			}
			p := newPod(t)
			_, err := p.resolver().Resolve(ctx, uri)
			assert.EqualError(t, err, "storage uri "+shown+": "+scheme+" is not supported yet: "+
				"the Go server reads models from local paths, file://, pvc://, http(s)://, hf://, gs://, s3://, Azure Blob, oci:// and "+p.models+"; "+
				scheme+" is downloaded by the KServe storage-initializer: set storageUri (or the STORAGE_URI env var "+
				"of a custom container) on the InferenceService and it downloads the model into "+p.models+
				" before the server starts")
			assert.True(t, errors.Is(err, ErrUnsupportedScheme))

			// On a pod the storage-initializer has already downloaded it.
			mkfile(t, filepath.Join(p.models, "model.bin"))
			got, err := p.resolver().Resolve(ctx, uri)
			require.NoError(t, err)
			assert.Equal(t, p.models, got)
		})
	}
}

func TestResolve_EmptyDownloadDirIsNotADownload(t *testing.T) {
	p := newPod(t)
	require.NoError(t, os.MkdirAll(p.models, 0o755))
	_, err := p.resolver().Resolve(context.Background(), "hdfs://nn/models/iris")
	assert.ErrorIs(t, err, ErrUnsupportedScheme)
}

func TestResolve_EmptyURIAndCancelledContext(t *testing.T) {
	_, err := Resolve(context.Background(), "")
	assert.EqualError(t, err, "empty storage uri")
	assert.ErrorIs(t, err, ErrInvalidURI)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Resolve(ctx, t.TempDir())
	assert.ErrorIs(t, err, context.Canceled)
}

func TestResolve_DefaultRoots(t *testing.T) {
	r := Resolver{}
	assert.Equal(t, "/mnt/models", r.modelsRoot())
	assert.Equal(t, "/mnt/pvc", r.pvcRoot())
	// /mnt/models/... passes through even where it does not exist.
	got, err := Resolve(context.Background(), "/mnt/models/m1")
	require.NoError(t, err)
	assert.Equal(t, "/mnt/models/m1", got)
}

// Under KServe's modelcar the server's container has MODEL_INIT_MODE=async
// and the sidecar links its /models to /mnt/models a moment after the
// server starts (kubelet starts it later). Resolve waits for the link
// instead of pulling the image itself (which failed at once, or repeated
// the node's pull with the pod's credentials).
func TestResolve_ModelcarAsyncWaitsForTheModelsRoot(t *testing.T) {
	var asked atomic.Int32
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		asked.Add(1)
		http.NotFound(w, req)
	}))
	defer registry.Close()
	uri := "oci://" + strings.TrimPrefix(registry.URL, "http://") + "/models/iris:v1"
	p := newPod(t)
	r := p.resolver()
	r.Getenv = func(k string) string {
		if k == "MODEL_INIT_MODE" {
			return "async"
		}
		return ""
	}
	car := filepath.Join(p.root, "proc", "42", "root", "models")
	mkfile(t, filepath.Join(car, "model.onnx"))
	linked := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		if err := os.MkdirAll(filepath.Dir(p.models), 0o755); err != nil {
			linked <- err
			return
		}
		linked <- os.Symlink(car, p.models) // what the modelcar's `ln -sf` does
	}()
	ctx := context.Background()
	dir, err := r.Resolve(ctx, uri)
	require.NoError(t, err)
	require.NoError(t, <-linked)
	assert.Equal(t, p.models, dir)
	assert.FileExists(t, filepath.Join(dir, "model.onnx"))

	// Cancelled while waiting (SIGTERM, or the test's deadline here): the
	// error names what it waited for.
	r.ModelsRoot = newPod(t).models
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = r.Resolve(ctx, uri)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualError(t, err, "storage uri "+uri+": waiting for "+r.ModelsRoot+" (MODEL_INIT_MODE=async): context deadline exceeded")
	assert.Zero(t, asked.Load(), "the registry is never asked")
}

func TestFolderNames(t *testing.T) {
	got := folderNames([]string{"models/iris/sub/labels.txt", "models/iris/model.onnx", "models/iris", "top", "a//b"}, func(s string) string { return s })
	assert.Equal(t, map[string]bool{"models": true, "models/iris": true, "models/iris/sub": true, "a/": true, "a": true}, got)
}
