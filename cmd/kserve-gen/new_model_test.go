package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
	"github.com/kserve-gen/kserve-gen/project"
)

// writeONNX writes the sample classifier (input FP32 [batch,4], output
// probs FP32 [batch,3]) where a user would have a model of their own.
func writeONNX(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "iris.onnx")
	require.NoError(t, os.WriteFile(p, generator.SampleONNXModel(), 0o644))
	return p
}

func TestNew_ModelFlagServesTheUsersModel(t *testing.T) {
	model := writeONNX(t)
	dir := filepath.Join(t.TempDir(), "p")
	f, _, out, errOut := testFactory(t)
	// No --template: a model means the onnx template.
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", model, "--input-shape", "input=2,4", "--yes", "--dir", dir))
	assert.Empty(t, errOut.String())
	assert.Contains(t, out.String(), "Created iris (template onnx, protocol v2): 14 files in "+dir+"\n"+
		"Model "+model+":\n"+
		"  input  input FP32 [batch,4]\n"+
		"  output probs FP32 [batch,3]\n"+
		"input.json holds zeros of shape input [2,4] (dynamic dimensions 1 unless --input-shape NAME=D1,D2,... says otherwise)\n")

	copied, err := os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, generator.SampleONNXModel(), copied, "model/model.onnx is the user's file")
	in, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"id":"iris-1","inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[0,0,0,0,0,0,0,0]}]}`+"\n", string(in))
	got, err := project.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "onnx", got.Template)

	// v1: the instances are the rows of the only input.
	dir = filepath.Join(t.TempDir(), "v1")
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", model, "--protocol", "v1", "--yes", "--dir", dir))
	in, err = os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"instances":[[0,0,0,0]]}`+"\n", string(in))
	// The classification extension is v2's: a v1 request with "outputs"
	// added answers the values, so the README sends it to /v2.
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "of its values: add `\"outputs\":[{\"name\":\"probs\",\"parameters\":{\"classification\":3}}]`\nto a v2 request, sent to `/v2/models/iris/infer` (the extension is the Open\nInference Protocol's, which the server answers beside v1; a v1 `{\"instances\": ...}` request has\nno outputs to ask for and always answers the values), and each row")
}

