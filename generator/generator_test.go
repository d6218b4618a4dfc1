package generator_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
	"github.com/kserve-gen/kserve-gen/project"
)

func restOptions(t testing.TB, dir string) *generator.Options {
	rt, err := generator.LoadRuntime(filepath.Join("..", "runtime"))
	require.NoError(t, err)
	protocol, grpc := generator.TemplateDefaults(project.TemplateREST)
	return &generator.Options{
		Project: project.File{Name: "demo", Module: "demo", Template: project.TemplateREST, Protocol: protocol, GRPC: grpc, Resources: generator.DefaultResources()},
		Dir:     dir,
		Runtime: rt,
	}
}

func TestRender_InvalidAnswersNameEveryField(t *testing.T) {
	o := &generator.Options{Project: project.File{Name: "Bad_Name", Module: "has space", Template: "flask", Protocol: "v3", GPU: -1}}
	_, err := generator.Render(o)
	require.Error(t, err)
	for _, want := range []string{
		`name: "Bad_Name" is not a DNS-1123 label`,
		`module: "has space" is not a valid Go module path`,
		`template: "flask" is not a template; choose one of rest, grpc, onnx, transformer, openai, timeseries`,
		`protocol: "v3" is not a protocol; choose v1 or v2`,
		"gpu: must be 0 (CPU) or more, got -1",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestRender_GRPCNeedsV2(t *testing.T) {
	o := restOptions(t, "")
	o.Project.GRPC = true
	_, err := generator.Render(o)
	require.EqualError(t, err, "grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs protocol v2 (protocol is v1)")
}

func TestRender_GoModReplacesRuntimeAndCopiesItsChecksums(t *testing.T) {
	o := restOptions(t, "")
	files, err := generator.Render(o)
	require.NoError(t, err)
	byPath := map[string]string{}
	for _, f := range files {
		byPath[f.Path] = string(f.Data)
	}
	gomod := byPath["go.mod"]
	assert.True(t, strings.HasPrefix(gomod, "module demo\n\ngo "+o.Runtime.Go+"\n"), gomod)
	assert.Contains(t, gomod, "require "+generator.RuntimeModulePath+" "+generator.RuntimeVersion+"\n")
	assert.Contains(t, gomod, "replace "+generator.RuntimeModulePath+" => "+o.Runtime.Dir+"\n")
	for _, r := range o.Runtime.Require {
		assert.Contains(t, gomod, "\t"+r.Path+" "+r.Version+" // indirect\n")
	}
	sum, err := os.ReadFile(filepath.Join("..", "runtime", "go.sum"))
	require.NoError(t, err)
	assert.Equal(t, string(sum), byPath["go.sum"])

	// Without a local runtime: a plain requirement, no replace, no go.sum.
	o.Runtime = nil
	files, err = generator.Render(o)
	require.NoError(t, err)
	for _, f := range files {
		assert.NotEqual(t, "go.sum", f.Path)
		if f.Path == "go.mod" {
			assert.Equal(t, "module demo\n\ngo 1.26.0\n\nrequire "+generator.RuntimeModulePath+" "+generator.RuntimeVersion+"\n", string(f.Data))
		}
	}
}

func TestRender_ProjectFileRoundTrips(t *testing.T) {
	o := restOptions(t, "")
	files, err := generator.Render(o)
	require.NoError(t, err)
	for _, f := range files {
		if f.Path == project.FileName {
			got, err := project.Parse(f.Data)
			require.NoError(t, err)
			assert.Equal(t, o.Project, *got)
			return
		}
	}
	t.Fatalf("no %s rendered", project.FileName)
}

func TestWrite_RefusesNonEmptyDirAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	_, err := generator.Generate(context.Background(), restOptions(t, dir))
	require.ErrorIs(t, err, generator.ErrDirNotEmpty)
	assert.Equal(t, dir+": output directory is not empty (--force would replace none of its files with other contents)", err.Error())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only the user's file is there")
	assertNoStaging(t, filepath.Dir(dir))
}

func TestWrite_ForceReplacesGeneratedFilesAndKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.go"), []byte("old"), 0o644))
	o := restOptions(t, dir)
	o.Force = true
	files, err := generator.Generate(context.Background(), o)
	require.NoError(t, err)
	notes, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(notes))
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		require.NoError(t, err)
		assert.Equal(t, string(f.Data), string(got), f.Path)
	}
	assertNoStaging(t, filepath.Dir(dir))
}

