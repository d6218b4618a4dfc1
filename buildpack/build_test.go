package buildpack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/project"
)

// requireEnv turns a missing Docker engine or builder from skipped tests
// into failures; CI sets it.
const requireEnv = "KSERVE_GEN_REQUIRE_BUILDPACKS"

// needEngine returns the Docker engine, skipping (or, under requireEnv,
// failing) when none answers.
func needEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background())
	if err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%v (%s is set)", err, requireEnv)
		}
		t.Skipf("SKIPPED: %v (scripts/setup-buildpacks.sh starts one)", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// writeProject writes a minimal project file set into a new folder.
func writeProject(t *testing.T, template string, gpu int, skip ...string) string {
	t.Helper()
	dir := t.TempDir()
	f := project.File{Name: "iris", Module: "example.com/iris", Template: template, Protocol: project.ProtocolV2, GPU: gpu}
	require.NoError(t, f.Save(dir))
	for name, content := range map[string]string{
		"go.mod":       "module example.com/iris\n\ngo 1.26.0\n",
		"Procfile":     "web: iris --model_name=iris --http_port=${PORT:-8080}\n",
		"project.toml": "[_]\nschema-version = \"0.2\"\nid = \"iris\"\n",
	} {
		if !strings.Contains(strings.Join(skip, " "), name) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		}
	}
	return dir
}

func TestBuild_RefusesBadInputBeforeAnyWork(t *testing.T) {
	var e Engine // the checks come before the engine is used
	dir := t.TempDir()
	_, err := e.Build(context.Background(), Options{Dir: dir})
	assert.EqualError(t, err, dir+" is not a kserve-gen project (no kserve-gen.yaml): run kserve-gen build in a folder `kserve-gen new` made, or pass --dir")

	for _, missing := range []string{"go.mod", "Procfile", "project.toml"} {
		dir := writeProject(t, project.TemplateREST, 0, missing)
		_, err := e.Build(context.Background(), Options{Dir: dir})
		assert.EqualError(t, err, "project "+dir+": "+missing+" is missing (kserve-gen new writes it; the image build needs it)")
	}

	dir = writeProject(t, project.TemplateREST, 0)
	_, err = e.Build(context.Background(), Options{Dir: dir, PullPolicy: "sometimes"})
	assert.EqualError(t, err, `pull policy "sometimes": want always, if-not-present or never`)
	_, err = e.Build(context.Background(), Options{Dir: dir, Image: "Registry/Model:v1"})
	assert.EqualError(t, err, `--image: "Registry/Model:v1" is not an image reference like registry.example.com/team/model:v1: `+
		`could not parse reference: Registry/Model:v1`)
}

func TestBuild_ONNXProjectNeedsTheLibrary(t *testing.T) {
	var e Engine
	dir := writeProject(t, project.TemplateONNX, 0)
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"HOME": home}[k] }

	_, err := e.Build(context.Background(), Options{Dir: dir, Getenv: env})
	lib := filepath.Join(home, ".cache/kserve-gen/onnxruntime/1.29.0/libonnxruntime.so")
	assert.EqualError(t, err, "an onnx project's image needs the ONNX Runtime library: "+lib+" (the kserve-gen cache): no such file; run scripts/setup-onnx.sh, set ONNXRUNTIME_SHARED_LIBRARY_PATH, or pass --onnxruntime PATH")

	_, err = e.Build(context.Background(), Options{Dir: dir, Getenv: env, ONNXRuntime: home})
	assert.EqualError(t, err, "an onnx project's image needs the ONNX Runtime library: "+home+" (--onnxruntime): "+home+
		" is not a regular file; run scripts/setup-onnx.sh, set ONNXRUNTIME_SHARED_LIBRARY_PATH, or pass --onnxruntime PATH")

	// A GPU project also needs the CUDA provider beside the library.
	lib = filepath.Join(home, "libonnxruntime.so")
	require.NoError(t, os.WriteFile(lib, []byte("\x7fELF not really"), 0o644))
	files, err := onnxRuntimeFiles(Options{Getenv: env, ONNXRuntime: lib}, false)
	require.NoError(t, err)
	assert.Equal(t, []stagedFile{{lib, "libonnxruntime.so"}}, files)
	_, err = onnxRuntimeFiles(Options{Getenv: env, ONNXRuntime: lib}, true)
	shared := filepath.Join(home, "libonnxruntime_providers_shared.so")
	assert.EqualError(t, err, "the project asks for a GPU, so its image needs ONNX Runtime's CUDA provider beside the library: "+shared+
		": no such file; run scripts/setup-onnx.sh --gpu, or set gpu: 0 in kserve-gen.yaml")
}

