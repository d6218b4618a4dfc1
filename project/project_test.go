package project

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validFile() *File {
	return &File{
		Name:     "custom-model",
		Module:   "example.com/custom-model",
		Template: TemplateREST,
		Protocol: ProtocolV1,
		Resources: Resources{
			Requests: ResourceList{CPU: "1", Memory: "1Gi"},
			Limits:   ResourceList{CPU: "2", Memory: "2Gi"},
		},
	}
}

func TestSaveLoad_RoundTrip(t *testing.T) {
	dir := t.TempDir()
	min := 1
	f := validFile()
	f.Image = "registry.example.com/custom-model:v1"
	f.Deploy = &Deploy{
		Namespace:    "models",
		Workers:      2,
		StorageURI:   "pvc://models/custom",
		Env:          []EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: "1"}},
		MinReplicas:  &min,
		MaxReplicas:  3,
		NodeSelector: map[string]string{"pool": "gpu"},
		Tolerations:  []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
	}
	require.NoError(t, f.Save(dir))

	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, f, got)

	// A transformer project's predictor.
	f.Template = TemplateTransformer
	f.Deploy.Predictor = &Predictor{ModelFormat: "sklearn", ModelFormatVersion: "1", StorageURI: "gs://b/m", Protocol: ProtocolV2}
	require.NoError(t, f.Save(dir))
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.Contains(t, string(data), "  predictor:\n    modelFormat: sklearn\n    modelFormatVersion: \"1\"\n    protocol: v2\n    storageUri: gs://b/m\n")

	got, err = Load(dir)
	require.NoError(t, err)
	assert.Equal(t, f, got)
}

func TestMarshal_ExactYAML(t *testing.T) {
	data, err := validFile().Marshal()
	require.NoError(t, err)
	// sigs.k8s.io/yaml sorts keys, so the file is stable whatever the struct order.
	assert.Equal(t, `gpu: 0
grpc: false
module: example.com/custom-model
name: custom-model
protocol: v1
resources:
  limits:
    cpu: "2"
    memory: 2Gi
  requests:
    cpu: "1"
    memory: 1Gi
template: rest
`, string(data))
}

func TestLoad_Errors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(t.TempDir())
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "read project file")
	})
	// --dir given the project file, or another file, by a hurried hand:
	// Load used to answer "open x/kserve-gen.yaml/kserve-gen.yaml: not a
	// directory".
	t.Run("the project file itself", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, validFile().Save(dir))
		file := filepath.Join(dir, FileName)
		_, err := Load(file)
		assert.EqualError(t, err, file+" is the project file, not its folder: pass --dir "+dir)
	})
	t.Run("a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "model.go")
		require.NoError(t, os.WriteFile(file, []byte("package main\n"), 0o644))
		_, err := Load(file)
		assert.EqualError(t, err, file+" is a file, not a project folder: pass --dir the folder that holds "+FileName)
	})
	t.Run("unknown field", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, FileName),
			[]byte("name: m\nmodule: m\ntemplate: rest\nprotocol: v1\ngpus: 1\n"), 0o644))
		_, err := Load(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), filepath.Join(dir, FileName))
		assert.Contains(t, err.Error(), `unknown field "gpus"`)
	})
	t.Run("invalid content", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, FileName),
			[]byte("name: Bad_Name\nmodule: m\ntemplate: rest\nprotocol: v3\n"), 0o644))
		_, err := Load(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `name: "Bad_Name" is not a DNS-1123 label`)
		assert.Contains(t, err.Error(), `protocol: "v3" is not a protocol; choose v1 or v2`)
	})
}

