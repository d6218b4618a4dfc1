package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
	"github.com/kserve-gen/kserve-gen/project"
)

// stubPrompter records what the form was prefilled with and answers with fill.
type stubPrompter struct {
	got  answers
	fill func(*answers)
	err  error
}

func (p *stubPrompter) Ask(ctx context.Context, a *answers, changed func(string) bool) error {
	p.got = *a
	if p.fill != nil {
		p.fill(a)
	}
	return p.err
}

// testFactory returns a factory over buffers that finds this checkout's runtime.
func testFactory(t *testing.T) (*factory, *stubPrompter, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := TestIO()
	p := &stubPrompter{}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return &factory{IO: ios, Prompter: p, RuntimeSearch: func() []string { return []string{repo} }}, p, out, errOut
}

func runCLI(t *testing.T, f *factory, args ...string) error {
	t.Helper()
	cmd := newCmdRoot(f)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestNew_FlagsReachOptions(t *testing.T) {
	f, _, _, _ := testFactory(t)
	var got *newOptions
	cmd := newCmdNew(f, func(o *newOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"custom-model", "--module", "example.com/m", "-t", "onnx", "--protocol", "v2", "--grpc",
		"--gpu", "2", "--cpu-request", "500m", "--cpu-limit", "4", "--memory-request", "2Gi", "--memory-limit", "16Gi",
		"--dir", "out", "--force", "-y", "--runtime-path", "/rt"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, answers{Name: "custom-model", Module: "example.com/m", Template: "onnx", Protocol: "v2", GRPC: true,
		CPURequest: "500m", CPULimit: "4", MemoryRequest: "2Gi", MemoryLimit: "16Gi", Dir: "out", Force: true}, got.answers)
	assert.Equal(t, 2, got.GPUCount)
	assert.True(t, got.Yes)
	assert.Equal(t, "/rt", got.RuntimePath)
	assert.True(t, got.Changed("grpc"))
	assert.True(t, got.Changed("module"))
	assert.False(t, got.Changed("protocol") && !got.Changed("grpc"))
}

func TestNew_YesWithoutRequiredAnswersListsFlagsAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f, p, out, _ := testFactory(t)
	err := runCLI(t, f, "new", "--yes")
	require.EqualError(t, err, "--yes was given, so nothing is asked; pass the missing answers: NAME (the first argument, e.g. `kserve-gen new custom-model`), --template (rest, grpc, onnx, transformer, openai, timeseries)")
	err = runCLI(t, f, "new", "demo", "--yes")
	require.EqualError(t, err, "--yes was given, so nothing is asked; pass the missing answers: --template (rest, grpc, onnx, transformer, openai, timeseries)")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
	assert.Empty(t, out.String())
	assert.Equal(t, answers{}, p.got, "the form must not be shown")
}

func TestNew_NoTerminalIsLikeYes(t *testing.T) {
	t.Chdir(t.TempDir())
	f, _, _, _ := testFactory(t)
	err := runCLI(t, f, "new", "demo")
	require.EqualError(t, err, "stdin or stdout is not a terminal, so nothing is asked; pass the missing answers: --template (rest, grpc, onnx, transformer, openai, timeseries)")
}

func TestNew_WritesProjectFromFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "proj")
	f, _, out, errOut := testFactory(t)
	err := runCLI(t, f, "new", "demo", "--template", "grpc", "--module", "example.com/demo", "--gpu", "1", "--memory-limit", "4Gi", "--yes", "--dir", dir)
	require.NoError(t, err)
	assert.Empty(t, errOut.String())
	assert.Regexp(t, regexp.MustCompile(`^Created demo \(template grpc, protocol v2, gRPC\): \d+ files in `+regexp.QuoteMeta(dir)+"\n"), out.String())
	assert.Contains(t, out.String(), "\nNext:\n  cd "+dir+"\n  go test ./...\n  go run .\n")
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, &project.File{Name: "demo", Module: "example.com/demo", Template: "grpc", Protocol: "v2", GRPC: true, GPU: 1,
		Resources: project.Resources{
			Requests: project.ResourceList{CPU: "1", Memory: "1Gi"},
			Limits:   project.ResourceList{CPU: "2", Memory: "4Gi"},
		}}, got)
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	rt, err := filepath.Abs(filepath.Join("..", "..", "runtime"))
	require.NoError(t, err)
	assert.Contains(t, string(gomod), "replace "+generator.RuntimeModulePath+" => "+rt+"\n")
	for _, name := range []string{"main.go", "model.go", "model_test.go", "client/main.go", "input.json", "inferenceservice.yaml", "Procfile", ".go-version", "project.toml", ".gitignore", "README.md", "go.sum"} {
		assert.FileExists(t, filepath.Join(dir, name))
	}
}

// A transformer started with a bare go run answers every request 501
// (no --predictor_host): its "Next" names the predictor its README starts.
// A transformer's predictor kept from kserve-gen.yaml, a container image
// or a model format served by KServe (deploy.md's two kinds), is the one
// in the new inferenceservice.yaml, as kserve-gen deploy prints it.
func TestNew_ForceKeepsATransformersPredictor(t *testing.T) {
	f, _, _, _ := testFactory(t)
	for _, c := range []struct{ predictor, want string }{
		{"    image: registry.example.com/p:v2\n", "        image: registry.example.com/p:v2\n"},
		{"    modelFormat: sklearn\n    storageUri: gs://b/m\n", "      modelFormat:\n        name: sklearn\n"},
	} {
		dir := filepath.Join(t.TempDir(), "tx")
		require.NoError(t, runCLI(t, f, "new", "tx", "--template", "transformer", "--yes", "--dir", dir))
		file := filepath.Join(dir, project.FileName)
		answers, err := os.ReadFile(file)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, append(answers, "deploy:\n  predictor:\n"+c.predictor...), 0o644))

		require.NoError(t, runCLI(t, f, "new", "tx", "--template", "transformer", "--force", "--yes", "--dir", dir))
		isvc, err := os.ReadFile(filepath.Join(dir, "inferenceservice.yaml"))
		require.NoError(t, err)
		assert.Contains(t, string(isvc), c.want)
		assert.NotContains(t, string(isvc), "registry.example.com/tx-predictor:v1", "the placeholder predictor")
	}
}

