package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/project"
)

var captureDir = flag.String("capture", "", "write the tmux captures of the form into this folder (for docs/new.md)")

// tmuxSession is a detached tmux session running one command in a real
// terminal of a fixed size.
type tmuxSession struct {
	t    *testing.T
	name string
}

func tmux(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	require.NoError(t, err, "tmux %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// needTmux skips the test when tmux is missing.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install -y tmux)")
	}
}

func startTmux(t *testing.T, dir, command string) *tmuxSession {
	t.Helper()
	// One session per test and process, so parallel runs never share one.
	s := &tmuxSession{t: t, name: fmt.Sprintf("kserve-gen-%d-%s", os.Getpid(), strings.TrimPrefix(t.Name(), "TestNew_"))}
	// The shell keeps the pane open after the command ends, to read its status.
	tmux(t, "new-session", "-d", "-s", s.name, "-x", "100", "-y", "40", "-c", dir, "-e", "TERM=xterm-256color",
		"sh", "-c", command+"; echo \"EXIT STATUS $?\"; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

func (s *tmuxSession) capture() string {
	return tmux(s.t, "capture-pane", "-p", "-t", s.name)
}

// waitFor polls the screen until it shows text, and returns the screen.
func (s *tmuxSession) waitFor(text string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		screen := s.capture()
		if strings.Contains(screen, text) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows:\n%s", text, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForAll is waitFor for a screen that shows every one of texts at once.
func (s *tmuxSession) waitForAll(texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		screen := s.capture()
		missing := ""
		for _, text := range texts {
			if !strings.Contains(screen, text) {
				missing = text
				break
			}
		}
		if missing == "" {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows:\n%s", missing, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForUnwrapped is waitFor for a text the terminal may show broken
// over lines: it is looked for with the white space of both left out.
func (s *tmuxSession) waitForUnwrapped(text string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		screen := s.capture()
		if strings.Contains(unwrapped(screen), unwrapped(text)) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows:\n%s", text, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unwrapped is s without white space: a text wrapped at spaces or broken
// after a hyphen reads the same as on one line.
func unwrapped(s string) string { return strings.Join(strings.Fields(s), "") }

// restOfForm are the questions after the template's (and the model's).
var restOfForm = []string{"Protocol of the REST endpoint", "Serve gRPC", "GPUs", "CPU request", "CPU limit", "Memory request", "Memory limit", "Output directory"}

// accept waits for each field in turn and takes what it holds (Enter).
func (s *tmuxSession) accept(fields ...string) {
	s.t.Helper()
	for _, field := range fields {
		s.waitFor("┃ " + field)
		s.keys("Enter")
	}
}

// answer replaces the focused field's text with text and submits it.
func (s *tmuxSession) answer(text string) {
	s.t.Helper()
	s.keys("C-u")
	s.keys("-l", text)
	s.keys("Enter")
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	tmux(s.t, append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// TestNew_FormInRealTerminal builds kserve-gen, runs `kserve-gen new` in a
// tmux terminal, answers the huh form with key presses, and checks the
// project it writes, and that docs/new.md shows the screens it drew.
func TestNew_FormInRealTerminal(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)

	// Plain `kserve-gen new`, as docs/new.md says its captures are of: with
	// --dir the output directory held that answer, where a user sees the
	// ./NAME placeholder.
	s := startTmux(t, work, bin+" new")
	var captures []string
	// shot captures the screen once it shows every text: huh fills a
	// placeholder that follows another answer (the output directory's
	// ./NAME) a moment after it draws the page.
	shot := func(texts ...string) {
		t.Helper()
		captures = append(captures, s.waitForAll(texts...))
	}

	// Form 1: name, module (placeholder: the name), template. A focused
	// field has the thick left border; keys go out only once it has focus.
	shot("┃ Model name")
	s.keys("-l", "form-demo")
	s.keys("Enter")
	s.waitFor("┃ Go module path")
	s.keys("-l", "example.com/acme/form-demo")
	s.keys("Enter")
	s.waitFor("┃ Template")
	s.keys("Down") // rest -> grpc
	shot("> grpc — Open Inference Protocol")
	s.keys("Enter")

	// Form 2: protocol (v2, the grpc template's default), gRPC (on), GPUs.
	shot("┃ Protocol of the REST endpoint")
	s.keys("Enter")
	s.waitFor("┃ Serve gRPC")
	s.keys("Enter")
	s.waitFor("┃ GPUs")
	s.keys("BSpace")
	s.keys("-l", "1")
	s.keys("Enter")
	// Resources, prefilled with the defaults: raise the memory limit.
	shot("┃ CPU request", "> ./form-demo")
	s.keys("Enter")
	s.waitFor("┃ CPU limit")
	s.keys("Enter")
	s.waitFor("┃ Memory request")
	s.keys("Enter")
	s.waitFor("┃ Memory limit")
	s.keys("BSpace", "BSpace", "BSpace")
	s.keys("-l", "8Gi")
	s.keys("Enter")
	s.waitFor("┃ Output directory")
	s.keys("Enter")

	final := s.waitFor("EXIT STATUS")
	require.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "Created form-demo (template grpc, protocol v2, gRPC)")

	got, err := project.Load(filepath.Join(work, "form-demo"))
	require.NoError(t, err)
	assert.Equal(t, &project.File{Name: "form-demo", Module: "example.com/acme/form-demo", Template: "grpc", Protocol: "v2", GRPC: true, GPU: 1,
		Resources: project.Resources{
			Requests: project.ResourceList{CPU: "1", Memory: "1Gi"},
			Limits:   project.ResourceList{CPU: "2", Memory: "8Gi"},
		}}, got)
	assert.FileExists(t, filepath.Join(work, "form-demo", "client", "main.go"))

	if *captureDir != "" {
		for i, c := range captures {
			require.NoError(t, os.WriteFile(filepath.Join(*captureDir, fmt.Sprintf("form-%d.txt", i+1)), []byte(strings.TrimRight(c, "\n")+"\n"), 0o644))
		}
	}
	assert.Equal(t, docFormCaptures(t), trimmedScreens(captures), "docs/new.md's form captures (## The form) must be the screens this run drew; rerun with -capture DIR to get them")
}

// docFormCaptures returns the code blocks of docs/new.md's "## The form"
// section before its key reference, the text captures of the form.
func docFormCaptures(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "new.md"))
	require.NoError(t, err)
	section := regexp.MustCompile("(?s)\n## The form\n(.*?)\nTab / Enter moves on").FindSubmatch(doc)
	require.NotNil(t, section, "docs/new.md has no ## The form section ending at the key reference")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n```\n(.*?)```\n").FindAllSubmatch(section[1], -1) {
		blocks = append(blocks, string(m[1]))
	}
	return blocks
}

// trimmedScreens is each screen as a page shows it: without the blank rows
// below the form, ending in one newline.
func trimmedScreens(screens []string) []string {
	out := make([]string, len(screens))
	for i, s := range screens {
		out[i] = strings.TrimRight(s, "\n") + "\n"
	}
	return out
}

// TestNew_ReadmeFormIsTheRealOne runs the command the README's form
// capture is of, kserve-gen new custom-model, in a real terminal: the
// README must show the first screen exactly as the form draws it.
func TestNew_ReadmeFormIsTheRealOne(t *testing.T) {
	needTmux(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)On a terminal, `kserve-gen new custom-model` asks in a form.*?\n```\n(.*?)```\n").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no form capture of kserve-gen new custom-model")
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new custom-model")
	// The module path's placeholder follows the name, filled a moment
	// after the page is drawn.
	screen := s.waitForAll("enter next", "Go module path\n  > custom-model")
	s.keys("C-c")
	assert.Contains(t, s.waitFor("EXIT STATUS"), "EXIT STATUS 130")
	assert.Equal(t, string(m[1]), strings.TrimRight(screen, "\n")+"\n")
	assert.NoDirExists(t, filepath.Join(work, "custom-model"))
}

// TestNew_InvalidAnswerInRealTerminal types a bad name: the form shows the
// validation error and stays on the field; Ctrl+C then leaves with status
// 130 and nothing written.
func TestNew_InvalidAnswerInRealTerminal(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new --dir bad")
	s.waitFor("┃ Model name")
	s.keys("-l", "Bad_Name")
	s.keys("Enter")
	s.waitFor(`is not a DNS-1123 label`)
	s.keys("C-c")
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "Error: aborted; nothing was written")
	assert.Contains(t, final, "EXIT STATUS 130")
	assert.NoDirExists(t, filepath.Join(work, "bad"))
}

// TestNew_FormOnDumbTerminal: with TERM=dumb huh asks line by line. Each
// prompt shows its prefilled answer and Enter keeps it (huh validated the
// empty line: Enter at "Model name" said "name must not be empty", at
// "GPUs" '"" is not a whole number of GPUs', so every default had to be
// typed again, unseen); the module path and the output directory, whose
// defaults follow the name, show them too (they showed nothing); a bad
// answer, the yes/no to gRPC included, is refused and asked again.
func TestNew_FormOnDumbTerminal(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)

	s := startTmux(t, work, "TERM=dumb "+bin+" new dumb-demo --template grpc --cpu-request 3")
	// A name typed over the prefilled one is what the next defaults follow.
	s.waitFor("Model name [dumb-demo]")
	s.keys("-l", "dumb-2")
	s.keys("Enter")
	for _, prompt := range []string{"Go module path [dumb-2]", "Enter a number between 1 and 6:",
		"Enter a number between 1 and 2:"} {
		s.waitFor(prompt)
		s.keys("Enter")
	}
	// Yes or no is a choice, validated as the form's confirm is (huh's
	// line-by-line confirm took y or n unchecked).
	s.waitFor("Serve gRPC (Open Inference Protocol v2)?\n1. Yes\n2. No\nEnter a number between 1 and 2:")
	s.keys("2", "Enter")
	s.waitFor("the grpc template serves gRPC")
	s.keys("Enter") // the prefilled Yes
	for _, prompt := range []string{"GPUs (nvidia.com/gpu, 0 for CPU only) [0]", "CPU request [3]", "CPU limit [2]"} {
		s.waitFor(prompt)
		s.keys("Enter")
	}
	s.waitFor("requests.cpu 3 is more than limits.cpu 2\nCPU limit [2]")
	s.keys("-l", "4")
	s.keys("Enter")
	for _, prompt := range []string{"Memory request [1Gi]", "Memory limit [2Gi]", "Output directory [./dumb-2]"} {
		s.waitFor(prompt)
		s.keys("Enter")
	}
	final := s.waitFor("EXIT STATUS")
	require.Contains(t, final, "EXIT STATUS 0", final)
	got, err := project.Load(filepath.Join(work, "dumb-2"))
	require.NoError(t, err)
	assert.Equal(t, &project.File{Name: "dumb-2", Module: "dumb-2", Template: "grpc", Protocol: "v2", GRPC: true,
		Resources: project.Resources{
			Requests: project.ResourceList{CPU: "3", Memory: "1Gi"},
			Limits:   project.ResourceList{CPU: "4", Memory: "2Gi"},
		}}, got)
}

