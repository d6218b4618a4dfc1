package generator

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/sprig/v3"
	"golang.org/x/mod/modfile"
	"golang.org/x/tools/imports"

	"github.com/kserve-gen/kserve-gen/deploy"
	"github.com/kserve-gen/kserve-gen/project"
	"github.com/kserve-gen/kserve-gen/templates"
)

// File is one rendered file, its path relative to the project root
// (slash-separated).
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
	// Source, when set, is a file Write copies instead of writing Data:
	// a user's model, which may be gigabytes.
	Source string
}

// ImagePlaceholder is the container image in the generated InferenceService
// (a reserved example domain): replace it with the image you pushed, or
// print a fresh manifest with `kserve-gen deploy --image`.
const ImagePlaceholder = "registry.example.com/%s:v1"

// data is what the templates see.
type data struct {
	project.File
	// Type is the Go type of the model, the name in CamelCase (custom-model: CustomModel).
	Type string
	// Binary is the name `go build` gives the binary (the module's last element).
	Binary string
	// GoVersion is the Go version for .go-version (major.minor).
	GoVersion string
	// Image is the image kept from the kserve-gen.yaml new --force
	// replaces, else the placeholder image reference.
	Image string
	// InferenceServiceFile is the name of the generated InferenceService YAML.
	InferenceServiceFile string
	// ProjectFile is kserve-gen.yaml's name.
	ProjectFile string
	// RuntimeModule is the runtime's module path.
	RuntimeModule string
	// Model is the user's ONNX model (nil: the onnx template's sample).
	Model *modelView
	// Client: the project gets client/, a Go gRPC client that sends
	// input.json (the seed's grpc_client.py): it serves gRPC, and its
	// sample request is JSON (not a model's binary input.bin).
	Client bool
	// PredictorProject is the name of the predictor project a
	// transformer's README makes: NAME-predictor, shortened to fit a
	// project name.
	PredictorProject string
}

// SampleModelPath is where the onnx template's sample model is written.
const SampleModelPath = "model/model.onnx"

// InferenceServiceFile is the generated InferenceService manifest's name.
const InferenceServiceFile = "inferenceservice.yaml"

// Render validates o and returns the project's files sorted by path. It
// touches no files: templates are embedded, and the runtime module was read
// by LoadRuntime.
func Render(o *Options) ([]File, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p := o.Project
	if k := o.Keep; k != nil && (k.Image != "" || k.Deploy != nil) {
		p.Image, p.Deploy = k.Image, k.Deploy
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("the image and deploy settings of the %s being replaced do not fit the new answers (edit or remove them there first): %w", project.FileName, err)
		}
	}
	d := data{
		File:                 p,
		Type:                 GoTypeName(p.Name),
		Binary:               BinaryName(p.Module),
		GoVersion:            goVersion(o.Runtime),
		Image:                cmp.Or(p.Image, fmt.Sprintf(ImagePlaceholder, p.Name)),
		InferenceServiceFile: InferenceServiceFile,
		ProjectFile:          project.FileName,
		RuntimeModule:        RuntimeModulePath,
		PredictorProject:     predictorProject(p.Name),
	}
	if o.Model != nil {
		v, err := o.Model.view(p.Name, p.Protocol)
		if err != nil {
			return nil, err
		}
		d.Model = v
	}
	d.Client = p.GRPC && (d.Model == nil || !d.Model.Binary)
	files, err := renderTemplates(templates.FS(), p.Template, d)
	if err != nil {
		return nil, err
	}

	switch {
	case o.Model != nil:
		files = append(files, o.Model.modelFiles()...)
		if d.Model.Binary {
			files = append(files, File{Path: d.Model.SampleFile, Mode: 0o644, Data: d.Model.BinaryRequest})
		}
	case p.Template == project.TemplateONNX:
		files = append(files,
			File{Path: SampleModelPath, Mode: 0o644, Data: SampleONNXModel()},
			File{Path: LabelsPath, Mode: 0o644, Data: []byte(SampleLabels)})
	}

	gomod, err := goMod(o)
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: "go.mod", Mode: 0o644, Data: gomod})
	if o.Runtime != nil && len(o.Runtime.Sum) > 0 {
		files = append(files, File{Path: "go.sum", Mode: 0o644, Data: o.Runtime.Sum})
	}

	projFile, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: project.FileName, Mode: 0o644, Data: projFile})

	// The InferenceService is what `kserve-gen deploy` prints for the
	// project: with the image and predictor kept from the kserve-gen.yaml
	// it replaces (Keep), else with placeholders. A transformer's kept
	// predictor may be a model format instead of an image, which an image
	// placeholder beside it would contradict.
	dopts := deploy.FromProject(&p)
	dopts.Image = d.Image
	if pr := dopts.Predictor; pr != nil && pr.Image == "" && pr.ModelFormat == "" {
		pr.Image = fmt.Sprintf(ImagePlaceholder, p.Name+"-predictor")
	}
	isvc, err := deploy.Render(dopts)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", InferenceServiceFile, err)
	}
	files = append(files, File{Path: InferenceServiceFile, Mode: 0o644, Data: isvc})

	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// renderTemplates renders templates/base overlaid by templates/<kind>: a