func TestNew_ModelErrorsNameWhatIsWrongAndWriteNothing(t *testing.T) {
	model := writeONNX(t)
	notONNX := filepath.Join(t.TempDir(), "labels.txt")
	require.NoError(t, os.WriteFile(notONNX, []byte("cat\ndog\n"), 0o644))
	imageModel := filepath.Join(t.TempDir(), "pix.onnx")
	require.NoError(t, os.WriteFile(imageModel, onnxtest.Image("height", "width"), 0o644))
	scalarModel := filepath.Join(t.TempDir(), "scalar.onnx")
	require.NoError(t, os.WriteFile(scalarModel, onnxtest.ScalarOutput(), 0o644))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		// "serves a model file, not rest" read as a comparison of files.
		{"another template", []string{"--model", model, "--template", "rest"}, "--model " + model + ": the rest template serves no model file, only onnx does (the template --model takes by default)"},
		// Both named --model only in passing ("a model given with
		// --model"): say plainly what they need, as --image's does.
		{"shape without a model", []string{"--template", "onnx", "--input-shape", "input=1,4", "--input-shape", "mask=1,4"}, "--input-shape needs --model FILE.onnx: --input-shape input=1,4 sizes the dynamic dimensions of an input of the ONNX model that --model serves, in the sample request input.json"},
		{"shape without a model or template", []string{"--input-shape", "input=1,4"}, "--input-shape needs --model FILE.onnx: --input-shape input=1,4 sizes"},
		{"unknown input", []string{"--model", model, "--input-shape", "image=1,3"}, model + `: --input-shape image: the model has no input "image"; its inputs are input FP32 [batch,4]`},
		{"wrong fixed dimension", []string{"--model", model, "--input-shape", "input=1,5"}, model + ": --input-shape input: the model's input is input FP32 [batch,4]: dimension 1 must be 4, not 5"},
		{"wrong rank", []string{"--model", model, "--input-shape", "input=4"}, "--input-shape input: the model's input is input FP32 [batch,4], rank 2; [4] has rank 1"},
		{"not a size", []string{"--model", model, "--input-shape", "input=1,-4"}, `--input-shape "input=1,-4": "-4" is not a size (0 or more)`},
		{"a batch of 0", []string{"--model", model, "--input-shape", "input=0,4"}, model + ": --input-shape input: the model's input is input FP32 [batch,4]: dimension 0, the batch, must be 1 or more, not 0 (a sample of no rows)"},
		{"a batch of 0 images", []string{"--model", imageModel, "--image", "unit", "--input-shape", "pixels=0,3,8,8"}, imageModel + ": --input-shape pixels: the model's input is pixels FP32 [batch,3,height,width]: dimension 0, the batch, must be 1 or more, not 0 (a sample of no rows)"},
		{"a dynamic dimension of 0", []string{"--model", imageModel, "--input-shape", "pixels=1,3,0,8"}, imageModel + ": --input-shape pixels: the model's input is pixels FP32 [batch,3,height,width]: dimension 2 must be 1 or more, not 0 (a sample of no elements)"},
		{"a scalar output", []string{"--model", scalarModel}, scalarModel + ": the model cannot be served: output sq FP32 []: the runtime cannot serve a scalar (rank 0) output (ONNX Runtime's Go binding cannot read one); give the output a dimension in the model (e.g. Unsqueeze it to [1])"},
		{"given twice", []string{"--model", model, "--input-shape", "input=1,4", "--input-shape", "input=2,4"}, "--input-shape input given twice"},
		{"labels without a model", []string{"--template", "onnx", "--labels", notONNX}, "--labels needs --model FILE.onnx: --labels " + notONNX + " names the classes of the first output of the ONNX model that --model serves"},
		{"labels without a model or template", []string{"--labels", notONNX}, "--labels needs --model FILE.onnx: --labels " + notONNX + " names the classes"},
		{"labels of another count", []string{"--model", model, "--labels", notONNX}, "labels " + notONNX + ": 2 names for output probs FP32 [batch,3], which has 3 classes"},
		// The message named --model only in passing ("an input of a model
		// given with --model"): say plainly what --image needs.
		{"image without a model", []string{"--template", "onnx", "--image", "imagenet"}, "--image needs --model FILE.onnx: --image imagenet is a preprocessing preset for the image input of the ONNX model that --model serves"},
		{"image without a model or template", []string{"--image", "imagenet"}, "--image needs --model FILE.onnx: --image imagenet is a preprocessing preset"},
		{"image of a model without an image input", []string{"--model", model, "--image", "imagenet"}, "--image: no input of the model takes images (one needs 4 dimensions, 3 channels first as NCHW [batch,3,H,W] or last as NHWC [batch,H,W,3], and FP32 or FP16); its inputs are input FP32 [batch,4]"},
		{"image of no preset", []string{"--model", imageModel, "--image", "coco"}, `--image "coco": want imagenet, symmetric, unit, yolo`},
		// build's, deploy's and modelcar's --image is the container image:
		// given to new, it was answered with a list of presets alone.
		{"a container image, with a model", []string{"--model", imageModel, "--image", "registry.example.com/demo:v1"}, `--image "registry.example.com/demo:v1" looks like a container image, but kserve-gen new's --image is how a --model's image input takes pictures (imagenet, symmetric, unit, yolo); the container image goes to kserve-gen build --image and deploy --image, or image: in kserve-gen.yaml`},
		{"a container image, without a model", []string{"--template", "rest", "--image", "demo:v1"}, `--image "demo:v1" looks like a container image, but kserve-gen new's --image is how a --model's image input takes pictures`},
		{"image of no size", []string{"--model", imageModel, "--image", "unit"}, "--image: input pixels FP32 [batch,3,height,width] takes images, but its height and width are dynamic; give the size images are resized to with --input-shape pixels=1,3,224,224"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			f, _, out, _ := testFactory(t)
			err := runCLI(t, f, append([]string{"new", "demo", "--yes", "--dir", dir}, c.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NoDirExists(t, dir)
			assert.Empty(t, out.String())
		})
	}
}

