// Command onnxbench is the ONNX serving load test's two halves, so the served
// model and the raw ONNX Runtime loop it is compared with run as separate
// processes on the same model file, threads and input:
//
//	onnxbench raw   -model F -shape 1,3,48,192 -seconds 5   # raw binding loop, runs/s
//	onnxbench serve -model F -name cls --http_port=P ...    # the ready-made onnx.Model (KServe flags)
//	onnxbench body  -shape 1,3,48,192 -input x -o F         # REST binary-extension body; prints the JSON header length
//	onnxbench floor -addr 127.0.0.1:P                       # net/http: read the body, answer 8 bytes (the network floor)
//	onnxbench grpcfloor -addr 127.0.0.1:P                   # grpc-go: decode the request, answer one 8-byte raw output
//	onnxbench grpcload -addr 127.0.0.1:P -req F -seconds 5 [-inflight N]  # one client (one connection) calling ModelInfer back to back (a generated Go client)
//	onnxbench mlp -o F                                      # write the MLP 784-1024-10 (runtime/internal/onnxgen)
//	onnxbench grpcreq -shape 1,3,48,192 -input x -name cls -o F  # ModelInferRequest with raw_input_contents (ghz --binary-file)
//
// The input is deterministic pseudo-random FP32 data: a compute-bound model
// such as PP-OCR cls costs the same whatever the pixels.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	benchfloor "github.com/kserve-gen/kserve-gen/runtime/internal/bench/floor"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: onnxbench raw|serve|body|grpcreq [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "raw":
		err = raw(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "body":
		err = body(os.Args[2:])
	case "floor":
		err = floor(os.Args[2:])
	case "grpcfloor":
		err = grpcFloor(os.Args[2:])
	case "grpcload":
		err = grpcLoad(os.Args[2:])
	case "mlp":
		fs := flag.NewFlagSet("mlp", flag.ExitOnError)
		out := fs.String("o", "mlp784.onnx", "output file")
		_ = fs.Parse(os.Args[2:])
		err = os.WriteFile(*out, onnxgen.NewMLP(784, 1024, 10, true, 5).Model().Marshal(), 0o644)
	case "grpcreq":
		err = grpcReq(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnxbench:", err)
		os.Exit(1)
	}
}

func parseShape(s string) ([]int64, int, error) {
	var shape []int64
	n := 1
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.ParseInt(f, 10, 64)
		if err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("-shape %q: dimension %q is not a positive integer", s, f)
		}
		shape = append(shape, d)
		n *= int(d)
	}
	return shape, n, nil
}

func input(n int) []float32 {
	data := make([]float32, n)
	x := uint32(1)
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = float32(x>>8)/float32(1<<24) - 0.5
	}
	return data
}

// rawBytes is data in the raw tensor encoding (what the binary extension
// and raw_input_contents carry).
func rawBytes(data []float32) []byte {
	b, err := infer.EncodeRaw(infer.NewTensor("x", []int64{int64(len(data))}, data))
	if err != nil {
		panic(err) // []float32 always encodes
	}
	return b
}