func TestNew_TransformerNextNamesThePredictor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tx")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "tx", "--template", "transformer", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "\nNext:\n  cd "+dir+"\n  go test ./...\n"+
		"  go run . --predictor_host=localhost:8085    # with a predictor serving tx there: README.md starts one\n")
}

func TestNew_ProtocolFollowsTemplateAndGRPC(t *testing.T) {
	tests := []struct {
		args     []string
		protocol string
		grpc     bool
	}{
		{[]string{"--template", "rest"}, "v1", false},
		{[]string{"--template", "rest", "--grpc"}, "v2", true},
		{[]string{"--template", "onnx"}, "v2", false},
		{[]string{"--template", "transformer", "--protocol", "v2"}, "v2", false},
		{[]string{"--template", "grpc"}, "v2", true},
		{[]string{"--template", "openai"}, "v1", false},
		{[]string{"--template", "openai", "--protocol", "v1", "--grpc=false"}, "v1", false},
		{[]string{"--template", "timeseries"}, "v1", false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			f, _, _, _ := testFactory(t)
			err := runCLI(t, f, append([]string{"new", "demo", "--yes", "--dir", dir}, tt.args...)...)
			require.NoError(t, err)
			got, err := project.Load(dir)
			require.NoError(t, err)
			assert.Equal(t, tt.protocol, got.Protocol)
			assert.Equal(t, tt.grpc, got.GRPC)
		})
	}
}

func TestNew_BadAnswersNameTheField(t *testing.T) {
	f, _, _, _ := testFactory(t)
	dir := filepath.Join(t.TempDir(), "p")
	err := runCLI(t, f, "new", "Custom_Model", "--template", "rest", "--cpu-request", "3", "--yes", "--dir", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `NAME: "Custom_Model" is not a DNS-1123 label`)
	assert.Contains(t, err.Error(), "--cpu-request 3 is more than the default --cpu-limit 2")
	err = runCLI(t, f, "new", "demo", "--template", "rest", "--protocol", "v1", "--grpc", "--yes", "--dir", dir)
	require.ErrorContains(t, err, "so it needs --protocol v2")
	err = runCLI(t, f, "new", "demo", "--template", "flask", "--yes", "--dir", dir)
	require.ErrorContains(t, err, `"flask" is not a template; choose one of rest, grpc, onnx, transformer, openai, timeseries`)
	assert.NoDirExists(t, dir)
}

// TestNew_GRPCConflictsNameTheFlags: gRPC and protocol answers given as
// flags that do not go together are answered in the flags' words; they
// were answered with kserve-gen.yaml's fields ("grpc: template grpc needs
// grpc: true"), which the user never wrote.
func TestNew_GRPCConflictsNameTheFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "grpc", "--grpc=false"}, "--grpc=false: --template grpc always serves gRPC (the Open Inference Protocol over gRPC, with a Go client); drop --grpc=false, or choose --template rest or onnx for REST alone"},
		{[]string{"-t", "grpc", "--protocol", "v1"}, "--protocol v1 with --template grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol v2; drop --protocol v1, or choose --template rest"},
		{[]string{"-t", "rest", "--protocol", "v1", "--grpc"}, "--protocol v1 with --grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol v2; drop --protocol v1, or --grpc"},
		{[]string{"-t", "openai", "--grpc"}, "--grpc: --template openai serves OpenAI's API over REST on --http_port and has no gRPC endpoint; drop --grpc, or choose --template rest, grpc or onnx for the Open Inference Protocol over gRPC"},
		{[]string{"-t", "openai", "--protocol", "v2", "--grpc"}, "--grpc: --template openai serves OpenAI's API over REST on --http_port and has no gRPC endpoint; drop --grpc, or choose --template rest, grpc or onnx for the Open Inference Protocol over gRPC"},
		{[]string{"-t", "openai", "--protocol", "v2"}, "--protocol v2: --template openai serves OpenAI's API (/openai/v1/...), not the Open Inference Protocol, and takes v1 alone; drop --protocol v2"},
		{[]string{"-t", "timeseries", "--grpc"}, "--grpc: --template timeseries serves KServe's time-series API over REST on --http_port and has no gRPC endpoint; drop --grpc, or choose --template rest, grpc or onnx for the Open Inference Protocol over gRPC"},
		{[]string{"-t", "timeseries", "--protocol", "v2"}, "--protocol v2: --template timeseries serves KServe's time-series API (/v1/timeseries/...), not the Open Inference Protocol, and takes v1 alone; drop --protocol v2"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			f, _, out, _ := testFactory(t)
			dir := filepath.Join(t.TempDir(), "p")
			err := runCLI(t, f, append([]string{"new", "demo", "--yes", "--dir", dir}, c.args...)...)
			require.EqualError(t, err, c.want)
			assert.NoDirExists(t, dir)
			assert.Empty(t, out.String())
		})
	}
}

// TestNew_ValueFlagsNameTheFlags: a bad --protocol, --gpu or resources
// flag is answered in the flags' words; it was answered with
// kserve-gen.yaml's fields ("protocol:", "gpu:", "resources:
// requests.cpu"), a file the user has not seen yet.
func TestNew_ValueFlagsNameTheFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--protocol", "v3"}, `--protocol: "v3" is not a protocol; choose v1 or v2`},
		{[]string{"--gpu", "-1"}, "--gpu: must be 0 (CPU) or more, got -1"},
		{[]string{"--cpu-request", "3"}, "--cpu-request 3 is more than the default --cpu-limit 2"},
		{[]string{"--cpu-request", "3", "--cpu-limit", "2"}, "--cpu-request 3 is more than --cpu-limit 2"},
		{[]string{"--memory-limit", "256Mi"}, "the default --memory-request 1Gi is more than --memory-limit 256Mi"},
		{[]string{"--memory-request", "2GB"}, `--memory-request: "2GB" is not a Kubernetes quantity (try "2G" or "2Gi"): a memory quantity is a number of bytes with an optional suffix: k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), like 512Mi or 2G`},
		// Each kind is offered its own spellings, and told its own rule.
		{[]string{"--cpu-limit", "1.5 cpu"}, `--cpu-limit: "1.5 cpu" is not a Kubernetes quantity (try "1500m"): a CPU quantity is a number of CPUs, whole or with m for thousandths of one, like 2, 1.5 or 500m`},
		{[]string{"--cpu-limit", "2GB"}, `--cpu-limit: "2GB" is not a Kubernetes quantity: a CPU quantity is a number of CPUs, whole or with m for thousandths of one, like 2, 1.5 or 500m`},
		// 500m of memory is half a byte, which Kubernetes takes.
		{[]string{"--memory-limit", "500m", "--memory-request", "100Mi"}, `--memory-limit: "500m" is less than one byte (try "500Mi" or "500M"): m means thousandths; a memory quantity is a number of bytes with an optional suffix: k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), like 512Mi or 2G`},
		{[]string{"--cpu-limit", "-1"}, `--cpu-limit: "-1" must not be negative`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			f, _, out, _ := testFactory(t)
			dir := filepath.Join(t.TempDir(), "p")
			err := runCLI(t, f, append([]string{"new", "demo", "-t", "rest", "--yes", "--dir", dir}, c.args...)...)
			require.EqualError(t, err, c.want)
			assert.NoDirExists(t, dir)
			assert.Empty(t, out.String())
		})
	}
}