// The image runs Linux: a Mac's .dylib or a Windows DLL (what
// ONNXRUNTIME_SHARED_LIBRARY_PATH names for `go run .` on those machines)
// is refused, named, before it is copied into the image as libonnxruntime.so.
func TestBuild_ONNXLibraryMustBeLinux(t *testing.T) {
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"HOME": home}[k] }
	for _, tc := range []struct {
		name, head, what string
	}{
		{"libonnxruntime.1.29.0.dylib", "\xcf\xfa\xed\xfe\x0c\x00\x00\x01", "a macOS (Mach-O) library"},
		{"libonnxruntime.dylib", "\xca\xfe\xba\xbe\x00\x00\x00\x02", "a macOS (Mach-O) library"},
		{"onnxruntime.dll", "MZ\x90\x00", "a Windows DLL"},
		{"libonnxruntime.so", "#!/bin/sh\n", "not an ELF shared library"},
		{"empty.so", "", "not an ELF shared library"},
	} {
		lib := filepath.Join(home, tc.name)
		require.NoError(t, os.WriteFile(lib, []byte(tc.head), 0o644))
		_, err := onnxRuntimeFiles(Options{Getenv: env, ONNXRuntime: lib}, false)
		assert.EqualError(t, err, "an onnx project's image needs the ONNX Runtime library: "+lib+" (--onnxruntime): "+lib+" is "+tc.what+
			", and the image runs Linux: give it libonnxruntime.so for Linux; run scripts/setup-onnx.sh, set ONNXRUNTIME_SHARED_LIBRARY_PATH, or pass --onnxruntime PATH", tc.name)
	}
}

func TestNewEngine_NamesTheMissingEngine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	_, err := NewEngine(context.Background())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "no Docker engine answers at unix://"+sock+
		": start one (e.g. dockerd; scripts/setup-buildpacks.sh does) or point DOCKER_HOST at one: "), err.Error())
}

func TestBuild_MissingBuilder(t *testing.T) {
	e := needEngine(t)
	dir := writeProject(t, project.TemplateREST, 0)
	_, err := e.Build(context.Background(), Options{Dir: dir, Builder: "kserve-gen/no-such-builder:1", PullPolicy: "never"})
	assert.EqualError(t, err, "the Docker engine has no builder kserve-gen/no-such-builder:1, and --pull-policy never forbids pulling it")
}

func TestWriteBuildpack(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteBuildpack(dir))
	var desc struct {
		API       string `toml:"api"`
		Buildpack struct {
			ID      string `toml:"id"`
			Version string `toml:"version"`
		} `toml:"buildpack"`
	}
	_, err := toml.DecodeFile(filepath.Join(dir, "buildpack.toml"), &desc)
	require.NoError(t, err)
	assert.Equal(t, "0.10", desc.API)
	assert.Equal(t, BuildpackID, desc.Buildpack.ID)
	assert.Equal(t, BuildpackVersion, desc.Buildpack.Version)
	for _, f := range []string{"bin/detect", "bin/build"} {
		info, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), info.Mode().Perm(), f)
	}
}

// importImage makes a tiny image with labels in the engine (docker import of
// an empty file system), removed when the test ends.
func importImage(t *testing.T, ref string, labels map[string]string) {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "empty.tar")
	require.NoError(t, exec.Command("tar", "-cf", tar, "-T", "/dev/null").Run())
	args := []string{"import"}
	for k, v := range labels {
		args = append(args, "--change", "LABEL "+k+"="+v)
	}
	out, err := exec.Command("docker", append(args, tar, ref)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
}

func TestBuild_RefusesABuilderWithAnotherBuildpack(t *testing.T) {
	e := needEngine(t)
	dir := writeProject(t, project.TemplateREST, 0)
	const builder = "kserve-gen-test/stale-builder:1"
	importImage(t, builder, map[string]string{
		LabelBuildpack: "kserve-gen/go@0.0.1+0123456789ab", LabelBuildImage: "b:1", LabelRunImage: "r:1", LabelLifecycle: "file:///lc.tgz",
	})
	_, err := e.Build(context.Background(), Options{Dir: dir, Builder: builder, PullPolicy: "never"})
	assert.EqualError(t, err, "builder "+builder+" holds buildpack kserve-gen/go@0.0.1+0123456789ab, but this kserve-gen's is "+BuildpackRef()+
		": make it again with\n  kserve-gen builder create "+builder+" --build-image b:1 --run-image r:1 --lifecycle file:///lc.tgz")
}

