package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/project"
)

// Prompter asks the user for the answers `new` needs. The real one shows a
// huh form; tests pass a stub.
type Prompter interface {
	// Ask edits a in place, starting from its values (the flags);
	// changed reports which flags were given. It returns errAborted when the
	// user leaves the form.
	Ask(ctx context.Context, a *answers, changed func(string) bool) error
}

// huhPrompter asks with charmbracelet/huh forms on the terminal.
type huhPrompter struct {
	io *IOStreams
	// lineByLine is huh's accessible mode, which huh takes on a dumb
	// terminal (TERM=dumb: Emacs' shell, some CI consoles): a prompt per
	// line instead of the form. There an empty line keeps the prefilled
	// answer, but huh validates the empty line and its prompt does not
	// show the answer kept (see input).
	lineByLine bool
}

// newHuhPrompter asks on io; getenv is os.Getenv, which huh reads TERM
// with.
func newHuhPrompter(io *IOStreams, getenv func(string) string) *huhPrompter {
	return &huhPrompter{io: io, lineByLine: getenv("TERM") == "dumb"}
}

// input is a text field prefilled with *value. Asked line by line, its
// prompt shows the prefilled answer in brackets, and an empty line, which
// keeps it, is validated as that answer: huh validates the empty line,
// so Enter at "Model name" prefilled from NAME, or at "GPUs" prefilled
// with 0, was refused (name must not be empty; "" is not a whole number).
func (p *huhPrompter) input(title string, value *string, validate func(string) error) *huh.Input {
	if p.lineByLine {
		if *value != "" {
			title += " [" + *value + "]"
		}
		check := validate
		validate = func(s string) error {
			if s == "" {
				s = *value // not yet replaced: huh sets it after validating
			}
			return check(s)
		}
	}
	return huh.NewInput().Title(title).Value(value).Validate(validate)
}

// inputOr is input for a field whose empty answer means def, a default
// that follows an earlier answer (the module path and the output
// directory follow the name). The form shows def as the placeholder; asked
// line by line, where huh draws no placeholder and reads its title once,
// the prompt shows it in brackets, so def must be known when the field
// is made.
func (p *huhPrompter) inputOr(title string, value *string, def func() string, binding any, validate func(string) error) *huh.Input {
	if p.lineByLine && *value == "" {
		title += " [" + def() + "]"
	}
	return p.input(title, value, validate).PlaceholderFunc(def, binding)
}

// yesNo is a yes/no field. Asked line by line it is a choice of Yes or No
// instead of huh's confirm, which there takes y or n without validating
// it: a yes to gRPC with protocol v1 went through, and new then stopped
// with every answer lost.
func (p *huhPrompter) yesNo(title string, value *bool, validate func(bool) error) huh.Field {
	if p.lineByLine {
		return huh.NewSelect[bool]().Title(title).
			Options(huh.NewOption("Yes", true), huh.NewOption("No", false)).
			Value(value).Validate(validate)
	}
	return huh.NewConfirm().Title(title).Value(value).Validate(validate)
}

// nav is where a page of the form stands among the others.
type nav struct {
	// back: there is a page before it, which Shift+Tab on its first
	// field goes back to.
	back bool
	// returned: the user came back to it from the page after it, so it
	// starts at its last field, as Shift+Tab within a page moves.
	returned bool
}

// errBack is returned by a page of the form the user left with Shift+Tab
// on its first field: Ask shows the page before it again.
var errBack = errors.New("back to the previous page")