// TestNew_BadNameIsOneError: the module path follows NAME when --module is
// not given, so a bad NAME is one error, not a second one about a module
// the user never wrote; a --module of their own is still checked.
func TestNew_BadNameIsOneError(t *testing.T) {
	f, _, _, _ := testFactory(t)
	dir := filepath.Join(t.TempDir(), "p")
	err := runCLI(t, f, "new", "My Model", "--template", "rest", "--yes", "--dir", dir)
	require.Error(t, err)
	assert.Equal(t, `NAME: "My Model" is not a DNS-1123 label (try "my-model"): a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 53 characters`, err.Error())
	err = runCLI(t, f, "new", "My Model", "--template", "rest", "--module", "my model", "--yes", "--dir", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "\n--module: \"my model\" is not a valid Go module path: malformed import path \"my model\": invalid char ' '")
	assert.NoDirExists(t, dir)
}

func TestNew_NonEmptyDirNeedsForce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o644))
	f, _, _, _ := testFactory(t)
	err := runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir)
	require.ErrorIs(t, err, generator.ErrDirNotEmpty)
	assert.Equal(t, dir+": output directory is not empty (--force would replace none of its files with other contents); choose another --dir, or pass --force to replace the generated files (other files are kept)", err.Error())
	assert.NoFileExists(t, filepath.Join(dir, "main.go"))
	err = runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir, "--force")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "main.go"))
	assert.FileExists(t, filepath.Join(dir, "keep.txt"))
}

func TestNew_BadRuntimePath(t *testing.T) {
	f, _, _, _ := testFactory(t)
	dir := filepath.Join(t.TempDir(), "p")
	err := runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir, "--runtime-path", t.TempDir())
	require.ErrorContains(t, err, "--runtime-path: runtime path ")
	assert.NoDirExists(t, dir)
}

func TestNew_NoCheckoutWarns(t *testing.T) {
	f, _, out, errOut := testFactory(t)
	f.RuntimeSearch = func() []string { return []string{t.TempDir()} }
	dir := filepath.Join(t.TempDir(), "p")
	err := runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "Created demo")
	assert.Equal(t, "Warning: no kserve-gen checkout found, so go.mod requires "+generator.RuntimeModulePath+" with no replace directive; that module is not published, so go commands in the project fail. Run kserve-gen new again with the same flags plus --runtime-path /path/to/kserve-gen/runtime --force (the runtime/ folder of a kserve-gen checkout).\n", errOut.String())
	assert.NoFileExists(t, filepath.Join(dir, "go.sum"))
}

// TestNew_RuntimeOutsideItsOwnCheckoutIsNamed: kserve-gen's own checkout
// (the first place searched) wins over a runtime module found from the
// current directory, which anyone can put in a folder above it; one found
// only there is used and named, since the project's first go test runs
// its code.
func TestNew_RuntimeOutsideItsOwnCheckoutIsNamed(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	other := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(other, "runtime"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "runtime", "go.mod"), []byte("module "+generator.RuntimeModulePath+"\n\ngo 1.26.0\n"), 0o644))
	cwd := filepath.Join(other, "work")
	require.NoError(t, os.Mkdir(cwd, 0o755))

	for _, c := range []struct {
		name   string
		starts []string
		want   string // the runtime go.mod replaces with
		note   string
	}{
		{"own checkout first", []string{repo, cwd}, filepath.Join(repo, "runtime"), ""},
		{"no own checkout", []string{"", cwd}, filepath.Join(other, "runtime"),
			"Note: go.mod replaces " + generator.RuntimeModulePath + " with " + filepath.Join(other, "runtime") +
				", found from the current directory (pass --runtime-path to choose another).\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _, _, errOut := testFactory(t)
			f.RuntimeSearch = func() []string { return c.starts }
			dir := filepath.Join(t.TempDir(), "p")
			require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir))
			gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			require.NoError(t, err)
			f2, err := modfile.Parse("go.mod", gomod, nil)
			require.NoError(t, err)
			require.Len(t, f2.Replace, 1)
			got := f2.Replace[0].New.Path
			if !filepath.IsAbs(got) {
				got = filepath.Join(dir, got)
			}
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.note, errOut.String())
		})
	}
}

func TestNew_TerminalShowsFormPrefilledFromFlags(t *testing.T) {
	f, p, _, _ := testFactory(t)
	f.IO.SetTTY(true)
	dir := filepath.Join(t.TempDir(), "p")
	p.fill = func(a *answers) { a.Template, a.Protocol, a.GRPC = "onnx", "v2", true }
	err := runCLI(t, f, "new", "demo", "--gpu", "1", "--module", "example.com/demo", "--dir", dir)
	require.NoError(t, err)
	assert.Equal(t, answers{Name: "demo", Module: "example.com/demo", GPU: "1", CPURequest: "1", CPULimit: "2", MemoryRequest: "1Gi", MemoryLimit: "2Gi", Dir: dir}, p.got)
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "onnx", got.Template)
	assert.True(t, got.GRPC)
	assert.Equal(t, 1, got.GPU)
}

