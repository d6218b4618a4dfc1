package generator_test

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
	"github.com/kserve-gen/kserve-gen/project"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the templates")

// goldenReplace is the replace path written into the golden projects: from
// testdata/golden/<case> it reaches this checkout's runtime/, so every
// golden project builds and tests in place, offline.
const goldenReplace = "../../../runtime"

// goldenCase is one committed project under testdata/golden/<name>.
type goldenCase struct {
	name    string
	project project.File
	// model is a user's ONNX model (--model), written as NAME.onnx, and
	// shapes its --input-shape values.
	model  func() []byte
	shapes map[string][]int64
	// image is its --image preset.
	image string
}

func goldenCases() []goldenCase {
	res := generator.DefaultResources()
	file := func(name, template string, mod func(*project.File)) project.File {
		protocol, grpc := generator.TemplateDefaults(template)
		f := project.File{Name: name, Module: "example.com/kserve-gen/" + name, Template: template, Protocol: protocol, GRPC: grpc, Resources: res}
		if mod != nil {
			mod(&f)
		}
		return f
	}
	return []goldenCase{
		{name: "rest", project: file("custom-model", project.TemplateREST, nil)},
		{name: "rest-gpu", project: file("custom-model-gpu", project.TemplateREST, func(f *project.File) {
			f.GPU = 1
			f.Resources.Limits.Memory = "8Gi"
			f.Resources.Requests.Memory = "4Gi"
		})},
		{name: "rest-v2-grpc", project: file("custom-model-v2", project.TemplateREST, func(f *project.File) {
			f.Protocol, f.GRPC = project.ProtocolV2, true
		})},
		{name: "grpc", project: file("custom-model-grpc", project.TemplateGRPC, nil)},
		// The onnx projects' tests need ONNX Runtime (scripts/setup-onnx.sh).
		{name: "onnx", project: file("iris", project.TemplateONNX, nil)},
		{name: "onnx-gpu-grpc", project: file("iris-gpu", project.TemplateONNX, func(f *project.File) {
			f.GRPC, f.GPU = true, 1
			f.Resources.Limits.Memory = "8Gi"
		})},
		// kserve-gen new scorer --model scorer.onnx --grpc: two inputs, a BOOL output.
		{name: "onnx-model", project: file("scorer", project.TemplateONNX, func(f *project.File) { f.GRPC = true }), model: generator.ScorerONNXModel},
		// An FP16 input and an FP16 output: the sample request is input.bin
		// (binary extension) and asks for binary outputs;
		// --input-shape half=2,4: the server warms up with the sample's shapes.
		{name: "onnx-model-fp16", project: file("half", project.TemplateONNX, nil), model: generator.HalfONNXModel,
			shapes: map[string][]int64{"half": {2, 4}, "flag": {2, 1}}},
		// FP32 inputs, an FP16 output: input.json asks for binary outputs.
		{name: "onnx-model-fp16-out", project: file("halfout", project.TemplateONNX, nil), model: generator.HalfOutputONNXModel},
		// --image imagenet: the model takes images (runtime/vision); gRPC.
		{name: "onnx-model-image", project: file("pool", project.TemplateONNX, func(f *project.File) { f.GRPC = true }), model: func() []byte { return onnxtest.Image("8", "8") }, image: "imagenet"},
		{name: "transformer", project: file("custom-transformer", project.TemplateTransformer, nil)},
		{name: "transformer-v2", project: file("custom-transformer-v2", project.TemplateTransformer, func(f *project.File) {
			f.Protocol = project.ProtocolV2
		})},
		{name: "openai", project: file("chat", project.TemplateOpenAI, nil)},
		{name: "timeseries", project: file("forecast", project.TemplateTimeSeries, nil)},
	}
}

func goldenOptions(t testing.TB, c goldenCase) *generator.Options {
	rt, err := generator.LoadRuntime(filepath.Join("..", "runtime"))
	if err != nil {
		t.Fatal(err)
	}
	o := &generator.Options{Project: c.project, Runtime: rt, ReplacePath: goldenReplace}
	if c.model != nil {
		p := filepath.Join(t.TempDir(), c.project.Name+".onnx")
		if err := os.WriteFile(p, c.model(), 0o644); err != nil {
			t.Fatal(err)
		}
		if o.Model, err = generator.LoadONNXModel(p, c.shapes); err != nil {
			t.Fatal(err)
		}
		o.Model.Image = c.image
	}
	return o
}

// TestGolden renders every case and compares it with testdata/golden/<case>
// file by file; `go test ./generator -update` rewrites them. Unless -short,
// it then runs go vet and go test inside each golden project, offline
// against this checkout's runtime.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			files, err := generator.Render(goldenOptions(t, c))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("..", "testdata", "golden", c.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := generator.Write(context.Background(), dir, files, false); err != nil {
					t.Fatal(err)
				}
			}
			compareGolden(t, dir, files)
			if t.Failed() || testing.Short() {
				return
			}
			for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
				goTool(t, dir, args...)
			}
		})
	}
}

func compareGolden(t *testing.T, dir string, files []generator.File) {
	t.Helper()
	var onDisk []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		onDisk = append(onDisk, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("read golden project (run go test ./generator -update to create it): %v", err)
	}
	var rendered []string
	for _, f := range files {
		rendered = append(rendered, f.Path)
		if f.Source != "" { // a copied file
			var err error
			if f.Data, err = os.ReadFile(f.Source); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: rendered but not in %s (run go test ./generator -update)", f.Path, dir)
			continue
		}
		if !bytes.Equal(f.Data, want) {
			t.Errorf("%s differs from %s (run go test ./generator -update and review the diff):\n%s", f.Path, dir, firstDiff(string(want), string(f.Data)))
		}
	}
	for _, p := range onDisk {
		if !slices.Contains(rendered, p) {
			t.Errorf("%s: in %s but no longer rendered (run go test ./generator -update)", p, dir)
		}
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n golden: " + wl + "\n render: " + gl
		}
	}
	return "(same lines, different bytes)"
}

// goTool runs the go command in dir offline: the module proxy is off and
// go.mod/go.sum must already be complete.
func goTool(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}