// TestNew_FormRefusesNonEmptyDir: with every other answer from flags and
// defaults, the form stops at the output directory while it names a
// non-empty folder, and takes another.
func TestNew_FormRefusesNonEmptyDir(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)
	require.NoError(t, os.Mkdir(filepath.Join(work, "taken"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "taken", "notes.txt"), []byte("mine"), 0o644))

	s := startTmux(t, work, bin+" new taken --template rest")
	s.accept("Model name", "Go module path", "Template")
	s.accept(restOfForm...)
	s.waitFor("taken: output directory is not empty: choose another, or run again with --force")
	s.keys("-l", "fresh")
	s.keys("Enter")
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0")
	assert.FileExists(t, filepath.Join(work, "fresh", "main.go"))
	entries, err := os.ReadDir(filepath.Join(work, "taken"))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the non-empty folder is untouched")
}

// TestNew_FormRefusesRequestAboveLimit: a CPU or memory request above its
// limit is refused on the limit's field, and the form stays there (it used
// to take both, and the project file then refused them with every answer
// lost: "Error: resources: requests.cpu 3 is more than limits.cpu 2").
func TestNew_FormRefusesRequestAboveLimit(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new limits --template rest --cpu-request 3")
	s.accept("Model name", "Go module path", "Template", "Protocol of the REST endpoint", "Serve gRPC", "GPUs", "CPU request", "CPU limit")
	s.waitFor("* requests.cpu 3 is more than limits.cpu 2")
	s.answer("4")
	s.waitFor("┃ Memory request")
	s.answer("3Gi")
	s.accept("Memory limit")
	s.waitFor("* requests.memory 3Gi is more than limits.memory 2Gi")
	s.answer("abc")
	s.waitFor(`* limits.memory: "abc" is not a Kubernetes quantity`)
	s.answer("4Gi")
	s.accept("Output directory")
	final := s.waitFor("EXIT STATUS")
	require.Contains(t, final, "EXIT STATUS 0", final)

	got, err := project.Load(filepath.Join(work, "limits"))
	require.NoError(t, err)
	assert.Equal(t, project.Resources{
		Requests: project.ResourceList{CPU: "3", Memory: "3Gi"},
		Limits:   project.ResourceList{CPU: "4", Memory: "4Gi"},
	}, got.Resources)
}

