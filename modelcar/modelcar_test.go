package modelcar

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
)

func write(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), mode))
	require.NoError(t, os.Chmod(p, mode))
}

// modelFolder is a model folder with a file, a script, a sub-folder and
// two links.
func modelFolder(t *testing.T) string {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "model.onnx"), "weights", 0o600)
	write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh", 0o775)
	write(t, filepath.Join(dir, "tokenizer", "vocab.txt"), "a b c", 0o644)
	require.NoError(t, os.Symlink("model.onnx", filepath.Join(dir, "latest")))
	require.NoError(t, os.Symlink("../model.onnx", filepath.Join(dir, "tokenizer", "model")))
	return dir
}

// contents lists a layer's entries as "name mode [content|->link]".
func contents(t *testing.T, rc io.ReadCloser) []string {
	t.Helper()
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		assert.True(t, h.ModTime.Equal(epoch), "%s: %s", h.Name, h.ModTime)
		assert.Equal(t, 0, h.Uid, h.Name)
		assert.Equal(t, 0, h.Gid, h.Name)
		line := h.Name + " " + os.FileMode(h.Mode).String()
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			line += " " + string(b)
		case tar.TypeSymlink:
			line += " ->" + h.Linkname
		}
		out = append(out, line)
	}
}

func TestLayer(t *testing.T) {
	dir := modelFolder(t)
	f, err := Scan(dir)
	require.NoError(t, err)
	assert.Equal(t, Stats{Files: 3, Bytes: int64(len("weights") + len("#!/bin/sh") + len("a b c"))}, f.Stats)
	l, err := f.Layer(types.DockerLayer)
	require.NoError(t, err)
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"models/ -rwxr-xr-x",
		"models/latest -rwxrwxrwx ->model.onnx",
		"models/model.onnx -rw-r--r-- weights",
		"models/run.sh -rwxr-xr-x #!/bin/sh",
		"models/tokenizer/ -rwxr-xr-x",
		"models/tokenizer/model -rwxrwxrwx ->../model.onnx",
		"models/tokenizer/vocab.txt -rw-r--r-- a b c",
	}, contents(t, rc))
	mt, err := l.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.DockerLayer, mt)

	// The same files, touched and copied elsewhere: the same layer.
	d1, err := l.Digest()
	require.NoError(t, err)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "model.onnx"), later, later))
	again := layerOf(t, dir, types.DockerLayer)
	d2, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2)

	write(t, filepath.Join(dir, "model.onnx"), "retrained", 0o644)
	changed := layerOf(t, dir, types.DockerLayer)
	d3, err := changed.Digest()
	require.NoError(t, err)
	assert.NotEqual(t, d1, d3)
}

func layerOf(t *testing.T, dir string, mt types.MediaType) v1.Layer {
	t.Helper()
	f, err := Scan(dir)
	require.NoError(t, err)
	l, err := f.Layer(mt)
	require.NoError(t, err)
	return l
}

func TestScan_RefusesWhatTheImageCannotHold(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty")
	require.NoError(t, os.MkdirAll(filepath.Join(empty, "sub"), 0o755))
	_, err := Scan(empty)
	assert.EqualError(t, err, "model folder "+empty+" has no files")

	_, err = Scan(filepath.Join(tmp, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	file := filepath.Join(tmp, "model.onnx")
	write(t, file, "w", 0o644)
	_, err = Scan(file)
	assert.EqualError(t, err, "model folder "+file+" is a file: give the folder that holds it")

	out := modelFolder(t)
	require.NoError(t, os.Symlink("../../etc/passwd", filepath.Join(out, "tokenizer", "evil")))
	_, err = Scan(out)
	assert.EqualError(t, err, filepath.Join(out, "tokenizer", "evil")+": a link to ../../etc/passwd, outside the model folder, which the image would not have")

	// Each link stays inside read alone; x, through d/c, does not (the
	// runtime refuses the image it would make).
	chain := modelFolder(t)
	require.NoError(t, os.MkdirAll(filepath.Join(chain, "d"), 0o755))
	require.NoError(t, os.Symlink("..", filepath.Join(chain, "d", "c")))
	require.NoError(t, os.Symlink("d/c/..", filepath.Join(chain, "x")))
	_, err = Scan(chain)
	assert.EqualError(t, err, filepath.Join(chain, "x")+": a link to d/c/.., which leads outside the model folder through other links, which the image would not have")

	loop := modelFolder(t)
	require.NoError(t, os.Symlink("b", filepath.Join(loop, "a")))
	require.NoError(t, os.Symlink("a", filepath.Join(loop, "b")))
	_, err = Scan(loop)
	assert.EqualError(t, err, filepath.Join(loop, "a")+": a link to b: too many levels of symbolic links")

	abs := modelFolder(t)
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(abs, "evil")))
	_, err = Scan(abs)
	assert.EqualError(t, err, filepath.Join(abs, "evil")+": a link to the absolute path /etc/passwd, which the image would not have; make it relative")

	fifo := modelFolder(t)
	require.NoError(t, syscall.Mkfifo(filepath.Join(fifo, "pipe"), 0o644))
	_, err = Scan(fifo)
	assert.EqualError(t, err, filepath.Join(fifo, "pipe")+": a named pipe; a model folder holds files, folders and links")
}

func TestBuild(t *testing.T) {
	dir := modelFolder(t)
	for base, want := range map[string]types.MediaType{"docker": types.DockerLayer, "oci": types.OCILayer} {
		img := empty.Image
		if base == "oci" {
			img = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		}
		mt, err := LayerType(img)
		require.NoError(t, err)
		assert.Equal(t, want, mt, base)
		out, err := Build(img, layerOf(t, dir, mt), "./model")
		require.NoError(t, err)
		layers, err := out.Layers()
		require.NoError(t, err)
		require.Len(t, layers, 1)
		got, err := layers[0].MediaType()
		require.NoError(t, err)
		assert.Equal(t, want, got)
		cfg, err := out.ConfigFile()
		require.NoError(t, err)
		require.Len(t, cfg.History, 1)
		assert.Equal(t, "kserve-gen modelcar: COPY ./model /models/", cfg.History[0].CreatedBy)
	}
}

// TestScan_ONNXModelNeedsItsExternalData: an ONNX model whose weights are
// in a file of their own is refused without that file (it would load
// nowhere), and taken with it.
func TestScan_ONNXModelNeedsItsExternalData(t *testing.T) {
	dir := t.TempDir()
	model, weights := onnxtest.ExternalData("data/weights.bin")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "onnx", "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "onnx", "model.onnx"), model, 0o644))
	_, err := Scan(dir)
	assert.EqualError(t, err, filepath.Join("onnx", "model.onnx")+" keeps its weights in data/weights.bin, which is not in the model folder: add it beside the model, or the model will not load")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "onnx", "data", "weights.bin"), weights, 0o644))
	f, err := Scan(dir)
	require.NoError(t, err)
	assert.Equal(t, Stats{Files: 2, Bytes: int64(len(model) + len(weights))}, f.Stats)
}