// file in the kind's folder replaces the base file of the same path. Every
// template file ends in .tmpl (so the Go tool never sees a main.go or go.mod
// inside templates/), which is dropped from the output name.
func renderTemplates(fsys fs.FS, kind string, d data) ([]File, error) {
	sources := map[string]string{} // output path -> template path
	for _, root := range []string{"base", kind} {
		if _, err := fs.Stat(fsys, root); errors.Is(err, fs.ErrNotExist) && root != "base" {
			continue // the kind adds nothing to base
		}
		err := fs.WalkDir(fsys, root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			if !strings.HasSuffix(p, ".tmpl") {
				return fmt.Errorf("template %s: name must end in .tmpl", p)
			}
			rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
			sources[rel] = p
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read templates: %w", err)
		}
	}
	funcs := sprig.TxtFuncMap()
	var files []File
	for rel, src := range sources {
		text, err := fs.ReadFile(fsys, src)
		if err != nil {
			return nil, fmt.Errorf("read template %s: %w", src, err)
		}
		t, err := template.New(src).Funcs(funcs).Option("missingkey=error").Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", src, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("render template %s: %w", src, err)
		}
		out := buf.Bytes()
		if len(bytes.TrimSpace(out)) == 0 {
			continue // a template that renders to nothing is not wanted for these answers
		}
		if strings.HasSuffix(rel, ".go") {
			// Formats, groups and sorts imports and drops those a
			// conditional section left unused.
			if out, err = imports.Process(rel, out, nil); err != nil {
				return nil, fmt.Errorf("format %s (from %s): %w", rel, src, err)
			}
		}
		files = append(files, File{Path: rel, Mode: 0o644, Data: out})
	}
	return files, nil
}

// goMod writes the project's go.mod: the runtime requirement, the runtime's
// own requirements (so the build needs no module resolution), and the
// replace directive pointing at the local runtime.
func goMod(o *Options) ([]byte, error) {
	f := new(modfile.File)
	if err := f.AddModuleStmt(o.Project.Module); err != nil {
		return nil, fmt.Errorf("go.mod: %w", err)
	}
	if err := f.AddGoStmt(goDirective(o.Runtime)); err != nil {
		return nil, fmt.Errorf("go.mod: %w", err)
	}
	f.AddNewRequire(RuntimeModulePath, RuntimeVersion, false)
	if rt := o.Runtime; rt != nil {
		for _, r := range rt.Require {
			f.AddNewRequire(r.Path, r.Version, true)
		}
		f.SetRequireSeparateIndirect(f.Require)
		replace := o.ReplacePath
		if replace == "" {
			replace = rt.Dir
		}
		if err := f.AddReplace(RuntimeModulePath, "", replace, ""); err != nil {
			return nil, fmt.Errorf("go.mod: %w", err)
		}
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return nil, fmt.Errorf("go.mod: %w", err)
	}
	return out, nil
}

// defaultGo is the go directive when no runtime module is at hand.
const defaultGo = "1.26.0"

func goDirective(rt *RuntimeModule) string {
	if rt != nil && rt.Go != "" {
		return rt.Go
	}
	return defaultGo
}

