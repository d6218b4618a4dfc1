package onnx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/bench/floor"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// BenchmarkServedCLS: one client calling the served PP-OCR classifier over
// gRPC (raw input contents) and over REST with the binary tensor extension,
// each paired with a raw ONNX Runtime run of the same input on a session
// with the same threads, so the ratio is the serving overhead on a
// compute-bound model, and with the same exchange against a bare server
// (the floor), which bounds that ratio on the machine at hand.
func BenchmarkServedCLS(b *testing.B) {
	env := needEnv(b)
	path := modelFile(b, clsFile)
	in := clsInput(renderText("Hello World 2026", false))
	opts := benchOptions(b)
	m := NewModel("cls", path, WithEnv(env), WithDevice(opts.Device.String()), WithThreads(opts.IntraOpThreads, 1))
	srv := serve(b, m)

	so, _, err := env.sessionOptions(opts)
	if err != nil {
		b.Fatal(err)
	}
	if m.Provider() == ProviderCUDA {
		if err := env.appendCUDA(context.Background(), so, opts); err != nil {
			b.Fatal(err)
		}
	}
	s := m.Pool().Session(0)
	raw, err := ort.NewDynamicAdvancedSession(path, names(s.Inputs()), names(s.Outputs()), so)
	_ = so.Destroy()
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Destroy()
	data := in.Data.([]float32)
	x, err := ort.NewTensor(ort.Shape(in.Shape), data)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Destroy()
	outs := make([]ort.Value, 1)
	runRaw := func() {
		clear(outs)
		if err := raw.Run([]ort.Value{x}, outs); err != nil {
			b.Fatal(err)
		}
		destroyAll(outs)
	}
	runRaw()

	post := clsBinaryPost(b, in)
	grpcCall := func(c pb.GRPCInferenceServiceClient) func() {
		return func() {
			resp, err := c.ModelInfer(context.Background(), &pb.ModelInferRequest{
				ModelName:        "cls",
				Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: in.Shape}},
				RawInputContents: [][]byte{post.raw},
			})
			if err != nil || len(resp.RawOutputContents) != 1 || len(resp.RawOutputContents[0]) != 8 {
				b.Fatalf("grpc: %v %v", err, resp)
			}
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	restCall := func(url string) func() {
		return func() {
			if err := post.do(client, url); err != nil {
				b.Fatal(err)
			}
		}
	}
	restFloor, grpcFloor := startFloors(b)
	for _, c := range []struct {
		name         string
		served, bare func()
	}{
		{"grpc-raw", grpcCall(srv.grpc), grpcCall(grpcFloor)},
		{"rest-binary", restCall(srv.url + "/v2/models/cls/infer"), restCall(restFloor)},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.served() // connections set up
			c.bare()
			var rawT, servedT, floorT []time.Duration
			for b.Loop() {
				t0 := time.Now()
				runRaw()
				t1 := time.Now()
				c.served()
				t2 := time.Now()
				c.bare()
				rawT = append(rawT, t1.Sub(t0))
				servedT = append(servedT, t2.Sub(t1))
				floorT = append(floorT, time.Since(t2))
			}
			r, sv, fl := median(rawT), median(servedT), median(floorT)
			b.ReportMetric(float64(r.Nanoseconds()), "raw-ns/run")
			b.ReportMetric(float64(sv.Nanoseconds()), "served-ns/req")
			b.ReportMetric(float64(r.Nanoseconds())/float64(sv.Nanoseconds()), "served-throughput/raw")
			// The floor: the same exchange with a server that only reads
			// the request and answers 8 bytes. No server reaches more than
			// raw/(raw + floor) at one client; served/bound is how much of
			// that this one reaches.
			bound := float64(r.Nanoseconds()) / float64(r.Nanoseconds()+fl.Nanoseconds())
			b.ReportMetric(float64(fl.Nanoseconds()), "floor-ns/req")
			b.ReportMetric(bound, "bound")
			b.ReportMetric(float64(r.Nanoseconds())/float64(sv.Nanoseconds())/bound, "served/bound")
			// CPU time of the whole process (client included) per call: on a
			// busy machine wall time suffers from every goroutine hand-off,
			// CPU time does not.
			b.StopTimer()
			n := max(len(rawT), 50)
			b.ReportMetric(cpuPerCall(b, n, runRaw), "raw-cpu-ns/run")
			b.ReportMetric(cpuPerCall(b, n, c.served), "served-cpu-ns/req")
		})
	}
}

