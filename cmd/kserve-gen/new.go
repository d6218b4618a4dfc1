package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/modelcar"
	"github.com/kserve-gen/kserve-gen/onnxinfo"
	"github.com/kserve-gen/kserve-gen/project"
)

// answers are the questions `new` asks, as the form edits them. Empty
// strings mean "not answered yet".
type answers struct {
	Name          string
	Module        string
	Template      string
	Protocol      string
	GRPC          bool
	GPU           string
	CPURequest    string
	CPULimit      string
	MemoryRequest string
	MemoryLimit   string
	Dir           string
	// Model is the user's ONNX model file (onnx template; empty: the
	// sample), read into onnx once known.
	Model  string
	onnx   *generator.ONNXModel
	shapes map[string][]int64 // --input-shape
	// Image is the preprocessing the model's image input takes images
	// with (--image; "" for tensors).
	Image string

	// Force is not asked: it is --force, which lets Dir be non-empty.
	Force bool
}

// newOptions is what `kserve-gen new` parsed from its arguments.
type newOptions struct {
	IO       *IOStreams
	Prompter Prompter

	answers
	GPUCount    int
	InputShapes []string
	Labels      string
	Yes         bool
	RuntimePath string

	// RuntimeSearch lists where to look for a checkout's runtime module.
	RuntimeSearch func() []string
	// Changed reports whether a flag was set on the command line.
	Changed func(flag string) bool
}