func TestWrite_IntoMissingAndEmptyDirs(t *testing.T) {
	parent := t.TempDir()
	empty := filepath.Join(parent, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	for _, dir := range []string{filepath.Join(parent, "new", "nested"), empty} {
		files, err := generator.Generate(context.Background(), restOptions(t, dir))
		require.NoError(t, err)
		st, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.NotEmpty(t, entries)
		_, err = os.Stat(filepath.Join(dir, files[0].Path))
		assert.NoError(t, err)
	}
	assertNoStaging(t, parent)
}

// TestWrite_ExistingDirStaysTheSameDir writes into an empty folder the
// user made (mode 0750) and into a symlink to one: the folder itself is
// kept (same inode, same mode, the link still a link), so a shell standing
// in it still sees the project, and nothing is staged beside it.
func TestWrite_ExistingDirStaysTheSameDir(t *testing.T) {
	parent := t.TempDir()
	mine := filepath.Join(parent, "mine")
	require.NoError(t, os.Mkdir(mine, 0o750))
	require.NoError(t, os.Chmod(mine, 0o750))
	before, err := os.Stat(mine)
	require.NoError(t, err)
	_, err = generator.Generate(context.Background(), restOptions(t, mine))
	require.NoError(t, err)
	after, err := os.Stat(mine)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the folder was replaced")
	assert.Equal(t, os.FileMode(0o750), after.Mode().Perm())
	_, err = os.Stat(filepath.Join(mine, "go.mod"))
	assert.NoError(t, err)
	assertNoStaging(t, parent)
	assertNoStaging(t, mine)

	target := filepath.Join(parent, "target")
	require.NoError(t, os.Mkdir(target, 0o755))
	link := filepath.Join(parent, "link")
	require.NoError(t, os.Symlink(target, link))
	_, err = generator.Generate(context.Background(), restOptions(t, link))
	require.NoError(t, err)
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type(), "the link was replaced")
	_, err = os.Stat(filepath.Join(target, "go.mod"))
	assert.NoError(t, err, "the project is in the link's target")
	assertNoStaging(t, parent)
	assertNoStaging(t, target)
}

// TestWrite_ForceChecksEveryDestinationFirst puts a folder where a
// generated file goes, after files --force would replace: the write is
// refused before anything is moved, and the user's files are as they were.
func TestWrite_ForceChecksEveryDestinationFirst(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("my readme"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("my go.mod"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "model.go"), 0o755))
	o := restOptions(t, dir)
	o.Force = true
	_, err := generator.Generate(context.Background(), o)
	require.EqualError(t, err, filepath.Join(dir, "model.go")+" is a folder where the project has a file; nothing was written")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"README.md", "go.mod", "model.go"}, names)
	for name, want := range map[string]string{"README.md": "my readme", "go.mod": "my go.mod"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), name)
	}

	// A file where the project has a folder is refused the same way.
	files := []generator.File{{Path: "a.txt", Data: []byte("new")}, {Path: "sub/b.txt", Data: []byte("new")}}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub"), []byte("mine"), 0o644))
	err = generator.Write(context.Background(), dir, files, true)
	require.EqualError(t, err, filepath.Join(dir, "sub")+" is a file where the project has a folder; nothing was written")
	got, err := os.ReadFile(filepath.Join(dir, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	assertNoStaging(t, dir)

	// A link where the project has a folder (a folder someone else made,
	// its client/ pointing elsewhere) is refused too: the file moved
	// through it would replace the one of that name where it points.
	require.NoError(t, os.Remove(filepath.Join(dir, "sub")))
	elsewhere := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "b.txt"), []byte("not yours"), 0o644))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "sub")))
	err = generator.Write(context.Background(), dir, files, true)
	require.EqualError(t, err, filepath.Join(dir, "sub")+" is a symbolic link where the project has a folder; nothing was written")
	got, err = os.ReadFile(filepath.Join(elsewhere, "b.txt"))
	require.NoError(t, err)
	assert.Equal(t, "not yours", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	assertNoStaging(t, dir)
}

// TestWrite_FailureLeavesNothing makes the second file impossible to write
// (its parent is a file): the target must not appear, nor any staging folder.
func TestWrite_FailureLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "proj")
	files := []generator.File{{Path: "a", Data: []byte("1")}, {Path: "a/b", Data: []byte("2")}}
	err := generator.Write(context.Background(), dir, files, false)
	require.Error(t, err)
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist), "target must not exist: %v", statErr)
	assertNoStaging(t, parent)
}

// A folder the system will not make a folder in (/proc refuses any new
// entry) is named with the project's folder, not as "create staging
// directory", a folder of ours the user never chose.
func TestWrite_UnmakeableFolderNamesTheProject(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc here")
	}
	err := generator.Write(context.Background(), "/proc/kserve-gen-proj", []generator.File{{Path: "a", Data: []byte("1")}}, false)
	require.Error(t, err)
	assert.Regexp(t, `^cannot write the project into /proc/kserve-gen-proj: making a folder in /proc failed: mkdir /proc/\.kserve-gen-proj\.kserve-gen-[0-9]+: `, err.Error())
}

func TestWrite_CancelledContextWritesNothing(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := generator.Write(ctx, filepath.Join(parent, "proj"), []generator.File{{Path: "a", Data: []byte("1")}}, false)
	require.ErrorIs(t, err, context.Canceled)
	assertNoStaging(t, parent)
	_, statErr := os.Stat(filepath.Join(parent, "proj"))
	assert.True(t, errors.Is(statErr, os.ErrNotExist))
}