// TestNew_FormRefusesLongTransformerName: a name of 52 characters is a
// predictor's but not a transformer's (KServe adds "-transformer"). The
// form says so on the template, the name's form, and once another
// template is chosen shift+tab goes back to the name (it used to take the
// name and refuse it after the last question, every answer lost).
func TestNew_FormRefusesLongTransformerName(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)
	long := strings.Repeat("a", 52)

	s := startTmux(t, work, bin+" new "+long)
	s.accept("Model name", "Go module path")
	s.waitFor("┃ Template")
	for _, want := range []string{"> grpc", "> onnx", "> transformer"} {
		s.keys("Down")
		s.waitFor(want)
	}
	s.keys("Enter")
	s.waitFor(`* name: "` + long + `" is 52 characters long; a`)
	s.keys("Up")
	s.waitFor("> onnx")
	s.keys("BTab")
	s.waitFor("┃ Go module path")
	s.keys("BTab")
	s.waitFor("┃ Model name")
	s.answer(long[:51])
	s.accept("Go module path")
	s.waitFor("┃ Template")
	s.keys("Down")
	s.waitFor("> transformer")
	s.keys("Enter")
	s.accept(restOfForm...)
	final := s.waitFor("EXIT STATUS")
	require.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "Created "+long[:51]+" (template transformer")
}