// Every line of a project file's errors says where it is: errors.Join's
// lines after the first had lost the file's name and the deploy: prefix
// ("maxReplicas: must be ..." alone, as if it were a flag).
func TestLoad_EachErrorNamesTheFileAndField(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(file, []byte("name: Bad_Name\nmodule: m\ntemplate: rest\nprotocol: v3\n"+
		"deploy:\n  minReplicas: -1\n  maxReplicas: -2\n"), 0o644))
	_, err := Load(dir)
	require.Error(t, err)
	assert.Equal(t, []string{
		file + `: name: "Bad_Name" is not a DNS-1123 label (try "bad-name"): a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 53 characters`,
		file + `: protocol: "v3" is not a protocol; choose v1 or v2`,
		file + ": deploy: minReplicas: must be 0 or more, got -1",
		file + ": deploy: maxReplicas: must be 0 (no limit) or more, got -2",
	}, strings.Split(err.Error(), "\n"))
}

// A file that does not decode says what is wrong in the file's terms, not
// sigs.k8s.io/yaml's layers ("decode: error unmarshaling JSON: while
// decoding JSON: json: cannot unmarshal string into Go struct field
// Deploy.deploy.minReplicas of type int").
func TestLoad_DecodeErrorsInTheFilesTerms(t *testing.T) {
	head := "name: m\nmodule: m\ntemplate: rest\nprotocol: v1\n"
	for _, c := range []struct{ content, want string }{
		{"gpus: 1\n", `unknown field "gpus"`},
		{"deploy:\n  minReplica: 1\n", `unknown field "minReplica"`},
		{"deploy:\n  minReplicas: one\n", `deploy.minReplicas: want a whole number, got a string`},
		{"deploy:\n  timeout: 1.5\n", `deploy.timeout: want a whole number, got 1.5`},
		{"deploy:\n  env:\n    FOO: bar\n", `deploy.env: want a list, got a mapping`},
		{"grpc: yes\n", "line 6: key \"grpc\" already set in map"},
		{"deploy: [\n", "line 5: did not find expected node content"},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, FileName)
		content := head + c.content
		if strings.HasPrefix(c.content, "grpc") {
			content = head + "grpc: false\n" + c.content
		}
		require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
		_, err := Load(dir)
		assert.EqualError(t, err, file+": "+c.want, c.content)
	}
}

func TestSave_RefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	f := validFile()
	f.GPU = -1
	err := f.Save(dir)
	require.EqualError(t, err, "gpu: must be 0 (CPU) or more, got -1")
	_, statErr := os.Stat(filepath.Join(dir, FileName))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "an invalid file must not be written")
}