func TestCheckDir(t *testing.T) {
	parent := t.TempDir()
	full := filepath.Join(parent, "full")
	require.NoError(t, os.MkdirAll(filepath.Join(full, "sub"), 0o755))
	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	assert.NoError(t, generator.CheckDir(filepath.Join(parent, "missing"), false))
	assert.NoError(t, generator.CheckDir(filepath.Join(full, "sub"), false), "empty")
	assert.ErrorIs(t, generator.CheckDir(full, false), generator.ErrDirNotEmpty)
	assert.NoError(t, generator.CheckDir(full, true))
	assert.EqualError(t, generator.CheckDir(file, true), "output directory "+file+" is a file")
	// The form's answer "   " named a folder of spaces.
	assert.EqualError(t, generator.CheckDir("   ", false), `output directory "   " names no folder`)
}

// TestValidate_BlankDir: a Dir of spaces is no folder; Generate wrote the
// project into one named so.
func TestValidate_BlankDir(t *testing.T) {
	o := &generator.Options{Project: project.File{Name: "demo", Module: "demo", Template: project.TemplateREST, Protocol: project.ProtocolV1, Resources: generator.DefaultResources()}, Dir: " \t"}
	require.EqualError(t, o.Validate(), `output directory " \t" names no folder`)
	o.Dir = ""
	require.NoError(t, o.Validate())
}

func assertNoStaging(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".kserve-gen-", "staging folder left behind")
	}
}

func TestFindRuntime(t *testing.T) {
	want, err := filepath.Abs(filepath.Join("..", "runtime"))
	require.NoError(t, err)
	// From inside the checkout, from its root, and from the runtime itself.
	for _, start := range []string{".", "..", filepath.Join("..", "runtime", "infer")} {
		assert.Equal(t, want, generator.FindRuntime(start), start)
	}
	// Outside any checkout, and skipping empty starts.
	assert.Equal(t, "", generator.FindRuntime(t.TempDir()))
	assert.Equal(t, want, generator.FindRuntime("", t.TempDir(), "."))
}

func TestLoadRuntime_RejectsOtherModules(t *testing.T) {
	_, err := generator.LoadRuntime("..")
	require.Error(t, err)
	// The checkout's root, a likely --runtime-path, names its runtime/.
	root, rerr := filepath.Abs("..")
	require.NoError(t, rerr)
	assert.EqualError(t, err, "runtime path ..: "+filepath.Join(root, "go.mod")+" has module github.com/kserve-gen/kserve-gen, want module "+generator.RuntimeModulePath+
		"; the runtime is its runtime folder: --runtime-path "+filepath.Join("..", "runtime"))
	_, err = generator.LoadRuntime(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "go.mod: no such file or directory")
}

func TestGoTypeNameAndBinaryName(t *testing.T) {
	for in, want := range map[string]string{
		"custom-model": "CustomModel", "demo": "Demo", "model-2b": "Model2b", "a--b": "AB",
		// Names go test reads as tests get a suffix; words that only
		// start like one do not.
		"test-conformance": "TestConformanceModel", "test": "TestModel", "test-2": "Test2Model",
		"benchmark-x": "BenchmarkXModel", "example": "ExampleModel", "fuzz-it": "FuzzItModel",
		"testament": "Testament", "examples": "Examples",
	} {
		assert.Equal(t, want, generator.GoTypeName(in), in)
	}
	// go build's rule (DefaultExecName): only v2 and up is a major version.
	for in, want := range map[string]string{
		"demo": "demo", "example.com/acme/custom-model": "custom-model", "example.com/acme/m/v2": "m",
		"example.com/x/v10": "x", "example.com/x/v1": "v1", "example.com/x/v0": "v0", "example.com/x/v01": "v01",
		"example.com/x/v2x": "v2x", "v2": "v2",
	} {
		assert.Equal(t, want, generator.BinaryName(in), in)
	}
}

// TestRender_TransformerReadmeNamesAPredictorThatFits: the README's
// command for a predictor project names one kserve-gen new takes, however
// long the transformer's name.
func TestRender_TransformerReadmeNamesAPredictorThatFits(t *testing.T) {
	for name, want := range map[string]string{
		"custom-transformer":           "custom-transformer-predictor",
		strings.Repeat("t", 51):        strings.Repeat("t", 43) + "-predictor",
		strings.Repeat("t", 42) + "-x": strings.Repeat("t", 42) + "-predictor", // no dash before the suffix
	} {
		o := restOptions(t, "")
		o.Project.Name, o.Project.Template = name, project.TemplateTransformer
		o.Project.Protocol, o.Project.GRPC = generator.TemplateDefaults(project.TemplateTransformer)
		files, err := generator.Render(o)
		require.NoError(t, err, name)
		for _, f := range files {
			if f.Path == "README.md" {
				assert.Contains(t, string(f.Data), "kserve-gen new "+want+" --template rest --dir ../"+want+" --yes\n(cd ../"+want+" && go run . --model_name="+name+" ", name)
				assert.NoError(t, project.ValidateName(want))
			}
		}
	}
}

