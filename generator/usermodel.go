package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/kserve-gen/kserve-gen/onnxinfo"
	"github.com/kserve-gen/kserve-gen/project"
)

// ONNXModel is the user's own ONNX model, which an onnx project serves
// instead of the sample: the file is copied into the project as
// model/model.onnx (its external data files beside it), and the sample
// request, the tests and the README are written from its signature.
type ONNXModel struct {
	// Path is the .onnx file.
	Path string
	// Info is its signature, as onnxinfo read it.
	Info *onnxinfo.Model
	// InputShapes gives the shape of an input in the sample request, for
	// inputs with dynamic dimensions that must not be 1 (an image model's
	// height and width). Other dynamic dimensions are 1.
	InputShapes map[string][]int64
	// Labels is a file naming the classes of the model's first output, one
	// per line, copied as model/labels.txt (runtime/onnx's LabelsFile) for
	// the classification extension. LoadONNXModel sets it to the
	// labels.txt beside the model, if there is one that fits it;
	// SkippedLabels says why one beside it does not.
	Labels        string
	SkippedLabels error
	// Image names the runtime/vision preset the image input (ImageInput)
	// takes images with (ImagePresets; "" for tensors only): the project's
	// Preprocess decodes, resizes and normalises them. Check it with
	// CheckImage.
	Image string
}

// LabelsPath is where a project keeps its model's class labels.
const LabelsPath = "model/labels.txt"

// ErrNotServable is matched (errors.Is) by the error of a model an onnx
// project cannot serve: one with an input or output that is not a tensor
// of a datatype the Open Inference Protocol has.
var ErrNotServable = errors.New("the model cannot be served")

// LoadONNXModel reads the model at path and checks that a project can
// serve it with the given input shapes.
func LoadONNXModel(path string, inputShapes map[string][]int64) (*ONNXModel, error) {
	info, err := onnxinfo.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &ONNXModel{Path: path, Info: info, InputShapes: inputShapes}
	if err := m.externalDataInside(); err != nil {
		return nil, err
	}
	if _, err := m.examples(); err != nil {
		return nil, err
	}
	if beside := filepath.Join(filepath.Dir(path), "labels.txt"); fileExists(beside) {
		// Taken when it fits the model; --labels can still name it (and
		// then a misfit is an error). Not through a link out of the
		// folder, as external data: a file it reaches whose line count
		// fits would be copied into the project.
		m.Labels = beside
		if !inFolder(filepath.Dir(path), beside) {
			m.Labels, m.SkippedLabels = "", fmt.Errorf("labels %s: a link out of the model's folder (name it with --labels to take it)", beside)
		} else if _, err := m.CheckLabels(); err != nil {
			m.Labels, m.SkippedLabels = "", err
		}
	}
	return m, nil
}