// raw runs the model back to back through the binding alone (input tensor
// made once, outputs freed each run) with the options the served session
// uses, and prints runs per second.
func raw(args []string) error {
	fs := flag.NewFlagSet("raw", flag.ExitOnError)
	path := fs.String("model", "", "ONNX model file")
	shapeArg := fs.String("shape", "1,3,48,192", "input shape")
	threads := fs.Int("threads", 1, "intra-op threads")
	seconds := fs.Float64("seconds", 5, "how long to run")
	_ = fs.Parse(args)
	env := onnx.NewEnv(onnx.EnvOptions{})
	if err := env.Init(); err != nil {
		return err
	}
	defer env.Close()
	inNames, outNames, err := ioNames(*path)
	if err != nil {
		return err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	err = errors.Join(so.SetIntraOpNumThreads(*threads), so.SetInterOpNumThreads(1),
		so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"),
		so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0"))
	if err != nil {
		return err
	}
	sess, err := ort.NewDynamicAdvancedSession(*path, inNames, outNames, so)
	_ = so.Destroy()
	if err != nil {
		return err
	}
	defer sess.Destroy()
	shape, n, err := parseShape(*shapeArg)
	if err != nil {
		return err
	}
	x, err := ort.NewTensor(ort.Shape(shape), input(n))
	if err != nil {
		return err
	}
	defer x.Destroy()
	outs := make([]ort.Value, len(outNames))
	run := func() error {
		clear(outs)
		if err := sess.Run([]ort.Value{x}, outs); err != nil {
			return err
		}
		for _, o := range outs {
			o.Destroy()
		}
		return nil
	}
	for range 20 { // warm-up
		if err := run(); err != nil {
			return err
		}
	}
	runs, start := 0, time.Now()
	for time.Since(start).Seconds() < *seconds {
		if err := run(); err != nil {
			return err
		}
		runs++
	}
	el := time.Since(start)
	fmt.Printf("raw runs=%d rps=%.1f us_per_run=%.1f\n", runs, float64(runs)/el.Seconds(), float64(el.Microseconds())/float64(runs))
	return nil
}

func ioNames(path string) ([]string, []string, error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, err
	}
	var in, out []string
	for _, i := range ins {
		in = append(in, i.Name)
	}
	for _, o := range outs {
		out = append(out, o.Name)
	}
	return in, out, nil
}

// serve is the ready-made ONNX server: KServe's flags plus onnx.RegisterFlags.
func serve(args []string) error {
	p := config.NewParser("onnxbench")
	path := p.FlagSet().String("model", "", "ONNX model file")
	f := onnx.RegisterFlags(p.FlagSet())
	cfg, err := p.Parse(args, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	m, err := f.Serve(onnx.NewModel(cfg.ModelName, *path, f.Options()...))
	if err != nil {
		return err
	}
	return runtime.NewServer(*cfg).Run(ctx, m)
}

func body(args []string) error {
	fs := flag.NewFlagSet("body", flag.ExitOnError)
	shapeArg := fs.String("shape", "1,3,48,192", "input shape")
	name := fs.String("input", "x", "input name")
	out := fs.String("o", "", "output file")
	_ = fs.Parse(args)
	_, n, err := parseShape(*shapeArg)
	if err != nil {
		return err
	}
	b := rawBytes(input(n))
	header := fmt.Sprintf(`{"inputs":[{"name":%q,"datatype":"FP32","shape":[%s],"parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`,
		*name, *shapeArg, len(b))
	if err := os.WriteFile(*out, append([]byte(header), b...), 0o644); err != nil {
		return err
	}
	fmt.Println(len(header))
	return nil
}

func grpcReq(args []string) error {
	fs := flag.NewFlagSet("grpcreq", flag.ExitOnError)
	shapeArg := fs.String("shape", "1,3,48,192", "input shape")
	name := fs.String("input", "x", "input name")
	modelName := fs.String("name", "cls", "model name")
	out := fs.String("o", "", "output file")
	_ = fs.Parse(args)
	shape, n, err := parseShape(*shapeArg)
	if err != nil {
		return err
	}
	req := &pb.ModelInferRequest{
		ModelName:        *modelName,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: *name, Datatype: "FP32", Shape: shape}},
		RawInputContents: [][]byte{rawBytes(input(n))},
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// floor is the least a REST server can do with the same exchange
// (runtime/internal/bench/floor).
func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18095", "listen address")
	_ = fs.Parse(args)
	return http.ListenAndServe(*addr, benchfloor.Handler())
}

// grpcFloor is floor's gRPC counterpart: protobuf decoding of the request
// and an 8-byte answer, no dataplane and no model.
func grpcFloor(args []string) error {
	fs := flag.NewFlagSet("grpcfloor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18096", "listen address")
	_ = fs.Parse(args)
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var opts []grpc.ServerOption
	if os.Getenv("FLOOR_WINDOW") != "" {
		opts = append(opts, grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20))
	}
	s := grpc.NewServer(opts...)
	pb.RegisterGRPCInferenceServiceServer(s, benchfloor.GRPC{})
	return s.Serve(lis)
}

// grpcLoad is one client calling ModelInfer back to back with the
// generated Go client (ghz's dynamic messages cost more than the server
// under test at one stream), printing requests per second.
func grpcLoad(args []string) error {
	fs := flag.NewFlagSet("grpcload", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18291", "server address")
	reqFile := fs.String("req", "", "serialized ModelInferRequest (onnxbench grpcreq)")
	seconds := fs.Float64("seconds", 5, "how long to run (after 1 s of warm-up)")
	inflight := fs.Int("inflight", 1, "requests in flight on the one connection")
	_ = fs.Parse(args)
	b, err := os.ReadFile(*reqFile)
	if err != nil {
		return err
	}
	req := &pb.ModelInferRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		return fmt.Errorf("%s: %w", *reqFile, err)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	c := pb.NewGRPCInferenceServiceClient(conn)
	ctx := context.Background()
	var n, failed atomic.Int64
	loop := func(d time.Duration) {
		var wg sync.WaitGroup
		start := time.Now()
		for range *inflight {
			wg.Go(func() {
				for time.Since(start) < d {
					if _, err := c.ModelInfer(ctx, req); err != nil {
						failed.Add(1)
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
	}
	loop(time.Second)
	n.Store(0)
	failed.Store(0)
	d := time.Duration(*seconds * float64(time.Second))
	start := time.Now()
	loop(d)
	fmt.Printf("WRK rps=%.1f non2xx=%d\n", float64(n.Load())/time.Since(start).Seconds(), failed.Load())
	return nil
}