// BenchmarkNew measures `kserve-gen new` without the CLI, per template:
// render every file (templates, imports.Process, go.mod, InferenceService)
// and write the project atomically into a fresh folder. The goal is well
// under 1 s per project.
func BenchmarkNew(b *testing.B) {
	for _, tmpl := range project.Templates() {
		b.Run(tmpl, func(b *testing.B) {
			parent := b.TempDir()
			o := restOptions(b, "")
			o.Project.Template = tmpl
			o.Project.Protocol, o.Project.GRPC = generator.TemplateDefaults(tmpl)
			i := 0
			for b.Loop() {
				i++
				o.Dir = filepath.Join(parent, strconv.Itoa(i))
				if _, err := generator.Generate(context.Background(), o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGenerate_UserModelWithExternalData writes a project for a model
// whose weights are in a file of their own: the file is copied beside
// model/model.onnx under the name the model gives it, the README lists
// it, and (unless -short) the project's own tests pass against ONNX
// Runtime, which finds the weights there.
func TestGenerate_UserModelWithExternalData(t *testing.T) {
	model, weights := onnxtest.ExternalData("data/weights.bin")
	dir := onnxProject(t, "mm", "mm.onnx", model, map[string][]int64{"x": {3, 2}}, map[string][]byte{"data/weights.bin": weights})

	got, err := os.ReadFile(filepath.Join(dir, "model", "data", "weights.bin"))
	require.NoError(t, err)
	assert.Equal(t, weights, got)
	got, err = os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, model, got)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "| `model/model.onnx` | your model (a copy of `mm.onnx`) |\n| `model/data/weights.bin` | its weights, stored outside the `.onnx` file |\n")
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"id":"mm-1","inputs":[{"name":"x","shape":[3,2],"datatype":"FP32","data":[0,0,0,0,0,0]}]}`+"\n", string(input))
	if testing.Short() {
		return
	}
	goTool(t, dir, "test", "-count=1", "./...")
}

func TestLoadONNXModel_RefusesWhatCannotBeServed(t *testing.T) {
	_, err := generator.LoadONNXModel(filepath.Join(t.TempDir(), "none.onnx"), nil)
	assert.ErrorIs(t, err, os.ErrNotExist)

	// A model must not make kserve-gen copy files from outside its folder.
	p := filepath.Join(t.TempDir(), "m.onnx")
	model, _ := onnxtest.ExternalData("../outside.bin")
	require.NoError(t, os.WriteFile(p, model, 0o644))
	_, err = generator.LoadONNXModel(p, nil)
	assert.ErrorContains(t, err, `initializer "W": external data location "../outside.bin" is outside the model's folder`)

	// Nor through a link of its folder: data -> a folder elsewhere (the
	// user's, when the folder came from someone else's archive).
	src, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "weights.bin"), []byte("a secret"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(src, "data")))
	p = filepath.Join(src, "m.onnx")
	model, _ = onnxtest.ExternalData("data/weights.bin")
	require.NoError(t, os.WriteFile(p, model, 0o644))
	_, err = generator.LoadONNXModel(p, nil)
	realOutside, err2 := filepath.EvalSymlinks(outside)
	require.NoError(t, err2)
	assert.EqualError(t, err, p+": external data data/weights.bin is "+filepath.Join(realOutside, "weights.bin")+
		" through a link, outside the model's folder; kserve-gen copies only files of that folder")

	// A labels.txt beside it that is a link out of the folder is left out
	// (a file it reaches whose line count fits would be copied).
	scorer := filepath.Join(src, "scorer.onnx")
	require.NoError(t, os.WriteFile(scorer, generator.ScorerONNXModel(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("a\nb\nc\nd\n"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(src, "labels.txt")))
	m, err := generator.LoadONNXModel(scorer, nil)
	require.NoError(t, err)
	assert.Empty(t, m.Labels)
	assert.EqualError(t, m.SkippedLabels, "labels "+filepath.Join(src, "labels.txt")+": a link out of the model's folder (name it with --labels to take it)")

	// ONNX Runtime's Go binding cannot read a scalar output back.
	p = filepath.Join(t.TempDir(), "scalar.onnx")
	require.NoError(t, os.WriteFile(p, onnxtest.ScalarOutput(), 0o644))
	_, err = generator.LoadONNXModel(p, nil)
	assert.ErrorIs(t, err, generator.ErrNotServable)
	assert.ErrorContains(t, err, "output sq FP32 []: the runtime cannot serve a scalar (rank 0) output")
}

// TestGenerate_InputShapeSizesDimensionsOfTheSameName: ONNX makes
// dimensions named alike one size, so --input-shape features=3,4 makes the
// sample's bias [3,1] too (scorer's features [batch,4] and bias [batch,1];
// Silero VAD's input [batch,sequence] and state h [2,batch,64], whose
// warm-up failed with h left at batch 1, so the server never started).
// Two shapes that size one name differently are refused.
func TestGenerate_InputShapeSizesDimensionsOfTheSameName(t *testing.T) {
	dir := onnxProject(t, "scorer", "scorer.onnx", generator.ScorerONNXModel(), map[string][]int64{"features": {3, 4}}, nil)
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"id":"scorer-1","inputs":[{"name":"features","shape":[3,4],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0]},{"name":"bias","shape":[3,1],"datatype":"FP32","data":[0,0,0]}]}`+"\n", string(input))
	model, err := os.ReadFile(filepath.Join(dir, "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(model), `{Name: "bias", Datatype: infer.FP32, Shape: []int64{3, 1}},`, "the warm-up's shapes are input.json's")

	p := filepath.Join(t.TempDir(), "scorer.onnx")
	require.NoError(t, os.WriteFile(p, generator.ScorerONNXModel(), 0o644))
	_, err = generator.LoadONNXModel(p, map[string][]int64{"features": {3, 4}, "bias": {2, 1}})
	assert.EqualError(t, err, p+": --input-shape bias: dimension 0 (batch) is 2, but --input-shape features makes batch 3, and the model names them alike, so they are one size")
}

// TestRender_FP16InputsNeedV2 refuses protocol v1 for a model with FP16
// inputs: only the v2 binary extension carries them.
func TestRender_FP16InputsNeedV2(t *testing.T) {
	p := filepath.Join(t.TempDir(), "half.onnx")
	require.NoError(t, os.WriteFile(p, generator.HalfONNXModel(), 0o644))
	m, err := generator.LoadONNXModel(p, nil)
	require.NoError(t, err)
	o := restOptions(t, t.TempDir())
	o.Project.Template, o.Project.Protocol, o.Model = project.TemplateONNX, project.ProtocolV1, m
	_, err = generator.Render(o)
	assert.EqualError(t, err, "the model has FP16 inputs, which travel only as binary data of the Open Inference Protocol (v2): use --protocol v2")
}

// TestGenerate_UnknownRankOutput: ONNX Runtime reports an output the
// model gives no rank as [] (a scalar's shape); the project's tests accept
// it with any shape, and pass against ONNX Runtime (unless -short). An
// input of unknown rank is refused: the runtime would take it for a
// scalar and refuse every other request.
func TestGenerate_UnknownRankOutput(t *testing.T) {
	dir := onnxProject(t, "anyrank", "any.onnx", generator.UnknownRankONNXModel(false), nil, nil)
	test, err := os.ReadFile(filepath.Join(dir, "model_test.go"))
	require.NoError(t, err)
	assert.Contains(t, string(test), "var anyRank = map[string]bool{\n\t\"y\": true,\n}")
	if !testing.Short() {
		goTool(t, dir, "test", "-count=1", "./...")
	}

	src := filepath.Join(t.TempDir(), "any.onnx")
	require.NoError(t, os.WriteFile(src, generator.UnknownRankONNXModel(true), 0o644))
	_, err = generator.LoadONNXModel(src, map[string][]int64{"x": {1, 3}})
	assert.EqualError(t, err, src+": the model cannot be served: input x FP32 (rank unknown): the runtime cannot serve an input of unknown rank (ONNX Runtime reports it as a scalar's shape); give the model's input a shape (onnx.tools.update_model_dims, or the exporter's input shape)")
}

// TestGenerate_ModelNamesCannotInjectCode: a model whose producer, input
// name and dimension name hold a line break and Go code gets a project
// where they stay quoted in comments and strings: it builds, and its
// tests (unless -short) run without the injected init.
func TestGenerate_ModelNamesCannotInjectCode(t *testing.T) {
	dir := onnxProject(t, "evil", "evil\nfunc init() {}.onnx", generator.InjectionONNXModel(), nil, nil)
	for _, f := range []string{"main.go", "model.go", "model_test.go"} {
		src, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.NotContains(t, string(src), "\nfunc init() { panic", f)
	}
	if !testing.Short() {
		goTool(t, dir, "vet", "./...")
		goTool(t, dir, "test", "-count=1", "./...")
	}
}

// TestGenerate_ImageInputNameCannotInjectCode: with --image, the image
// input's name also goes into model_test.go's comments and the README; a
// name holding a line break and Go code went there as it was, and the
// generated model_test.go had the model's init function at top level, run
// by go test.
func TestGenerate_ImageInputNameCannotInjectCode(t *testing.T) {
	const code = "\nfunc init() { panic(\"injected\") }\n//"
	dir := onnxProjectWith(t, "evilpix", "pix.onnx", onnxtest.ImageNamed("pixels"+code, "24", "32"), nil, nil, func(o *generator.Options) {
		o.Model.Image = "symmetric"
	})
	for _, f := range []string{"main.go", "model.go", "model_test.go", "README.md"} {
		src, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.NotContains(t, string(src), "\nfunc init() { panic", f)
	}
	test, err := os.ReadFile(filepath.Join(dir, "model_test.go"))
	require.NoError(t, err)
	assert.Contains(t, string(test), `// "pixels\nfunc init() { panic(\"injected\") }\n//".`+"\n")
	if !testing.Short() {
		goTool(t, dir, "vet", "./...")
		goTool(t, dir, "test", "-count=1", "./...")
	}
}

// TestGenerate_ReadmeClassificationExampleIsJSON: the README's
// classification example names the model's first output inside JSON, so a
// name with a quote or a backslash is escaped there and the example still
// parses as the request field it shows.
func TestGenerate_ReadmeClassificationExampleIsJSON(t *testing.T) {
	dir := onnxProject(t, "quoted", "quoted.onnx", generator.QuotedOutputONNXModel(), nil, nil)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("add `(\"outputs\":.*?)`").FindSubmatch(readme)
	require.NotNil(t, m, "the README's classification example")
	var req struct {
		Outputs []struct{ Name string }
	}
	require.NoError(t, json.Unmarshal([]byte("{"+string(m[1])+"}"), &req), "%s", m[1])
	require.Len(t, req.Outputs, 1)
	assert.Equal(t, `scores"\v2`, req.Outputs[0].Name)
}

// TestGenerate_ReadmeTellsOfClassificationForAClassifierOnly: every onnx
// project's README said "For a classifier, the classification extension
// answers the top classes of an output", PaddleOCR's text detector (a
// probability map [batch,1,H,W]) and Silero VAD (one score) included,
// where ranking the output answers pixels as classes. The paragraph is
// now there for an output that holds a row of class scores alone, and
// says what the README knows of it: labels name its classes, or its shape
// is a classifier's.
func TestGenerate_ReadmeTellsOfClassificationForAClassifierOnly(t *testing.T) {
	// The example asks for 3 classes, or all where the output has fewer.
	rest := func(k string) string {
		return " the classification extension answers the top\nclasses of `y` instead of its values: add `\"outputs\":[{\"name\":\"y\",\"parameters\":{\"classification\":" + k + "}}]`\nto the request, and each row comes back as strings "
	}
	shaped := func(dims ...string) func() []byte {
		return func() []byte { return onnxtest.Shaped(onnxtest.Float, dims...) }
	}
	for _, c := range []struct {
		name   string
		model  func() []byte
		labels string
		want   string // the paragraph, "" for none
	}{
		{"detector map", shaped("batch", "1", "height", "width"), "", ""},
		{"recogniser sequence", shaped("batch", "time", "6625"), "", ""},
		{"one score", shaped("batch", "1"), "", ""},
		{"dynamic classes", shaped("batch", "classes"), "", ""},
		{"class indices", func() []byte { return onnxtest.Shaped(onnxtest.Int64, "batch", "3") }, "", ""},
		{"scores", shaped("batch", "2"), "",
			"If the model is a classifier (its output `y` FP32 [batch,2] has a row of\nscores for each sample, as a classifier's has)," + rest("2") + "`\"value:index\"` (a `model/labels.txt`, one class name per line, adds `:label`)."},
		{"pooled scores", shaped("batch", "1000", "1", "1"), "",
			"If the model is a classifier (its output `y` FP32 [batch,1000,1,1] has a row of\nscores for each sample, as a classifier's has)," + rest("3") + "`\"value:index\"` (a `model/labels.txt`, one class name per line, adds `:label`)."},
		{"two pooled scores", shaped("batch", "2", "1", "1"), "",
			"If the model is a classifier (its output `y` FP32 [batch,2,1,1] has a row of\nscores for each sample, as a classifier's has)," + rest("2") + "`\"value:index\"` (a `model/labels.txt`, one class name per line, adds `:label`)."},
		{"two class dimensions", shaped("batch", "2", "3"), "", ""},
		{"labelled", shaped("batch", "3"), "cat\ndog\nbird\n",
			"The model is a classifier (`model/labels.txt` names the classes of its output\n`y`), so" + rest("3") + "`\"value:index:label\"`, the labels\nfrom `model/labels.txt`."},
	} {
		t.Run(c.name, func(t *testing.T) {
			var files map[string][]byte
			if c.labels != "" {
				files = map[string][]byte{"labels.txt": []byte(c.labels)}
			}
			dir := onnxProject(t, "m", "m.onnx", c.model(), nil, files)
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			require.NoError(t, err)
			if c.want == "" {
				assert.NotContains(t, string(readme), "classification")
				return
			}
			assert.Contains(t, string(readme), "\n\n"+c.want+"\n\n")
			assert.Equal(t, 1, strings.Count(string(readme), "classification extension"))
		})
	}
}

// onnxProject writes model as file (with files beside it) and generates
// an onnx project NAME serving it, returning the project folder.
func onnxProject(t *testing.T, name, file string, model []byte, shapes map[string][]int64, files map[string][]byte) string {
	t.Helper()
	return onnxProjectWith(t, name, file, model, shapes, files, nil)
}

// onnxProjectWith is onnxProject with mod applied to the options before
// generating.
func onnxProjectWith(t *testing.T, name, file string, model []byte, shapes map[string][]int64, files map[string][]byte, mod func(*generator.Options)) string {
	t.Helper()
	src := t.TempDir()
	for rel, data := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, rel), data, 0o644))
	}
	p := filepath.Join(src, file)
	require.NoError(t, os.WriteFile(p, model, 0o644))
	m, err := generator.LoadONNXModel(p, shapes)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), name)
	o := restOptions(t, dir)
	o.Project.Name, o.Project.Module, o.Project.Template = name, "example.com/"+name, project.TemplateONNX
	o.Project.Protocol, o.Project.GRPC = generator.TemplateDefaults(project.TemplateONNX)
	o.Model = m
	if mod != nil {
		mod(o)
	}
	_, err = generator.Generate(context.Background(), o)
	require.NoError(t, err)
	return dir
}

