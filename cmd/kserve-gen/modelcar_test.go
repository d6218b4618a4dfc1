package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/project"
)

// A model folder the image cannot hold is reported before the engine is
// looked for, and so is a --publish without a registry in the name.
func TestModelcar_CheckedBeforeTheEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	empty := t.TempDir()
	var out, errOut bytes.Buffer
	err := modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Image: "registry.example.com/m:v1", Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, "model folder "+empty+" has no files")

	err = modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Image: "iris:v1", Publish: true, Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, "push iris:v1: the image name has no registry: name it for yours, e.g. --image registry.example.com/team/iris:v1")

	err = modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Image: "Registry/Iris", Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.ErrorContains(t, err, `--image "Registry/Iris": want an image name with a tag: `)

	// No --image: the project's deploy.storageUri, when it is an oci:// URI.
	proj := t.TempDir()
	t.Chdir(proj)
	err = modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, "--image is required (or deploy.storageUri: oci://IMAGE in the kserve-gen.yaml of the current folder)")
	require.NoError(t, os.WriteFile(filepath.Join(proj, "kserve-gen.yaml"),
		[]byte("name: iris\ntemplate: onnx\nmodule: example.com/iris\nprotocol: v2\ndeploy:\n  storageUri: oci://registry.example.com/models/iris:v2\n"), 0o644))
	errOut.Reset()
	err = modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, "model folder "+empty+" has no files")
	assert.Equal(t, "Image registry.example.com/models/iris:v2: deploy.storageUri in kserve-gen.yaml\n", errOut.String())

	require.NoError(t, os.WriteFile(filepath.Join(proj, "kserve-gen.yaml"), []byte("name: iris\nstorageUri: oci://x/y:z\n"), 0o644))
	err = modelcarRun(context.Background(), &modelcarOptions{Dir: empty, Base: defaultModelcarBase, Platform: "linux/amd64", Out: &out, ErrOut: &errOut})
	assert.ErrorContains(t, err, "kserve-gen.yaml: unknown field \"storageUri\"")
	assert.Empty(t, out.String())
}

// TestModelcar_ImageHoldsTheFolder packages a folder on the run image
// scripts/setup-buildpacks.sh makes (a shell, as KServe's modelcar sidecar
// needs), pushes it to a registry on loopback through the Docker engine,
// and checks both copies: the container's /models as KServe's sidecar sees
// it (sh, ls, cat), and the pushed image by the printed digest.
func TestModelcar_ImageHoldsTheFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds container images")
	}
	base := runImage(t)

	model := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(model, "model.onnx"), []byte("weights"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(model, "tokenizer"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(model, "tokenizer", "vocab.txt"), []byte("a b c"), 0o644))
	require.NoError(t, os.Symlink("model.onnx", filepath.Join(model, "latest")))

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	image := strings.TrimPrefix(reg.URL, "http://") + "/models/iris:v1"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	work, bin := buildCLI(t)
	// The base is read from the engine into a temporary file, which must
	// not outlive the command (ggcr's own is removed only by a finaliser).
	leftInTmp := ownTmp(t, work, "modelcar")
	got := runOut(t, work, bin, "modelcar", model, "--image", image, "--base", base, "--publish")
	leftInTmp()
	assert.Regexp(t, `^Built `+regexp.QuoteMeta(image)+` in \S+: /models holds 2 files \(12 B\), layer sha256:[0-9a-f]{64}\.\n`, got)
	m := regexp.MustCompile(`\nPushed (\S+) \((sha256:[0-9a-f]{64})\)\.\n`).FindStringSubmatch(got)
	require.NotNil(t, m, got)
	assert.Equal(t, image, m[1])
	assert.Contains(t, got, "\nServe it:\n  kserve-gen deploy --image SERVER_IMAGE --storage-uri oci://"+image+" ")

	// As KServe's sidecar sees it: a shell, and the files readable by
	// anyone (the server container runs as another user).
	ls, err := exec.Command("docker", "run", "--rm", "--user", "1000", "--entrypoint", "sh", image, "-c",
		"cd /models && stat -c '%A %u %n' . latest model.onnx tokenizer tokenizer/vocab.txt && cat model.onnx latest tokenizer/vocab.txt").CombinedOutput()
	require.NoError(t, err, "%s", ls)
	assert.Equal(t, "drwxr-xr-x 0 .\nlrwxrwxrwx 0 latest\n-rw-r--r-- 0 model.onnx\ndrwxr-xr-x 0 tokenizer\n-rw-r--r-- 0 tokenizer/vocab.txt\nweightsweightsa b c", string(ls))

	cfg := pushedConfig(t, image, m[2])
	assert.Equal(t, "kserve-gen modelcar: COPY "+model+" /models/", cfg.History[len(cfg.History)-1].CreatedBy)
}