// TestNew_OpenAIFlagsRefusedBeforeTheForm: on a terminal too, --grpc
// with --template openai is refused before any question, not once every
// answer is given.
func TestNew_OpenAIFlagsRefusedBeforeTheForm(t *testing.T) {
	f, p, _, _ := testFactory(t)
	f.IO.SetTTY(true)
	dir := filepath.Join(t.TempDir(), "p")
	p.fill = func(a *answers) { t.Error("the form was shown") }
	err := runCLI(t, f, "new", "demo", "--template", "openai", "--grpc", "--dir", dir)
	require.ErrorContains(t, err, "--grpc: --template openai serves OpenAI's API over REST")
	assert.NoDirExists(t, dir)
}

// TestNew_OpenAIProject: --template openai writes a chat model served on
// the OpenAI routes, v1 without gRPC, and its InferenceService is a custom
// predictor probed on the model's v1 readiness, which an OpenAI model
// answers (its v2 metadata would be a 500).
func TestNew_OpenAIProject(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mychat")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "mychat", "--template", "openai", "--yes", "--dir", dir))
	assert.Empty(t, errOut.String())
	assert.Regexp(t, regexp.MustCompile(`^Created mychat \(template openai, protocol v1\): 13 files in `), out.String())
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "openai", got.Template)
	assert.Equal(t, "v1", got.Protocol)
	assert.False(t, got.GRPC)
	assert.NoDirExists(t, filepath.Join(dir, "client"))
	model, err := os.ReadFile(filepath.Join(dir, "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(model), "func (m *Mychat) ChatCompleteStream(ctx context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {")
	isvc, err := os.ReadFile(filepath.Join(dir, "inferenceservice.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(isvc), "        readinessProbe:\n          httpGet:\n            path: /v1/models/mychat\n            port: 8080\n")
	assert.Contains(t, string(isvc), "          - name: PROTOCOL\n            value: v1\n")
	assert.NotContains(t, string(isvc), "h2c")
	if !testing.Short() {
		runIn(t, dir, "go", "vet", "./...")
		runIn(t, dir, "go", "test", "-count=1", "./...")
	}
}

func TestNew_YesSkipsFormOnTerminal(t *testing.T) {
	f, p, _, _ := testFactory(t)
	f.IO.SetTTY(true)
	dir := filepath.Join(t.TempDir(), "p")
	err := runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir)
	require.NoError(t, err)
	assert.Equal(t, answers{}, p.got)
}

func TestNew_AbortedFormWritesNothing(t *testing.T) {
	f, p, _, errOut := testFactory(t)
	f.IO.SetTTY(true)
	p.err = errAborted
	dir := filepath.Join(t.TempDir(), "p")
	code := run(context.Background(), f, []string{"new", "demo", "--dir", dir})
	assert.Equal(t, 130, code)
	assert.Equal(t, "Error: aborted; nothing was written\n", errOut.String())
	assert.NoDirExists(t, dir)
}

func TestVersion(t *testing.T) {
	f, _, out, _ := testFactory(t)
	err := runCLI(t, f, "version")
	require.NoError(t, err)
	assert.Regexp(t, `^kserve-gen \S+( \([0-9a-f]{12}\))? go1\.\d+\S* \w+/\w+; generated projects require github.com/kserve-gen/kserve-gen/runtime\n$`, out.String())

	// kserve-gen --version, the spelling most CLIs take, says the same
	// (it was "unknown flag: --version").
	f, _, flagOut, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "--version"))
	assert.Equal(t, out.String(), flagOut.String())
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		f, _, out, _ := testFactory(t)
		err := runCLI(t, f, "completion", shell)
		require.NoError(t, err, shell)
		assert.Contains(t, out.String(), "kserve-gen", shell)
	}
	// Dynamic completion of --template values.
	f, _, out, _ := testFactory(t)
	err := runCLI(t, f, "__complete", "new", "demo", "--template", "")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out.String(), "rest\ngrpc\nonnx\ntransformer\nopenai\ntimeseries\n:4\n"), out.String())

	// Every flag that takes one of a few words completes them (:4 is
	// ShellCompDirectiveNoFileComp); they used to complete file names.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--protocol", ""}, "v1\nv2\n:4\n"},
		{[]string{"deploy", "--predictor-protocol", ""}, "v1\nv2\ngrpc-v2\n:4\n"},
		{[]string{"deploy", "--deployment-mode", ""}, "Knative\nStandard\n:4\n"},
		{[]string{"deploy", "--scale-metric", ""}, "concurrency\nrps\ncpu\nmemory\n:4\n"},
		{[]string{"deploy", "--logger-mode", ""}, "all\nrequest\nresponse\n:4\n"},
		{[]string{"build", "--pull-policy", ""}, "always\nif-not-present\nnever\n:4\n"},
		{[]string{"builder", "create", "--pull-policy", ""}, "always\nif-not-present\nnever\n:4\n"},
	} {
		f, _, out, _ := testFactory(t)
		require.NoError(t, runCLI(t, f, append([]string{"__complete"}, c.args...)...))
		assert.True(t, strings.HasPrefix(out.String(), c.want), "%v: %q", c.args, out.String())
	}
}

// The default search finds the checkout this binary was built from even
// when run from elsewhere, and before a runtime module found from the
// working directory (here: a temporary folder holding one).
func TestDefaultRuntimeSearch_FindsOwnCheckout(t *testing.T) {
	want, err := filepath.Abs(filepath.Join("..", "..", "runtime"))
	require.NoError(t, err)
	for _, other := range []bool{false, true} {
		wd := t.TempDir()
		if other {
			require.NoError(t, os.MkdirAll(filepath.Join(wd, "runtime"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(wd, "runtime", "go.mod"), []byte("module "+generator.RuntimeModulePath+"\n"), 0o644))
		}
		t.Chdir(wd)
		dir, foreign := findRuntime(defaultRuntimeSearch())
		assert.Equal(t, want, dir, "runtime module beside the working directory: %v", other)
		assert.Empty(t, foreign)
	}
}

// TestNew_InsideAWorkspaceSaysHowToAddIt: a project written inside a Go
// workspace that does not list it cannot be built there; new says so with
// the command that fixes it, and that command works.
func TestNew_InsideAWorkspaceSaysHowToAddIt(t *testing.T) {
	t.Setenv("GOWORK", "") // the go command's own search
	ws := t.TempDir()
	runIn(t, ws, "go", "work", "init")
	dir := filepath.Join(ws, "models", "demo")

	f, _, _, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir))
	assert.Equal(t, "Warning: "+dir+" is inside the Go workspace "+filepath.Join(ws, "go.work")+
		", which does not list it, so go commands in it fail. Add it to the workspace:\n"+
		"  go work use -C "+ws+" ./models/demo\nor run them with GOWORK=off.\n", errOut.String())

	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the failure the warning is about")
	assert.Contains(t, string(out), "does not contain modules listed in go.work")
	runIn(t, t.TempDir(), "sh", "-c", strings.TrimPrefix(strings.Split(errOut.String(), "\n")[1], "  "))
	runIn(t, dir, "go", "build", "./...")

	// Listed already, or workspaces off: nothing to say.
	f, _, _, errOut = testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--force", "--dir", dir))
	assert.Empty(t, errOut.String())
	t.Setenv("GOWORK", "off")
	f, _, _, errOut = testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "other", "--template", "rest", "--yes", "--dir", filepath.Join(ws, "other")))
	assert.Empty(t, errOut.String())
}