// run shows one page of the form. Shift+Tab moves back a field within a
// page, but huh ends a form at its first field, so with back it leaves the
// page for the one before it (errBack); without, it does nothing. Esc
// leaves the form, as Ctrl+C does (a user's first try at cancelling did
// nothing), but where huh takes Esc itself: a choice's filter.
func (p *huhPrompter) run(ctx context.Context, nav nav, groups ...*huh.Group) error {
	form := huh.NewForm(groups...).
		WithInput(p.io.In).
		WithOutput(p.io.Out).
		WithTheme(huh.ThemeBase16())
	if p.lineByLine {
		// huh's accessible mode reads lines; there is no key to go back.
		return formError(form.RunWithContext(ctx))
	}
	// huh runs a form as its own Bubble Tea program; page runs it in one
	// of ours, which sees the keys first.
	form.SubmitCmd, form.CancelCmd = tea.Quit, tea.Interrupt
	m := &page{form: form, last: nav.returned}
	if nav.back {
		m.first = form.GetFocusedField()
	}
	_, err := tea.NewProgram(m, tea.WithInput(p.io.In), tea.WithOutput(p.io.Out), tea.WithReportFocus(), tea.WithContext(ctx)).Run()
	switch {
	case m.back:
		return errBack
	case form.State == huh.StateAborted || errors.Is(err, tea.ErrInterrupted):
		return errAborted
	case err != nil:
		return fmt.Errorf("form: %w", err)
	}
	return nil
}

// formError is the error of a form huh ran.
func formError(err error) error {
	if errors.Is(err, huh.ErrUserAborted) {
		return errAborted
	}
	return err
}

// page runs one huh form, taking Esc as Ctrl+C and Shift+Tab on first
// (nil: none) as a step back to the page before; with last, it starts at
// the last field of its first group.
type page struct {
	form  *huh.Form
	first huh.Field
	last  bool
	back  bool
}