// startFloors serves the floor exchange (runtime/internal/bench/floor) on
// loopback over REST and gRPC, with the defaults of net/http and grpc-go,
// and returns the REST URL and a gRPC client.
func startFloors(b *testing.B) (string, pb.GRPCInferenceServiceClient) {
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: floor.Handler()}
	go func() { _ = hs.Serve(hl) }()
	b.Cleanup(func() { _ = hs.Close() })
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterGRPCInferenceServiceServer(gs, floor.GRPC{})
	go func() { _ = gs.Serve(gl) }()
	b.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///"+gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return "http://" + hl.Addr().String() + "/", pb.NewGRPCInferenceServiceClient(conn)
}

// binaryPost is a REST binary-extension request of the classifier's input,
// asking for its output in binary too.
type binaryPost struct {
	raw    []byte // the tensor's bytes, as gRPC's raw_input_contents carry them
	header string // the JSON header
	body   []byte // header then raw
}

func clsBinaryPost(b *testing.B, in *infer.Tensor) binaryPost {
	raw, err := infer.EncodeRaw(in)
	if err != nil {
		b.Fatal(err)
	}
	header := fmt.Sprintf(`{"inputs":[{"name":"x","datatype":"FP32","shape":%s,"parameters":{"binary_data_size":%d}}],"outputs":[{"name":"softmax_0.tmp_0","parameters":{"binary_data":true}}]}`,
		jsonShape(in.Shape), len(raw))
	return binaryPost{raw: raw, header: header, body: append([]byte(header), raw...)}
}

// do posts it to url and checks for a 200 carrying at least the two
// probabilities' 8 bytes.
func (p binaryPost) do(client *http.Client, url string) error {
	req, err := http.NewRequest("POST", url, bytes.NewReader(p.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(len(p.header)))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(out) < 8 {
		return fmt.Errorf("rest %s: %d %s", url, resp.StatusCode, out)
	}
	return nil
}

func jsonShape(s []int64) string {
	b, _ := infer.AppendJSON(nil, s)
	return string(b)
}

// cpuPerCall is the process's user+system CPU time per call of f.
func cpuPerCall(b *testing.B, n int, f func()) float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	for range n {
		f()
	}
	return float64((cpu() - start).Nanoseconds()) / float64(n)
}

// BenchmarkServedCLSBatching is the served classifier under 32 REST
// clients sending one image each (binary extension, one connection per
// client), without and with dynamic batching (--max_batch_size=32), on one
// replica of one intra-op thread on ONNX_BENCH_DEVICE. Each iteration is a
// round of 512 requests to each server in turn; it reports the median
// images/s of each and of the per-round ratios. Every batch size is a new
// input shape to cuDNN, so the sessions use the heuristic algorithm search
// (see --cudnn_conv_algo_search).
//
//	ONNX_BENCH_DEVICE=cuda:0 go test -run '^$' -bench ServedCLSBatching -benchtime 5x ./onnx
func BenchmarkServedCLSBatching(b *testing.B) {
	env := needEnv(b)
	path := modelFile(b, clsFile)
	opts := benchOptions(b)
	in := clsInput(renderText("Hello World 2026", false))
	newModel := func(name string, batch int) runtime.Model {
		om := NewModel(name, path, WithEnv(env), WithDevice(opts.Device.String()), WithThreads(opts.IntraOpThreads, 1), WithConvAlgoSearch("heuristic"))
		m, err := (&Flags{Device: opts.Device.String(), Replicas: 1, ConvAlgoSearch: "heuristic", MaxBatchSize: batch}).Serve(om)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	srv := serve(b, newModel("single", 0), newModel("batched", 32))

	post := clsBinaryPost(b, in)
	const clients = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	imagesPerSecond := func(name string, n int) float64 {
		return callsPerSecond(b, clients, n, func() error { return post.do(client, srv.url+"/v2/models/"+name+"/infer") })
	}
	imagesPerSecond("single", 4*clients) // connections and shapes warmed up
	imagesPerSecond("batched", 64*clients)
	const per = 16 * clients
	var single, batched, ratio []float64
	for b.Loop() {
		s, bt := imagesPerSecond("single", per), imagesPerSecond("batched", per)
		single, batched, ratio = append(single, s), append(batched, bt), append(ratio, bt/s)
	}
	b.ReportMetric(medianOf(single), "unbatched-images/s")
	b.ReportMetric(medianOf(batched), "batched-images/s")
	b.ReportMetric(medianOf(ratio), "batched/unbatched")
}