// TestNew_StandardLibraryNamesStillBuild: a model named after a package
// of the standard library gets a module path go build builds
// (example.com/image, not image: "ambiguous import"), and a --module that
// go build would refuse is refused, naming the flag's field.
func TestNew_StandardLibraryNamesStillBuild(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	f, _, _, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "image", "--template", "rest", "--yes", "--dir", dir))
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "example.com/image", got.Module)
	if !testing.Short() {
		runIn(t, dir, "go", "vet", "./...")
	}

	for module, want := range map[string]string{
		"cmd/go":         `--module: "cmd/go" starts with "cmd", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. --module example.com/cmd/go`,
		"example.com/~x": `--module: "example.com/~x" ends in "~x", a folder name go build refuses: the last element must start with a letter, a digit or _`,
	} {
		dir := filepath.Join(t.TempDir(), "p")
		require.EqualError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--module", module, "--yes", "--dir", dir), want)
		assert.NoDirExists(t, dir)
	}
}

// TestNew_ReservedGoNamesStillTest: a model named main or all, names the
// go command reserves, gets a module path go test tests (example.com/main:
// with module main, go test ./... failed with `cannot import "main"`, and
// with module all, go vet ./... with `"all" is not an importable package`),
// and a --module of such a name is refused.
func TestNew_ReservedGoNamesStillTest(t *testing.T) {
	f, _, _, _ := testFactory(t)
	for _, name := range []string{"main", "all"} {
		dir := filepath.Join(t.TempDir(), name)
		require.NoError(t, runCLI(t, f, "new", name, "--template", "rest", "--yes", "--dir", dir))
		got, err := project.Load(dir)
		require.NoError(t, err)
		assert.Equal(t, "example.com/"+name, got.Module)
		if !testing.Short() {
			runIn(t, dir, "go", "vet", "./...")
			runIn(t, dir, "go", "test", "./...")
		}
	}
	dir := filepath.Join(t.TempDir(), "p")
	require.EqualError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--module", "tool", "--yes", "--dir", dir),
		`--module: "tool" is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. --module example.com/tool`)
	assert.NoDirExists(t, dir)
}

// TestNew_CompilerReservedNamesStillTest: a model named type gets a module
// path go test tests (example.com/type: with module type, go build passed
// but go test ./... stopped with the compiler's `internal compiler error:
// package "type" has name "type", but want "main"`), and a --module the
// compiler keeps for itself is refused before anything is written.
func TestNew_CompilerReservedNamesStillTest(t *testing.T) {
	f, _, _, _ := testFactory(t)
	dir := filepath.Join(t.TempDir(), "type")
	require.NoError(t, runCLI(t, f, "new", "type", "--template", "rest", "--yes", "--dir", dir))
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "example.com/type", got.Module)
	if !testing.Short() {
		runIn(t, dir, "go", "test", "./...")
	}
	dir = filepath.Join(t.TempDir(), "p")
	require.EqualError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--module", "go.shape", "--yes", "--dir", dir),
		`--module: "go.shape" is the path of a package the Go compiler makes up for itself, so go test stops with an internal compiler error; give another, e.g. --module example.com/go.shape`)
	assert.NoDirExists(t, dir)
}

// TestNew_ToolchainNameGetsAModuleGoTakes: a model named toolchain had
// the module path toolchain, which the go command keeps for Go toolchains:
// go test and go vet in the new project failed with `go: error reading
// go.mod: invalid module path: "toolchain"`. It now gets
// example.com/toolchain, and --module toolchain is refused.
func TestNew_ToolchainNameGetsAModuleGoTakes(t *testing.T) {
	f, _, _, _ := testFactory(t)
	dir := filepath.Join(t.TempDir(), "toolchain")
	require.NoError(t, runCLI(t, f, "new", "toolchain", "--template", "rest", "--yes", "--dir", dir))
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "example.com/toolchain", got.Module)
	if !testing.Short() {
		runIn(t, dir, "go", "vet", "./...")
	}
	dir = filepath.Join(t.TempDir(), "p")
	require.EqualError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--module", "toolchain", "--yes", "--dir", dir),
		`--module: "toolchain" is the module path the go command keeps for Go toolchains, so every go command in the project fails (invalid module path); give another, e.g. --module example.com/toolchain`)
	assert.NoDirExists(t, dir)
}

