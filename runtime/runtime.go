// Package runtime is KServe's Python ModelServer for Go: implement a Model
// (Load / Ready / Predict, optionally Preprocess, Postprocess, Explain and
// metadata), hand it to a Server, and it is served over KServe's v1 REST
// protocol and the Open Inference Protocol (v2) over REST and gRPC, with
// KServe's flags, environment variables, error bodies and metrics.
//
//	func main() {
//		p := config.NewParser("custom-model")
//		cfg, err := p.ParseLookup(os.Args[1:], os.LookupEnv)
//		if errors.Is(err, flag.ErrHelp) { return } // --help printed the usage
//		if err != nil { os.Exit(2) }                // printed as argparse prints it
//		ctx, stop := runtime.SignalContext()
//		defer stop()
//		if err := runtime.NewServer(*cfg).Run(ctx, NewModel(cfg.ModelName)); err != nil { log.Fatal(err) }
//	}
//
// The package's examples (on pkg.go.dev, or example_*_test.go in the
// module: go doc does not print them) run complete models over real
// sockets: one answering v1 and v2 (Example), the custom-model guide's
// Preprocess, Predict and Postprocess with a request header in and a
// response header out (Example_preprocessPostprocess), two outputs of
// different datatypes called over gRPC (Example_grpc), and the
// classification extension (Example_classification). Model code answers
// with runtime.PredictResponse and fails with the errors of package status
// (InvalidInput is a 400, see ExampleInvalidInputf); package runtimetest
// checks a model as KServe's clients see it, from the model's own go test.
//
// The packages a model's code imports:
//
//   - infer: requests, responses and typed tensors (Request.Input, InputAs,
//     NewTensor, PredictResponse);
//   - status: the errors that become KServe's status codes and bodies;
//   - config: KServe's flags and environment (Parser, Config);
//   - runtimetest: the conformance kit and a test server (Run, Start);
//   - onnx: ONNX Runtime, and a ready-made model for any .onnx file;
//   - vision: images to tensors, for a Preprocess;
//   - batch: dynamic batching; forward: KServe's transformer pattern;
//   - client: KServe's REST and gRPC inference clients;
//   - storage: STORAGE_URI to a local folder (Server.ResolveModelDir);
//   - logging: KServe's logging configuration, for a main that sets it up
//     itself.
//
// The rest (dataplane, rest, grpcserver, metrics, cloudevent, gctune,
// pb/pbconv) is the server's own machinery, which Server wires together; a
// model needs none of it. Package pb holds the generated gRPC stubs of the
// Open Inference Protocol, for a client that wants them raw.
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
// import cycles). Every model implements Model and Predictor; the others
// are optional capabilities the server finds by type assertion, as
// net/http finds http.Flusher.
type (
	// Model is the lifecycle every served model has: Name, Load, Ready.
	Model = model.Model
	// Predictor runs inference; every model implements it.
	Predictor = model.Predictor
	// Preprocessor, optional, transforms a request before Predict.
	Preprocessor = model.Preprocessor
	// Postprocessor, optional, transforms a response after Predict.
	Postprocessor = model.Postprocessor
	// Explainer, optional, answers v1 :explain requests (without it they
	// are a 501).
	Explainer = model.Explainer
	// MetadataProvider, optional, describes the model's tensors for v2
	// model metadata.
	MetadataProvider = model.MetadataProvider
	// PlatformProvider, optional, sets the "platform" of v2 model metadata.
	PlatformProvider = model.PlatformProvider
	// Unloader, optional, releases the model's resources when it is
	// unloaded or the server stops.
	Unloader = model.Unloader
	// NotReadyReasoner, optional, says why a model is not ready, in the
	// 503 of requests and readiness probes.
	NotReadyReasoner = model.NotReadyReasoner
	// Labeler, optional, names the classes of a model's outputs, so the
	// classification extension answers "value:index:label".
	Labeler = model.Labeler
	// Unbounded, optional, exempts a model's Predict from the
	// --max_asyncio_workers limit (a model that feeds a dynamic batcher).
	Unbounded = model.Unbounded
	// Headers carries the request's headers into the model and the
	// response headers it sets.
	Headers = model.Headers
	// TensorMetadata is one input or output of v2 model metadata.
	TensorMetadata = model.TensorMetadata
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

// InvalidInputf is InvalidInput with a formatted reason (status.InvalidInputf):
// a 400 over REST and INVALID_ARGUMENT over gRPC, with the reason as the
// message. It is a function, not a re-exported variable like InvalidInput,
// so that go vet checks its format string.
func InvalidInputf(format string, args ...any) *status.Error {
	return status.InvalidInputf(format, args...)
}

// Logger is the logger for model code, from the context the server passes
// to Load, Unload, Predict and the other pipeline steps: the server's
// "kserve" logger, so the model's lines follow --log_config_file and
// KSERVE_LOGLEVEL (see model.Logger; slog.Default() outside the server).
func Logger(ctx context.Context) *slog.Logger { return model.Logger(ctx) }

// PredictResponse is KServe's get_predict_response (see infer.PredictResponse).
func PredictResponse(req *infer.Request, modelName string, result any) (*infer.Response, error) {
	return infer.PredictResponse(req, modelName, result)
}