// externalDataInside checks that each external data file, which the
// project gets a copy of, is in the model's folder once links are
// followed: onnxinfo refuses a location that climbs out ("../x"), but
// data/w.bin leaves it as well when data is a link elsewhere (a model
// folder unpacked from someone else's archive), and the copy would put
// whatever the link reaches (a key, ~/.ssh) into the project and its image.
// A file that does not exist is left to the copy, which names it.
func (m *ONNXModel) externalDataInside() error {
	if len(m.Info.ExternalData) == 0 {
		return nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(m.Path))
	if err != nil {
		return err
	}
	for _, loc := range m.Info.ExternalData {
		p := filepath.Join(filepath.Dir(m.Path), filepath.FromSlash(path.Clean(strings.ReplaceAll(loc, `\`, "/"))))
		real, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: external data %s: %w", m.Path, loc, err)
		}
		if !under(dir, real) {
			return fmt.Errorf("%s: external data %s is %s through a link, outside the model's folder; kserve-gen copies only files of that folder", m.Path, loc, real)
		}
		// The copy would block on a named pipe and never end on a device.
		if st, err := os.Stat(real); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s: external data %s: not a regular file", m.Path, loc)
		}
	}
	return nil
}

// inFolder reports whether p, links followed, is in folder dir (links
// followed too).
func inFolder(dir, p string) bool {
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(p)
	return err == nil && under(d, real)
}

// under reports whether p is below dir, both without links.
func under(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// CheckLabels reads the labels file and checks it against the first
// output: one name per class when the output's last dimension is fixed.
// It returns how many names the file has.
func (m *ONNXModel) CheckLabels() (int, error) {
	// A named pipe would block the read until written to, for ever.
	if st, err := os.Stat(m.Labels); err == nil && !st.Mode().IsRegular() {
		return 0, fmt.Errorf("labels %s: not a regular file", m.Labels)
	}
	data, err := os.ReadFile(m.Labels)
	if err != nil {
		return 0, fmt.Errorf("labels: %w", err)
	}
	text := strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if text == "" {
		return 0, fmt.Errorf("labels %s: the file is empty; it names the first output's classes, one per line", m.Labels)
	}
	n := strings.Count(text, "\n") + 1
	out := m.FirstOutput()
	if len(out.Shape) > 0 {
		if last := out.Shape[len(out.Shape)-1]; !last.Dynamic() && last.Size != int64(n) {
			return n, fmt.Errorf("labels %s: %d names for output %s, which has %d classes", m.Labels, n, out, last.Size)
		}
	}
	return n, nil
}

// FindONNXFile picks the model file in a folder, as runtime/onnx's
// ModelFile does when it serves one: its model.onnx, else its only .onnx
// file; with none at its top (a Hugging Face repository keeps onnx/model.onnx
// beside quantised variants), the only model.onnx below it, else the only
// .onnx file below it. Its errors say what the folder holds, not its
// name, which the caller gives as the user did (--model DIR: ...).
func FindONNXFile(dir string) (string, error) {
	p := filepath.Join(dir, "model.onnx")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	top, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if err != nil {
		return "", err
	}
	if len(top) == 1 {
		return top[0], nil
	}
	if len(top) > 1 {
		return "", fmt.Errorf("the folder holds %d .onnx files (%s) and no model.onnx: name the one to serve", len(top), strings.Join(top, ", "))
	}
	var below, named []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".onnx") {
			below = append(below, p)
			if d.Name() == "model.onnx" {
				named = append(named, p)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch {
	case len(named) == 1:
		return named[0], nil
	case len(below) == 1:
		return below[0], nil
	case len(below) == 0:
		return "", errors.New("the folder holds no .onnx file, nor do its subfolders: give your .onnx model file, or a folder holding one")
	}
	return "", fmt.Errorf("the folder holds %d .onnx files below it (%s): name the one to serve", len(below), strings.Join(below, ", "))
}

// maxExampleElements bounds the zero-filled sample request: 4M elements
// is input.json of 8 MB.
const maxExampleElements = 4 << 20

// examples checks the signature and returns each input's sample shape.
func (m *ONNXModel) examples() ([][]int64, error) {
	info := m.Info
	var errs []error
	if len(info.Inputs) == 0 {
		errs = append(errs, errors.New("it has no inputs"))
	}
	if len(info.Outputs) == 0 {
		errs = append(errs, errors.New("it has no outputs"))
	}
	for _, v := range info.Inputs {
		if err := v.Servable(); err != nil {
			errs = append(errs, fmt.Errorf("input %w", err))
		} else if !v.HasShape {
			// ONNX Runtime reports an unknown rank as [], like a scalar's,
			// so runtime/onnx would refuse every request of another rank.
			errs = append(errs, fmt.Errorf("input %s: the runtime cannot serve an input of unknown rank (ONNX Runtime reports it as a scalar's shape); give the model's input a shape (onnx.tools.update_model_dims, or the exporter's input shape)", v))
		}
	}
	for _, v := range info.Outputs {
		if v.Kind != onnxinfo.KindTensor {
			continue // left out, as runtime/onnx leaves it out (LeftOut)
		}
		if err := v.Servable(); err != nil {
			errs = append(errs, fmt.Errorf("output %w", err))
		} else if v.HasShape && len(v.Shape) == 0 {
			// onnxruntime_go refuses to make a tensor of a rank-0
			// output ("The shape has no dimensions"), so every request
			// would fail.
			errs = append(errs, fmt.Errorf("output %s: the runtime cannot serve a scalar (rank 0) output (ONNX Runtime's Go binding cannot read one); give the output a dimension in the model (e.g. Unsqueeze it to [1])", v))
		}
	}
	if len(info.Outputs) > 0 && len(m.served()) == 0 {
		errs = append(errs, fmt.Errorf("no output is a tensor (%s), and the Open Inference Protocol carries tensors only; for scikit-learn's ZipMap, export with skl2onnx's options={'zipmap': False}", describeValues(info.Outputs)))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w: %w", m.Path, ErrNotServable, errors.Join(errs...))
	}

	shapes := make([][]int64, len(info.Inputs))
	for name := range m.InputShapes {
		if !slices.ContainsFunc(info.Inputs, func(v onnxinfo.Value) bool { return v.Name == name }) {
			errs = append(errs, fmt.Errorf("--input-shape %s: the model has no input %q; its inputs are %s", name, name, describeValues(info.Inputs)))
		}
	}
	named, err := m.namedSizes()
	if err != nil {
		errs = append(errs, err)
	}
	for i, v := range info.Inputs {
		want, given := m.InputShapes[v.Name]
		switch {
		case given:
			if err := checkShape(v, want); err != nil {
				errs = append(errs, fmt.Errorf("--input-shape %s: %w", v.Name, err))
				continue
			}
			shapes[i] = want
		default:
			shapes[i] = v.Dims()
			for j, d := range shapes[i] {
				if d < 0 {
					shapes[i][j] = 1
					if n, ok := named[v.Shape[j].Param]; ok && v.Shape[j].Param != "" {
						shapes[i][j] = n
					}
				}
			}
		}
		if n := shapeSize(shapes[i]); n > maxExampleElements {
			errs = append(errs, fmt.Errorf("input %s: a sample of shape %v has %d elements, more than the %d a sample request may hold; give a smaller shape with --input-shape", v, shapes[i], n, maxExampleElements))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", m.Path, errors.Join(errs...))
	}
	return shapes, nil
}

// CheckInputShapes reports whether shapes, given as --input-shape gives
// them, agree on the dimensions the model names alike (each shape itself
// is checked by CheckInputShape).
func (m *ONNXModel) CheckInputShapes(shapes map[string][]int64) error {
	c := *m
	c.InputShapes = shapes
	_, err := c.namedSizes()
	return err
}

// namedSizes returns the size --input-shape gives each named dynamic
// dimension. ONNX makes dimensions of the same name one size (Silero
// VAD's input [batch,sequence] and state h [2,batch,64]; a text model's
// input_ids and attention_mask [batch,sequence]), so the sample gives an
// input left to its defaults the sizes another input's --input-shape
// chose: with them left at 1, the sample request, and the warm-up made of
// it, is one the model cannot run. Two --input-shape values that size one
// name differently are refused.
func (m *ONNXModel) namedSizes() (map[string]int64, error) {
	named := map[string]int64{}
	from := map[string]string{} // the input that sized each name
	var errs []error
	for _, v := range m.Info.Inputs {
		want, given := m.InputShapes[v.Name]
		if !given || checkShape(v, want) != nil {
			continue // examples reports a shape that does not fit
		}
		for j, d := range v.Shape {
			if !d.Dynamic() || d.Param == "" {
				continue
			}
			if n, ok := named[d.Param]; ok && n != want[j] {
				errs = append(errs, fmt.Errorf("--input-shape %s: dimension %d (%s) is %d, but --input-shape %s makes %s %d, and the model names them alike, so they are one size", v.Name, j, d.Param, want[j], from[d.Param], d.Param, n))
				continue
			}
			if _, ok := named[d.Param]; !ok {
				named[d.Param], from[d.Param] = want[j], v.Name
			}
		}
	}
	return named, errors.Join(errs...)
}

// served are the outputs the runtime serves: the model's tensors.
func (m *ONNXModel) served() []onnxinfo.Value {
	var out []onnxinfo.Value
	for _, v := range m.Info.Outputs {
		if v.Kind == onnxinfo.KindTensor {
			out = append(out, v)
		}
	}
	return out
}

// LeftOut are the outputs that are not tensors (scikit-learn's ZipMap, a
// sequence of maps): runtime/onnx serves the model without them.
func (m *ONNXModel) LeftOut() []onnxinfo.Value {
	var out []onnxinfo.Value
	for _, v := range m.Info.Outputs {
		if v.Kind != onnxinfo.KindTensor {
			out = append(out, v)
		}
	}
	return out
}

// FirstOutput is the first output the runtime serves, the one class
// labels name.
func (m *ONNXModel) FirstOutput() onnxinfo.Value { return m.served()[0] }

// Classifier reports whether the first output holds class scores, which
// the classification extension ranks: labels name its classes, or it is
// floating-point with a batch dimension and then fixed ones, one of 2
// classes or more and the rest 1: [batch,classes] as the sample's "probs",
// or [batch,classes,1,1] as SqueezeNet's. A detector's map
// ([batch,1,H,W]), a recogniser's sequence ([batch,T,chars]) or a single
// score ([batch,1]) is not one: ranked, it would answer pixels or time
// steps as classes.
func (m *ONNXModel) Classifier() bool {
	_, ok := m.classes()
	return ok
}

// classes is Classifier, with the number of classes where the output's
// shape fixes it (0 otherwise: labelled, with dynamic dimensions).
func (m *ONNXModel) classes() (int64, bool) {
	n := scoreClasses(m.FirstOutput())
	return n, n > 0 || m.Labels != ""
}

// scoreClasses is the number of classes of out when its shape is one of
// class scores (see Classifier), else 0.
func scoreClasses(out onnxinfo.Value) int64 {
	switch out.Elem {
	case onnxinfo.Float, onnxinfo.Float16, onnxinfo.Double:
	default:
		return 0
	}
	if len(out.Shape) < 2 {
		return 0
	}
	var n int64 // the one dimension after the batch's that is not 1
	for _, d := range out.Shape[1:] {
		switch {
		case d.Dynamic() || d.Size < 1:
			return 0
		case d.Size == 1:
		case n > 0:
			return 0 // a second one: a map or a sequence, not classes
		default:
			n = d.Size
		}
	}
	return n
}

// SampleShapes describes the shape of each input in the sample request,
// as "x [1,3,224,224], mask [1,128]", but for an input sent images.
func (m *ONNXModel) SampleShapes() string {
	shapes, err := m.examples()
	if err != nil {
		return ""
	}
	image := ""
	if in, _, ok := m.ImageInput(); ok && m.Image != "" {
		image = in.Name // sent a test image (DescribeImage)
	}
	var parts []string
	for i, s := range shapes {
		if name := m.Info.Inputs[i].Name; name != image {
			parts = append(parts, name+" "+formatDims(s))
		}
	}
	return strings.Join(parts, ", ")
}

// SampleFile is the project's sample request: input.json, or input.bin
// for a model with FP16 inputs (the binary tensor extension).
func (m *ONNXModel) SampleFile() string {
	if m.binary() {
		return "input.bin"
	}
	return "input.json"
}

// Unsized is an input whose sample shape leaves dynamic dimensions after
// the batch at 1, where neither --input-shape nor a dimension of the same
// name in another input sized them (Unsized).
type Unsized struct {
	Input onnxinfo.Value
	// Dims names those dimensions (their names, or their positions).
	Dims []string
	// Example is an --input-shape value that sizes them: the sample shape
	// with N for each (an image's 224, as ImageShapeExample).
	Example string
}

// Unsized lists the inputs whose sample shape has dynamic dimensions
// after the batch left at 1. Many models cannot run so short an input
// (Silero VAD pads its audio window by reflection and needs 512 samples;
// a detector's pooling needs a picture), so the project's tests, which
// send the sample request, fail on it: the user is told, with the flag
// that sizes them. The batch dimension is the first, or any named as the
// first input's first (Silero's state h [2,batch,64]), as batchDims
// reads it.
func (m *ONNXModel) Unsized() []Unsized {
	shapes, err := m.examples()
	if err != nil || len(m.Info.Inputs) == 0 {
		return nil
	}
	named, err := m.namedSizes()
	if err != nil {
		return nil
	}
	batch := ""
	if first := m.Info.Inputs[0]; len(first.Shape) > 0 && first.Shape[0].Dynamic() {
		batch = first.Shape[0].Param
	}
	image, layout, isImage := m.ImageInput()
	var out []Unsized
	for i, v := range m.Info.Inputs {
		if _, given := m.InputShapes[v.Name]; given {
			continue
		}
		u := Unsized{Input: v}
		example := make([]string, len(v.Shape))
		for j, d := range v.Shape {
			example[j] = strconv.FormatInt(shapes[i][j], 10)
			if _, sized := named[d.Param]; j == 0 || !d.Dynamic() || (d.Param != "" && (d.Param == batch || sized)) {
				continue
			}
			name := d.Param
			if name == "" {
				name = "dimension " + strconv.Itoa(j)
			}
			u.Dims = append(u.Dims, name)
			example[j] = "N"
		}
		if len(u.Dims) == 0 {
			continue
		}
		u.Example = v.Name + "=" + strings.Join(example, ",")
		if isImage && image.Name == v.Name {
			u.Example = v.Name + "=" + ImageShapeExample(v, layout)
		}
		out = append(out, u)
	}
	return out
}

// sampleTooSmall says which of the sample request's dynamic dimensions
// were left at 1 (Unsized) and how to size them, or "" when none were.
func (m *ONNXModel) sampleTooSmall() string {
	unsized := m.Unsized()
	if len(unsized) == 0 {
		return ""
	}
	var parts, flags []string
	for _, u := range unsized {
		what := "dimension " + strings.Join(u.Dims, ", ")
		if len(u.Dims) > 1 {
			what = "dimensions " + strings.Join(u.Dims, ", ")
		}
		parts = append(parts, fmt.Sprintf("%s sends input %q with shape %s, its dynamic %s set to 1", m.SampleFile(), u.Input.Name, formatDims(m.SampleShape(u.Input.Name)), what))
		flags = append(flags, "--input-shape "+u.Example)
	}
	it := "them"
	if len(unsized) == 1 && len(unsized[0].Dims) == 1 {
		it = "it"
	}
	return safeText(fmt.Sprintf("%s: too small for many models, which ONNX Runtime then refuses; size %s by running kserve-gen new again with %s --force, or edit %s",
		strings.Join(parts, "; "), it, strings.Join(flags, " "), m.SampleFile()))
}

// SampleShape is the shape input name has in the sample request (nil for
// no such input).
func (m *ONNXModel) SampleShape(name string) []int64 {
	shapes, err := m.examples()
	if err != nil {
		return nil
	}
	for i, v := range m.Info.Inputs {
		if v.Name == name {
			return shapes[i]
		}
	}
	return nil
}

// CheckInputShape reports whether shape fits input name, as --input-shape
// is checked.
func (m *ONNXModel) CheckInputShape(name string, shape []int64) error {
	for _, v := range m.Info.Inputs {
		if v.Name == name {
			return checkShape(v, shape)
		}
	}
	return fmt.Errorf("the model has no input %q; its inputs are %s", name, describeValues(m.Info.Inputs))
}

func checkShape(v onnxinfo.Value, shape []int64) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("sizes must be 0 or more, got %v", shape)
		}
	}
	if len(shape) != len(v.Shape) {
		return fmt.Errorf("the model's input is %s, rank %d; %v has rank %d", v, len(v.Shape), shape, len(shape))
	}
	for i, d := range v.Shape {
		if !d.Dynamic() && shape[i] != d.Size {
			return fmt.Errorf("the model's input is %s: dimension %d must be %d, not %d", v, i, d.Size, shape[i])
		}
		// A 0 the model declares is its shape; a 0 given for a dynamic
		// dimension makes a sample of no elements, which tests nothing
		// (and protocol v1 cannot even say its rank).
		if d.Dynamic() && shape[i] == 0 {
			if i == 0 {
				return fmt.Errorf("the model's input is %s: dimension 0, the batch, must be 1 or more, not 0 (a sample of no rows)", v)
			}
			return fmt.Errorf("the model's input is %s: dimension %d must be 1 or more, not 0 (a sample of no elements)", v, i)
		}
	}
	return nil
}

// ParseInputShape parses an --input-shape value, NAME=D1,D2,... (NAME= is
// a scalar).
func ParseInputShape(s string) (string, []int64, error) {
	name, dims, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("--input-shape %q: want NAME=D1,D2,... (an input's name and its sample shape)", s)
	}
	shape := []int64{}
	if dims == "" {
		return name, shape, nil
	}
	for d := range strings.SplitSeq(dims, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
		if err != nil || n < 0 {
			return "", nil, fmt.Errorf("--input-shape %q: %q is not a size (0 or more)", s, d)
		}
		shape = append(shape, n)
	}
	return name, shape, nil
}

func shapeSize(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

func describeValues(vs []onnxinfo.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, ", ")
}

// validate checks the model against the rest of the answers.
func (m *ONNXModel) validate(p *project.File) error {
	if p.Template != project.TemplateONNX {
		return fmt.Errorf("a model file (%s) is served by the onnx template, not %s", m.Path, p.Template)
	}
	if m.Info == nil {
		return fmt.Errorf("model %s was not read (use LoadONNXModel)", m.Path)
	}
	if _, err := m.examples(); err != nil {
		return err
	}
	if m.Labels != "" {
		if _, err := m.CheckLabels(); err != nil {
			return err
		}
	}
	if err := m.CheckImage(); err != nil {
		return err
	}
	return m.CheckProtocol(p.Protocol)
}

// CheckProtocol reports why the REST protocol cannot carry the model's
// sample request: v1 feeds its instances, as rows, to a single input, and
// has no binary data for FP16.
func (m *ONNXModel) CheckProtocol(protocol string) error {
	if protocol != project.ProtocolV1 {
		return nil
	}
	if m.binary() {
		return fmt.Errorf("the model has FP16 inputs, which travel only as binary data of the Open Inference Protocol (v2): use --protocol v2")
	}
	if len(m.Info.Inputs) != 1 || len(m.Info.Inputs[0].Shape) == 0 {
		return fmt.Errorf("protocol v1 feeds its instances to one input, as rows; the model's inputs are %s: use --protocol v2", describeValues(m.Info.Inputs))
	}
	return nil
}

// binary reports whether the model has an FP16 input: the protocol
// carries FP16 only as binary data (its JSON cannot), so the sample
// request uses the binary tensor extension. An image input does not
// count: it is sent images, as BYTES.
func (m *ONNXModel) binary() bool {
	image := ""
	if in, _, ok := m.ImageInput(); ok && m.Image != "" {
		image = in.Name
	}
	for _, v := range m.Info.Inputs {
		if v.Elem == onnxinfo.Float16 && v.Name != image {
			return true
		}
	}
	return false
}

// binaryOutputs reports whether the model has an FP16 output: over v2 the
// sample request asks for binary outputs, since the protocol's JSON cannot
// carry FP16 (v1 answers them as numbers).
func (m *ONNXModel) binaryOutputs() bool {
	return slices.ContainsFunc(m.served(), func(v onnxinfo.Value) bool { return v.Elem == onnxinfo.Float16 })
}

// modelView is what the templates see of a user's model.
type modelView struct {
	// Source is the file's name where the user had it.
	Source   string
	Producer string
	// Files are the external data files copied beside it.
	Files []string
	// LeftOut describes the outputs that are not served (not tensors).
	LeftOut []string
	// Labels is model/labels.txt when the project has class labels;
	// FirstOutput is the output they name.
	Labels, FirstOutput string
	// Classifier is set when the first output holds class scores (see
	// ONNXModel.Classifier): the README tells of the classification
	// extension then, and only then, asking for TopK classes (3, or all
	// of them where the output has fewer).
	Classifier bool
	TopK       int64
	// AnyRank lists the outputs of unknown rank: ONNX Runtime's metadata
	// has what its shape inference finds, or [] (a scalar's shape), and
	// answers have any rank.
	AnyRank []string
	Inputs  []tensorView
	Outputs []tensorView
	// Sized lists the inputs --input-shape gave a shape, as
	// "x [1,3,48,192]". With any, the server warms the model up with the
	// sample's shapes (Warmup) instead of every dynamic dimension 1.
	Sized  []string
	Warmup []tensorView
	// V2Request and V1Request are the sample requests: zeros of each
	// input's sample shape (V1Request is empty unless the model has one
	// input of rank 1 or more).
	V2Request, V1Request string
	// Binary is set for a model with FP16 inputs: the sample request is
	// then BinaryRequest, written as input.bin: a JSON header of
	// HeaderLength bytes, then every input's bytes (all zero).
	Binary        bool
	BinaryRequest []byte
	HeaderLength  int
	// BinaryOutputs is set for a v2 project of a model with FP16 outputs
	// (Half): the sample request asks for every output in binary
	// ("binary_data_output"), so the answer is a JSON header, its length
	// in Inference-Header-Content-Length, then the outputs' bytes.
	BinaryOutputs bool
	Half          []string
	// Image is set when an input takes images (--image).
	Image *imageView
	// SampleFile is input.json, or input.bin for a binary request.
	SampleFile string
	// BadRequest sends the first input with another datatype;
	// BadMessage is the runtime's answer to it.
	BadRequest, BadMessage string
	// InputBatchDim and OutputBatchDim are the tensors whose batch
	// dimension, for --max_batch_size, is not 0 (see batchDims).
	InputBatchDim, OutputBatchDim []batchDim
	// SampleTooSmall, for a sample request with dynamic dimensions left at
	// 1 (Unsized), says so and how to size them: the README before its
	// go test, and TestInputJSON when the model refuses the sample (Silero
	// VAD fails its first go test on one sample of audio otherwise with
	// ONNX Runtime's "Pad reflect requires axis length >= 2" alone; the
	// warning kserve-gen new printed has scrolled away by then).
	SampleTooSmall string
}

// batchDim is one tensor's batch dimension as Go source: "1", or
// "batch.NotBatched".
type batchDim struct{ Name, Dim string }

// batchDims finds each tensor's batch dimension from the model's dimension
// names: the first input's first dimension, when it is dynamic and named,
// names the batch. A tensor with a dimension of that name batches along
// it; one without it and without a dynamic first dimension (a scalar, a
// fixed-size parameter) has none, so the batcher merges only requests that
// agree on it. The rest batch along dimension 0, the batcher's default,
// and are left out.
func batchDims(vs []onnxinfo.Value, name string) []batchDim {
	var out []batchDim
	for _, v := range vs {
		i := slices.IndexFunc(v.Shape, func(d onnxinfo.Dim) bool { return d.Dynamic() && d.Param == name })
		switch {
		case i > 0:
			out = append(out, batchDim{v.Name, strconv.Itoa(i)})
		case i < 0 && (len(v.Shape) == 0 || !v.Shape[0].Dynamic()):
			out = append(out, batchDim{v.Name, "batch.NotBatched"})
		}
	}
	return out
}

// tensorView is one input or output.
type tensorView struct {
	Name, Datatype string
	// Shape is the model's shape with its dimension names ("[batch,4]").
	Shape string
	// Dims is the shape in the metadata's form, -1 for dynamic ("[-1,4]").
	Dims string
}

func (m *ONNXModel) view(name, protocol string) (*modelView, error) {
	shapes, err := m.examples()
	if err != nil {
		return nil, err
	}
	producer := m.Info.Producer
	if m.Info.ProducerVersion != "" {
		producer += " " + m.Info.ProducerVersion
	}
	v := &modelView{Source: safeText(filepath.Base(m.Path)), Producer: safeText(producer)}
	for _, f := range m.modelFiles()[1:] {
		if f.Path != LabelsPath {
			v.Files = append(v.Files, f.Path)
		}
	}
	if m.Labels != "" {
		v.Labels = LabelsPath
	}
	v.FirstOutput = m.FirstOutput().Name
	n, classifier := m.classes()
	v.Classifier, v.TopK = classifier, 3
	if n > 0 {
		v.TopK = min(v.TopK, n)
	}
	for _, out := range m.LeftOut() {
		v.LeftOut = append(v.LeftOut, out.String())
	}
	for _, in := range m.Info.Inputs {
		v.Inputs = append(v.Inputs, newTensorView(in))
	}
	for _, out := range m.served() {
		v.Outputs = append(v.Outputs, newTensorView(out))
		if !out.HasShape {
			v.AnyRank = append(v.AnyRank, out.Name)
		}
	}
	req := sampleRequest{ID: name + "-1"}
	if m.binaryOutputs() && protocol != project.ProtocolV1 {
		v.BinaryOutputs = true
		req.Parameters = map[string]bool{"binary_data_output": true}
		for _, out := range m.served() {
			if out.Elem == onnxinfo.Float16 {
				v.Half = append(v.Half, safeText(out.Name))
			}
		}
	}
	for i, in := range m.Info.Inputs {
		dt, _ := in.Elem.Datatype()
		req.Inputs = append(req.Inputs, sampleTensor{Name: in.Name, Shape: shapes[i], Datatype: dt, Data: zeros(dt, shapeSize(shapes[i]))})
		if _, given := m.InputShapes[in.Name]; given {
			v.Sized = append(v.Sized, fmt.Sprintf("%s %s", safeText(in.Name), formatDims(shapes[i])))
		}
	}
	v.SampleTooSmall = m.sampleTooSmall()
	if len(v.Sized) > 0 {
		for i, in := range req.Inputs {
			v.Warmup = append(v.Warmup, tensorView{Name: in.Name, Datatype: in.Datatype, Dims: formatDims(shapes[i])})
		}
	}
	bad, badMessage := badRequest(name, req.Inputs[0])
	var b64 string // the sample image
	if m.Image != "" {
		if v.Image, err = m.imageView(); err != nil {
			return nil, err
		}
		if b64, err = sampleImage(v.Image.sampleW, v.Image.sampleH); err != nil {
			return nil, err
		}
		for i := range req.Inputs {
			if in := &req.Inputs[i]; in.Name == v.Image.Input {
				images := make([]string, max(1, in.Shape[0]))
				for j := range images {
					images[j] = b64
				}
				in.Shape, in.Datatype, in.Data = []int64{int64(len(images))}, "BYTES", images
			}
		}
	}
	if v.V2Request, err = compactJSON(req); err != nil {
		return nil, err
	}
	v.SampleFile = m.SampleFile()
	if m.binary() {
		v.Binary = true
		if v.BinaryRequest, v.HeaderLength, err = binaryRequest(req.ID, req.Parameters, m.Info.Inputs, shapes); err != nil {
			return nil, err
		}
	}
	if first := m.Info.Inputs[0]; len(m.Info.Inputs) == 1 && len(shapes[0]) > 0 {
		dt, _ := first.Elem.Datatype()
		var rows []any
		if v.Image != nil {
			// KServe's custom predictor guide: {"image": {"b64": ...}},
			// a row for each image the sample sends.
			for _, b64 := range req.Inputs[0].Data.([]string) {
				rows = append(rows, map[string]any{"image": map[string]string{"b64": b64}})
			}
		} else {
			rows = make([]any, shapes[0][0])
			for r := range rows {
				rows[r] = nested(dt, shapes[0][1:])
			}
		}
		if v.V1Request, err = compactJSON(map[string]any{"instances": rows}); err != nil {
			return nil, err
		}
	}
	if v.Image != nil {
		sample := v.V2Request
		if protocol == project.ProtocolV1 {
			sample = v.V1Request
		}
		v.Image.OwnImage = ownImageCommand(sample, b64)
	}

	if in := m.Info.Inputs[0]; len(in.Shape) > 0 && in.Shape[0].Dynamic() && in.Shape[0].Param != "" {
		v.InputBatchDim = batchDims(m.Info.Inputs, in.Shape[0].Param)
		v.OutputBatchDim = batchDims(m.served(), in.Shape[0].Param)
	}

	if v.BadRequest, err = compactJSON(bad); err != nil {
		return nil, err
	}
	v.BadMessage = badMessage
	return v, nil
}

// sampleTensor and sampleRequest are a v2 JSON request of the project.
type sampleTensor struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"`
}

type sampleRequest struct {
	ID         string          `json:"id"`
	Parameters map[string]bool `json:"parameters,omitempty"`
	Inputs     []sampleTensor  `json:"inputs"`
}

// badRequest sends the first input with another datatype, and returns
// the runtime's answer to it.
func badRequest(name string, first sampleTensor) (sampleRequest, string) {
	wrong := "FP64"
	if first.Datatype == "FP64" {
		wrong = "FP32"
	}
	// One element of the input's rank: the datatype is checked first.
	ones := make([]int64, len(first.Shape))
	for i := range ones {
		ones[i] = 1
	}
	bad := sampleRequest{ID: name + "-bad", Inputs: []sampleTensor{{Name: first.Name, Shape: ones, Datatype: wrong, Data: zeros(wrong, 1)}}}
	return bad, fmt.Sprintf("input %q has datatype %s, but the model expects %s", first.Name, wrong, first.Datatype)
}

// binaryRequest is a request in the binary tensor extension: a JSON
// header, then each input's data, zeros (for BYTES, each element's 4-byte
// length, 0). The answer is JSON unless params ask for binary outputs.
func binaryRequest(id string, params map[string]bool, inputs []onnxinfo.Value, shapes [][]int64) ([]byte, int, error) {
	type tensor struct {
		Name       string         `json:"name"`
		Shape      []int64        `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]int `json:"parameters"`
	}
	type request struct {
		ID         string          `json:"id"`
		Parameters map[string]bool `json:"parameters,omitempty"`
		Inputs     []tensor        `json:"inputs"`
	}
	req := request{ID: id, Parameters: params}
	total := 0
	for i, in := range inputs {
		dt, _ := in.Elem.Datatype()
		n := int(shapeSize(shapes[i])) * elementSize(dt)
		total += n
		req.Inputs = append(req.Inputs, tensor{Name: in.Name, Shape: shapes[i], Datatype: dt, Parameters: map[string]int{"binary_data_size": n}})
	}
	head, err := compactJSON(req)
	if err != nil {
		return nil, 0, err
	}
	return append([]byte(head), make([]byte, total)...), len(head), nil
}

// elementSize is the bytes of one element of dt in binary data (BYTES:
// the length prefix of an empty string).
func elementSize(dt string) int {
	switch dt {
	case "BOOL", "INT8", "UINT8":
		return 1
	case "FP16", "INT16", "UINT16":
		return 2
	case "FP64", "INT64", "UINT64":
		return 8
	}
	return 4 // FP32, INT32, UINT32, BYTES
}

func newTensorView(v onnxinfo.Value) tensorView {
	dt, _ := v.Elem.Datatype()
	t := tensorView{Name: v.Name, Datatype: dt, Dims: formatDims(v.Dims())}
	t.Shape = v.ShapeString()
	return t
}

// safeText is s for the generated files' comments and prose, or s quoted
// when it holds a line break or another control character: a model file
// names its tensors, dimensions and producer, and a name with a newline
// must not end a // comment and put code into the project.
func safeText(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return strconv.Quote(s)
		}
	}
	return s
}

func formatDims(d []int64) string {
	parts := make([]string, len(d))
	for i, n := range d {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// zeros is n zero values of datatype dt as JSON data.
func zeros(dt string, n int64) any {
	switch dt {
	case "BOOL":
		return make([]bool, n)
	case "BYTES":
		return make([]string, n)
	}
	return make([]int, n)
}

// nested is a zero value of shape as nested JSON arrays (a v1 instance).
func nested(dt string, shape []int64) any {
	if len(shape) == 0 {
		switch dt {
		case "BOOL":
			return false
		case "BYTES":
			return ""
		}
		return 0
	}
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nested(dt, shape[1:])
	}
	return out
}

func compactJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("sample request: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// modelFiles are the files a user's model brings into the project: the
// model as model/model.onnx and its external data files beside it, under
// the names the model refers to them by.
func (m *ONNXModel) modelFiles() []File {
	files := []File{{Path: SampleModelPath, Mode: 0o644, Source: m.Path}}
	dir := filepath.Dir(m.Path)
	for _, loc := range m.Info.ExternalData {
		rel := path.Clean(strings.ReplaceAll(loc, `\`, "/"))
		files = append(files, File{Path: path.Join(path.Dir(SampleModelPath), rel), Mode: 0o644, Source: filepath.Join(dir, filepath.FromSlash(rel))})
	}
	if m.Labels != "" {
		files = append(files, File{Path: LabelsPath, Mode: 0o644, Source: m.Labels})
	}
	return files
}