// TestNew_ForceKeepsImageAndDeploySettings: re-running new --force over
// a project (to change its GPU, say) keeps the image and deploy settings
// the user added to kserve-gen.yaml, as its README invites, in the new
// kserve-gen.yaml and inferenceservice.yaml, so that kserve-gen deploy
// still needs no --image; settings that no longer fit the new answers
// stop new before anything is written.
func TestNew_ForceKeepsImageAndDeploySettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kept")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "kept", "--template", "rest", "--yes", "--dir", dir))
	file := filepath.Join(dir, project.FileName)
	answers, err := os.ReadFile(file)
	require.NoError(t, err)
	added := "image: registry.example.com/kept:v7\ndeploy:\n  minReplicas: 1\n  env:\n    - name: FOO\n      value: bar\n"
	require.NoError(t, os.WriteFile(file, append(answers, added...), 0o644))

	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "kept", "--template", "rest", "--gpu", "1", "--force", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "Kept the image and deploy settings of the kserve-gen.yaml it replaced\n")
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, got.GPU)
	assert.Equal(t, "registry.example.com/kept:v7", got.Image)
	require.NotNil(t, got.Deploy)
	require.NotNil(t, got.Deploy.MinReplicas)
	assert.Equal(t, 1, *got.Deploy.MinReplicas)
	assert.Equal(t, []project.EnvVar{{Name: "FOO", Value: "bar"}}, got.Deploy.Env)
	isvc, err := os.ReadFile(filepath.Join(dir, "inferenceservice.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(isvc), "          - name: FOO\n            value: bar\n")
	assert.Contains(t, string(isvc), "    minReplicas: 1\n")
	assert.Contains(t, string(isvc), "        image: registry.example.com/kept:v7\n")
	assert.NotContains(t, string(isvc), "registry.example.com/kept:v1", "the placeholder image")

	// Another model written over it does not take its image.
	require.NoError(t, runCLI(t, f, "new", "other", "--template", "rest", "--force", "--yes", "--dir", dir))
	got, err = project.Load(dir)
	require.NoError(t, err)
	assert.Empty(t, got.Image)
	assert.Nil(t, got.Deploy)

	// A transformer's predictor settings do not fit a rest project.
	tx := filepath.Join(t.TempDir(), "tx")
	require.NoError(t, runCLI(t, f, "new", "tx", "--template", "transformer", "--yes", "--dir", tx))
	file = filepath.Join(tx, project.FileName)
	answers, err = os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, append(answers, "deploy:\n  predictor:\n    image: registry.example.com/p:v1\n"...), 0o644))
	require.EqualError(t, runCLI(t, f, "new", "tx", "--template", "rest", "--force", "--yes", "--dir", tx),
		"the image and deploy settings of the kserve-gen.yaml being replaced do not fit the new answers (edit or remove them there first): deploy: predictor: only a transformer project runs in front of a separate predictor (template is rest)")
	got, err = project.Load(tx)
	require.NoError(t, err)
	assert.Equal(t, "transformer", got.Template, "nothing written")
}

// TestNew_NextHintIsOneShellWord: the "Next: cd DIR" hint works when
// pasted, whatever characters the folder's name has.
func TestNew_NextHintIsOneShellWord(t *testing.T) {
	for _, c := range []struct{ dir, want string }{
		{"plain-dir_1.x", "plain-dir_1.x"},
		{"a,b:c@d%e+f=g", "a,b:c@d%e+f=g"},
		{"a&b", "'a&b'"},
		{"x;y(z)", "'x;y(z)'"},
		{"-lead", "./-lead"},
		{"-a b", "'./-a b'"},
		{"it's", `'it'\''s'`},
		{"~home", "'~home'"},
		{"a*b?", "'a*b?'"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			f, _, out, _ := testFactory(t)
			require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir="+c.dir))
			assert.Contains(t, out.String(), "\nNext:\n  cd "+c.want+"\n")
			// The hint, run by a shell, reaches the project.
			cmd := exec.Command("sh", "-c", "cd "+c.want+" && test -f go.mod")
			cmd.Dir = work
			got, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%s", got)
		})
	}
}

// TestNew_NextHintInTheCurrentDir: a project written into the current
// directory (--dir . or ./) was told "cd ." first; the hint starts at go
// test instead.
func TestNew_NextHintInTheCurrentDir(t *testing.T) {
	for _, dir := range []string{".", "./", "./."} {
		t.Run(dir, func(t *testing.T) {
			t.Chdir(t.TempDir())
			f, _, out, _ := testFactory(t)
			require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir="+dir))
			assert.Contains(t, out.String(), "\nNext:\n  go test ./...\n  go run .\n")
			assert.NotContains(t, out.String(), "cd ")
		})
	}
}

// TestNew_ForceRemovesTheEarlierTemplatesUntouchedFiles: a grpc project
// generated again as a rest one kept the grpc template's client/, which
// go test ./... still built against the new project. Its files as
// kserve-gen wrote them are now removed, with client/ they leave empty,
// and new says so; the user's own files stay, and the project builds.
func TestNew_ForceRemovesTheEarlierTemplatesUntouchedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "was-grpc")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--yes", "--dir", dir))
	require.FileExists(t, filepath.Join(dir, "client", "main.go"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.md"), []byte("mine"), 0o644))

	out.Reset()
	errOut.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "\nRemoved (--force), files of the earlier grpc project that a rest project does not use, unchanged since kserve-gen wrote them: client/main.go, client/main_test.go, client/\n")
	assert.NotContains(t, errOut.String(), "kept from the earlier")
	assert.NoDirExists(t, filepath.Join(dir, "client"))
	got, err := os.ReadFile(filepath.Join(dir, "notes.md"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(got), "the user's file is kept")
	if !testing.Short() {
		// The project's first command passes: go test ./... failed in the
		// client left behind (TestClient: "../input.json: Field required:
		// [body InferenceRequest inputs]", a v1 project's input.json sent
		// to the v2 endpoint).
		runIn(t, dir, "go", "vet", "./...")
		runIn(t, dir, "go", "test", "-count=1", "./...")
	}

	// Nothing left behind, nothing said; nor when the template stays.
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.NotContains(t, out.String(), "Removed")
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--force", "--yes", "--dir", dir))
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--force", "--yes", "--dir", dir))
	assert.NotContains(t, out.String(), "Removed")
	require.FileExists(t, filepath.Join(dir, "client", "main.go"))

	// Every project serving gRPC has the client: turning gRPC off removes
	// it too, and a file of the user's in client/ keeps the folder.
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--protocol", "v2", "--grpc", "--force", "--yes", "--dir", dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "client", "NOTES"), []byte("mine"), 0o644))
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "\nRemoved (--force), files of the earlier project serving gRPC that a project without gRPC does not use, unchanged since kserve-gen wrote them: client/main.go, client/main_test.go\n")
	assert.NoFileExists(t, filepath.Join(dir, "client", "main.go"))
	assert.FileExists(t, filepath.Join(dir, "client", "NOTES"))
}