// TestNew_ModelPathProblemsSayWhatToDo: --model that is not a readable
// ONNX model file (or a folder holding one) was answered in the system's
// or the parser's words ("--model: open /nope.onnx: no such file or
// directory", "not an ONNX model: at byte 3: field 13: unsupported wire
// type 4"); each problem now names the path as given, says what is wrong
// and what to do, and nothing is written.
func TestNew_ModelPathProblemsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	notONNX := write("notes.txt", []byte("cat\ndog\n"))
	empty := write("empty.onnx", nil)
	// What a Hugging Face repository cloned without Git LFS holds.
	pointer := write("lfs/model.onnx", []byte("version https://git-lfs.example/spec/v1\noid sha256:4d7a\nsize 90132\n"))
	inner := write("hf/onnx/model.onnx", []byte("cat\ndog\n"))
	noModel := filepath.Join(dir, "nothing")
	require.NoError(t, os.MkdirAll(filepath.Join(noModel, "sub"), 0o755))
	twoModels := filepath.Join(dir, "two")
	write("two/a.onnx", generator.SampleONNXModel())
	write("two/b.onnx", generator.SampleONNXModel())
	missing := filepath.Join(dir, "missing.onnx")

	const give = "give your .onnx model file, or a folder holding one"
	const export = "export your model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and give that .onnx file"
	model := func(args ...string) []string { return append([]string{"new", "demo", "--yes", "--model"}, args...) }
	tests := []cliError{
		{model(missing), "--model " + missing + ": no such file or folder; " + give},
		{model(notONNX), "--model " + notONNX + ": not an ONNX model (at byte 1: field 12: unsupported wire type 3); " + export},
		{model(empty), "--model " + empty + ": the file is empty, not an ONNX model; " + give},
		{model(pointer), "--model " + pointer + ": not an ONNX model but a Git LFS pointer to one: the repository was cloned without its large files; fetch them with git lfs pull (Git LFS installed), then run kserve-gen new again"},
		{model(filepath.Join(dir, "lfs")), "--model " + filepath.Join(dir, "lfs") + ": " + pointer + " is not an ONNX model but a Git LFS pointer to one: the repository was cloned without its large files; fetch them with git lfs pull (Git LFS installed), then run kserve-gen new again"},
		{model(filepath.Join(dir, "hf")), "--model " + filepath.Join(dir, "hf") + ": " + inner + " is not an ONNX model (at byte 1: field 12: unsupported wire type 3); " + export},
		{model(noModel), "--model " + noModel + ": the folder holds no .onnx file, nor do its subfolders: " + give},
		{model(twoModels), "--model " + twoModels + ": the folder holds 2 .onnx files (" + filepath.Join(twoModels, "a.onnx") + ", " + filepath.Join(twoModels, "b.onnx") + ") and no model.onnx: name the one to serve"},
	}
	cwd := t.TempDir()
	t.Chdir(cwd)
	runCLIErrors(t, tests, func(tt cliError) string { return filepath.Base(tt.args[4]) })
	entries, err := filepath.Glob(filepath.Join(cwd, "*"))
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was written")
}