func TestCreateBuilder_KeepsABuilderMadeTheSameWay(t *testing.T) {
	e := needEngine(t)
	const builder = "kserve-gen-test/current-builder:1"
	opts := BuilderOptions{Name: builder, BuildImage: "b:1", RunImage: "r:1", Lifecycle: "file:///lc.tgz"}
	importImage(t, builder, opts.labels())
	created, err := e.CreateBuilder(context.Background(), opts)
	require.NoError(t, err)
	assert.False(t, created, "an up-to-date builder is kept")

	_, err = e.CreateBuilder(context.Background(), BuilderOptions{Name: builder})
	assert.EqualError(t, err, "the build image is required (--build-image)\nthe run image is required (--run-image)")
}

func TestBuildpackRef(t *testing.T) {
	assert.Regexp(t, `^kserve-gen/go@0\.1\.0\+[0-9a-f]{12}$`, BuildpackRef())
}

func TestCreateBuilder_ReplacesAStaleBuilderAndRemovesIt(t *testing.T) {
	e := needEngine(t)
	ctx := context.Background()
	_, base, ok, err := e.imageInfo(ctx, DefaultBuilder)
	require.NoError(t, err)
	if !ok {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("no builder %s (%s is set)", DefaultBuilder, requireEnv)
		}
		t.Skipf("SKIPPED: no builder %s to take the base images from (scripts/setup-buildpacks.sh)", DefaultBuilder)
	}
	const name = "kserve-gen-test/replaced-builder:1"
	importImage(t, name, map[string]string{LabelBuildpack: "kserve-gen/go@0.0.1+000000000000"})
	oldID, _, _, err := e.imageInfo(ctx, name)
	require.NoError(t, err)

	opts := BuilderOptions{Name: name, BuildImage: base[LabelBuildImage], RunImage: base[LabelRunImage],
		Lifecycle: base[LabelLifecycle], PullPolicy: "never"}
	created, err := e.CreateBuilder(ctx, opts)
	require.NoError(t, err)
	assert.True(t, created)
	_, labels, _, err := e.imageInfo(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, BuildpackRef(), labels[LabelBuildpack])
	_, _, ok, err = e.imageInfo(ctx, oldID)
	require.NoError(t, err)
	assert.False(t, ok, "the replaced builder image %s is removed", oldID)

	created, err = e.CreateBuilder(ctx, opts)
	require.NoError(t, err)
	assert.False(t, created, "made the same way: kept")
}

func TestImageFor(t *testing.T) {
	p := &project.File{Name: "iris"}
	assert.Equal(t, "iris:latest", ImageFor(p, ""))
	assert.Equal(t, "reg.example.com/x:v2", ImageFor(p, "reg.example.com/x:v2"))
	p.Image = "reg.example.com/iris:v1"
	assert.Equal(t, "reg.example.com/iris:v1", ImageFor(p, ""), "the project file's image, which deploy runs")
	assert.Equal(t, "reg.example.com/x:v2", ImageFor(p, "reg.example.com/x:v2"), "the flag wins")
}

// A project someone else made cannot have the build write outside the
// staging folder: its .kserve-gen, where staging puts ONNX Runtime, and
// its vendor, which go mod vendor replaces, are not taken from it, even as
// links to folders elsewhere. Its other links are copied as links.
func TestStageProject_WritesNothingOutsideTheStage(t *testing.T) {
	dir := writeProject(t, project.TemplateONNX, 0)
	outside, vendored := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(vendored, "keep.txt"), []byte("mine"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, ".kserve-gen")))
	require.NoError(t, os.Symlink(vendored, filepath.Join(dir, "vendor")))
	require.NoError(t, os.Symlink("README.md", filepath.Join(dir, "docs.md")))
	lib := filepath.Join(t.TempDir(), "libonnxruntime.so")
	require.NoError(t, os.WriteFile(lib, []byte("\x7fELF"), 0o644))

	stage := t.TempDir()
	require.NoError(t, stageProject(context.Background(), dir, stage, []stagedFile{{lib, "libonnxruntime.so"}}))

	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written through the project's .kserve-gen link")
	got, err := os.ReadFile(filepath.Join(vendored, "keep.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(got))
	st, err := os.Lstat(filepath.Join(stage, ".kserve-gen"))
	require.NoError(t, err)
	assert.True(t, st.IsDir(), "the stage's own folder, not the project's link")
	st, err = os.Lstat(filepath.Join(stage, ".kserve-gen", "onnxruntime", "libonnxruntime.so"))
	require.NoError(t, err)
	assert.True(t, st.Mode().IsRegular())
	link, err := os.Readlink(filepath.Join(stage, "docs.md"))
	require.NoError(t, err)
	assert.Equal(t, "README.md", link)
}