func TestValidate(t *testing.T) {
	intp := func(i int) *int { return &i }
	tests := []struct {
		name   string
		modify func(*File)
		want   string
	}{
		{"bad template", func(f *File) { f.Template = "flask" }, `template: "flask" is not a template; choose one of rest, grpc, onnx, transformer, openai, timeseries`},
		{"bad protocol", func(f *File) { f.Protocol = "V1" }, `protocol: "V1" is not a protocol; choose v1 or v2`},
		{"grpc needs v2", func(f *File) { f.GRPC = true }, "grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs protocol v2 (protocol is v1)"},
		{"grpc template needs grpc", func(f *File) { f.Template = TemplateGRPC; f.Protocol = ProtocolV2 }, "grpc: template grpc needs grpc: true"},
		{"openai template with grpc", func(f *File) { f.Template = TemplateOpenAI; f.GRPC = true }, "grpc: template openai serves OpenAI's API over REST, with no gRPC endpoint; it needs grpc: false"},
		{"openai template with v2", func(f *File) { f.Template = TemplateOpenAI; f.Protocol = ProtocolV2; f.GRPC = true },
			"grpc: template openai serves OpenAI's API over REST, with no gRPC endpoint; it needs grpc: false\nprotocol: template openai serves OpenAI's API (/openai/v1/...), not the Open Inference Protocol; it needs protocol v1"},
		{"timeseries template with grpc", func(f *File) { f.Template = TemplateTimeSeries; f.GRPC = true }, "grpc: template timeseries serves KServe's time-series API over REST, with no gRPC endpoint; it needs grpc: false"},
		{"timeseries template with v2", func(f *File) { f.Template = TemplateTimeSeries; f.Protocol = ProtocolV2 },
			"protocol: template timeseries serves KServe's time-series API (/v1/timeseries/...), not the Open Inference Protocol; it needs protocol v1"},
		{"negative gpu", func(f *File) { f.GPU = -2 }, "gpu: must be 0 (CPU) or more, got -2"},
		{"bad quantity", func(f *File) { f.Resources.Limits.Memory = "2GB" }, `resources: limits.memory: "2GB" is not a Kubernetes quantity (try "2G" or "2Gi"): ` + wantMemoryRule},
		{"cpu quantity in gigabytes", func(f *File) { f.Resources.Limits.CPU = "2GB" }, `resources: limits.cpu: "2GB" is not a Kubernetes quantity: ` + wantCPURule},
		{"negative quantity", func(f *File) { f.Resources.Requests.CPU = "-1" }, `resources: requests.cpu: "-1" must not be negative`},
		{"request above limit", func(f *File) { f.Resources.Requests.CPU = "2500m" }, "resources: requests.cpu 2500m is more than limits.cpu 2"},
		{"memory request above limit", func(f *File) { f.Resources.Requests.Memory = "3Gi" }, "resources: requests.memory 3Gi is more than limits.memory 2Gi"},
		{"bad module", func(f *File) { f.Module = "example.com/has space" }, `module: "example.com/has space" is not a valid Go module path: malformed import path "example.com/has space": invalid char ' '`},
		{"empty module", func(f *File) { f.Module = "" }, "module: must not be empty"},
		// The example is written as the file's field is, not as new's flag.
		{"reserved module", func(f *File) { f.Module = "main" }, `module: "main" is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. module: example.com/main`},
		{"compiler's module", func(f *File) { f.Module = "type" }, `module: "type" is the path of a package the Go compiler makes up for itself, so go test stops with an internal compiler error; give another, e.g. module: example.com/type`},
		{"standard library module", func(f *File) { f.Module = "net/mine" }, `module: "net/mine" starts with "net", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. module: example.com/net/mine`},
		{"bad namespace", func(f *File) { f.Deploy = &Deploy{Namespace: "Prod"} }, `deploy: namespace: "Prod" is not a DNS-1123 label (try "prod"): a namespace is lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`},
		{"min above max", func(f *File) { f.Deploy = &Deploy{MinReplicas: intp(3), MaxReplicas: 2} }, "deploy: minReplicas 3 is more than maxReplicas 2"},
		{"negative min", func(f *File) { f.Deploy = &Deploy{MinReplicas: intp(-1)} }, "deploy: minReplicas: must be 0 or more, got -1"},
		{"bad scale metric", func(f *File) { f.Deploy = &Deploy{ScaleMetric: "qps"} }, `deploy: scaleMetric: "qps" is not one of concurrency, rps, cpu, memory`},
		{"negative pre-stop sleep", func(f *File) { f.Deploy = &Deploy{PreStopSleep: intp(-1)} }, "deploy: preStopSleep: must be 0 (no delay) or more, got -1"},
		{"env without name", func(f *File) { f.Deploy = &Deploy{Env: []EnvVar{{Value: "x"}}} }, "deploy: env[0].name must not be empty"},
		{"predictor of a rest project", func(f *File) { f.Deploy = &Deploy{Predictor: &Predictor{Image: "p"}} }, "deploy: predictor: only a transformer project runs in front of a separate predictor (template is rest)"},
		{"predictor image and format", func(f *File) {
			f.Template = TemplateTransformer
			f.Deploy = &Deploy{Predictor: &Predictor{Image: "p", ModelFormat: "sklearn"}}
		}, "deploy: predictor: image and modelFormat: give one; the predictor is either a container image or a model format served by a KServe runtime"},
		{"bad predictor protocol", func(f *File) {
			f.Template = TemplateTransformer
			f.Deploy = &Deploy{Predictor: &Predictor{Image: "p", Protocol: "V2"}}
		}, `deploy: predictor: protocol: "V2" is not a predictor protocol; choose v1, v2 or grpc-v2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFile()
			tt.modify(f)
			require.EqualError(t, f.Validate(), tt.want)
		})
	}
}

// TestValidateAs_ModuleExampleNamesTheFlag: when ValidateAs names the
// module's field as a flag, as kserve-gen new does, the example is that
// flag with its value.
func TestValidateAs_ModuleExampleNamesTheFlag(t *testing.T) {
	f := validFile()
	f.Module = "main"
	err := f.ValidateAs(func(field string) string { return "--" + field })
	assert.EqualError(t, err, `--module: "main" is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. --module example.com/main`)
}

func TestValidate_ReportsEveryField(t *testing.T) {
	f := &File{}
	err := f.Validate()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	assert.Equal(t, []string{
		"name: must not be empty",
		"module: must not be empty",
		`template: "" is not a template; choose one of rest, grpc, onnx, transformer, openai, timeseries`,
		`protocol: "" is not a protocol; choose v1 or v2`,
	}, lines)
}

func TestValidateName(t *testing.T) {
	ok := []string{"m", "custom-model", "model-2", strings.Repeat("a", MaxNameLength)}
	for _, n := range ok {
		assert.NoError(t, ValidateName(n), n)
	}
	// The rule is said in words, not as apimachinery's regular expression.
	bad := map[string]string{
		"":                                   "must not be empty",
		"Custom":                             `"Custom" is not a DNS-1123 label (try "custom"): ` + wantNameRule,
		"1model":                             `"1model" must start with a lower-case letter, as KServe's InferenceService names do: ` + wantNameRule,
		"model-":                             `"model-" is not a DNS-1123 label (try "model"): ` + wantNameRule,
		"resnet50.v2":                        `"resnet50.v2" is not a DNS-1123 label (try "resnet50-v2"): ` + wantNameRule,
		strings.Repeat("a", MaxNameLength+1): `"` + strings.Repeat("a", MaxNameLength+1) + `" is 54 characters long; at most 53 are allowed because KServe names the predictor "` + strings.Repeat("a", MaxNameLength+1) + `-predictor" and that must fit a 63-character DNS label`,
	}
	for n, want := range bad {
		assert.EqualError(t, ValidateName(n), want, n)
	}
	// A hurried name gets the nearest valid one, where there is one made of
	// its own letters and digits.
	for n, want := range map[string]string{
		"Custom_Model": `"Custom_Model" is not a DNS-1123 label (try "custom-model"): `,
		"my model":     `"my model" is not a DNS-1123 label (try "my-model"): `,
		// CamelCase is words: my-model, not mymodel.
		"MyModel":        `"MyModel" is not a DNS-1123 label (try "my-model"): `,
		"BERTClassifier": `"BERTClassifier" is not a DNS-1123 label (try "bert-classifier"): `,
		"resnetV2":       `"resnetV2" is not a DNS-1123 label (try "resnet-v2"): `,
		"Resnet50V2":     `"Resnet50V2" is not a DNS-1123 label (try "resnet50-v2"): `,
		"--x":            `"--x" is not a DNS-1123 label (try "x"): `,
		"ünï":            `"ünï" is not a DNS-1123 label: `,
		"_1":             `"_1" is not a DNS-1123 label: `,
	} {
		assert.EqualError(t, ValidateName(n), want+wantNameRule, n)
	}
}

// wantNameRule ends the error about a project name that is not a DNS
// label, or does not start with a letter.
const wantNameRule = "a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 53 characters"

// TestValidateNamespace: a bad namespace gets the nearest valid one, as a
// bad name does; a namespace, unlike a name, may start with a digit.
func TestValidateNamespace(t *testing.T) {
	const rule = "a namespace is lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
	for _, ns := range []string{"", "prod", "1-team", strings.Repeat("n", 63)} {
		assert.NoError(t, ValidateNamespace(ns), ns)
	}
	for ns, want := range map[string]string{
		"Prod":        `"Prod" is not a DNS-1123 label (try "prod"): ` + rule,
		"team_a prod": `"team_a prod" is not a DNS-1123 label (try "team-a-prod"): ` + rule,
		"_1":          `"_1" is not a DNS-1123 label (try "1"): ` + rule,
		"ünï":         `"ünï" is not a DNS-1123 label: ` + rule,
		"team.prod":   `"team.prod" is not a DNS-1123 label (try "team-prod"): ` + rule,
	} {
		assert.EqualError(t, ValidateNamespace(ns), want, ns)
	}
	long := strings.Repeat("N", 64)
	assert.EqualError(t, ValidateNamespace(long), `"`+long+`" is not a DNS-1123 label: it is 64 characters long; `+rule)
}

func TestValidateNameFor_TransformerLeavesRoomForItsSuffix(t *testing.T) {
	n51, n52 := strings.Repeat("t", MaxTransformerNameLength), strings.Repeat("t", MaxTransformerNameLength+1)
	assert.NoError(t, ValidateNameFor(n51, TemplateTransformer))
	assert.NoError(t, ValidateNameFor(n52, TemplateREST))
	assert.EqualError(t, ValidateNameFor(n52, TemplateTransformer), `"`+n52+`" is 52 characters long; a transformer's name is at most 51 because KServe names the transformer "`+n52+`-transformer" and that must fit a 63-character DNS label`)
	// Over MaxNameLength too: a name shortened to 53 would still be too long.
	n55 := strings.Repeat("t", 55)
	assert.EqualError(t, ValidateNameFor(n55, TemplateTransformer), `"`+n55+`" is 55 characters long; a transformer's name is at most 51 because KServe names the transformer "`+n55+`-transformer" and that must fit a 63-character DNS label`)
	// The rule a bad transformer name is told is a transformer's.
	assert.EqualError(t, ValidateNameFor("Bad", TemplateTransformer), `"Bad" is not a DNS-1123 label (try "bad"): a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 51 characters`)
	assert.EqualError(t, ValidateNameFor("Bad", TemplateREST), ValidateName("Bad").Error())

	f := validFile()
	f.Template, f.Name = TemplateTransformer, n52
	assert.ErrorContains(t, f.Validate(), `name: "`+n52+`" is 52 characters long; a transformer's name is at most 51`)
}

func TestValidateModule(t *testing.T) {
	for _, m := range []string{"custom-model", "example.com/team/model", "github.com/a/b/v2", "images", "textual", "example.com/image", "example.com/_x", "example.com/9x"} {
		assert.NoError(t, ValidateModule(m), m)
	}
	for _, m := range []string{"../model", "/abs", "a//b", "has space"} {
		assert.Error(t, ValidateModule(m), m)
	}
	// The go command refuses these, though CheckImportPath takes them.
	for m, want := range map[string]string{
		"image":          `"image" starts with "image", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. example.com/image`,
		"cmd/go":         `"cmd/go" starts with "cmd", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. example.com/cmd/go`,
		"text":           `"text" starts with "text", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. example.com/text`,
		"net/mine":       `"net/mine" starts with "net", a path of the Go standard library, so go build would take the project's packages for the standard library's; give a path whose first element has a dot, e.g. example.com/net/mine`,
		"example.com/~x": `"example.com/~x" ends in "~x", a folder name go build refuses: the last element must start with a letter, a digit or _`,
		"example.com/-x": `"example.com/-x" ends in "-x", a folder name go build refuses: the last element must start with a letter, a digit or _`,
	} {
		assert.EqualError(t, ValidateModule(m), want, m)
	}
	for _, m := range []string{"context", "runtime", "sort", "time", "log", "errors", "embed"} {
		assert.ErrorContains(t, ValidateModule(m), "a path of the Go standard library", m)
	}
	// The go command's reserved names: go vet and go test refuse a module
	// of that very path, though main/x or all/x build.
	assert.EqualError(t, ValidateModule("main"), `"main" is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. example.com/main`)
	for _, m := range []string{"all", "std", "cmd", "tool", "work"} {
		assert.ErrorContains(t, ValidateModule(m), "a name the go command reserves", m)
	}
	// The compiler's own packages: go build passes, go test of a module of
	// that very path stops with an internal compiler error.
	assert.EqualError(t, ValidateModule("type"), `"type" is the path of a package the Go compiler makes up for itself, so go test stops with an internal compiler error; give another, e.g. example.com/type`)
	for _, m := range []string{"go.shape", "go.builtin", "go.itab", "go.runtime", "go.coverage", "go.internal/runtime/maps"} {
		assert.ErrorContains(t, ValidateModule(m), "a package the Go compiler makes up for itself", m)
	}
	// The module path of Go toolchains: every go command refuses a go.mod
	// declaring it ("invalid module path"); "go", the other, is a
	// standard-library path.
	assert.EqualError(t, ValidateModule("toolchain"), `"toolchain" is the module path the go command keeps for Go toolchains, so every go command in the project fails (invalid module path); give another, e.g. example.com/toolchain`)
	assert.NoError(t, ValidateModule("toolchain/x"))
	assert.NoError(t, ValidateModule("example.com/toolchain"))
	for _, m := range []string{"type/x", "example.com/type", "types", "go.shape/x"} {
		assert.NoError(t, ValidateModule(m), m)
	}
	for _, m := range []string{"main/x", "all/x", "example.com/main", "mainline", "tools"} {
		assert.NoError(t, ValidateModule(m), m)
	}
}

func TestDefaultModule(t *testing.T) {
	assert.Equal(t, "custom-model", DefaultModule("custom-model"))
	assert.Equal(t, "example.com/image", DefaultModule("image"))
	assert.Equal(t, "example.com/context", DefaultModule("context"))
	assert.NoError(t, ValidateModule(DefaultModule("image")))
	for _, name := range []string{"main", "all", "std", "tool", "work", "type", "toolchain", "go"} {
		assert.Equal(t, "example.com/"+name, DefaultModule(name))
		assert.NoError(t, ValidateModule(DefaultModule(name)), name)
	}
}

// TestIsStandardLibrary_CoversGOROOT checks the list of the standard
// library's first elements against GOROOT/src of the Go running the test:
// a folder a newer Go adds must be added to the list.
func TestIsStandardLibrary_CoversGOROOT(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(strings.TrimSpace(string(out)), "src"))
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
			assert.True(t, IsStandardLibrary(e.Name()), "GOROOT/src/%s is not in the list", e.Name())
		}
	}
	assert.NotZero(t, n)
	assert.False(t, IsStandardLibrary("example.com"))
	assert.False(t, IsStandardLibrary("custom-model"))
}