// TestNew_ForceBetweenOpenAIAndRest: an openai project made over a rest
// one (and back) writes the same files (its model.go, model_test.go and
// input.json replace the rest ones), so nothing is left behind either way
// and the project builds and passes its tests.
func TestNew_ForceBetweenOpenAIAndRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "chat", "--template", "rest", "--yes", "--dir", dir))
	for _, c := range []struct{ template, model string }{
		{"openai", "ChatCompleteStream"},
		{"rest", "Postprocess"},
		{"openai", "ChatCompleteStream"},
	} {
		out.Reset()
		errOut.Reset()
		require.NoError(t, runCLI(t, f, "new", "chat", "--template", c.template, "--force", "--yes", "--dir", dir))
		assert.Contains(t, out.String(), "Replaced (--force), their earlier contents gone: ")
		assert.NotContains(t, out.String(), "Removed")
		assert.NotContains(t, errOut.String(), "kept from the earlier")
		model, err := os.ReadFile(filepath.Join(dir, "model.go"))
		require.NoError(t, err)
		assert.Contains(t, string(model), c.model)
	}
	for _, from := range []string{"rest", "openai"} {
		to := map[string]string{"rest": "openai", "openai": "rest"}[from]
		left, err := generator.LeftBehind(generator.Made{Template: from}, generator.Made{Template: to})
		require.NoError(t, err)
		assert.Empty(t, left, "%s to %s", from, to)
	}
	if !testing.Short() {
		runIn(t, dir, "go", "vet", "./...")
		runIn(t, dir, "go", "test", "-count=1", "./...")
	}
}

// TestNew_FormForceRemovesTheEarlierTemplatesUntouchedFiles: answers
// from the form go the same way as flags.
func TestNew_FormForceRemovesTheEarlierTemplatesUntouchedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "was-grpc")
	f, p, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--yes", "--dir", dir))
	f.IO.SetTTY(true)
	p.fill = func(a *answers) { a.Template, a.Protocol, a.GRPC = "rest", "v1", false }
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--force", "--dir", dir))
	assert.True(t, p.got.Force, "the form was shown, over the folder")
	assert.Contains(t, out.String(), "\nRemoved (--force), files of the earlier grpc project that a rest project does not use, unchanged since kserve-gen wrote them: client/main.go, client/main_test.go, client/\n")
	assert.NoDirExists(t, filepath.Join(dir, "client"))
}

// TestNew_ForceKeepsAnEditedFileOfTheEarlierTemplate: an edited file of
// the earlier project that the new one does not write stays, named with
// why; its unchanged neighbours go.
func TestNew_ForceKeepsAnEditedFileOfTheEarlierTemplate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "was-grpc")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--yes", "--dir", dir))
	client := filepath.Join(dir, "client", "main.go")
	orig, err := os.ReadFile(client)
	require.NoError(t, err)
	edited := append(orig, "\n// my change\n"...)
	require.NoError(t, os.WriteFile(client, edited, 0o644))

	out.Reset()
	errOut.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--force", "--yes", "--dir", dir))
	// The folder stays whole: its main_test.go without the main.go it
	// tests would not build.
	assert.Contains(t, errOut.String(), "Warning: kept from the earlier grpc project, which a rest project does not use: client/main.go (edited since kserve-gen wrote it); client/main_test.go (unchanged, but in one Go package with a file that stays). Remove them unless you still need them (go test ./... builds every Go package in the folder).\n")
	assert.NotContains(t, out.String(), "Removed (--force)")
	got, err := os.ReadFile(client)
	require.NoError(t, err)
	assert.Equal(t, edited, got, "the user's edit is kept")
	assert.FileExists(t, filepath.Join(dir, "client", "main_test.go"))
}

// TestNew_ForceRemovesTheUntouchedSampleModel: an onnx project made a
// rest one leaves no sample model (and no model/) unless the user changed
// it.
func TestNew_ForceRemovesTheUntouchedSampleModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "was-onnx")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "was-onnx", "--template", "onnx", "--yes", "--dir", dir))
	require.FileExists(t, filepath.Join(dir, "model", "model.onnx"))
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-onnx", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "\nRemoved (--force), files of the earlier onnx project that a rest project does not use, unchanged since kserve-gen wrote them: model/labels.txt, model/model.onnx, model/\n")
	assert.NoDirExists(t, filepath.Join(dir, "model"))
	assert.NotContains(t, errOut.String(), "kept from the earlier")

	// Labels of the user's stay; the sample model beside them goes.
	require.NoError(t, runCLI(t, f, "new", "was-onnx", "--template", "onnx", "--force", "--yes", "--dir", dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model", "labels.txt"), []byte("cat\ndog\nbird\n"), 0o644))
	out.Reset()
	errOut.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-onnx", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "\nRemoved (--force), files of the earlier onnx project that a rest project does not use, unchanged since kserve-gen wrote them: model/model.onnx\n")
	assert.Contains(t, errOut.String(), "Warning: kept from the earlier onnx project, which a rest project does not use: model/labels.txt (your model's file, not kserve-gen's sample). Remove it unless you still need it (go test ./... builds every Go package in the folder).\n")
	assert.FileExists(t, filepath.Join(dir, "model", "labels.txt"))
	assert.NoFileExists(t, filepath.Join(dir, "model", "model.onnx"))
}

// TestNew_ForceKeepsTheUsersModel: a project made with --model holds the
// user's model where the sample would be; kserve-gen.yaml does not record
// --model, so new --force compares it with the sample, and says it keeps
// the user's model, not that the user edited a file kserve-gen wrote.
func TestNew_ForceKeepsTheUsersModel(t *testing.T) {
	model := filepath.Join(t.TempDir(), "pool.onnx")
	require.NoError(t, os.WriteFile(model, onnxtest.Image("8", "8"), 0o644))
	dir := filepath.Join(t.TempDir(), "pool")
	f, _, out, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "pool", "--model", model, "--yes", "--dir", dir))

	out.Reset()
	errOut.Reset()
	require.NoError(t, runCLI(t, f, "new", "pool", "--template", "openai", "--force", "--yes", "--dir", dir))
	assert.Contains(t, errOut.String(), "Warning: kept from the earlier onnx project, which an openai project does not use: model/model.onnx (your model's file, not kserve-gen's sample). Remove it unless you still need it (go test ./... builds every Go package in the folder).\n")
	assert.NotContains(t, errOut.String(), "edited since")
	got, err := os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, onnxtest.Image("8", "8"), got, "the user's model is kept")
}