// TestNew_UnreadableModelSaysSo: a model file, or a folder, the user
// cannot read was "open x.onnx: permission denied" behind "--model:"; it
// now says which path is not readable and what to do. Run as a user
// folder permissions bind (root reads anything).
func TestNew_UnreadableModelSaysSo(t *testing.T) {
	root, bin, prefix := buildCLIAsUser(t)
	file := filepath.Join(root, "locked.onnx")
	require.NoError(t, os.WriteFile(file, generator.SampleONNXModel(), 0o600))
	folder := filepath.Join(root, "locked")
	require.NoError(t, os.Mkdir(folder, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(folder, "model.onnx"), generator.SampleONNXModel(), 0o644))
	if len(prefix) == 0 {
		// Run as the owner: take the permissions away instead.
		require.NoError(t, os.Chmod(file, 0))
		require.NoError(t, os.Chmod(folder, 0))
		t.Cleanup(func() { _ = os.Chmod(folder, 0o700) })
	}
	const fix = " not readable to you (permission denied); kserve-gen reads the model to write the project from it: make it readable, or copy it where it is\n"
	for _, c := range []struct{ model, want string }{
		{file, "Error: --model " + file + ": it is" + fix},
		{folder, "Error: --model " + folder + ": it is" + fix},
	} {
		args := append(slices.Clone(prefix), bin, "new", "demo", "--yes", "--model", c.model)
		run := exec.Command(args[0], args[1:]...)
		run.Dir = root
		run.Env = append(os.Environ(), "HOME="+root)
		out, err := run.CombinedOutput()
		require.Error(t, err)
		assert.Equal(t, c.want, string(out))
		assert.NoDirExists(t, filepath.Join(root, "demo"))
	}
}

// TestNew_ZipMapOutputIsNotServed: the CLI says which output a
// scikit-learn export's project leaves out, and why.
func TestNew_ZipMapOutputIsNotServed(t *testing.T) {
	model := filepath.Join(t.TempDir(), "clf.onnx")
	require.NoError(t, os.WriteFile(model, onnxtest.ZipMap(), 0o644))
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "clf", "--model", model, "--yes", "--dir", filepath.Join(t.TempDir(), "p")))
	assert.Contains(t, out.String(), "  output scores FP32 [batch,3]\n  output probabilities sequence\n"+
		"Output probabilities is not served: the Open Inference Protocol carries tensors only (for scikit-learn's ZipMap, export with skl2onnx's options={'zipmap': False})\n")
}

// TestNew_LabelsBesideTheModel: a labels.txt beside the model is copied
// as model/labels.txt, the file the runtime reads for the classification
// extension; --labels names another.
func TestNew_LabelsBesideTheModel(t *testing.T) {
	model := writeONNX(t)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(model), "labels.txt"), []byte("setosa\nversicolor\nvirginica\n"), 0o644))
	dir := filepath.Join(t.TempDir(), "p")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", model, "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "Class labels: 3 names for output probs, from "+filepath.Join(filepath.Dir(model), "labels.txt")+" (model/labels.txt)\n")
	got, err := os.ReadFile(filepath.Join(dir, "model", "labels.txt"))
	require.NoError(t, err)
	assert.Equal(t, "setosa\nversicolor\nvirginica\n", string(got))

	// One that does not fit the model is left out, saying why.
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(model), "labels.txt"), []byte("cat\ndog\n"), 0o644))
	dir = filepath.Join(t.TempDir(), "r")
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", model, "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "Class labels left out: labels "+filepath.Join(filepath.Dir(model), "labels.txt")+": 2 names for output probs FP32 [batch,3], which has 3 classes\n")
	assert.NoFileExists(t, filepath.Join(dir, "model", "labels.txt"))

	other := filepath.Join(t.TempDir(), "names.txt")
	require.NoError(t, os.WriteFile(other, []byte("a\nb\nc"), 0o644))
	dir = filepath.Join(t.TempDir(), "q")
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", model, "--labels", other, "--yes", "--dir", dir))
	got, err = os.ReadFile(filepath.Join(dir, "model", "labels.txt"))
	require.NoError(t, err)
	assert.Equal(t, "a\nb\nc", string(got))
}

// TestNew_ModelFolderLikeAHubRepository: a folder laid out as a Hugging
// Face repository (onnx/model.onnx beside a quantised variant) serves its
// onnx/model.onnx, as the runtime would.
func TestNew_ModelFolderLikeAHubRepository(t *testing.T) {
	repo := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "onnx"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "config.json"), []byte("{}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "onnx", "model.onnx"), generator.SampleONNXModel(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "onnx", "model_q4.onnx"), []byte("not read"), 0o644))
	dir := filepath.Join(t.TempDir(), "p")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "iris", "--model", repo, "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "Model "+filepath.Join(repo, "onnx", "model.onnx")+":\n")
	copied, err := os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, generator.SampleONNXModel(), copied)
}