// wantCPURule and wantMemoryRule end every error about a CPU or memory
// quantity that does not parse.
const (
	wantCPURule    = "a CPU quantity is a number of CPUs, whole or with m for thousandths of one, like 2, 1.5 or 500m"
	wantMemoryRule = "a memory quantity is a number of bytes with an optional suffix: k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), like 512Mi or 2G"
)

// TestResources_BadQuantitySuggests: a quantity spelled the way people
// write sizes and CPUs elsewhere (2GB, 1.5 cpu) gets the nearest spelling
// Kubernetes takes; one with no obvious spelling gets the rule alone.
// A memory field is only offered sizes, and a CPU field only CPUs: a
// memory limit of "2 cores" or a CPU request of "2GB" has no nearest
// spelling, and neither is offered one of the other kind.
func TestResources_BadQuantitySuggests(t *testing.T) {
	for v, try := range map[string]string{
		"2GB":      `(try "2G" or "2Gi")`,
		"500MB":    `(try "500M" or "500Mi")`,
		"500mb":    `(try "500M" or "500Mi")`,
		"512 MB":   `(try "512M" or "512Mi")`,
		"1.5GiB":   `(try "1.5Gi")`,
		"512 Mi":   `(try "512Mi")`,
		"2g":       `(try "2G" or "2Gi")`,
		"2gi":      `(try "2Gi")`,
		"100kb":    `(try "100k" or "100Ki")`,
		"1TB":      `(try "1T" or "1Ti")`,
		"500 m":    `(try "500Mi" or "500M")`, // 500m would be half a byte
		"1.5 cpu":  "",
		"2 cores":  "",
		"100mcpu":  "",
		"lots":     "",
		"2 GB RAM": "",
	} {
		t.Run("memory "+v, func(t *testing.T) {
			want := fmt.Sprintf("limits.memory: %q is not a Kubernetes quantity: %s", v, wantMemoryRule)
			if try != "" {
				want = fmt.Sprintf("limits.memory: %q is not a Kubernetes quantity %s: %s", v, try, wantMemoryRule)
			}
			assert.EqualError(t, Resources{Limits: ResourceList{Memory: v}}.Validate(), want)
		})
	}
	for v, try := range map[string]string{
		"1.5 cpu":        `(try "1500m")`,
		"2 cores":        `(try "2")`,
		"1cpu":           `(try "1")`,
		"0.5cpu":         `(try "500m")`,
		"0.25 CPUs":      `(try "250m")`,
		"2 vCPUs":        `(try "2")`,
		"500 m":          `(try "500m")`,
		"100mcpu":        `(try "100m")`,
		"500 millicores": `(try "500m")`,
		"2GB":            "",
		"2g":             "",
		"512 Mi":         "",
		"lots":           "",
	} {
		t.Run("cpu "+v, func(t *testing.T) {
			want := fmt.Sprintf("requests.cpu: %q is not a Kubernetes quantity: %s", v, wantCPURule)
			if try != "" {
				want = fmt.Sprintf("requests.cpu: %q is not a Kubernetes quantity %s: %s", v, try, wantCPURule)
			}
			assert.EqualError(t, Resources{Requests: ResourceList{CPU: v}}.Validate(), want)
		})
	}
}