// TestNew_FormRESTOnlyTemplatesAskNoProtocolNorGRPC: with the openai or
// timeseries template the form goes from the template to the GPUs: a
// protocol or gRPC answer would not apply (their projects serve OpenAI's
// API or KServe's time-series API over REST alone). With --grpc on the
// command line, the form refuses the template, saying why.
func TestNew_FormRESTOnlyTemplatesAskNoProtocolNorGRPC(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)
	for _, tc := range []struct {
		template, name, api string
		downs               []string // the options passed on the way to it
	}{
		{"openai", "mychat", "OpenAI's API", []string{"> grpc", "> onnx", "> transformer", "> openai"}},
		{"timeseries", "myforecast", "KServe's time-series API", []string{"> grpc", "> onnx", "> transformer", "> openai", "> timeseries"}},
	} {
		t.Run(tc.template, func(t *testing.T) {
			choose := func(s *tmuxSession) {
				s.accept("Model name", "Go module path")
				s.waitFor("┃ Template")
				for _, want := range tc.downs {
					s.keys("Down")
					s.waitFor(want)
				}
				s.keys("Enter")
			}
			s := startTmux(t, work, bin+" new "+tc.name)
			choose(s)
			screen := s.waitFor("┃ GPUs")
			assert.NotContains(t, screen, "Protocol of the REST endpoint")
			assert.NotContains(t, screen, "Serve gRPC")
			s.keys("Enter")
			s.accept(restOfForm[3:]...) // CPU request onwards
			final := s.waitFor("EXIT STATUS")
			require.Contains(t, final, "EXIT STATUS 0", final)
			assert.Contains(t, final, "Created "+tc.name+" (template "+tc.template+", protocol v1)")
			got, err := project.Load(filepath.Join(work, tc.name))
			require.NoError(t, err)
			assert.Equal(t, &project.File{Name: tc.name, Module: tc.name, Template: tc.template, Protocol: "v1", Resources: generator.DefaultResources()}, got)

			t.Run("GRPCFlag", func(t *testing.T) {
				s := startTmux(t, work, bin+" new grpc"+tc.name+" --grpc")
				choose(s)
				s.waitForUnwrapped("--grpc: --template " + tc.template + " serves " + tc.api + " over REST")
			})
		})
	}
}

