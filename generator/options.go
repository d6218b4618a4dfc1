// Package generator renders and writes a kserve-gen project: the pure
// function Render turns validated Options into files, and Write puts them on
// disk atomically. cmd/kserve-gen only collects the answers (flags or the
// interactive form) and calls Generate.
package generator

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kserve-gen/kserve-gen/project"
)

// Options is everything `kserve-gen new` asks for.
type Options struct {
	// Project holds the answers recorded in kserve-gen.yaml: name, module,
	// template, protocol, gRPC, GPU and resources.
	Project project.File
	// Dir is the output directory; empty means ./<name>.
	Dir string
	// Force allows writing into a non-empty directory: generated files
	// replace files of the same name, other files are kept.
	Force bool
	// Keep is the kserve-gen.yaml that Force writes over, if any: its image
	// and deploy settings, which new does not ask for (the README has the
	// user add them), go into the new kserve-gen.yaml and
	// inferenceservice.yaml instead of being lost.
	Keep *project.File
	// Runtime is the local runtime module the project's go.mod points at
	// with a replace directive; nil writes a plain requirement, which does
	// not resolve while the runtime is unpublished (see FindRuntime and
	// RuntimeVersion).
	Runtime *RuntimeModule
	// Model is the user's ONNX model an onnx project serves (nil: the
	// sample classifier); see LoadONNXModel.
	Model *ONNXModel
	// ReplacePath is the path written into the replace directive; empty
	// means Runtime.Dir (absolute). Golden tests set a relative path so the
	// committed projects build in place.
	ReplacePath string
	// Names, when set, names Project's fields in Validate's errors (see
	// project.File.ValidateAs): kserve-gen new names its flags.
	Names func(field string) string
}

// Defaults for answers the user did not give. The resources are the seed's
// custom predictor's (requests 1 CPU / 1Gi, limits 2 CPU / 2Gi).
const (
	DefaultCPURequest    = "1"
	DefaultCPULimit      = "2"
	DefaultMemoryRequest = "1Gi"
	DefaultMemoryLimit   = "2Gi"
)

// TemplateDefaults returns the protocol and gRPC setting a template starts
// with: rest and transformer speak KServe v1 like the seed's predictors;
// grpc speaks v2 over gRPC; onnx serves tensors over v2 REST; openai and
// timeseries serve OpenAI's API and KServe's time-series API over REST,
// with v1 for the readiness probe and PROTOCOL (project.File.Validate
// refuses v2 and gRPC for them).
func TemplateDefaults(template string) (protocol string, grpc bool) {
	switch template {
	case project.TemplateGRPC:
		return project.ProtocolV2, true
	case project.TemplateONNX:
		return project.ProtocolV2, false
	default:
		return project.ProtocolV1, false
	}
}

// DefaultResources returns the seed's resources.
func DefaultResources() project.Resources {
	return project.Resources{
		Requests: project.ResourceList{CPU: DefaultCPURequest, Memory: DefaultMemoryRequest},
		Limits:   project.ResourceList{CPU: DefaultCPULimit, Memory: DefaultMemoryLimit},
	}
}

// OutputDir returns o.Dir, or ./<name> when it is empty.
func (o *Options) OutputDir() string {
	if o.Dir != "" {
		return o.Dir
	}
	return filepath.Join(".", o.Project.Name)
}

// ErrDirNotEmpty is returned (wrapped) when the output directory has files
// and Force is off.
var ErrDirNotEmpty = errors.New("output directory is not empty")

// Validate checks the answers, naming each bad one.
func (o *Options) Validate() error {
	var errs []error
	if err := o.Project.ValidateAs(o.Names); err != nil {
		errs = append(errs, err)
	}
	if o.Project.Image != "" || o.Project.Deploy != nil {
		errs = append(errs, errors.New("image and deploy settings belong to `kserve-gen deploy`, not to new"))
	}
	if o.Model != nil {
		if err := o.Model.validate(&o.Project); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkBlankDir(o.Dir); err != nil {
		errs = append(errs, err)
	}
	if o.Runtime == nil && o.ReplacePath != "" {
		errs = append(errs, fmt.Errorf("replace path %q given without a runtime module", o.ReplacePath))
	}
	return errors.Join(errs...)
}
