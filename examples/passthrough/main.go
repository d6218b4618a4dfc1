// Command passthrough serves a model that returns its input: over v1 it
// answers {"predictions": instances}, over v2 (REST and gRPC) it returns its
// first input as "output-0". It is the model KServe's reference exchanges in
// shared/reference/kserve-0.20 were recorded with.
//
//	go run . --model_name=passthrough --http_port=8080 --grpc_port=8081
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Passthrough returns what it is given.
type Passthrough struct {
	name      string
	delay     time.Duration
	loadDelay time.Duration
	ready     atomic.Bool
}

// Name is the model name on the endpoint paths.
func (m *Passthrough) Name() string { return m.name }

// Load has nothing to load; --load_delay makes it take a while, as
// loading real weights does.
func (m *Passthrough) Load(ctx context.Context) error {
	select {
	case <-time.After(m.loadDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	m.ready.Store(true)
	return nil
}

// Ready reports whether Load ran.
func (m *Passthrough) Ready() bool { return m.ready.Load() }

// Predict echoes the request.
func (m *Passthrough) Predict(ctx context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if req.Protocol == infer.ProtocolV1 && !req.IsJSON {
		return &infer.Response{Raw: req.Body, ContentType: req.ContentType}, nil
	}
	if req.Protocol == infer.ProtocolV1 {
		return runtime.PredictResponse(req, m.name, req.RawInstances())
	}
	if len(req.Inputs) == 0 {
		return nil, runtime.InvalidInput("expected at least one input")
	}
	in := req.Inputs[0]
	out := &infer.Tensor{Name: "output-0", Datatype: in.Datatype, Shape: in.Shape, Data: in.Data}
	return runtime.PredictResponse(req, m.name, out)
}

func main() {
	p := config.NewParser("passthrough")
	// A flag of our own next to KServe's, as the seed extends KServe's parser.
	delay := p.FlagSet().Duration("predict_delay", 0, "time each predict takes (to simulate a slow model)")
	loadDelay := p.FlagSet().Duration("load_delay", 0, "time Load takes (to simulate loading weights)")
	cfg, err := p.ParseLookup(os.Args[1:], os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // Parse printed the usage and the error, as argparse does
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	if err := runtime.NewServer(*cfg).Run(ctx, &Passthrough{name: cfg.ModelName, delay: *delay, loadDelay: *loadDelay}); err != nil {
		fmt.Fprintln(os.Stderr, err) // once: the runtime logs none of the errors it returns
		os.Exit(1)
	}
}
