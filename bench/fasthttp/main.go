// Command fasthttp measures what the REST transport costs: the same
// request served by github.com/valyala/fasthttp instead of net/http.
// scripts/bench-rest.sh runs it with FAST=1 beside the net/http floor and
// examples/passthrough (docs/performance.md, "the transport").
//
// -mode echo answers every POST with its body, as runtime/internal/bench/httpecho
// does over net/http. -mode v2 serves the passthrough's v2 route,
// POST /v2/models/passthrough/infer, with everything the runtime's REST
// path does for it but net/http: the body decoded by infer.DecodeRequestFor,
// the pipeline handed to a dataplane worker, the answer encoded by
// infer.AppendResponseJSON into fasthttp's response buffer, the request
// counted in the metrics, and KServe's latency and access lines written by
// package logging. It is a measurement, not a server: no binary extension,
// content-type checks, error bodies or other routes.
//
// It is its own module so that the runtime and the projects built on it do
// not depend on fasthttp.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	// Linked for its packages' live heap: the passthrough links them, and
	// what they keep live sets how often the collector runs (about 6 % of
	// a small request's CPU for the AWS SDK's tables alone), so without
	// them this server would gain on that count too.
	_ "github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/logging"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

const route = "/v2/models/passthrough/infer"

// passthrough returns its first input as output-0, as examples/passthrough does over v2.
type passthrough struct{}

func (passthrough) Name() string               { return "passthrough" }
func (passthrough) Load(context.Context) error { return nil }
func (passthrough) Ready() bool                { return true }
func (passthrough) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	in := req.Inputs[0]
	return infer.PredictResponse(req, "passthrough", &infer.Tensor{Name: "output-0", Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18092", "listen address")
	mode := flag.String("mode", "echo", "echo, or v2 (the passthrough's v2 route)")
	flag.Parse()
	var h fasthttp.RequestHandler
	switch *mode {
	case "echo":
		h = func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBody(ctx.PostBody())
		}
	case "v2":
		var err error
		if h, err = v2Handler(context.Background()); err != nil {
			log.Fatal(err)
		}
	default:
		fmt.Fprintf(os.Stderr, "fasthttp: -mode %q: want echo or v2\n", *mode)
		os.Exit(2)
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, h))
}

// v2Handler serves route with the runtime's dataplane, codecs, metrics and
// log lines, as runtime.Server's defaults set them up (--max_asyncio_workers
// 6 on two cores, latency logging on).
func v2Handler(ctx context.Context) (fasthttp.RequestHandler, error) {
	logs, err := logging.Setup(logging.Options{Configure: true, Level: "INFO"})
	if err != nil {
		return nil, err
	}
	dp := dataplane.New(dataplane.Options{
		MaxConcurrency: 6,
		Metrics:        metrics.New(),
		Latency: func(id string, t dataplane.Timings) {
			logs.LogLatency(id, t.Preprocess, t.Explain, t.Predict, t.Postprocess)
		},
	})
	if err := dp.Register(passthrough{}, ""); err != nil {
		return nil, err
	}
	if err := dp.StartModel(ctx, "passthrough"); err != nil {
		return nil, err
	}
	var noHeaders http.Header
	return func(c *fasthttp.RequestCtx) {
		start := time.Now()
		status, in, out := http.StatusNotFound, len(c.PostBody()), 0
		if c.IsPost() && string(c.Path()) == route {
			b, err := answer(c, dp, noHeaders)
			if err != nil {
				status = http.StatusInternalServerError
				c.SetBodyString(err.Error())
			} else {
				status, out = http.StatusOK, len(b)
				c.SetContentType("application/json")
				c.SetBody(b)
			}
			dp.Record("passthrough", infer.ProtocolV2, dataplane.Predict, in, out, "")
		}
		c.SetStatusCode(status)
		logs.LogAccess(logging.AccessRecord{
			ClientAddr: c.RemoteAddr().String(), Method: string(c.Method()), Path: string(c.Path()),
			Proto: "HTTP/1.1", Status: status, BytesSent: int64(out), Start: start, Duration: time.Since(start),
		})
	}, nil
}

// answer runs the v2 pipeline on c's body and returns the response's JSON.
func answer(c *fasthttp.RequestCtx, dp *dataplane.Dataplane, h http.Header) ([]byte, error) {
	req, err := infer.DecodeRequestFor("passthrough", c.PostBody(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := dp.Infer(c, "passthrough", dataplane.Predict, req, model.NewHeaders(h))
	if err != nil {
		return nil, err
	}
	return infer.AppendResponseJSON(c.Response.Body()[:0], resp)
}