// TestGenerate_FP16OutputsOverV1: v1 answers FP16 outputs as JSON numbers,
// so a v1 project of a model with one sends a plain input.json and reads
// a plain answer (the v2 projects ask for binary outputs: golden
// onnx-model-fp16-out); its tests pass against ONNX Runtime.
func TestGenerate_FP16OutputsOverV1(t *testing.T) {
	dir := onnxProjectWith(t, "halfv1", "half.onnx", generator.HalfOutputONNXModel(), nil, nil, func(o *generator.Options) {
		o.Project.Protocol = project.ProtocolV1
	})
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Equal(t, "{\"instances\":[[0,0,0,0]]}\n", string(input))
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "curl -H \"Content-Type: application/json\" http://localhost:8080/v1/models/halfv1:predict -d @./input.json\n")
	assert.NotContains(t, string(readme), "answer.bin")
	if !testing.Short() {
		goTool(t, dir, "test", "-count=1", "./...")
	}
}

// TestGenerate_ZipMapOutputLeftOut: a scikit-learn export with ZipMap (a
// sequence of maps beside the tensor of scores) gets a project serving the
// tensor: the signature, README and tests leave the other out, and the
// project's tests (unless -short) pass against ONNX Runtime, which the
// runtime does not ask for it.
func TestGenerate_ZipMapOutputLeftOut(t *testing.T) {
	dir := onnxProject(t, "zm", "zm.onnx", onnxtest.ZipMap(), nil, nil)
	test, err := os.ReadFile(filepath.Join(dir, "model_test.go"))
	require.NoError(t, err)
	assert.Contains(t, string(test), "\toutputs = []tensorMetadata{\n\t\t{Name: \"scores\", Datatype: \"FP32\", Shape: []int64{-1, 3}}, // [batch,3]\n\t}\n")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "Not served: probabilities sequence — the Open Inference Protocol carries tensors only")
	if !testing.Short() {
		goTool(t, dir, "test", "-count=1", "./...")
	}
}