// TestNew_FormAsksForTheONNXModel: with the onnx template the form asks
// for a model file, refuses one that is not an ONNX model (saying why, on
// the field), and takes the next; the project serves that file.
func TestNew_FormAsksForTheONNXModel(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)
	require.NoError(t, os.WriteFile(filepath.Join(work, "notes.txt"), []byte("cat\ndog\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, "iris.onnx"), generator.SampleONNXModel(), 0o644))

	s := startTmux(t, work, bin+" new iris --template onnx")
	s.accept("Model name", "Go module path", "Template")
	s.waitFor("┃ ONNX model file")
	s.answer("notes.txt")
	s.waitFor("notes.txt: not an ONNX model")
	s.answer("iris.onnx")
	s.accept(restOfForm...)
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "Model iris.onnx:")
	got, err := os.ReadFile(filepath.Join(work, "iris", "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, generator.SampleONNXModel(), got)
}

// TestNew_FormAsksForSampleShapes: for a model input with dynamic
// dimensions after the batch (PaddleOCR's classifier takes images of any
// height and width), the form asks for input.json's shape, prefilled with
// 1 for each, refuses one that does not fit the model, and writes the
// project with the shape given.
func TestNew_FormAsksForSampleShapes(t *testing.T) {
	needTmux(t)
	model := pretrainedModel(t, "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new textdir --model "+model)
	s.accept("Model name", "Go module path", "Template", "Does input x take images?") // no: tensors
	s.waitFor("┃ Sample shape of input x")
	s.waitFor("> 1,3,1,1")
	s.answer("1,4,48,192")
	s.waitFor("dimension 1 must be 3, not 4")
	s.answer("1,3,48,192")
	s.accept(restOfForm...)
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "input.json holds zeros of shape x [1,3,48,192]")
	in, err := os.ReadFile(filepath.Join(work, "textdir", "input.json"))
	require.NoError(t, err)
	assert.Contains(t, string(in), `"shape":[1,3,48,192]`)
}

// TestNew_FormSampleShapesAgreeOnNamedDimensions: Silero VAD names its
// batch dimension in input [batch,sequence] and in its states h and c
// [2,batch,64]. A state answered with another batch than input's is
// refused on its field (it used to be refused after the last question,
// every answer lost); a state left as prefilled takes input's batch.
func TestNew_FormSampleShapesAgreeOnNamedDimensions(t *testing.T) {
	needTmux(t)
	model := pretrainedModel(t, "silero_vad.onnx")
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new vadform --model "+model)
	s.accept("Model name", "Go module path", "Template")
	s.waitFor("┃ Sample shape of input input")
	s.answer("2,512")
	s.waitFor("┃ Sample shape of input h")
	s.answer("2,3,64")
	s.waitFor("--input-shape h: dimension 1 (batch) is 3, but --input-shape input makes batch 2")
	s.answer("2,2,64")
	s.accept("Sample shape of input c")
	s.accept(restOfForm...)
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "input.json holds zeros of shape input [2,512], sr [], h [2,2,64], c [2,2,64]")
}

// TestNew_FormAsksWhetherTheInputTakesImages: for a model with an image
// input the form offers runtime/vision's preprocessings; with one chosen,
// the sample shape must give the size images are resized to.
func TestNew_FormAsksWhetherTheInputTakesImages(t *testing.T) {
	needTmux(t)
	model := pretrainedModel(t, "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new textdir --model "+model)
	s.accept("Model name", "Go module path", "Template")
	s.waitFor("┃ Does input x take images?")
	s.waitFor("symmetric — stretched to the input's size, values mapped to [-1, 1] (PaddleOCR")
	s.keys("Down", "Down") // no, imagenet, symmetric
	s.keys("Enter")
	s.waitFor("┃ Sample shape of input x")
	s.keys("Enter") // 1,3,1,1: no size to resize images to
	s.waitFor("images are resized to this shape's height and width (NCHW): give the model's, such as 1,3,224,224")
	s.answer("1,3,48,192")
	s.accept(restOfForm...)
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "Input x takes images (PNG, JPEG, GIF, BMP or WebP), symmetric preprocessing to NCHW 48×192")
	code, err := os.ReadFile(filepath.Join(work, "textdir", "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(code), "s.Layout, s.Height, s.Width = vision.NCHW, 48, 192")
}

// TestNew_FormGoesBackAcrossPages: Shift+Tab on a page's first field goes
// back to the last field of the page before (it did nothing: each page is
// its own huh form), with the answers kept. Taking another template there
// gives the next page that template's defaults, and an ONNX model chosen
// before going back to the rest template is not written into the project.
func TestNew_FormGoesBackAcrossPages(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)
	require.NoError(t, os.WriteFile(filepath.Join(work, "iris.onnx"), generator.SampleONNXModel(), 0o644))

	s := startTmux(t, work, bin+" new --dir back-demo")
	s.waitFor("┃ Model name")
	s.keys("-l", "back-demo")
	s.keys("Enter")
	s.accept("Go module path")
	s.waitFor("┃ Template")
	s.keys("Down", "Down") // rest -> onnx
	s.waitFor("> onnx")
	s.keys("Enter")
	s.waitFor("┃ ONNX model file")
	s.answer("iris.onnx")

	// The serving page's first field: back to the model, then to the
	// template, each page at its last field with its answer kept.
	s.waitFor("┃ Protocol of the REST endpoint")
	s.keys("BTab")
	screen := s.waitFor("┃ ONNX model file")
	assert.Contains(t, screen, "┃ > iris.onnx")
	s.keys("BTab")
	screen = s.waitFor("┃ Template")
	assert.Contains(t, screen, "> back-demo", "the name, kept")
	assert.Contains(t, screen, "┃ > onnx", "the template, kept")
	s.keys("Up", "Up") // onnx -> rest
	s.waitFor("┃ > rest")
	s.keys("Enter")

	// rest's defaults: protocol v1, no gRPC. Within the serving page,
	// Shift+Tab still moves between its fields.
	screen = s.waitFor("┃ Protocol of the REST endpoint")
	assert.Contains(t, screen, "> v1 — KServe v1")
	s.accept("Protocol of the REST endpoint", "Serve gRPC", "GPUs")
	s.waitFor("┃ CPU request")
	s.keys("BTab")
	s.waitFor("┃ GPUs")
	s.keys("Enter")
	s.accept(restOfForm[3:]...)
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.Contains(t, final, "Created back-demo (template rest, protocol v1)")
	got, err := project.Load(filepath.Join(work, "back-demo"))
	require.NoError(t, err)
	assert.Equal(t, "rest", got.Template)
	assert.NoDirExists(t, filepath.Join(work, "back-demo", "model"), "the model chosen for the onnx template")
}

// TestNew_FormEscLeaves: Esc leaves the form as Ctrl+C does (it did
// nothing), on any page: status 130 and nothing written.
func TestNew_FormEscLeaves(t *testing.T) {
	needTmux(t)
	work, bin := buildCLI(t)

	s := startTmux(t, work, bin+" new esc-demo")
	s.accept("Model name", "Go module path")
	// In a choice's filter ("/"), Esc is huh's: it ends the filter.
	s.waitFor("┃ Template")
	s.keys("/")
	s.waitFor("esc set filter")
	s.keys("Escape")
	s.waitFor("/ filter")
	s.keys("Enter")
	s.waitFor("┃ Protocol of the REST endpoint")
	s.keys("Escape")
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "Error: aborted; nothing was written")
	assert.Contains(t, final, "EXIT STATUS 130")
	assert.NoDirExists(t, filepath.Join(work, "esc-demo"))
}

