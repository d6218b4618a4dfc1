// Package runtime is KServe's Python ModelServer for Go: implement a Model
// (Load / Ready / Predict, optionally Preprocess, Postprocess, Explain and
// metadata), hand it to a Server, and it is served over KServe's v1 REST
// protocol and the Open Inference Protocol (v2) over REST and gRPC, with
// KServe's flags, environment variables, error bodies and metrics.
//
//	func main() {
//		p := config.NewParser("custom-model")
//		cfg, err := p.Parse(os.Args[1:], os.Getenv)
//		if errors.Is(err, flag.ErrHelp) { return } // --help printed the usage
//		if err != nil { os.Exit(2) }                // printed as argparse prints it
//		ctx, stop := runtime.SignalContext()
//		defer stop()
//		if err := runtime.NewServer(*cfg).Run(ctx, NewModel(cfg.ModelName)); err != nil { log.Fatal(err) }
//	}
//
// Example (go doc -all) runs a complete model over real sockets. Model code
// answers with runtime.PredictResponse and fails with the errors of package
// status (InvalidInput is a 400); package runtimetest checks a model as
// KServe's clients see it, from the model's own go test.
package runtime

import (
	"context"
	"log/slog"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// The model interfaces, re-exported from package model so users need only
// import runtime (package model exists to keep the transports free of
// import cycles).
type (
	Model            = model.Model
	Predictor        = model.Predictor
	Preprocessor     = model.Preprocessor
	Postprocessor    = model.Postprocessor
	Explainer        = model.Explainer
	MetadataProvider = model.MetadataProvider
	PlatformProvider = model.PlatformProvider
	Unloader         = model.Unloader
	NotReadyReasoner = model.NotReadyReasoner
	Headers          = model.Headers
	TensorMetadata   = model.TensorMetadata
)

// Version is the runtime's version, reported as the v2 server metadata version.
const Version = "0.1.0"

// Error constructors, re-exported from package status.
var (
	InvalidInput   = status.InvalidInput
	InferenceError = status.InferenceError
	ModelNotReady  = status.ModelNotReady
	NotImplemented = status.NotImplemented
)

// Logger is the logger for model code, from the context the server passes
// to Load, Unload, Predict and the other pipeline steps: the server's
// "kserve" logger, so the model's lines follow --log_config_file and
// KSERVE_LOGLEVEL (see model.Logger; slog.Default() outside the server).
func Logger(ctx context.Context) *slog.Logger { return model.Logger(ctx) }

// PredictResponse is KServe's get_predict_response (see infer.PredictResponse).
func PredictResponse(req *infer.Request, modelName string, result any) (*infer.Response, error) {
	return infer.PredictResponse(req, modelName, result)
}