// What a project made one way has and one made another does not write:
// the files new --force leaves behind when the template changes, or gRPC
// is turned off (the client, which every project serving gRPC now gets).
func TestLeftBehind(t *testing.T) {
	client := []string{"client/main.go", "client/main_test.go"}
	for _, c := range []struct {
		from, to generator.Made
		want     []string
	}{
		{generator.Made{"grpc", true}, generator.Made{"rest", false}, client},
		{generator.Made{"grpc", true}, generator.Made{"onnx", false}, client},
		{generator.Made{"grpc", true}, generator.Made{"onnx", true}, nil},
		{generator.Made{"rest", true}, generator.Made{"rest", false}, client},
		{generator.Made{"onnx", true}, generator.Made{"rest", false}, append([]string{"client/main.go", "client/main_test.go"}, "model/labels.txt", "model/model.onnx")},
		{generator.Made{"onnx", false}, generator.Made{"rest", false}, []string{"model/labels.txt", "model/model.onnx"}},
		{generator.Made{"rest", false}, generator.Made{"grpc", true}, nil},
		{generator.Made{"transformer", false}, generator.Made{"rest", false}, nil},
		{generator.Made{"grpc", true}, generator.Made{"grpc", true}, nil},
	} {
		got, err := generator.LeftBehind(c.from, c.to)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%v -> %v", c.from, c.to)
	}
}