func (m *page) Init() tea.Cmd {
	cmds := []tea.Cmd{m.form.Init()}
	for m.last {
		field := m.form.GetFocusedField()
		cmd := m.form.NextField()
		if m.form.GetFocusedField() == field {
			// The group's last field, which NextField blurred to leave
			// the group (its command, dropped, would submit the page).
			cmds = append(cmds, field.Focus())
			break
		}
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && m.form.State == huh.StateNormal {
		switch {
		case k.Type == tea.KeyEsc && !escBound(m.form.GetFocusedField()):
			msg = tea.KeyMsg{Type: tea.KeyCtrlC} // huh's Quit
		case k.Type == tea.KeyShiftTab && m.first != nil && m.form.GetFocusedField() == m.first:
			m.back = true
			return m, tea.Quit
		}
	}
	form, cmd := m.form.Update(msg)
	m.form = form.(*huh.Form)
	return m, cmd
}

// escBound reports whether field takes Esc itself now: a choice being
// filtered ("/") ends or clears its filter with it.
func escBound(field huh.Field) bool {
	for _, b := range field.KeyBinds() {
		if b.Enabled() && slices.Contains(b.Keys(), "esc") {
			return true
		}
	}
	return false
}

func (m *page) View() string {
	if m.back {
		return "" // as huh leaves a form it quits: the next page draws on a clean screen
	}
	return m.form.View()
}

// Ask shows the form's pages: what the project is (name, module,
// template), the ONNX model and its questions (onnx template), then how it
// serves and deploys, whose defaults follow from the template. Shift+Tab
// on a page's first field goes back to the page before, its answers kept.
func (p *huhPrompter) Ask(ctx context.Context, a *answers, changed func(string) bool) error {
	if a.Template == "" {
		a.Template = project.TemplateREST
	}
	// What the flags said: a model's questions asked again start from it.
	flagModel, flagShapes, flagImage := a.onnx, maps.Clone(a.shapes), a.Image
	defaultsFor := "" // the template the protocol and gRPC answers are defaults of
	pages := []func(nav nav) (bool, error){
		func(nav nav) (bool, error) {
			if err := p.askProject(ctx, nav, a, changed); err != nil {
				return true, err
			}
			if a.Template != project.TemplateONNX && flagModel == nil {
				// A model chosen before the user went back and took
				// another template is not this project's.
				a.Model, a.onnx = "", nil
			}
			return true, nil
		},
		func(nav nav) (bool, error) {
			if a.Template != project.TemplateONNX || flagModel != nil {
				return false, nil
			}
			// Asked again, the model's questions after it are too, from
			// the flags' answers: another model's shapes would not fit.
			a.shapes, a.Image = maps.Clone(flagShapes), flagImage
			return true, p.run(ctx, nav, huh.NewGroup(
				p.input("ONNX model file", &a.Model, func(path string) error {
					if path == "" {
						a.onnx = nil
						return nil
					}
					m, err := loadModel(path, a.shapes)
					a.onnx = m
					return err
				}).Description("Your .onnx file, copied into the project; empty: a sample classifier."),
			))
		},
		func(nav nav) (bool, error) {
			if a.Template != project.TemplateONNX || a.onnx == nil {
				return false, nil
			}
			return p.askImage(ctx, nav, a, changed)
		},
		func(nav nav) (bool, error) {
			if a.Template != project.TemplateONNX || a.onnx == nil {
				return false, nil
			}
			return p.askShapes(ctx, nav, a)
		},
		func(nav nav) (bool, error) {
			if a.Template != defaultsFor {
				protocol, grpc := generator.TemplateDefaults(a.Template)
				if !changed("protocol") {
					a.Protocol = protocol
				}
				if !changed("grpc") {
					a.GRPC = grpc
				}
				defaultsFor = a.Template
			}
			return true, p.askServing(ctx, nav, a)
		},
	}
	var shown []int // the pages asked, to go back through
	returned := false
	for i := 0; i < len(pages); {
		asked, err := pages[i](nav{back: len(shown) > 0, returned: returned})
		returned = errors.Is(err, errBack)
		switch {
		case returned:
			i, shown = shown[len(shown)-1], shown[:len(shown)-1]
		case err != nil:
			return err
		default:
			if asked {
				shown = append(shown, i)
			}
			i++
		}
	}
	return nil
}

// askProject asks what the project is: name, module and template.
func (p *huhPrompter) askProject(ctx context.Context, nav nav, a *answers, changed func(string) bool) error {
	templateOptions := []huh.Option[string]{
		huh.NewOption("rest — KServe v1 REST custom predictor", project.TemplateREST),
		huh.NewOption("grpc — Open Inference Protocol (v2) over gRPC + Go client", project.TemplateGRPC),
		huh.NewOption("onnx — serve an ONNX model with ONNX Runtime (CPU/GPU)", project.TemplateONNX),
		huh.NewOption("transformer — pre/post-processing in front of a predictor", project.TemplateTransformer),
		huh.NewOption("openai — OpenAI-compatible chat/completions (LLM) model", project.TemplateOpenAI),
		huh.NewOption("timeseries — time-series forecasting model (TimesFM-style)", project.TemplateTimeSeries),
	}
	name := p.input("Model name", &a.Name, func(name string) error {
		return project.ValidateNameFor(name, a.Template) // --template transformer: at most 51
	}).Description("The model name on the wire and the InferenceService name.")
	var fields []huh.Field
	if p.lineByLine {
		// The module path's default follows the name, and a prompt asked
		// line by line is written once: ask the name first.
		if err := p.run(ctx, nav, huh.NewGroup(name)); err != nil {
			return err
		}
	} else {
		fields = append(fields, name)
	}
	fields = append(fields,
		p.inputOr("Go module path", &a.Module, func() string { return project.DefaultModule(a.Name) }, &a.Name, func(s string) error {
			if s == "" {
				return nil // the name
			}
			return project.ValidateModule(s)
		}),
		huh.NewSelect[string]().Title("Template").Options(templateOptions...).Value(&a.Template).
			Validate(func(template string) error {
				// The name was checked before the template was chosen;
				// a transformer's must also leave room for
				// "-transformer". Said here, in the form that asks for
				// the name, rather than after the last question.
				if err := project.ValidateNameFor(a.Name, template); err != nil {
					return fmt.Errorf("name: %w", err) // said under the template
				}
				// --grpc or --protocol v2 came with the command, which
				// the openai and timeseries templates cannot take.
				return checkRESTOnlyFlags(template, *a, changed)
			}),
	)
	return p.run(ctx, nav, huh.NewGroup(fields...))
}

// askServing asks how the project serves and deploys. An openai or
// timeseries project is not asked for a protocol or gRPC: it serves
// OpenAI's API or KServe's time-series API over REST alone
// (TemplateDefaults' v1, no gRPC, as project.File.Validate wants).
func (p *huhPrompter) askServing(ctx context.Context, nav nav, a *answers) error {
	var serving []huh.Field
	if a.Template != project.TemplateOpenAI && a.Template != project.TemplateTimeSeries {
		serving = append(serving,
			huh.NewSelect[string]().Title("Protocol of the REST endpoint").
				Options(huh.NewOption("v1 — KServe v1 (:predict)", project.ProtocolV1), huh.NewOption("v2 — Open Inference Protocol (/infer)", project.ProtocolV2)).
				Value(&a.Protocol).Validate(func(protocol string) error {
				if m := a.onnx; m != nil {
					return m.CheckProtocol(protocol)
				}
				return nil
			}),
			p.yesNo("Serve gRPC (Open Inference Protocol v2)?", &a.GRPC, func(on bool) error {
				if on && a.Protocol == project.ProtocolV1 {
					return errors.New("gRPC speaks v2: choose protocol v2 or answer no")
				}
				if !on && a.Template == project.TemplateGRPC {
					return errors.New("the grpc template serves gRPC")
				}
				return nil
			}))
	}
	serving = append(serving, p.input("GPUs (nvidia.com/gpu, 0 for CPU only)", &a.GPU, validateGPU))
	return p.run(ctx, nav,
		huh.NewGroup(serving...),
		huh.NewGroup(
			p.input("CPU request", &a.CPURequest, quantity("cpu")),
			p.input("CPU limit", &a.CPULimit, limit("cpu", &a.CPURequest)),
			p.input("Memory request", &a.MemoryRequest, quantity("memory")),
			p.input("Memory limit", &a.MemoryLimit, limit("memory", &a.MemoryRequest)),
			p.inputOr("Output directory", &a.Dir, func() string { return "./" + a.Name }, &a.Name, func(dir string) error {
				if dir == "" {
					dir = a.Name
				}
				if err := generator.CheckDir(dir, a.Force); err != nil {
					if errors.Is(err, generator.ErrDirNotEmpty) {
						return fmt.Errorf("%w: choose another, or run again with --force", err)
					}
					return err
				}
				return nil
			}),
		),
	)
}

// askImage asks whether the model's image input (if it has one) takes
// images, and with which preprocessing; --image answers it in advance.
func (p *huhPrompter) askImage(ctx context.Context, nav nav, a *answers, changed func(string) bool) (bool, error) {
	in, _, ok := a.onnx.ImageInput()
	if !ok || changed("image") {
		return false, nil
	}
	options := []huh.Option[string]{huh.NewOption("no — clients send tensors", "")}
	for _, name := range generator.ImagePresets() {
		options = append(options, huh.NewOption(name+" — "+generator.ImagePresetAbout(name), name))
	}
	return true, p.run(ctx, nav, huh.NewGroup(
		huh.NewSelect[string]().Title("Does input "+in.Name+" take images?").
			Description(in.String()+": clients can send PNG, JPEG, GIF, BMP or WebP images, which the server decodes, resizes and normalises as the model was trained.").
			Options(options...).Value(&a.Image),
	))
}

// askShapes asks for the sample shape of each input with a dynamic
// dimension after the first (an image's height and width: 1 may be too
// small for the model), prefilled with the shape input.json would get;
// --input-shape answers it in advance.
func (p *huhPrompter) askShapes(ctx context.Context, nav nav, a *answers) (bool, error) {
	m := a.onnx
	type question struct {
		name, start string
		value       *string
	}
	var questions []question
	var fields []huh.Field
	for _, v := range m.Info.Inputs {
		dynamic := false
		for _, d := range v.Shape[min(1, len(v.Shape)):] {
			dynamic = dynamic || d.Dynamic()
		}
		if !dynamic {
			continue
		}
		start := joinDims(m.SampleShape(v.Name))
		value := start
		q := question{name: v.Name, start: start, value: &value}
		questions = append(questions, q)
		fields = append(fields, p.input("Sample shape of input "+v.Name, q.value, func(s string) error {
			_, shape, err := generator.ParseInputShape(v.Name + "=" + s)
			if err != nil {
				return fmt.Errorf("%q is not a shape: sizes separated by commas, such as 1,3,224,224", s)
			}
			if err := m.CheckInputShape(v.Name, shape); err != nil {
				return err
			}
			// With the other answers as they stand: dimensions the model
			// names alike are one size (Silero VAD's input [batch,sequence]
			// and h [2,batch,64]), which the shapes must agree on here
			// rather than once the form is done, every answer lost.
			given := maps.Clone(a.shapes)
			if given == nil {
				given = map[string][]int64{}
			}
			for _, o := range questions {
				if _, other, err := generator.ParseInputShape(o.name + "=" + *o.value); o.name != v.Name && *o.value != o.start && err == nil {
					given[o.name] = other
				}
			}
			if s != q.start { // as after the form: an answer left as it was sizes nothing
				given[v.Name] = shape
			}
			if err := m.CheckInputShapes(given); err != nil {
				return err
			}
			if in, layout, ok := m.ImageInput(); ok && a.Image != "" && in.Name == v.Name {
				// Images are resized to this height and width: the
				// default 1 of a dynamic dimension is not a size.
				if h, w := generator.ImageAxes(layout); shape[h] < 2 || shape[w] < 2 {
					return fmt.Errorf("images are resized to this shape's height and width (%s): give the model's, such as %s", layout, generator.ImageShapeExample(in, layout))
				}
			}
			return nil
		}).Description(v.String()+": the shape input.json gives it (dynamic dimensions are yours to choose)."))
	}
	if len(fields) == 0 {
		return false, nil
	}
	if err := p.run(ctx, nav, huh.NewGroup(fields...)); err != nil {
		return true, err
	}
	for _, q := range questions {
		if *q.value == q.start {
			continue // the default, or what --input-shape said
		}
		_, shape, err := generator.ParseInputShape(q.name + "=" + *q.value)
		if err != nil {
			return true, err
		}
		if a.shapes == nil {
			a.shapes = map[string][]int64{}
		}
		a.shapes[q.name] = shape
	}
	onnx, err := loadModel(a.Model, a.shapes)
	if err != nil {
		return true, err
	}
	a.onnx = onnx
	return true, nil
}

// joinDims writes a shape as the form shows it: 1,3,224,224.
func joinDims(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(parts, ",")
}

func validateGPU(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of GPUs (0 or more)", s)
	}
	return nil
}

// quantity validates one Kubernetes quantity (a request) with the project
// file's rules.
func quantity(kind string) func(string) error {
	return func(s string) error {
		r := project.Resources{Requests: project.ResourceList{CPU: s}}
		if kind == "memory" {
			r = project.Resources{Requests: project.ResourceList{Memory: s}}
		}
		return r.Validate()
	}
}

// limit validates a limit with the project file's rules, against the
// request asked just before it: a request above its limit is refused on
// the limit's field, where either can still be changed, rather than by
// the project file once the form is done, with every answer lost.
func limit(kind string, request *string) func(string) error {
	return func(s string) error {
		r := project.Resources{Requests: project.ResourceList{CPU: *request}, Limits: project.ResourceList{CPU: s}}
		if kind == "memory" {
			r = project.Resources{Requests: project.ResourceList{Memory: *request}, Limits: project.ResourceList{Memory: s}}
		}
		return r.Validate()
	}
}