func newCmdNew(f *factory, runF func(*newOptions) error) *cobra.Command {
	opts := &newOptions{IO: f.IO, Prompter: f.Prompter, RuntimeSearch: f.RuntimeSearch}
	templates := strings.Join(project.Templates(), ", ")
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Write a new Go model server project",
		Long: `Write a complete Go project for a KServe custom model server: main.go,
model.go (your model, with Load, Preprocess, Predict and Postprocess),
model_test.go (the runtime's conformance kit plus model tests), input.json,
the InferenceService YAML, a Procfile, .go-version and project.toml for
buildpacks, a README with the exact commands, and ` + project.FileName + `.

On a terminal a form asks for every answer, prefilled from the flags. With
--yes, or when stdin or stdout is not a terminal, nothing is asked: NAME and
--template are required, everything else has a default.

Templates:
  rest         KServe v1 REST custom predictor (the seed's custom model)
  grpc         Open Inference Protocol (v2) over gRPC, with a Go client
  onnx         serves an ONNX model with ONNX Runtime, CPU or GPU
  transformer  pre/post-processing in front of a predictor (--predictor_host)
  openai       an OpenAI-compatible chat/completions (streaming too) and
               embeddings model on KServe's OpenAI routes, /openai/v1; REST
               only: no --grpc
  timeseries   a time-series forecaster (univariate and multivariate, with
               quantiles) on KServe's time-series routes,
               /v1/timeseries/forecast; REST only: no --grpc

With --model (template onnx, the default then), the project serves your
.onnx file instead of the sample: it is copied to model/model.onnx (with
any external data files), and input.json, the tests and the README are
written from its inputs and outputs. input.json holds zeros; a dynamic
dimension is 1 there unless --input-shape gives the input's shape, or
another input's dimension of the same name (ONNX makes them one size).

NAME is the model name on the wire and the InferenceService name: a DNS-1123
label starting with a letter, at most 53 characters (51 for a transformer,
whose InferenceService also makes NAME-transformer).

When run from a kserve-gen checkout (or with --runtime-path), go.mod points
at the checkout's runtime/ with a replace directive and go.sum holds its
checksums, so the project builds and tests offline.`,
		Example: `  # ask in a form
  kserve-gen new custom-model

  # no questions
  kserve-gen new custom-model --template rest --yes
  kserve-gen new custom-model-grpc --template grpc --module example.com/acme/custom-model-grpc --yes
  kserve-gen new resnet --template onnx --gpu 1 --memory-limit 8Gi --yes
  kserve-gen new mychat --template openai --yes
  kserve-gen new forecast --template timeseries --yes

  # serve your own ONNX model: input.json, tests and README follow its inputs
  kserve-gen new resnet --model ./resnet50.onnx --input-shape input=1,3,224,224 --yes

  # ... and let clients send images (JPEG, PNG, ...) instead of tensors
  kserve-gen new resnet --model ./resnet50.onnx --image imagenet --labels imagenet.txt --yes`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(opts)
			}
			return newRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Module, "module", "", "Go module path of the project (default NAME, or example.com/NAME when NAME is a standard-library path such as image or a name the go command or the compiler reserves such as main or type)")
	fl.StringVarP(&opts.Template, "template", "t", "", "project template: "+templates)
	fl.StringVar(&opts.Protocol, "protocol", "", "inference protocol of the REST endpoint: v1 or v2 (default: v1 for rest, transformer, openai and timeseries, the last two taking only v1; v2 for grpc and onnx)")
	fl.BoolVar(&opts.GRPC, "grpc", false, "serve and expose the Open Inference Protocol gRPC endpoint (needs protocol v2; always on for --template grpc, never for openai or timeseries)")
	fl.StringVar(&opts.Model, "model", "", "an ONNX model file (or a folder holding one, such as a Hugging Face repository) the project serves instead of the sample (template onnx)")
	fl.StringArrayVar(&opts.InputShapes, "input-shape", nil, "with --model: an input's shape in input.json as `NAME=D1,D2,...` for its dynamic dimensions (default 1 each; repeatable)")
	fl.StringVar(&opts.Image, "image", "", "with --model: the model's image input (4 dimensions, 3 channels) takes images (PNG, JPEG, GIF, BMP, WebP), decoded, resized and normalised as `PRESET` says: "+imagePresetHelp())
	fl.StringVar(&opts.Labels, "labels", "", "with --model: a file naming the classes of the model's first output, one per line, copied as model/labels.txt for the classification extension (default: a labels.txt beside the model)")
	fl.IntVar(&opts.GPUCount, "gpu", 0, "nvidia.com/gpu devices for the InferenceService; 0 runs on CPU")
	fl.StringVar(&opts.CPURequest, "cpu-request", generator.DefaultCPURequest, "CPU request, a Kubernetes quantity (500m, 1)")
	fl.StringVar(&opts.CPULimit, "cpu-limit", generator.DefaultCPULimit, "CPU limit")
	fl.StringVar(&opts.MemoryRequest, "memory-request", generator.DefaultMemoryRequest, "memory request (512Mi, 1Gi)")
	fl.StringVar(&opts.MemoryLimit, "memory-limit", generator.DefaultMemoryLimit, "memory limit")
	fl.StringVar(&opts.Dir, "dir", "", "output directory (default ./NAME); must be empty or missing unless --force")
	fl.BoolVar(&opts.answers.Force, "force", false, "write into a non-empty directory, replacing files of the same name and removing the earlier project's files the new one does not use, unless edited (kserve-gen.yaml keeps its image and deploy settings)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "ask nothing: take the flags and defaults")
	fl.StringVar(&opts.RuntimePath, "runtime-path", "", "the kserve-gen runtime module folder go.mod replaces the runtime with (default: found from the current directory or kserve-gen's own checkout)")
	_ = cmd.RegisterFlagCompletionFunc("template", cobra.FixedCompletions(project.Templates(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("protocol", cobra.FixedCompletions([]string{project.ProtocolV1, project.ProtocolV2}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("image", cobra.FixedCompletions(generator.ImagePresets(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("model", "onnx")
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("runtime-path")
	return cmd
}

// imagePresetHelp lists the --image presets for the flag's help.
func imagePresetHelp() string {
	parts := make([]string, 0, len(generator.ImagePresets()))
	for _, name := range generator.ImagePresets() {
		parts = append(parts, name+" ("+generator.ImagePresetAbout(name)+")")
	}
	return strings.Join(parts, "; ")
}

// checkModelFlags refuses the flags that describe a --model's inputs and
// outputs (--input-shape, --labels, --image) given without one. The message
// leads with what is missing, and names the value given (the first, for
// --input-shape): a user who typed --image imagenet alone has no model
// whose input it could preprocess.
func checkModelFlags(a answers, opts *newOptions) error {
	switch {
	case a.Model != "":
		return nil
	case len(a.shapes) > 0:
		return fmt.Errorf("--input-shape needs --model FILE.onnx: --input-shape %s sizes the dynamic dimensions of an input of the ONNX model that --model serves, in the sample request input.json", opts.InputShapes[0])
	case opts.Labels != "":
		return fmt.Errorf("--labels needs --model FILE.onnx: --labels %s names the classes of the first output of the ONNX model that --model serves", opts.Labels)
	case a.Image != "":
		return fmt.Errorf("--image needs --model FILE.onnx: --image %s is a preprocessing preset for the image input of the ONNX model that --model serves", a.Image)
	}
	return nil
}

// checkImagePreset refuses an --image that names a container image: build,
// deploy and modelcar take one with that flag, so a user carries it over to
// new, where --image is a preprocessing preset (no preset has / : or .).
func checkImagePreset(image string) error {
	if !strings.ContainsAny(image, "/:.") {
		return nil
	}
	return fmt.Errorf("--image %q looks like a container image, but kserve-gen new's --image is how a --model's image input takes pictures (%s); the container image goes to kserve-gen build --image and deploy --image, or image: in %s",
		image, strings.Join(generator.ImagePresets(), ", "), project.FileName)
}

// checkGRPCFlags refuses gRPC and protocol flags that do not go together,
// in the flags' words: project.File.Validate would refuse them too, but in
// kserve-gen.yaml's ("grpc: template grpc needs grpc: true"), a file the
// user has not seen yet. The form checks its own answers as they are given.
func checkGRPCFlags(a answers, changed func(string) bool) error {
	grpcFrom := "--grpc"
	if !changed("grpc") {
		grpcFrom = "--template grpc" // TemplateDefaults turned it on
	}
	switch {
	case a.Template == project.TemplateGRPC && !a.GRPC:
		// Only --grpc=false turns it off for the grpc template.
		return errors.New("--grpc=false: --template grpc always serves gRPC (the Open Inference Protocol over gRPC, with a Go client); drop --grpc=false, or choose --template rest or onnx for REST alone")
	case a.GRPC && a.Protocol == project.ProtocolV1:
		// With gRPC on, the defaults are v2: v1 came from --protocol.
		fix := "--grpc"
		if grpcFrom != "--grpc" {
			fix = "choose --template rest"
		}
		return fmt.Errorf("--protocol v1 with %s: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol v2; drop --protocol v1, or %s", grpcFrom, fix)
	}
	return nil
}

// checkRESTOnlyFlags refuses --grpc and --protocol v2 for the openai and
// timeseries templates, whose projects serve OpenAI's API or KServe's
// time-series API over REST alone: the gRPC endpoint and v2 would reach
// Predict, which such a model has none of. Checked before the form too,
// which does not ask them for these templates (and refuses the template,
// asked there, with these flags).
func checkRESTOnlyFlags(template string, a answers, changed func(string) bool) error {
	var api, routes string
	switch template {
	case project.TemplateOpenAI:
		api, routes = "OpenAI's API", "/openai/v1/..."
	case project.TemplateTimeSeries:
		api, routes = "KServe's time-series API", "/v1/timeseries/..."
	default:
		return nil
	}
	switch {
	case changed("grpc") && a.GRPC:
		return fmt.Errorf("--grpc: --template %s serves %s over REST on --http_port and has no gRPC endpoint; drop --grpc, or choose --template rest, grpc or onnx for the Open Inference Protocol over gRPC", template, api)
	case changed("protocol") && a.Protocol == project.ProtocolV2:
		return fmt.Errorf("--protocol v2: --template %s serves %s (%s), not the Open Inference Protocol, and takes v1 alone; drop --protocol v2", template, api, routes)
	}
	return nil
}

// checkDirFlag refuses a --dir that names no folder: "   " made a folder
// named with spaces, and "" (an unset variable in a script) wrote ./NAME,
// which the user did not name either.
func checkDirFlag(a answers, changed func(string) bool) error {
	if !changed("dir") || strings.TrimSpace(a.Dir) != "" {
		return nil
	}
	name := a.Name
	if name == "" {
		name = "NAME"
	}
	return fmt.Errorf("--dir %q names no folder: name the folder to write the project in, or leave --dir out for ./%s", a.Dir, name)
}

// fieldFlags are the flags of new that answer kserve-gen.yaml's fields.
var fieldFlags = map[string]string{
	"name":                      "NAME", // the argument, not a flag
	"module":                    "module",
	"template":                  "template",
	"protocol":                  "protocol",
	"gpu":                       "gpu",
	"resources.requests.cpu":    "cpu-request",
	"resources.limits.cpu":      "cpu-limit",
	"resources.requests.memory": "memory-request",
	"resources.limits.memory":   "memory-limit",
}

// flagNames names kserve-gen.yaml's fields as the flags that answered
// them, for project.File.ValidateAs: "--gpu: must be 0 (CPU) or more",
// not "gpu: ...", a field of a file the user has not seen yet. A resource
// the user did not give is the flag's default, and said to be:
// "--cpu-request 3 is more than the default --cpu-limit 2".
func flagNames(changed func(string) bool) func(field string) string {
	return func(field string) string {
		flag, ok := fieldFlags[field]
		if !ok {
			return field
		}
		if field == "name" {
			return flag
		}
		if strings.HasPrefix(field, "resources.") && !changed(flag) {
			return "the default --" + flag
		}
		return "--" + flag
	}
}

// errAborted is returned when the user leaves the form.
var errAborted = errors.New("aborted; nothing was written")

// missingError lists every required answer that is missing, as the flags
// (or argument) that give it.
type missingError struct {
	why     string
	missing []string
}

func (e *missingError) Error() string {
	return fmt.Sprintf("%s, so nothing is asked; pass the missing answers: %s", e.why, strings.Join(e.missing, ", "))
}

func newRun(ctx context.Context, opts *newOptions) error {
	a := opts.answers
	if err := checkDirFlag(a, opts.Changed); err != nil {
		return err
	}
	if err := checkRESTOnlyFlags(a.Template, a, opts.Changed); err != nil {
		return err
	}
	a.GPU = fmt.Sprint(opts.GPUCount)
	a.Force = opts.Force
	shapes, err := inputShapes(opts.InputShapes)
	if err != nil {
		return err
	}
	a.shapes = shapes
	if err := checkImagePreset(a.Image); err != nil {
		return err
	}
	prompt := !opts.Yes && opts.IO.CanPrompt()
	if a.Model != "" && a.Template == "" {
		a.Template = project.TemplateONNX
	}
	if a.Model != "" && a.Template == project.TemplateONNX {
		// Read now: a model that cannot be served is refused before any question.
		if a.onnx, err = loadModel(a.Model, shapes); err != nil {
			return err
		}
	}
	if !prompt {
		if err := checkModelFlags(a, opts); err != nil { // the form may still ask for the model
			return err
		}
		var missing []string
		if a.Name == "" {
			missing = append(missing, "NAME (the first argument, e.g. `kserve-gen new custom-model`)")
		}
		if a.Template == "" {
			missing = append(missing, "--template ("+strings.Join(project.Templates(), ", ")+")")
		}
		if len(missing) > 0 {
			why := "--yes was given"
			if !opts.Yes {
				why = "stdin or stdout is not a terminal"
			}
			return &missingError{why: why, missing: missing}
		}
		if !opts.Changed("protocol") || !opts.Changed("grpc") {
			protocol, grpc := generator.TemplateDefaults(a.Template)
			if !opts.Changed("protocol") {
				a.Protocol = protocol
				if opts.Changed("grpc") && a.GRPC {
					a.Protocol = project.ProtocolV2 // --grpc alone implies v2
				}
			}
			if !opts.Changed("grpc") {
				a.GRPC = grpc
			}
		}
		if err := checkGRPCFlags(a, opts.Changed); err != nil {
			return err
		}
	} else {
		if err := opts.Prompter.Ask(ctx, &a, opts.Changed); err != nil {
			return err
		}
		if a.Model != "" && a.onnx == nil {
			if a.onnx, err = loadModel(a.Model, shapes); err != nil {
				return err
			}
		}
		if err := checkModelFlags(a, opts); err != nil {
			return err
		}
	}
	if a.onnx != nil && opts.Labels != "" {
		a.onnx.Labels, a.onnx.SkippedLabels = opts.Labels, nil
	}
	if a.onnx != nil {
		a.onnx.Image = a.Image
		if err := a.onnx.CheckImage(); err != nil {
			return err
		}
	}
	var names func(string) string
	if !prompt {
		// Every answer is a flag's (or its default): name the flags. The
		// form checked its own answers as they were given.
		names = flagNames(opts.Changed)
	}
	gopts, foreignRuntime, err := generatorOptions(a, opts, names)
	if err != nil {
		return err
	}
	// Read before Generate replaces it: what the project was before.
	var before *project.File
	var replaced []string
	if a.Force {
		before, _ = project.Load(gopts.OutputDir())
		// Named after the write: --force replaces them, and a user's edits
		// went without a word. Only a report: a file that cannot be read to
		// tell (--force still replaces it) or answers that do not render
		// (Generate says why) leave it out.
		if files, err := generator.Render(gopts); err == nil {
			replaced, _ = generator.Differing(gopts.OutputDir(), files)
		}
	}
	files, err := generator.Generate(ctx, gopts)
	if errors.Is(err, generator.ErrDirNotEmpty) {
		return fmt.Errorf("%w; choose another --dir, or pass --force to replace the generated files (other files are kept)", err)
	}
	if err != nil {
		return err
	}
	dir := gopts.OutputDir()
	fmt.Fprintf(opts.IO.Out, "Created %s (template %s, protocol %s%s): %d files in %s\n",
		a.Name, a.Template, a.Protocol, map[bool]string{true: ", gRPC", false: ""}[a.GRPC], len(files), dir)
	if len(replaced) > 0 {
		fmt.Fprintf(opts.IO.Out, "Replaced (--force), their earlier contents gone: %s\n", strings.Join(replaced, ", "))
	}
	if before != nil {
		client := a.GRPC && (a.onnx == nil || a.onnx.SampleFile() == "input.json")
		from, to := generator.Made{Template: before.Template, Client: before.GRPC}, generator.Made{Template: a.Template, Client: client}
		left := removeLeftovers(dir, before, gopts, files, from, to)
		was, is := leftoverProjects(from, to, a.GRPC)
		if len(left.Removed) > 0 {
			fmt.Fprintf(opts.IO.Out, "Removed (--force), files of the earlier %s that %s does not use, unchanged since kserve-gen wrote them: %s\n", was, is, strings.Join(left.Removed, ", "))
		}
		warnKept(opts.IO.ErrOut, was, is, left.Kept)
	}
	if k := gopts.Keep; k != nil && (k.Image != "" || k.Deploy != nil) {
		fmt.Fprintf(opts.IO.Out, "Kept the image and deploy settings of the %s it replaced\n", project.FileName)
	}
	if m := gopts.Model; m != nil {
		describeModel(opts.IO.Out, m)
		warnUnsized(opts.IO.ErrOut, m)
	}
	if gopts.Runtime == nil {
		// The runtime module is not published (generator.RuntimeVersion),
		// so a project without a replace directive cannot build: say so,
		// and how to get one, rather than let go test fail on go.sum.
		fmt.Fprintf(opts.IO.ErrOut, "Warning: no kserve-gen checkout found, so go.mod requires %s with no replace directive; that module is not published, so go commands in the project fail. Run kserve-gen new again with the same flags plus --runtime-path /path/to/kserve-gen/runtime --force (the runtime/ folder of a kserve-gen checkout).\n", generator.RuntimeModulePath)
	}
	if foreignRuntime != "" {
		// Not kserve-gen's own checkout: say whose code the project runs.
		fmt.Fprintf(opts.IO.ErrOut, "Note: go.mod replaces %s with %s, found from the current directory (pass --runtime-path to choose another).\n", generator.RuntimeModulePath, foreignRuntime)
	}
	warnWorkspace(ctx, opts.IO.ErrOut, dir)
	run := "go run ."
	if a.Template == project.TemplateTransformer {
		// Without a predictor every request is a 501: name the one the
		// README starts (the port kserve-gen build's docker run uses too).
		run = fmt.Sprintf("go run . --predictor_host=localhost:%d    # with a predictor serving %s there: README.md starts one", localPredictorPort, a.Name)
	}
	cd := "  cd " + shellQuote(dir) + "\n"
	if filepath.Clean(dir) == "." {
		cd = "" // written into the current directory: "cd ." says nothing
	}
	fmt.Fprintf(opts.IO.Out, "\nNext:\n%s  go test ./...\n  %s\n\nThen see README.md for the curl command.\n", cd, run)
	return nil
}

// removeLeftovers removes the files of the earlier project (before, as
// kserve-gen.yaml recorded it) that the new one (files) does not write
// and that are still as kserve-gen wrote them: --force keeps what it does
// not write, but a gRPC client/ left behind is a Go package that go test
// ./... still builds against the new project, and fails. A file edited
// since, or one whose being unchanged cannot be proved, stays: Kept says
// which and why. An earlier project that does not render any more (its
// answers refused by this kserve-gen) proves nothing: its files by
// LeftBehind (from, to) stay, named.
func removeLeftovers(dir string, before *project.File, gopts *generator.Options, files []generator.File, from, to generator.Made) generator.Leftovers {
	earlier, err := generator.EarlierFiles(before, gopts)
	if err != nil {
		paths, err := generator.LeftBehind(from, to)
		if err != nil {
			return generator.Leftovers{}
		}
		return generator.KeepLeftovers(dir, paths)
	}
	return generator.RemoveLeftovers(dir, earlier, files)
}

// leftoverProjects names the earlier project and the new one for the
// lines about leftovers: by template, or, for one template, by gRPC, the
// client being what a project of the same template leaves behind when
// gRPC is turned off (grpc: whether the new project serves it).
func leftoverProjects(from, to generator.Made, grpc bool) (was, is string) {
	switch {
	case from.Template != to.Template:
		article := "a "
		if strings.ContainsRune("aeiou", rune(to.Template[0])) {
			article = "an " // an onnx project, an openai project
		}
		return from.Template + " project", article + to.Template + " project"
	case from.Client && !grpc:
		return "project serving gRPC", "a project without gRPC"
	}
	return "project", "the new one" // a --model whose sample request is binary has no client
}

// warnKept names the files of the earlier project that the new one does
// not use and that stayed, each with why: go test ./... builds every Go
// package in the folder, the earlier gRPC client/ among them.
func warnKept(w io.Writer, was, is string, kept []generator.Kept) {
	if len(kept) == 0 {
		return
	}
	// One group per reason, in the order of the reasons, so that a reason
	// shared by several files is said once.
	groups := map[generator.KeptWhy][]string{}
	var whys []generator.KeptWhy
	var notRemoved []string
	for _, k := range kept {
		if k.Why == generator.KeptNotRemoved {
			notRemoved = append(notRemoved, fmt.Sprintf("%s (unchanged since kserve-gen wrote it, but could not be removed: %v)", k.Path, k.Err))
			continue
		}
		if groups[k.Why] == nil {
			whys = append(whys, k.Why)
		}
		groups[k.Why] = append(groups[k.Why], k.Path)
	}
	slices.Sort(whys)
	var parts []string
	for _, why := range whys {
		paths := groups[why]
		parts = append(parts, fmt.Sprintf("%s (%s)", strings.Join(paths, ", "), keptWhy(why, len(paths))))
	}
	parts = append(parts, notRemoved...)
	them := "them"
	if len(kept) == 1 {
		them = "it"
	}
	fmt.Fprintf(w, "Warning: kept from the earlier %s, which %s does not use: %s. Remove %s unless you still need %s (go test ./... builds every Go package in the folder).\n",
		was, is, strings.Join(parts, "; "), them, them)
}

// keptWhy says why n files stayed.
func keptWhy(why generator.KeptWhy, n int) string {
	it, was := "it", "it was"
	if n > 1 {
		it, was = "them", "they were"
	}
	switch why {
	case generator.KeptEdited:
		return "edited since kserve-gen wrote " + it
	case generator.KeptModel:
		if n > 1 {
			return "your model's files, not kserve-gen's sample"
		}
		return "your model's file, not kserve-gen's sample"
	case generator.KeptLink:
		if n > 1 {
			return "symbolic links, or in a linked folder, which new removes nothing through"
		}
		return "a symbolic link, or in a linked folder, which new removes nothing through"
	case generator.KeptBeside:
		return "unchanged, but in one Go package with a file that stays"
	case generator.KeptNotFile:
		if n > 1 {
			return "not plain files"
		}
		return "not a plain file"
	default:
		return "kserve-gen cannot tell whether " + was + " edited"
	}
}

// warnWorkspace says how to add the project to the Go workspace it was
// written into, if any does not list it: go commands there would otherwise
// fail with "directory prefix . does not contain modules listed in go.work".
// The workspace file is the user's, so it is not edited for them.
func warnWorkspace(ctx context.Context, w io.Writer, dir string) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return // nothing to build with here anyway
	}
	ws, ok, err := generator.FindWorkspace(ctx, goBin, dir)
	if err != nil {
		fmt.Fprintf(w, "Warning: could not check for a Go workspace: %v\n", err)
		return
	}
	if !ok || ws.Listed {
		return
	}
	use, err := ws.UseCommand(dir)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "Warning: %s is inside the Go workspace %s, which does not list it, so go commands in it fail. Add it to the workspace:\n  %s\nor run them with GOWORK=off.\n", shellQuote(dir), ws.File, use)
}

// generatorOptions turns the answers into the generator's options and
// finds the runtime module.
//
// foreign is the runtime's folder when it was found elsewhere than in
// kserve-gen's own checkout (findRuntime).
func generatorOptions(a answers, opts *newOptions, names func(field string) string) (g *generator.Options, foreign string, err error) {
	var gpu int
	if _, err := fmt.Sscan(a.GPU, &gpu); err != nil {
		return nil, "", fmt.Errorf("gpu: %q is not a number", a.GPU)
	}
	module := a.Module
	if module == "" {
		module = project.DefaultModule(a.Name)
	}
	g = &generator.Options{
		Project: project.File{
			Name:     a.Name,
			Module:   module,
			Template: a.Template,
			Protocol: a.Protocol,
			GRPC:     a.GRPC,
			GPU:      gpu,
			Resources: project.Resources{
				Requests: project.ResourceList{CPU: a.CPURequest, Memory: a.MemoryRequest},
				Limits:   project.ResourceList{CPU: a.CPULimit, Memory: a.MemoryLimit},
			},
		},
		Dir:   a.Dir,
		Force: a.Force,
		Model: a.onnx,
		Names: names,
	}
	if a.Model != "" && a.onnx == nil {
		return nil, "", fmt.Errorf("--model %s: the %s template serves no model file, only onnx does (the template --model takes by default)", a.Model, a.Template)
	}
	if a.Force {
		// Re-running new over a project keeps what the user added to its
		// kserve-gen.yaml (image:, deploy:); a file that does not load, or
		// another model's (its image is not this one's), is replaced as
		// before.
		if old, err := project.Load(g.OutputDir()); err == nil && old.Name == a.Name {
			g.Keep = old
		}
	}
	if err := g.Validate(); err != nil {
		return nil, "", err
	}
	rtDir := opts.RuntimePath
	if rtDir == "" && opts.RuntimeSearch != nil {
		rtDir, foreign = findRuntime(opts.RuntimeSearch())
	}
	if rtDir != "" {
		rt, err := generator.LoadRuntime(rtDir)
		if err != nil {
			return nil, "", fmt.Errorf("--runtime-path: %w", err)
		}
		g.Runtime = rt
	}
	return g, foreign, nil
}

// findRuntime looks for the runtime module from each start in turn (see
// factory.RuntimeSearch); foreign is dir when a start other than the
// first, kserve-gen's own checkout, found it.
func findRuntime(starts []string) (dir, foreign string) {
	for i, start := range starts {
		if dir = generator.FindRuntime(start); dir != "" {
			if i > 0 {
				foreign = dir
			}
			return dir, foreign
		}
	}
	return "", ""
}

// loadModel reads --model, naming the flag and the path as the user gave
// it in its errors.
func loadModel(path string, shapes map[string][]int64) (*generator.ONNXModel, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, modelError(path, path, err)
	}
	file := path
	switch {
	case st.IsDir():
		if file, err = generator.FindONNXFile(path); err != nil {
			return nil, modelError(path, path, err)
		}
	case !st.Mode().IsRegular():
		// onnxinfo refuses it too, as "not a regular file": say what it is.
		return nil, fmt.Errorf("--model %s: %s, not a file; %s", path, modelcar.FileKind(st.Mode()), giveModel)
	case st.Size() == 0:
		return nil, fmt.Errorf("--model %s: the file is empty, not an ONNX model; %s", path, giveModel)
	}
	m, err := generator.LoadONNXModel(file, shapes)
	if err != nil {
		return nil, modelError(path, file, err)
	}
	return m, nil
}

// giveModel is what --model takes, said where it was given something else.
const giveModel = "give your .onnx model file, or a folder holding one"

// modelError says what is wrong with --model given (file is the model
// file in it, given itself unless given is a folder) in the user's terms,
// and what to do, instead of the system's or the parser's words alone
// ("open x.onnx: no such file or directory", "at byte 3: unsupported wire
// type 4").
func modelError(given, file string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist) && given == file:
		return fmt.Errorf("--model %s: no such file or folder; %s", given, giveModel)
	case errors.Is(err, fs.ErrPermission) && errors.As(err, &pe):
		what := "it is"
		if pe.Path != given {
			what = pe.Path + " is"
		}
		return fmt.Errorf("--model %s: %s not readable to you (permission denied); kserve-gen reads the model to write the project from it: make it readable, or copy it where it is", given, what)
	case errors.Is(err, onnxinfo.ErrNotONNX):
		what := "not an ONNX model"
		if file != given {
			what = file + " is " + what
		}
		if lfsPointer(file) {
			// A Hugging Face repository cloned without Git LFS holds
			// pointers of a few lines where the weights should be.
			return fmt.Errorf("--model %s: %s but a Git LFS pointer to one: the repository was cloned without its large files; fetch them with git lfs pull (Git LFS installed), then run kserve-gen new again", given, what)
		}
		// The parser's words, after onnxinfo.ReadFile's "PATH: not an ONNX
		// model: ", say where the file stops being one: a truncated
		// download shows as "truncated" at its end.
		detail := strings.TrimPrefix(strings.TrimPrefix(err.Error(), file+": "), onnxinfo.ErrNotONNX.Error()+": ")
		return fmt.Errorf("--model %s: %s (%s); export your model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and give that .onnx file", given, what, detail)
	}
	return fmt.Errorf("--model %s: %w", given, err)
}

// lfsPointer reports whether the file is a Git LFS pointer: a text file
// starting "version https://git-lfs" (the LFS specification's first line).
func lfsPointer(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	const start = "version https://git-lfs"
	head := make([]byte, len(start))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == start
}

// inputShapes parses the --input-shape values.
func inputShapes(values []string) (map[string][]int64, error) {
	if len(values) == 0 {
		return nil, nil
	}
	shapes := map[string][]int64{}
	for _, v := range values {
		name, shape, err := generator.ParseInputShape(v)
		if err != nil {
			return nil, err
		}
		if _, dup := shapes[name]; dup {
			return nil, fmt.Errorf("--input-shape %s given twice", name)
		}
		shapes[name] = shape
	}
	return shapes, nil
}

// describeModel prints the model's signature and the sample request's
// shapes, so a wrong guess at a dynamic dimension shows before go test.
func describeModel(w io.Writer, m *generator.ONNXModel) {
	fmt.Fprintf(w, "Model %s:\n", m.Path)
	for _, v := range m.Info.Inputs {
		fmt.Fprintf(w, "  input  %s\n", v)
	}
	for _, v := range m.Info.Outputs {
		fmt.Fprintf(w, "  output %s\n", v)
	}
	for _, v := range m.LeftOut() {
		fmt.Fprintf(w, "Output %s is not served: the Open Inference Protocol carries tensors only (for scikit-learn's ZipMap, export with skl2onnx's options={'zipmap': False})\n", v.Name)
	}
	if m.SkippedLabels != nil {
		fmt.Fprintf(w, "Class labels left out: %v\n", m.SkippedLabels)
	}
	if m.Labels != "" {
		if n, err := m.CheckLabels(); err == nil {
			fmt.Fprintf(w, "Class labels: %d names for output %s, from %s (%s)\n", n, m.FirstOutput().Name, m.Labels, generator.LabelsPath)
		}
	}
	if s := m.DescribeImage(); s != "" {
		fmt.Fprintln(w, s)
	} else if in, layout, ok := m.ImageInput(); ok {
		fmt.Fprintf(w, "Input %s looks like images (%s): --image %s lets clients send pictures instead of tensors\n", in.Name, layout, strings.Join(generator.ImagePresets(), "|"))
	}
	if s := m.SampleShapes(); s != "" {
		fmt.Fprintf(w, "input.json holds zeros of shape %s (dynamic dimensions 1 unless --input-shape NAME=D1,D2,... says otherwise)\n", s)
	}
}

// warnUnsized warns of the sample request's dynamic dimensions left at 1,
// naming the flag that sizes them: Silero VAD, sent an input of one
// sample, fails the project's first go test (ONNX Runtime: "Pad reflect
// requires axis length >= 2"), and nothing before said why.
func warnUnsized(w io.Writer, m *generator.ONNXModel) {
	for _, u := range m.Unsized() {
		it, is := "them", "are"
		if len(u.Dims) == 1 {
			it, is = "it", "is"
		}
		fmt.Fprintf(w, "Warning: %s sends input %q with shape %s: its %s %s 1, too small for many models (an audio window, a text, a picture), and go test ./... sends it; size %s with --input-shape %s (and kserve-gen new again, with --force)\n",
			m.SampleFile(), u.Input.Name, formatShape(m.SampleShape(u.Input.Name)), plural(u.Dims, "dynamic dimension", "dynamic dimensions"), is, it, u.Example)
	}
}

// formatShape writes a shape as the model listing does: [1,3,224,224].
func formatShape(shape []int64) string { return "[" + joinDims(shape) + "]" }

// plural joins names after the singular or plural word for them.
func plural(names []string, one, many string) string {
	if len(names) == 1 {
		return one + " " + names[0]
	}
	return many + " " + strings.Join(names, ", ")
}

// shellQuote is dir as the hints' shell commands take it.
func shellQuote(s string) string {
	return generator.ShellPath(filepath.Clean(s))
}