// TestRemoveLeftovers: of the earlier project's files the new one does
// not write, those the folder holds as the earlier project has them are
// removed, with the folders that leaves empty (deepest first); an edited
// one, a link, a folder in a file's place, a file in a linked folder and
// a model unlike the sample stay, each with why; a file of both projects,
// and the user's own, are not touched.
func TestRemoveLeftovers(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	for name, data := range map[string]string{
		"a/b/same.go":      "gen",  // unchanged, alone in a/b, alone with b in a
		"c/same.txt":       "gen",  // unchanged, beside the user's file
		"c/mine.txt":       "mine", // the user's
		"edited.go":        "mine",
		"d/edited.go":      "mine", // keeps its folder whole:
		"d/same.go":        "gen",  // unchanged, but stays beside it
		"d/data.txt":       "gen",  // not Go: goes
		"both.go":          "old",  // the new project writes it too
		"real/target.txt":  "gen",
		"model/model.onnx": "mine", // the user's model where the sample was
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "linked.txt"), []byte("gen"), 0o644))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "linkdir")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "real", "target.txt"), filepath.Join(dir, "link.txt")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "folder.txt"), 0o755))

	gen := []byte("gen")
	earlier := []generator.File{
		{Path: "a/b/same.go", Data: gen},
		{Path: "both.go", Data: gen},
		{Path: "c/same.txt", Data: gen},
		{Path: "d/data.txt", Data: gen},
		{Path: "d/edited.go", Data: gen},
		{Path: "d/same.go", Data: gen},
		{Path: "edited.go", Data: gen},
		{Path: "folder.txt", Data: gen},
		{Path: "gone.txt", Data: gen},
		{Path: "link.txt", Data: gen},
		{Path: "linkdir/linked.txt", Data: gen},
		{Path: "model/model.onnx", Data: gen},
	}
	written := []generator.File{{Path: "both.go", Data: []byte("new")}}
	got := generator.RemoveLeftovers(dir, earlier, written)
	assert.Equal(t, []string{"a/b/same.go", "c/same.txt", "d/data.txt", "a/", "a/b/"}, got.Removed)
	var kept []string
	var whys []generator.KeptWhy
	for _, k := range got.Kept {
		kept = append(kept, k.Path)
		whys = append(whys, k.Why)
	}
	assert.Equal(t, []string{"d/edited.go", "d/same.go", "edited.go", "folder.txt", "link.txt", "linkdir/linked.txt", "model/model.onnx"}, kept)
	assert.Equal(t, []generator.KeptWhy{generator.KeptEdited, generator.KeptBeside, generator.KeptEdited, generator.KeptNotFile, generator.KeptLink, generator.KeptLink, generator.KeptModel}, whys)

	assert.NoDirExists(t, filepath.Join(dir, "a"))
	assert.NoFileExists(t, filepath.Join(dir, "c", "same.txt"))
	for name, want := range map[string]string{
		"c/mine.txt":         "mine",
		"edited.go":          "mine",
		"d/same.go":          "gen",
		"both.go":            "old",
		"real/target.txt":    "gen",
		"link.txt":           "gen",
		"linkdir/linked.txt": "gen",
		"model/model.onnx":   "mine",
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, want, string(data), name)
	}
	assert.DirExists(t, filepath.Join(dir, "folder.txt"))
	st, err := os.Lstat(filepath.Join(dir, "link.txt"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type(), "the link itself stays")
}

