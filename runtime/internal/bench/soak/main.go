//go:build linux

// Command soak drives a running model server with hours of mixed traffic at
// a fixed, moderate rate and prints, every -interval, what a long-running
// pod accumulates: the server's RSS, open fds and threads (from /proc, for
// the process and each --workers child), its goroutines, Go heap and
// /metrics series (from its own /metrics), and per class of request how
// many answers were right, wrong, shed (503) or lost to the network. At
// the end it prints first, last and slope per hour of each figure, so a
// leak shows as a slope that does not fall to zero.
//
// The traffic: v1 predict, v2 JSON, the v2 binary extension (FP32, FP16,
// INT8, UINT64, BOOL, BYTES), gRPC ModelInfer (typed and raw contents),
// bad requests (malformed JSON, wrong shapes, unknown and random model
// names, oversized declared bodies, random headers), clients that give up
// on a slow model (REST and gRPC), connections closed mid-body, overload
// bursts (503 with --max_queued_requests), /metrics scrapes, health probes
// (REST and gRPC, health Watch streams), repository unload/load cycles,
// on keep-alive and on new connections (gRPC too). It is meant for
// soakserver (same folder), whose "slow" model ignores its context, so a
// client that gives up leaves the worker owning the call.
//
//	go build -o /tmp/soakserver ./internal/bench/soak/soakserver
//	/tmp/soakserver --http_port=8080 --grpc_port=8081 --max_queued_requests=8 &
//	go run ./internal/bench/soak -pid $! -duration 30m
//
// With -kill-every the driver SIGKILLs one of the server's child processes
// (a --workers N worker) that often, to check that the supervisor restarts
// it, the port keeps serving and the supervisor does not leak.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// settings are the command's flags.
type settings struct {
	http, grpc     string
	pid            int
	rate           float64
	duration       time.Duration
	interval       time.Duration
	killEvery      time.Duration
	burstEvery     time.Duration
	burstSize      int
	cycleEvery     time.Duration
	newConnPercent int
	cancelRate     float64
	stallEvery     time.Duration
	stallFor       time.Duration
	checkPercent   int
	conc           int
}

