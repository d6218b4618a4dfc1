// Command soakserver is the model server the soak driver
// (runtime/internal/bench/soak) runs against: the real runtime.Server with
// KServe's flags, serving three models so that one process sees every
// path a long-running pod does.
//
//   - "fast" returns its first input (v1: its instances), as
//     examples/passthrough does;
//
//   - "slow" does the same after --slow_delay, ignoring its context, so a
//     client that gives up leaves the worker owning the call until the
//     model returns (dataplane.Infer) and overload 503s can be provoked;
//
//   - "cycle" is "fast" with an Unload, for repository unload/load cycles.
//
//     go run ./internal/bench/soak/soakserver --http_port=8080 --grpc_port=8081 --max_queued_requests=8
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

// echo returns what it is given, after delay.
type echo struct {
	name  string
	delay time.Duration
	ready atomic.Bool
}

func (m *echo) Name() string                 { return m.name }
func (m *echo) Load(context.Context) error   { m.ready.Store(true); return nil }
func (m *echo) Ready() bool                  { return m.ready.Load() }
func (m *echo) Unload(context.Context) error { m.ready.Store(false); return nil }

// Predict echoes the request. The delay deliberately ignores ctx: a model
// stuck in a native call cannot be interrupted, and the server must still
// release everything once it returns.
func (m *echo) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	if m.delay > 0 {
		time.Sleep(m.delay)
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
	p := config.NewParser("fast")
	slow := p.FlagSet().Duration("slow_delay", 300*time.Millisecond, "time each predict of the \"slow\" model takes")
	cfg, err := p.Parse(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	models := []runtime.Model{&echo{name: "fast"}, &echo{name: "slow", delay: *slow}, &echo{name: "cycle"}}
	if err := runtime.NewServer(*cfg).Run(ctx, models...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