// goVersion is the major.minor of the go directive, for .go-version.
func goVersion(rt *RuntimeModule) string {
	v := goDirective(rt)
	if parts := strings.Split(v, "."); len(parts) > 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// predictorProject is NAME-predictor, with NAME cut short (and of a
// trailing dash) where the whole would be longer than a project name may
// be.
func predictorProject(name string) string {
	const suffix = "-predictor"
	if len(name)+len(suffix) > project.MaxNameLength {
		name = strings.TrimRight(name[:project.MaxNameLength-len(suffix)], "-")
	}
	return name + suffix
}

// GoTypeName turns a DNS-1123 name into an exported Go identifier:
// custom-model becomes CustomModel, model-2b becomes Model2b. A name that
// go test would take for a test, benchmark, example or fuzz function
// (test-predict, TestPredict) gets a Model suffix, TestPredictModel: the
// templates' own test functions have such names, and the type must not
// clash with them.
func GoTypeName(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "-") {
		if part == "" {
			continue
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	s := b.String()
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "Model" + s
	}
	if isTestFuncName(s) {
		s += "Model"
	}
	return s
}

// isTestFuncName reports whether go test would read a function of this
// name as a test, benchmark, example or fuzz target: the prefix, then
// nothing or anything but a lowercase letter (go test's isTest).
func isTestFuncName(s string) bool {
	for _, prefix := range []string{"Test", "Benchmark", "Example", "Fuzz"} {
		rest, ok := strings.CutPrefix(s, prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		r, _ := utf8.DecodeRuneInString(rest)
		if !unicode.IsLower(r) {
			return true
		}
	}
	return false
}

// BinaryName is the name `go build` gives the project's binary: the last
// element of the module path, skipping a major-version suffix of v2 or
// more (/v2, /v10; not /v1, /v0 or /v01), as the go command's
// DefaultExecName does.
func BinaryName(module string) string {
	_, elem := path.Split(module)
	if elem != module && isVersionElement(elem) {
		_, elem = path.Split(path.Dir(module))
	}
	return elem
}

// isVersionElement is the go command's: whether s is "vN" with N a
// number of 2 or more, without a leading 0.
func isVersionElement(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || '9' < s[i] {
			return false
		}
	}
	return true
}

// Made is what decides which files a project has beyond base/'s: its
// template, and whether it has the gRPC client (data.Client: it serves gRPC
// with a JSON sample request).
type Made struct {
	Template string
	Client   bool
}

// LeftBehind lists, sorted, the files a project made as from has that one
// made as to does not write: its template folder's files, the onnx
// template's sample model, and the gRPC client (client/) when to has none.
// new --force keeps every file it does not write, so these stay behind —
// and a Go package among them still builds with go test ./... (the client
// sends input.json, which a v1 project's is not).
func LeftBehind(from, to Made) ([]string, error) {
	left, err := leftByTemplate(from.Template, to.Template)
	if err != nil {
		return nil, err
	}
	if from.Client && !to.Client {
		left = append(left, ClientPaths()...)
		slices.Sort(left)
	}
	return left, nil
}

// ClientPaths are the files of the gRPC client a project serving gRPC gets.
func ClientPaths() []string {
	var out []string
	_ = fs.WalkDir(templates.FS(), "base/client", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(p, "base/"), ".tmpl"))
		}
		return err
	})
	return out
}

func leftByTemplate(from, to string) ([]string, error) {
	if from == to {
		return nil, nil
	}
	paths := func(kind string) (map[string]bool, error) {
		out := map[string]bool{}
		err := fs.WalkDir(templates.FS(), kind, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == kind {
				return fs.SkipDir // the kind adds nothing to base
			}
			if err != nil || e.IsDir() {
				return err
			}
			out[strings.TrimSuffix(strings.TrimPrefix(p, kind+"/"), ".tmpl")] = true
			return nil
		})
		return out, err
	}
	old, err := paths(from)
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	if from == project.TemplateONNX {
		old[SampleModelPath], old[LabelsPath] = true, true
	}
	keep, err := paths("base")
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	next, err := paths(to)
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	var left []string
	for p := range old {
		if !keep[p] && !next[p] {
			left = append(left, p)
		}
	}
	slices.Sort(left)
	return left, nil
}