// Ctrl+C while the base image is being saved from the Docker engine stops
// modelcar with status 130 and removes the copy: killed by the signal, it
// left the whole base image (131 MB for the run image) in the temporary
// folder.
func TestModelcar_InterruptRemovesTheSavedBase(t *testing.T) {
	if testing.Short() {
		t.Skip("saves a container image")
	}
	base := runImage(t)
	model := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(model, "model.onnx"), []byte("weights"), 0o600))
	image := fmt.Sprintf("kserve-gen-test/modelcar-intr-%d:v1", os.Getpid())
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	work, bin := buildCLI(t)
	leftInTmp := ownTmp(t, work, "modelcar-intr")
	tmp := os.Getenv("TMPDIR")

	cmd := exec.Command(bin, "modelcar", model, "--image", image, "--base", base)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Interrupted once the saved image has begun to arrive.
	saving := func() bool {
		tars, _ := filepath.Glob(filepath.Join(tmp, "kserve-gen-modelcar-*", "image.tar"))
		return len(tars) > 0
	}
	deadline := time.Now().Add(time.Minute)
	for !saving() {
		select {
		case err := <-done:
			t.Fatalf("kserve-gen modelcar ended before the base image was saved (%v): %s", err, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "no saved base image appeared in %s: %s", tmp, stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("kserve-gen modelcar did not stop within a minute of Ctrl+C: %s", stderr.String())
	}
	assert.Equal(t, 130, cmd.ProcessState.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "Error: interrupted: ")
	leftInTmp()
}

// runImage is the run image scripts/setup-buildpacks.sh makes (a shell, as
// KServe's modelcar sidecar needs), for a base; it needs the builder's
// set-up, as the image builds do.
func runImage(t *testing.T) string {
	t.Helper()
	needBuilder(t)
	out, err := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "kserve-gen/cnb-run").Output()
	require.NoError(t, err)
	base, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	require.NotEmpty(t, base, "no kserve-gen/cnb-run image")
	return base
}

// pushedConfig reads image back from its registry, checks that it is the
// digest the CLI printed, and returns its config.
func pushedConfig(t *testing.T, image, digest string) *v1.ConfigFile {
	t.Helper()
	ref, err := name.ParseReference(image, name.Insecure)
	require.NoError(t, err)
	pushed, err := remote.Image(ref)
	require.NoError(t, err)
	d, err := pushed.Digest()
	require.NoError(t, err)
	assert.Equal(t, digest, d.String())
	cfg, err := pushed.ConfigFile()
	require.NoError(t, err)
	return cfg
}

// TestModelcar_ServedByAGeneratedProject is the whole story: the onnx
// template's model packaged as a modelcar and pushed, then the project's
// server, run where there is no ./model, downloads /models from the
// registry (STORAGE_URI=oci://...) and answers the README's request with
// the README's answer.
func TestModelcar_ServedByAGeneratedProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds container images and runs a generated project")
	}
	base := runImage(t)

	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "cls", "--template", "onnx", "--yes")
	dir := filepath.Join(work, "cls")
	server := filepath.Join(dir, "cls")
	runIn(t, dir, "go", "build", "-o", server, ".")
	path, want, body := readmeRequest(t, dir)

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	image := strings.TrimPrefix(reg.URL, "http://") + "/models/cls:v1"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	runOut(t, dir, bin, "modelcar", "model", "--image", image, "--base", base, "--publish")

	// No ./model where it runs: the answer can only come from the registry.
	srv := startServer(t, server, t.TempDir(), []string{"STORAGE_URI=oci://" + image, "XDG_CACHE_HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir()}, "--device=cpu")
	code, got := postJSON(t, srv.URL+path, body)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, want, got)
	assert.Regexp(t, `Copying contents of oci://`+regexp.QuoteMeta(image)+` \(manifest sha256:[0-9a-f]{64}, \d+ layers\) to local`, srv.stop(t))
}