func main() {
	var s settings
	flag.StringVar(&s.http, "http", "127.0.0.1:8080", "server REST address")
	flag.StringVar(&s.grpc, "grpc", "127.0.0.1:8081", "server gRPC address")
	flag.IntVar(&s.pid, "pid", 0, "server process id, for RSS, fds and threads (0: not sampled)")
	flag.Float64Var(&s.rate, "rate", 1500, "requests per second of the mix (probes, scrapes, bursts and cycles come on top)")
	flag.DurationVar(&s.duration, "duration", 10*time.Minute, "how long to run")
	flag.DurationVar(&s.interval, "interval", 30*time.Second, "time between sample lines")
	flag.DurationVar(&s.killEvery, "kill-every", 0, "SIGKILL one child process of -pid this often (--workers N); 0: never")
	flag.DurationVar(&s.burstEvery, "burst-every", 30*time.Second, "overload burst period (concurrent requests to the slow model); 0: none")
	flag.IntVar(&s.burstSize, "burst", 24, "requests in an overload burst")
	flag.DurationVar(&s.cycleEvery, "cycle-every", 5*time.Second, "repository unload/load period of the \"cycle\" model; 0: none")
	flag.Float64Var(&s.cancelRate, "cancel-rate", 4, "requests per second to the slow model that the client gives up on (each holds a model slot for --slow_delay)")
	flag.DurationVar(&s.stallEvery, "stall-every", 5*time.Second, "how often a client asks for a 6 MB answer and reads none of it for -stall-for; 0: never")
	flag.DurationVar(&s.stallFor, "stall-for", 15*time.Second, "how long such a client reads nothing (the server should cut it off after --read_header_timeout)")
	flag.IntVar(&s.newConnPercent, "new-conn", 10, "percent of REST requests sent on a new connection")
	flag.IntVar(&s.checkPercent, "check", 10, "percent of successful answers whose body is checked in full")
	flag.IntVar(&s.conc, "c", 64, "client goroutines")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// outcome is how one request ended.
type outcome int

const (
	ok     outcome = iota
	wrong          // an unexpected status or body
	shed           // 503 overload, which the mix provokes on purpose
	neterr         // the connection failed (a worker killed under it)
	nOutcomes
)

// class counts the outcomes of one kind of request.
type class struct {
	name   string
	counts [nOutcomes]atomic.Int64
	shown  atomic.Int32 // wrong answers printed so far
}

func (c *class) record(o outcome, detail string) {
	c.counts[o].Add(1)
	if o == wrong && c.shown.Add(1) <= 5 {
		fmt.Fprintf(os.Stderr, "soak: %s: %s\n", c.name, detail)
	}
}

// driver holds the clients and the classes.
type driver struct {
	s         settings
	base      string
	keep, new *http.Client
	infer     pb.GRPCInferenceServiceClient
	health    healthpb.HealthClient
	classes   []*class
	byName    map[string]*class
	dropped   atomic.Int64 // ticks with every client goroutine busy
}

func (d *driver) class(name string) *class {
	if c := d.byName[name]; c != nil {
		return c
	}
	c := &class{name: name}
	d.byName[name] = c
	d.classes = append(d.classes, c)
	return c
}

// kind is one entry of the mix.
type kind struct {
	weight int
	c      *class
	do     func(ctx context.Context, r *rand.Rand, c *class)
}

func run(ctx context.Context, s settings) error {
	tr := &http.Transport{MaxIdleConnsPerHost: s.conc, MaxIdleConns: s.conc, IdleConnTimeout: time.Minute}
	conn, err := grpc.NewClient(s.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("grpc client for %s: %w", s.grpc, err)
	}
	defer conn.Close()
	d := &driver{
		s: s, base: "http://" + s.http,
		keep:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		new:    &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second},
		infer:  pb.NewGRPCInferenceServiceClient(conn),
		health: healthpb.NewHealthClient(conn),
		byName: map[string]*class{},
	}
	mix := d.mix()
	// Every class exists before the goroutines start: byName is read, never
	// written, from then on.
	for _, name := range []string{"probe", "metrics", "repository", "overload", "kill", "cancelled-slow", "stalled-reader"} {
		d.class(name)
	}
	total := 0
	for _, k := range mix {
		total += k.weight
	}

	ctx, cancel := context.WithTimeout(ctx, s.duration)
	defer cancel()
	var wg sync.WaitGroup
	tokens := make(chan struct{}, s.conc)
	for i := range s.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for range tokens {
				n := r.IntN(total)
				for _, k := range mix {
					if n < k.weight {
						k.do(ctx, r, k.c)
						break
					}
					n -= k.weight
				}
			}
		}()
	}
	d.every(ctx, &wg, 50*time.Millisecond, d.probe)
	d.every(ctx, &wg, time.Second, d.scrape)
	if s.cycleEvery > 0 {
		d.every(ctx, &wg, s.cycleEvery, d.cycle)
	}
	if s.burstEvery > 0 {
		d.every(ctx, &wg, s.burstEvery, d.burst)
	}
	if s.cancelRate > 0 {
		d.every(ctx, &wg, time.Duration(float64(time.Second)/s.cancelRate), func(ctx context.Context) {
			d.cancelSlow(ctx, rand.New(rand.NewPCG(rand.Uint64(), 0)), d.byName["cancelled-slow"])
		})
	}
	if s.stallEvery > 0 {
		d.every(ctx, &wg, s.stallEvery, func(ctx context.Context) {
			wg.Go(func() { d.stalledReader(ctx, d.byName["stalled-reader"]) })
		})
	}
	if s.killEvery > 0 && s.pid > 0 {
		d.every(ctx, &wg, s.killEvery, d.killWorker)
	}
	sampler := newSampler(d)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sampler.loop(ctx)
	}()

	// Tokens at a fixed rate, whatever the answers' latency: a ticker and
	// the fraction carried over, so a slow answer does not slow the mix.
	tick := time.NewTicker(2 * time.Millisecond)
	last, owed := time.Now(), 0.0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			owed += now.Sub(last).Seconds() * s.rate
			last = now
			for ; owed >= 1; owed-- {
				select {
				case tokens <- struct{}{}:
				default:
					d.dropped.Add(1)
				}
			}
		}
	}
	tick.Stop()
	close(tokens)
	wg.Wait()
	// The last line is taken once the traffic has stopped and the driver's
	// keep-alive connections are closed: the server should be back to its
	// figures at start (goroutines, fds), whatever it served meanwhile.
	tr.CloseIdleConnections()
	conn.Close()
	time.Sleep(2 * time.Second)
	fmt.Println("idle, connections closed:")
	sampler.sample(context.Background())
	sampler.summary()
	return nil
}