func TestNew_FormAnswerForTheModel(t *testing.T) {
	model := writeONNX(t)
	dir := filepath.Join(t.TempDir(), "p")
	f, p, _, _ := testFactory(t)
	p.fill = func(a *answers) {
		a.Name, a.Template, a.Protocol, a.GPU, a.Dir, a.Model = "iris", project.TemplateONNX, project.ProtocolV2, "0", dir, model
	}
	f.IO.SetTTY(true)
	// --input-shape before the form has named the model: the form asks for it.
	require.NoError(t, runCLI(t, f, "new", "--input-shape", "input=2,4"))
	copied, err := os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	assert.Equal(t, generator.SampleONNXModel(), copied)
	in, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Contains(t, string(in), `"shape":[2,4]`)

	// The form answered without a model: the shape has nothing to shape.
	f, p, _, _ = testFactory(t)
	p.fill = func(a *answers) {
		a.Name, a.Template, a.Protocol, a.GPU, a.Dir = "iris", project.TemplateONNX, project.ProtocolV2, "0", filepath.Join(t.TempDir(), "q")
	}
	f.IO.SetTTY(true)
	assert.EqualError(t, runCLI(t, f, "new", "--input-shape", "input=2,4"), "--input-shape needs --model FILE.onnx: --input-shape input=2,4 sizes the dynamic dimensions of an input of the ONNX model that --model serves, in the sample request input.json")
}

// TestNew_ImageFlag: --image makes the model's image input take images;
// the CLI says how they are preprocessed and what input.json sends.
func TestNew_ImageFlag(t *testing.T) {
	model := filepath.Join(t.TempDir(), "pix.onnx")
	require.NoError(t, os.WriteFile(model, onnxtest.Image("height", "width"), 0o644))
	dir := filepath.Join(t.TempDir(), "p")
	f, _, out, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "pix", "--model", model, "--image", "imagenet", "--input-shape", "pixels=1,3,224,224", "--yes", "--dir", dir))
	assert.Contains(t, out.String(), "  output pooled FP32 [batch,3,1,1]\n"+
		"Input pixels takes images (PNG, JPEG, GIF, BMP or WebP), imagenet preprocessing to NCHW 224×224 (--image imagenet: shorter side scaled to 1/0.875 of the input's, centre cropped, ImageNet mean and std); input.json sends a 256×256 PNG test pattern\n"+
		"\nNext:")
	in, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	assert.Contains(t, string(in), `{"id":"pix-1","inputs":[{"name":"pixels","shape":[1],"datatype":"BYTES","data":["iVBORw0KGgo`)

	// Without --image, the CLI points at it.
	out.Reset()
	require.NoError(t, runCLI(t, f, "new", "pix", "--model", model, "--input-shape", "pixels=1,3,224,224", "--yes", "--dir", filepath.Join(t.TempDir(), "q")))
	assert.Contains(t, out.String(), "Input pixels looks like images (NCHW): --image imagenet|symmetric|unit|yolo lets clients send pictures instead of tensors\n")
}