// A multi-platform modelcar: the model layer on every image of a base
// index (an attestation entry left out), pushed as an index to a registry
// on loopback without the Docker engine; refused without --publish, and
// for a platform the base does not have.
func TestModelcar_MultiPlatform(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	baseRef, err := name.ParseReference(host + "/base:multi")
	require.NoError(t, err)
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "unknown", Architecture: "unknown"}} {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	require.NoError(t, remote.WriteIndex(baseRef, mutate.AppendManifests(empty.Index, adds...)))

	model := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(model, "model.onnx"), []byte("weights"), 0o644))
	image := host + "/models/iris:v1"
	run := func(platform string, publish bool) (string, error) {
		var out, errOut bytes.Buffer
		err := modelcarRun(context.Background(), &modelcarOptions{Dir: model, Image: image, Base: baseRef.String(), Platform: platform, Publish: publish, Out: &out, ErrOut: &errOut})
		return out.String(), err
	}

	_, err = run("linux/amd64,linux/arm64", false)
	assert.EqualError(t, err, "--platform linux/amd64,linux/arm64 makes an image index, which the Docker engine cannot hold: add --publish to push it to its registry")
	_, err = run("linux/s390x,linux/ppc64le", true)
	assert.EqualError(t, err, "base image "+baseRef.String()+": the base image has none of the platforms asked for (it has linux/amd64, linux/arm64/v8)")
	_, err = run("linux", true)
	assert.EqualError(t, err, `--platform "linux": want os/arch[/variant], a comma-separated list of them, or all`)

	got, err := run("all", true)
	require.NoError(t, err)
	m := regexp.MustCompile(`^Pushed (\S+) \((sha256:[0-9a-f]{64})\) in \S+: /models holds 1 files \(7 B\), for linux/amd64, linux/arm64/v8\.\n`).FindStringSubmatch(got)
	require.NotNil(t, m, got)
	assert.Equal(t, image, m[1])

	ref, err := name.ParseReference(image)
	require.NoError(t, err)
	idx, err := remote.Index(ref)
	require.NoError(t, err)
	d, err := idx.Digest()
	require.NoError(t, err)
	assert.Equal(t, m[2], d.String())
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2)
	var modelLayers []string
	for i, want := range []string{"linux/amd64", "linux/arm64/v8"} {
		assert.Equal(t, want, im.Manifests[i].Platform.String())
		img, err := idx.Image(im.Manifests[i].Digest)
		require.NoError(t, err)
		layers, err := img.Layers()
		require.NoError(t, err)
		require.Len(t, layers, 2, "the base's layer and the model's")
		ld, err := layers[1].Digest()
		require.NoError(t, err)
		modelLayers = append(modelLayers, ld.String())
		rc, err := layers[1].Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			names = append(names, h.Name)
		}
		rc.Close()
		assert.Equal(t, []string{"models/", "models/model.onnx"}, names)
	}
	assert.Equal(t, modelLayers[0], modelLayers[1], "one model layer, shared by the platforms")
}

// The printed deploy command works where it is run: in a project whose
// kserve-gen.yaml names the server's image it needs no --image; anywhere
// else it stopped with "image is required", so it shows where --image goes.
func TestModelcar_ServeHintNamesTheServerImage(t *testing.T) {
	const uri = "oci://registry.example.com/models/iris:v1"
	t.Chdir(t.TempDir())
	var out strings.Builder
	serveHint(&out, uri)
	assert.Equal(t, "\nServe it:\n"+
		"  kserve-gen deploy --image SERVER_IMAGE --storage-uri "+uri+"        # the model server's image (kserve-gen build's); KServe mounts the model at /mnt/models\n"+
		"  STORAGE_URI="+uri+" go run .      # a kserve-gen project downloads it\n", out.String())

	pf := &project.File{Name: "iris", Module: "iris", Template: project.TemplateONNX, Protocol: project.ProtocolV2, Image: "registry.example.com/iris:v1"}
	require.NoError(t, pf.Save("."))
	out.Reset()
	serveHint(&out, uri)
	assert.Equal(t, "\nServe it:\n"+
		"  kserve-gen deploy --storage-uri "+uri+"        # KServe mounts it at /mnt/models\n"+
		"  STORAGE_URI="+uri+" go run .      # a kserve-gen project downloads it\n", out.String())
}