// every runs fn each period until ctx ends.
func (d *driver) every(ctx context.Context, wg *sync.WaitGroup, period time.Duration, fn func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// reply is an HTTP answer read in full.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// post sends a request on a keep-alive or, now and then, a new connection.
func (d *driver) post(ctx context.Context, r *rand.Rand, path, ctype string, body []byte, hdr map[string]string) (reply, error) {
	return d.do(ctx, r, http.MethodPost, path, ctype, body, hdr)
}

func (d *driver) do(ctx context.Context, r *rand.Rand, method, path, ctype string, body []byte, hdr map[string]string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := d.keep
	if r != nil && r.IntN(100) < d.s.newConnPercent {
		c = d.new
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}, err
}

// judge records a REST answer: want is the expected status, check (may be
// nil) is run on the body of a sample of the answers with that status.
func (d *driver) judge(ctx context.Context, r *rand.Rand, c *class, rep reply, err error, want int, check func([]byte) error) {
	switch {
	case err != nil:
		if runOver(ctx) {
			return
		}
		c.record(neterr, err.Error())
	case rep.code == http.StatusServiceUnavailable && bytes.Contains(rep.body, []byte("overloaded")):
		c.record(shed, "")
	case rep.code != want:
		c.record(wrong, fmt.Sprintf("status %d, want %d: %.200s", rep.code, want, rep.body))
	case check != nil && d.checkThis(r):
		if err := check(rep.body); err != nil {
			c.record(wrong, fmt.Sprintf("%v: %.200s", err, rep.body))
			return
		}
		c.record(ok, "")
	default:
		c.record(ok, "")
	}
}

// runOver reports whether the run's time is up. Its deadline is checked as
// well as ctx.Err(): grpc-go fails a call with DeadlineExceeded once the
// deadline has passed, which can be a moment before ctx's own timer marks
// ctx done, and such a call was counted as a wrong answer at the end of a
// run.
func runOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// checkThis draws whether an answer's body is checked in full; r is the
// goroutine's own source, nil for the periodic senders.
func (d *driver) checkThis(r *rand.Rand) bool {
	if r == nil {
		return rand.IntN(100) < d.s.checkPercent
	}
	return r.IntN(100) < d.s.checkPercent
}

// exact is a body check for one expected body.
func exact(want string) func([]byte) error {
	return func(b []byte) error {
		if string(b) != want {
			return fmt.Errorf("body differs from %s", want)
		}
		return nil
	}
}

// v2Output checks a v2 JSON answer's one output against the data sent.
func v2Output(datatype string, shape []int64, data string) func([]byte) error {
	return func(b []byte) error {
		var resp struct {
			ModelName string `json:"model_name"`
			Outputs   []struct {
				Name     string          `json:"name"`
				Datatype string          `json:"datatype"`
				Shape    []int64         `json:"shape"`
				Data     json.RawMessage `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			return err
		}
		if len(resp.Outputs) != 1 {
			return fmt.Errorf("%d outputs, want 1", len(resp.Outputs))
		}
		o := resp.Outputs[0]
		if resp.ModelName != "fast" || o.Name != "output-0" || o.Datatype != datatype || !slices.Equal(o.Shape, shape) || string(o.Data) != data {
			return fmt.Errorf("output differs from %s %v %s", datatype, shape, data)
		}
		return nil
	}
}

// binTensor is one input of a binary-extension request.
type binTensor struct {
	datatype string
	shape    []int64
	raw      []byte
}

var binTensors = []binTensor{
	{"FP32", []int64{2, 2}, le32(math.Float32bits(1), math.Float32bits(-2.5), math.Float32bits(3), math.Float32bits(0))},
	{"FP16", []int64{1, 3}, []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}}, // 1, -2, 0.5
	{"INT8", []int64{4}, []byte{0x01, 0xff, 0x7f, 0x80}},
	{"UINT64", []int64{1, 1}, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	{"BOOL", []int64{3}, []byte{1, 0, 1}},
	{"BYTES", []int64{2}, append(append(le32(5), "hello"...), append(le32(3), "\x00é"...)...)},
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// mix is the weighted list of requests the client goroutines draw from.
func (d *driver) mix() []kind {
	const (
		v1Req  = `{"instances":[[1.5,2,3,4],[5,6,7,8]]}`
		v1Resp = `{"predictions":[[1.5,2,3,4],[5,6,7,8]]}`
		v2Req  = `{"id":"s","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4.5,5,6]}]}`
		v2Int  = `{"inputs":[{"name":"x","shape":[3],"datatype":"INT64","data":[1,-2,9007199254740993]}]}`
		v2Str  = `{"inputs":[{"name":"x","shape":[2],"datatype":"BYTES","data":["a","\u00e9\n"]}]}`
		js     = "application/json"
	)
	fastV1, fastV2 := "/v1/models/fast:predict", "/v2/models/fast/infer"
	return []kind{
		{25, d.class("v1"), func(ctx context.Context, r *rand.Rand, c *class) {
			rep, err := d.post(ctx, r, fastV1, js, []byte(v1Req), nil)
			d.judge(ctx, r, c, rep, err, 200, exact(v1Resp))
		}},
		{12, d.class("v2-json"), func(ctx context.Context, r *rand.Rand, c *class) {
			rep, err := d.post(ctx, r, fastV2, js, []byte(v2Req), nil)
			d.judge(ctx, r, c, rep, err, 200, v2Output("FP32", []int64{2, 3}, "[1.0,2.0,3.0,4.5,5.0,6.0]"))
		}},
		{4, d.class("v2-json"), func(ctx context.Context, r *rand.Rand, c *class) {
			rep, err := d.post(ctx, r, fastV2, js, []byte(v2Int), nil)
			d.judge(ctx, r, c, rep, err, 200, v2Output("INT64", []int64{3}, "[1,-2,9007199254740993]"))
		}},
		{4, d.class("v2-json"), func(ctx context.Context, r *rand.Rand, c *class) {
			rep, err := d.post(ctx, r, fastV2, js, []byte(v2Str), nil)
			d.judge(ctx, r, c, rep, err, 200, v2Output("BYTES", []int64{2}, `["a","é\n"]`))
		}},
		{15, d.class("v2-binary"), d.binary},
		{12, d.class("grpc-typed"), d.grpcTyped},
		{8, d.class("grpc-raw"), d.grpcRaw},
		{3, d.class("bad-json"), func(ctx context.Context, r *rand.Rand, c *class) {
			if r.IntN(2) == 0 {
				rep, err := d.post(ctx, r, fastV1, js, []byte(`{"instances":[[1,2]`), nil)
				d.judge(ctx, r, c, rep, err, 400, exact(`{"error":"Unrecognized request format: unexpected end of JSON input at offset 19"}`))
				return
			}
			rep, err := d.post(ctx, r, fastV2, js, []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1,`), nil)
			d.judge(ctx, r, c, rep, err, 422, nil)
		}},
		{3, d.class("bad-shape"), func(ctx context.Context, r *rand.Rand, c *class) {
			rep, err := d.post(ctx, r, fastV2, js, []byte(`{"inputs":[{"name":"a","shape":[1,3],"datatype":"FP32","data":[1,2]}]}`), nil)
			d.judge(ctx, r, c, rep, err, 400, exact(`{"error":"input a: shape [1, 3] expects 3 elements, but 2 were given"}`))
		}},
		{3, d.class("unknown-model"), func(ctx context.Context, r *rand.Rand, c *class) {
			// A new name every time, and a new header name: neither may
			// add series to /metrics.
			name := fmt.Sprintf("m%08x", r.Uint32())
			hdr := map[string]string{fmt.Sprintf("X-Soak-%x", r.Uint32()): "1"}
			want := exact(`{"error":"Model with name ` + name + ` does not exist."}`)
			var rep reply
			var err error
			switch r.IntN(3) {
			case 0:
				rep, err = d.post(ctx, r, "/v1/models/"+name+":predict", js, []byte(v1Req), hdr)
			case 1:
				rep, err = d.post(ctx, r, "/v2/models/"+name+"/infer", js, []byte(v2Req), hdr)
			default:
				rep, err = d.do(ctx, r, http.MethodGet, "/v2/models/"+name+"/ready", "", nil, hdr)
			}
			d.judge(ctx, r, c, rep, err, 404, want)
		}},
		{1, d.class("unknown-model"), func(ctx context.Context, r *rand.Rand, c *class) {
			_, err := d.infer.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: fmt.Sprintf("g%08x", r.Uint32()),
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1},
					Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
			d.judgeGRPC(ctx, c, err, codes.NotFound)
		}},
		{2, d.class("oversized"), d.oversized},
		{2, d.class("closed-mid-body"), d.closedMidBody},
	}
}

// binary sends a binary-extension request of one datatype, asking for a
// binary answer half of the time.
func (d *driver) binary(ctx context.Context, r *rand.Rand, c *class) {
	t := binTensors[r.IntN(len(binTensors))]
	binOut := r.IntN(2) == 0
	hdr := map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": t.datatype, "shape": t.shape,
		"parameters": map[string]any{"binary_data_size": len(t.raw)}}}}
	if binOut || t.datatype == "FP16" { // FP16 is binary-only
		binOut = true
		hdr["parameters"] = map[string]any{"binary_data_output": true}
	}
	h, _ := json.Marshal(hdr)
	body := append(append([]byte{}, h...), t.raw...)
	rep, err := d.post(ctx, r, "/v2/models/fast/infer", "application/octet-stream", body,
		map[string]string{"Inference-Header-Content-Length": strconv.Itoa(len(h))})
	check := func(b []byte) error {
		if !binOut {
			if !bytes.Contains(b, []byte(`"datatype":"`+t.datatype+`"`)) {
				return fmt.Errorf("%s answer without its datatype", t.datatype)
			}
			return nil
		}
		n, err := strconv.Atoi(rep.header.Get("Inference-Header-Content-Length"))
		if err != nil || n > len(b) {
			return fmt.Errorf("%s: bad inference-header-content-length %q", t.datatype, rep.header.Get("Inference-Header-Content-Length"))
		}
		if !bytes.Equal(b[n:], t.raw) {
			return fmt.Errorf("%s: binary output %x, want %x", t.datatype, b[n:], t.raw)
		}
		return nil
	}
	d.judge(ctx, r, c, rep, err, 200, check)
}

func (d *driver) grpcTyped(ctx context.Context, r *rand.Rand, c *class) {
	in := []float32{1, 2.5, -3, float32(r.IntN(100))}
	resp, err := d.infer.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "fast", Id: "t",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 4},
			Contents: &pb.InferTensorContents{Fp32Contents: in}}}})
	if d.judgeGRPC(ctx, c, err, codes.OK) && d.checkThis(r) {
		var got []float32
		if len(resp.GetOutputs()) == 1 {
			got = resp.Outputs[0].GetContents().GetFp32Contents()
			if raw := resp.GetRawOutputContents(); len(raw) == 1 {
				got = nil
				for i := 0; i+4 <= len(raw[0]); i += 4 {
					got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(raw[0][i:])))
				}
			}
		}
		if !slices.Equal(got, in) || resp.GetId() != "t" {
			c.counts[ok].Add(-1)
			c.record(wrong, fmt.Sprintf("answer %v, want %v", resp, in))
		}
	}
}

func (d *driver) grpcRaw(ctx context.Context, r *rand.Rand, c *class) {
	t := binTensors[r.IntN(len(binTensors))]
	resp, err := d.infer.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "fast",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: t.datatype, Shape: t.shape}},
		RawInputContents: [][]byte{t.raw}})
	if d.judgeGRPC(ctx, c, err, codes.OK) && d.checkThis(r) {
		if raw := resp.GetRawOutputContents(); len(raw) != 1 || !bytes.Equal(raw[0], t.raw) {
			c.counts[ok].Add(-1)
			c.record(wrong, fmt.Sprintf("%s: raw output %x, want %x", t.datatype, raw, t.raw))
		}
	}
}

// judgeGRPC records a gRPC answer; it reports whether it was the code wanted.
func (d *driver) judgeGRPC(ctx context.Context, c *class, err error, want codes.Code) bool {
	code := status.Code(err)
	switch {
	case runOver(ctx):
		return false
	case code == want:
		c.record(ok, "")
		return true
	case code == codes.Unavailable && strings.Contains(err.Error(), "overloaded"):
		c.record(shed, "")
	case code == codes.Unavailable:
		c.record(neterr, err.Error())
	default:
		c.record(wrong, fmt.Sprintf("code %v, want %v: %v", code, want, err))
	}
	return false
}

// cancelSlow gives up on the slow model (which ignores its context) long
// before it answers, over REST or gRPC.
func (d *driver) cancelSlow(ctx context.Context, r *rand.Rand, c *class) {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(10+r.IntN(90))*time.Millisecond)
	defer cancel()
	var err error
	var code int
	if r.IntN(2) == 0 {
		var rep reply
		rep, err = d.post(cctx, r, "/v1/models/slow:predict", "application/json", []byte(`{"instances":[1]}`), nil)
		code = rep.code
	} else {
		_, err = d.infer.ModelInfer(cctx, &pb.ModelInferRequest{ModelName: "slow",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1},
				Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
		if err == nil {
			code = 200
		}
	}
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		c.record(ok, "")
	case code == http.StatusServiceUnavailable || status.Code(err) == codes.Unavailable:
		c.record(shed, "")
	case errors.As(err, &opErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.record(neterr, err.Error()) // a worker killed under it (a reset, or the connection closed: EOF)
	default:
		c.record(wrong, fmt.Sprintf("answered (status %d, %v) before the client gave up", code, err))
	}
}

// stalledReader asks for a large answer on a connection with a small
// receive buffer and reads nothing of it for -stall-for: the server must
// give the connection up (--read_header_timeout), not hold the answer and
// a goroutine for as long as the client stays.
func (d *driver) stalledReader(ctx context.Context, c *class) {
	values := strings.TrimSuffix(strings.Repeat("1.5,", 3<<19), ",") // 6 MB each way
	body := `{"instances":[` + values + `]}`
	dl := net.Dialer{Control: smallReceiveBuffer}
	conn, dialed := d.dial(ctx, c, &dl)
	if !dialed {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(d.s.stallFor + time.Minute))
	if _, err := fmt.Fprintf(conn, "POST /v1/models/fast:predict HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.record(neterr, err.Error())
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		c.record(neterr, err.Error())
		return
	}
	defer resp.Body.Close()
	select {
	case <-ctx.Done():
		return
	case <-time.After(d.s.stallFor):
	}
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		c.record(shed, "")
	case err != nil && n < resp.ContentLength:
		c.record(ok, "") // cut off
	default:
		c.record(wrong, fmt.Sprintf("status %d: read %d of %d bytes (%v) after reading nothing for %s: the server held the answer", resp.StatusCode, n, resp.ContentLength, err, d.s.stallFor))
	}
}

// dial connects to the server's REST port, recording a failure in c
// unless the run is ending.
func (d *driver) dial(ctx context.Context, c *class, dl *net.Dialer) (net.Conn, bool) {
	conn, err := dl.DialContext(ctx, "tcp", d.s.http)
	if err != nil {
		if ctx.Err() == nil {
			c.record(neterr, err.Error())
		}
		return nil, false
	}
	return conn, true
}

// oversized declares a body over the 64 MiB default and sends a little of
// it: the server must refuse it before reading it. net/http's client
// cannot send such a request, so it is written by hand.
func (d *driver) oversized(ctx context.Context, r *rand.Rand, c *class) {
	var dl net.Dialer
	conn, dialed := d.dial(ctx, c, &dl)
	if !dialed {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := fmt.Fprintf(conn, "POST /v1/models/fast:predict HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{\"instances\":[")
	var rep reply
	if err == nil {
		var resp *http.Response
		resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			rep.code, rep.header = resp.StatusCode, resp.Header
			rep.body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
	}
	d.judge(ctx, r, c, rep, err, 413, exact(`{"error":"Request body too large: the limit is 67108864 bytes (--max_request_body_size)."}`))
}

// closedMidBody opens a connection, declares a body and closes it part way.
func (d *driver) closedMidBody(ctx context.Context, r *rand.Rand, c *class) {
	var dl net.Dialer
	conn, dialed := d.dial(ctx, c, &dl)
	if !dialed {
		return
	}
	body := `{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[1,2,`
	if r.IntN(2) == 0 {
		body = "" // headers only
	}
	_, err := fmt.Fprintf(conn, "POST /v2/models/fast/infer HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n%s", body)
	conn.Close()
	if err != nil {
		c.record(neterr, err.Error())
		return
	}
	c.record(ok, "")
}

// probe is a liveness or readiness probe, REST or gRPC, as kubelet and
// clients send them between the requests.
func (d *driver) probe(ctx context.Context) {
	c := d.class("probe")
	restProbes := []string{"/v2/health/live", "/v2/models/fast/ready", "/v1/models/fast", "/"}
	switch n := rand.IntN(8); n {
	case 0, 1, 2, 3:
		rep, err := d.do(ctx, nil, http.MethodGet, restProbes[n], "", nil, nil)
		d.judge(ctx, nil, c, rep, err, 200, nil)
	case 4:
		resp, err := d.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "fast"})
		if d.judgeGRPC(ctx, c, err, codes.OK) && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			c.record(wrong, "fast not SERVING: "+resp.GetStatus().String())
		}
	case 5:
		// A Watch held for a moment, then cancelled by its client.
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		w, err := d.health.Watch(wctx, &healthpb.HealthCheckRequest{Service: "fast"})
		var resp *healthpb.HealthCheckResponse
		if err == nil {
			resp, err = w.Recv()
		}
		if d.judgeGRPC(ctx, c, err, codes.OK) && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			c.record(wrong, "Watch: fast not SERVING: "+resp.GetStatus().String())
		}
		<-wctx.Done()
	case 6:
		// A client that opens its own gRPC connection for one call.
		conn, err := grpc.NewClient(d.s.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			c.record(wrong, err.Error())
			return
		}
		defer conn.Close()
		_, err = pb.NewGRPCInferenceServiceClient(conn).ServerReady(ctx, &pb.ServerReadyRequest{})
		d.judgeGRPC(ctx, c, err, codes.OK)
	default:
		_, err := d.infer.ServerLive(ctx, &pb.ServerLiveRequest{})
		d.judgeGRPC(ctx, c, err, codes.OK)
	}
}

// scrape reads /metrics as Prometheus does.
func (d *driver) scrape(ctx context.Context) {
	rep, err := d.do(ctx, nil, http.MethodGet, "/metrics", "", nil, nil)
	d.judge(ctx, nil, d.class("metrics"), rep, err, 200, nil)
}

// cycle unloads the "cycle" model and loads it again; with --workers N it
// reaches whichever worker answers, so 404 (not loaded there) is right too.
func (d *driver) cycle(ctx context.Context) {
	c := d.class("repository")
	for _, op := range []string{"unload", "load"} {
		rep, err := d.do(ctx, nil, http.MethodPost, "/v2/repository/models/cycle/"+op, "", nil, nil)
		if err == nil && rep.code == 404 && op == "unload" {
			rep.code = 200
		}
		d.judge(ctx, nil, c, rep, err, 200, nil)
	}
}

// burst sends more concurrent requests to the slow model than it has slots
// and queue: the rest must be turned away with a 503 at once.
func (d *driver) burst(ctx context.Context) {
	c := d.class("overload")
	var wg sync.WaitGroup
	for range d.s.burstSize {
		wg.Go(func() {
			rep, err := d.post(ctx, nil, "/v1/models/slow:predict", "application/json", []byte(`{"instances":[2]}`), nil)
			d.judge(ctx, nil, c, rep, err, 200, exact(`{"predictions":[2]}`))
		})
	}
	wg.Wait()
}

// killWorker SIGKILLs one child of the server process (a --workers worker).
func (d *driver) killWorker(context.Context) {
	kids := children(d.s.pid)
	if len(kids) == 0 {
		return
	}
	victim := kids[rand.IntN(len(kids))]
	if err := syscall.Kill(victim, syscall.SIGKILL); err == nil {
		d.class("kill").record(ok, "")
	}
}

// children lists the child processes of pid running the same executable
// (the --workers processes, not a shell's helpers).
func children(pid int) []int {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	var kids []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for f := range strings.FieldsSeq(string(b)) {
			n, err := strconv.Atoi(f)
			if kexe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", n)); err == nil && kexe == exe {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// proc is what /proc says of one process.
type proc struct {
	pid                int
	rssKiB, fds, thrds int
}

func readProc(pid int) (proc, error) {
	p := proc{pid: pid}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			p.rssKiB, _ = strconv.Atoi(fs[0])
		case "Threads":
			p.thrds, _ = strconv.Atoi(fs[0])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	p.fds = len(fds)
	return p, err
}

// sample is one line of figures.
type sample struct {
	at      time.Duration
	figures map[string]float64
}

// sampler prints a line each interval and keeps the figures for the summary.
type sampler struct {
	d       *driver
	start   time.Time
	samples []sample
	last    map[string][nOutcomes]int64
	order   []string
}

func newSampler(d *driver) *sampler {
	return &sampler{d: d, start: time.Now(), last: map[string][nOutcomes]int64{}}
}

func (s *sampler) loop(ctx context.Context) {
	s.sample(ctx)
	t := time.NewTicker(s.d.s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

// sample prints one line: the server's process figures, its Go figures
// from /metrics, and per class the answers since the previous line.
func (s *sampler) sample(ctx context.Context) {
	fig := map[string]float64{}
	var line strings.Builder
	at := time.Since(s.start).Truncate(time.Second)
	fmt.Fprintf(&line, "%8s", at)
	put := func(key string, v float64, format string) {
		if _, seen := fig[key]; !seen && !slices.Contains(s.order, key) {
			s.order = append(s.order, key)
		}
		fig[key] = v
		fmt.Fprintf(&line, " "+format, v)
	}
	if s.d.s.pid > 0 {
		procs := []int{s.d.s.pid}
		kids := children(s.d.s.pid)
		slices.Sort(kids)
		procs = append(procs, kids...)
		var tot proc
		for i, pid := range procs {
			p, err := readProc(pid)
			if err != nil {
				continue
			}
			name := "srv"
			if i > 0 {
				name = fmt.Sprintf("w%d", i)
			}
			fmt.Fprintf(&line, " %s:", name)
			put(name+".rss_mib", float64(p.rssKiB)/1024, "rss=%.1fMiB")
			put(name+".fds", float64(p.fds), "fds=%.0f")
			put(name+".threads", float64(p.thrds), "thr=%.0f")
			tot.rssKiB += p.rssKiB
			tot.fds += p.fds
		}
		if len(procs) > 1 {
			fmt.Fprint(&line, " all:")
			put("all.rss_mib", float64(tot.rssKiB)/1024, "rss=%.1fMiB")
			put("all.fds", float64(tot.fds), "fds=%.0f")
		}
	}
	if ctx.Err() != nil {
		ctx = context.Background()
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if rep, err := s.d.do(sctx, nil, http.MethodGet, "/metrics", "", nil, nil); err == nil && rep.code == 200 {
		m, series := parseMetrics(rep.body)
		fmt.Fprint(&line, " go:")
		put("goroutines", m["go_goroutines"], "gor=%.0f")
		put("heap_inuse_mib", m["go_memstats_heap_inuse_bytes"]/(1<<20), "heap=%.1fMiB")
		put("series", float64(series), "series=%.0f")
		put("metrics_kib", float64(len(rep.body))/1024, "(%.0fKiB)")
		put("in_flight", m["kserve_requests_in_flight"], "inflight=%.0f")
	}
	// Answers per class since the previous line: ok/wrong/shed/neterr.
	for _, c := range s.d.classes {
		var now [nOutcomes]int64
		for o := range nOutcomes {
			now[o] = c.counts[o].Load()
		}
		prev := s.last[c.name]
		s.last[c.name] = now
		fmt.Fprintf(&line, " %s=%d", c.name, now[ok]-prev[ok])
		for o, tag := range []string{"", "wrong", "shed", "neterr"} {
			if o > 0 && now[o] != prev[o] {
				fmt.Fprintf(&line, "/%s:%d", tag, now[o]-prev[o])
			}
		}
		fig["wrong."+c.name] = float64(now[wrong])
	}
	if n := s.d.dropped.Swap(0); n > 0 {
		fmt.Fprintf(&line, " dropped=%d", n)
	}
	fmt.Println(strings.ReplaceAll(line.String(), "  ", " "))
	s.samples = append(s.samples, sample{at, fig})
}

// parseMetrics sums each metric family's samples (so labelled series of a
// gauge add up) and counts the series.
func parseMetrics(b []byte) (map[string]float64, int) {
	m := map[string]float64{}
	series := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		series++
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			name = line[:i]
			if j := strings.LastIndexByte(line, '}'); j >= 0 {
				rest = strings.TrimSpace(line[j+1:])
			}
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
		if err == nil {
			m[name] += v
		}
	}
	return m, series
}

// summary prints, per figure, the first and last values and the least
// squares slope per hour over the whole run and over its second half (a
// leak keeps its slope; warm-up growth flattens out).
func (s *sampler) summary() {
	fmt.Printf("\n%-24s %12s %12s %12s %14s %14s\n", "figure", "first", "last", "max", "slope/h", "2nd half /h")
	for _, key := range s.order {
		var xs, ys []float64
		for _, sm := range s.samples {
			if v, ok := sm.figures[key]; ok {
				xs = append(xs, sm.at.Hours())
				ys = append(ys, v)
			}
		}
		if len(ys) == 0 {
			continue
		}
		h := len(xs) / 2
		fmt.Printf("%-24s %12.2f %12.2f %12.2f %14.2f %14.2f\n", key, ys[0], ys[len(ys)-1], slices.Max(ys), slope(xs, ys), slope(xs[h:], ys[h:]))
	}
	fmt.Println()
	for _, c := range s.d.classes {
		fmt.Printf("%-16s ok=%d wrong=%d shed=%d neterr=%d\n", c.name, c.counts[ok].Load(), c.counts[wrong].Load(), c.counts[shed].Load(), c.counts[neterr].Load())
	}
}

func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