// TestNew_WarnsOfDynamicDimensionsLeftAtOne: Silero VAD's input
// [batch,sequence] got a sample of one sample, which ONNX Runtime refuses
// ("Pad reflect requires axis length >= 2"), so the project's first
// go test failed with nothing said before; now new warns, naming the
// dimension and the --input-shape that sizes it, and says nothing once
// it is sized (its state h [2,batch,64] is sized by the batch).
func TestNew_WarnsOfDynamicDimensionsLeftAtOne(t *testing.T) {
	image := filepath.Join(t.TempDir(), "pix.onnx")
	require.NoError(t, os.WriteFile(image, onnxtest.Image("height", "width"), 0o644))
	for _, c := range []struct {
		name  string
		model func(t *testing.T) string
		args  []string
		want  string
	}{
		{"silero", func(t *testing.T) string { return pretrainedModel(t, "silero_vad.onnx") }, nil,
			`Warning: input.json sends input "input" with shape [1,1]: its dynamic dimension sequence is 1, too small for many models (an audio window, a text, a picture), and go test ./... sends it; size it with --input-shape input=1,N (and kserve-gen new again, with --force)` + "\n"},
		{"silero sized", func(t *testing.T) string { return pretrainedModel(t, "silero_vad.onnx") }, []string{"--input-shape", "input=1,512"}, ""},
		{"image", func(*testing.T) string { return image }, nil,
			`Warning: input.json sends input "pixels" with shape [1,3,1,1]: its dynamic dimensions height, width are 1, too small for many models (an audio window, a text, a picture), and go test ./... sends it; size them with --input-shape pixels=1,3,224,224 (and kserve-gen new again, with --force)` + "\n"},
		{"image sized", func(*testing.T) string { return image }, []string{"--input-shape", "pixels=1,3,32,32"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := c.model(t)
			f, _, _, errOut := testFactory(t)
			args := append([]string{"new", "m", "--model", model, "--yes", "--dir", filepath.Join(t.TempDir(), "m")}, c.args...)
			require.NoError(t, runCLI(t, f, args...))
			assert.Equal(t, c.want, errOut.String())
		})
	}
}

// TestNew_UnsizedSampleIsExplainedInTheProject: the warning new prints
// scrolls away, and a Silero VAD project made without --input-shape fails
// its first go test with ONNX Runtime's "Pad reflect requires axis length
// >= 2" alone. The README says input.json's window is one sample before
// its go test, and TestInputJSON's failure says why and how to size it;
// a sized project says neither.
func TestNew_UnsizedSampleIsExplainedInTheProject(t *testing.T) {
	model := pretrainedModel(t, "silero_vad.onnx")
	hint := `input.json sends input "input" with shape [1,1], its dynamic dimension sequence set to 1: too small for many models, which ONNX Runtime then refuses; size it by running kserve-gen new again with --input-shape input=1,N --force, or edit input.json`
	for _, c := range []struct {
		name  string
		args  []string
		sized bool
	}{{"unsized", nil, false}, {"sized", []string{"--input-shape", "input=1,512"}, true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vad")
			f, _, _, _ := testFactory(t)
			require.NoError(t, runCLI(t, f, append([]string{"new", "vad", "--model", model, "--yes", "--dir", dir}, c.args...)...))
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			require.NoError(t, err)
			tests, err := os.ReadFile(filepath.Join(dir, "model_test.go"))
			require.NoError(t, err)
			if c.sized {
				assert.NotContains(t, string(readme), "too small for many models")
				assert.NotContains(t, string(tests), "sampleTooSmall")
				return
			}
			assert.Contains(t, strings.Join(strings.Fields(string(readme)), " "),
				"Before `go test ./...`: "+hint+".")
			assert.Contains(t, string(tests), "const sampleTooSmall = "+strconv.Quote(hint))
			assert.Contains(t, string(tests), `t.Fatalf("POST input.json: got %d %s, want 200\n%s", resp.Code, resp.Body, sampleTooSmall)`)
		})
	}
}

// TestNew_ReadmeBatchingSentence: for a model whose batch is not every
// tensor's first dimension (Silero VAD's state h is [2,batch,64]), the
// README's dynamic batching sentence had two parentheses in a row, "(main.go
// says which, ...) (dynamic batching, ...)"; what batching is comes first.
func TestNew_ReadmeBatchingSentence(t *testing.T) {
	model := pretrainedModel(t, "silero_vad.onnx")
	dir := filepath.Join(t.TempDir(), "vad")
	f, _, _, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "vad", "--model", model, "--input-shape", "input=1,512", "--yes", "--dir", dir))
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, strings.Join(strings.Fields(string(readme)), " "),
		"`--max_batch_size=32 --max_queue_delay=2ms` merges concurrent requests into batches (dynamic batching, each request gets its own rows back) along the batch dimension (`main.go` says which, for the tensors where it is not the first);")
}