// TestWrite_NonEmptyDirNamesTheFilesForceWouldReplace: the error names the
// project's files the folder holds with other contents (a copied model
// compared with its source), not those it holds unchanged or lacks.
func TestWrite_NonEmptyDirNamesTheFilesForceWouldReplace(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "model.onnx")
	require.NoError(t, os.WriteFile(src, []byte("weights"), 0o644))
	for name, data := range map[string]string{"same.txt": "same", "edited.go": "mine", "model/model.onnx": "weightz", "notes.txt": "x"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	files := []generator.File{
		{Path: "same.txt", Data: []byte("same")},
		{Path: "edited.go", Data: []byte("generated")},
		{Path: "model/model.onnx", Source: src},
		{Path: "new.txt", Data: []byte("new")},
	}
	err := generator.Write(context.Background(), dir, files, false)
	require.ErrorIs(t, err, generator.ErrDirNotEmpty)
	assert.Equal(t, dir+": output directory is not empty (--force would replace edited.go, model/model.onnx, which differ from the new ones)", err.Error())
	assert.NoFileExists(t, filepath.Join(dir, "new.txt"))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "model/model.onnx"), []byte("weights"), 0o644))
	differ, err := generator.Differing(dir, files)
	require.NoError(t, err)
	assert.Equal(t, []string{"edited.go"}, differ)
}

// TestWrite_NonEmptyDirSaysWhenForceReplacesNothing: a folder holding
// other files, or this very project unchanged (new run twice), was refused
// with "not empty" alone, which did not say whether --force was safe; it
// now says --force would replace nothing with other contents.
func TestWrite_NonEmptyDirSaysWhenForceReplacesNothing(t *testing.T) {
	files := []generator.File{{Path: "main.go", Data: []byte("package main\n")}}
	for name, held := range map[string]map[string]string{
		"others only":      {"notes.txt": "x"},
		"the same project": {"main.go": "package main\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for p, data := range held {
				require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644))
			}
			err := generator.Write(context.Background(), dir, files, false)
			require.ErrorIs(t, err, generator.ErrDirNotEmpty)
			assert.Equal(t, dir+": output directory is not empty (--force would replace none of its files with other contents)", err.Error())
		})
	}
}