// TestNew_FormRefusesUnwritableDir: run in a folder the user cannot write,
// the form took every answer and new then failed, all of them lost; now
// the output directory's field says so, and another folder is taken.
func TestNew_FormRefusesUnwritableDir(t *testing.T) {
	needTmux(t)
	root, bin, prefix := buildCLIAsUser(t)
	ro, ok := filepath.Join(root, "read-only"), filepath.Join(root, "writable")
	require.NoError(t, os.Mkdir(ro, 0o555))
	require.NoError(t, os.Mkdir(ok, 0o777))
	require.NoError(t, os.Chmod(ok, 0o777)) // past the umask

	s := startTmux(t, ro, strings.Join(append(prefix, "env", "HOME="+root, bin, "new", "ro-demo", "--template", "rest"), " "))
	s.accept(append([]string{"Model name", "Go module path", "Template"}, restOfForm[:len(restOfForm)-1]...)...)
	s.waitFor("┃ Output directory")
	s.keys("Enter")
	// The message wraps at the form's width, wherever the temporary
	// folder's path (TMPDIR) makes it break: compared without white space.
	screen := s.waitForUnwrapped("is not writable (permission denied)")
	assert.Contains(t, unwrapped(screen), unwrapped("* cannot write the project into "+filepath.Join(ro, "ro-demo")+": "+ro+" is not writable"), screen)
	s.answer(filepath.Join(ok, "ro-demo"))
	final := s.waitFor("EXIT STATUS")
	assert.Contains(t, final, "EXIT STATUS 0", final)
	assert.FileExists(t, filepath.Join(ok, "ro-demo", "main.go"))
}