// TestNew_ForceRemovesNothingThroughALink: a client/ that is a link to a
// folder elsewhere holds, there, files exactly as kserve-gen writes them;
// they are not the project's to remove, and stay, named.
func TestNew_ForceRemovesNothingThroughALink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "was-grpc")
	f, _, _, errOut := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "grpc", "--yes", "--dir", dir))
	elsewhere := filepath.Join(t.TempDir(), "client")
	require.NoError(t, os.Rename(filepath.Join(dir, "client"), elsewhere))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "client")))

	errOut.Reset()
	require.NoError(t, runCLI(t, f, "new", "was-grpc", "--template", "rest", "--force", "--yes", "--dir", dir))
	assert.Contains(t, errOut.String(), "Warning: kept from the earlier grpc project, which a rest project does not use: client/main.go, client/main_test.go (symbolic links, or in a linked folder, which new removes nothing through). Remove them unless you still need them (go test ./... builds every Go package in the folder).\n")
	assert.FileExists(t, filepath.Join(elsewhere, "main.go"))
	assert.FileExists(t, filepath.Join(elsewhere, "main_test.go"))
}

// TestNew_RerunNamesWhatForceWouldReplace: a user edits model.go and runs
// new again. Without --force nothing is written and the error names the
// file --force would replace (it said "not empty" alone, not whether
// --force was safe); with --force, new says which files it replaced with
// other contents; again with --force, nothing differs and nothing is said.
func TestNew_RerunNamesWhatForceWouldReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir))
	model := filepath.Join(dir, "model.go")
	orig, err := os.ReadFile(model)
	require.NoError(t, err)
	edited := append(orig, "\n// my change\n"...)
	require.NoError(t, os.WriteFile(model, edited, 0o644))

	err = runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir)
	require.ErrorIs(t, err, generator.ErrDirNotEmpty)
	assert.Equal(t, dir+": output directory is not empty (--force would replace model.go, which differs from the new one); choose another --dir, or pass --force to replace the generated files (other files are kept)", err.Error())
	got, err := os.ReadFile(model)
	require.NoError(t, err)
	assert.Equal(t, edited, got, "the user's edit is kept")

	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir, "--force"))
	assert.Contains(t, out.String(), "Created demo (template rest, protocol v1): 13 files in "+dir+"\nReplaced (--force), their earlier contents gone: model.go\n")
	got, err = os.ReadFile(model)
	require.NoError(t, err)
	assert.Equal(t, orig, got)

	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", dir, "--force"))
	assert.NotContains(t, out.String(), "Replaced")
}

// TestNew_ReadOnlyFolderNamesIt: run in a folder the user cannot write,
// new said "create staging directory: mkdir …/.demo.kserve-gen-123:
// permission denied", a name the user never chose; now it names the
// project's folder and the one that is not writable.
func TestNew_ReadOnlyFolderNamesIt(t *testing.T) {
	root, bin, args := buildCLIAsUser(t)
	ro := filepath.Join(root, "read-only")
	require.NoError(t, os.Mkdir(ro, 0o555))

	args = append(args, bin, "new", "demo", "--template", "rest", "--yes")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ro
	cmd.Env = append(os.Environ(), "HOME="+root)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, "Error: cannot write the project into "+filepath.Join(ro, "demo")+": "+ro+" is not writable (permission denied)\n", string(out))
	assert.NoDirExists(t, filepath.Join(ro, "demo"))
}

// buildCLIAsUser builds kserve-gen where any user can run it, in a new
// folder root (t.TempDir's parent is 0700), and returns the command words
// that run it as a user folder permissions bind: none, or as root (who
// writes anywhere) setpriv's to run as nobody.
func buildCLIAsUser(t *testing.T) (root, bin string, prefix []string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("root writes anywhere, and setpriv (util-linux) is missing to run as nobody")
		}
		prefix = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	}
	root, err := os.MkdirTemp("", "kserve-gen-user-*")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755))
	bin = filepath.Join(root, "kserve-gen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return root, bin, prefix
}

// TestNew_ForceReplacesAFileItCannotRead: --force names the files it
// replaces with other contents, which it reads to tell; one the user cannot
// read is still replaced (the folder is theirs), not a reason to stop.
func TestNew_ForceReplacesAFileItCannotRead(t *testing.T) {
	root, bin, args := buildCLIAsUser(t)
	dir := filepath.Join(root, "demo")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777)) // past the umask
	// The new model.go's size with another first byte: told apart only by
	// reading it.
	f, _, _, _ := testFactory(t)
	fresh := filepath.Join(t.TempDir(), "demo")
	require.NoError(t, runCLI(t, f, "new", "demo", "--template", "rest", "--yes", "--dir", fresh))
	mine, err := os.ReadFile(filepath.Join(fresh, "model.go"))
	require.NoError(t, err)
	mine[0] = '#'
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.go"), mine, 0o600))
	if len(args) == 0 {
		t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "model.go"), 0o644) })
		require.NoError(t, os.Chmod(filepath.Join(dir, "model.go"), 0o000))
	}

	args = append(args, bin, "new", "demo", "--template", "rest", "--yes", "--force", "--dir", dir)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "HOME="+root)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(got), "package main")
}

// TestNew_BlankDirIsRefused: --dir "   " (a variable with nothing in it,
// a stray space) made a folder named with spaces and wrote the project
// there; --dir "" wrote ./NAME, a folder the user did not name.
func TestNew_BlankDirIsRefused(t *testing.T) {
	for _, dir := range []string{"   ", "", "\t"} {
		t.Run(fmt.Sprintf("%q", dir), func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			f, _, out, _ := testFactory(t)
			err := runCLI(t, f, "new", "demo", "-t", "rest", "--yes", "--dir", dir)
			require.EqualError(t, err, fmt.Sprintf("--dir %q names no folder: name the folder to write the project in, or leave --dir out for ./demo", dir))
			entries, err := os.ReadDir(cwd)
			require.NoError(t, err)
			assert.Empty(t, entries)
			assert.Empty(t, out.String())
		})
	}
}