// TestResources_MemoryInWholeBytes: Kubernetes takes "500m" of memory,
// half a byte, a typo for 500Mi or 500M; a memory quantity below one byte
// or with a fraction of one is refused, offering the nearest sizes when m
// was the typo. CPU in thousandths stays valid, and so does a fractional
// number whose suffix makes it whole bytes.
func TestResources_MemoryInWholeBytes(t *testing.T) {
	for v, want := range map[string]string{
		"500m":  `limits.memory: "500m" is less than one byte (try "500Mi" or "500M"): m means thousandths; ` + wantMemoryRule,
		"1500m": `limits.memory: "1500m" is not a whole number of bytes (try "1500Mi" or "1500M"): m means thousandths; ` + wantMemoryRule,
		"1.5m":  `limits.memory: "1.5m" is less than one byte (try "1.5Mi" or "1.5M"): m means thousandths; ` + wantMemoryRule,
		"0.5":   `limits.memory: "0.5" is less than one byte: ` + wantMemoryRule,
		"2.5":   `limits.memory: "2.5" is not a whole number of bytes: ` + wantMemoryRule,
		"1e-3":  `limits.memory: "1e-3" is less than one byte: ` + wantMemoryRule,
	} {
		assert.EqualError(t, Resources{Limits: ResourceList{Memory: v}}.Validate(), want, v)
	}
	// A request is refused as a limit is, and is then not compared with
	// the limit.
	assert.EqualError(t, Resources{Requests: ResourceList{Memory: "256m"}, Limits: ResourceList{Memory: "1Gi"}}.Validate(),
		`requests.memory: "256m" is less than one byte (try "256Mi" or "256M"): m means thousandths; `+wantMemoryRule)
	for _, v := range []string{"0", "1", "1.5k", "0.5Gi", "1e3", "2Gi", "8E", "100E"} {
		assert.NoError(t, Resources{Limits: ResourceList{Memory: v}}.Validate(), v)
	}
	for _, v := range []string{"500m", "1m", "0.5", "1.5"} {
		assert.NoError(t, Resources{Limits: ResourceList{CPU: v}}.Validate(), v)
	}

	// Read from kserve-gen.yaml, the error names the file's field.
	f := validFile()
	f.Resources.Limits.Memory = "500m"
	assert.EqualError(t, f.Validate(), `resources: limits.memory: "500m" is less than one byte (try "500Mi" or "500M"): m means thousandths; `+wantMemoryRule)
}
