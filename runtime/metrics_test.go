package runtime_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// Every inference request to a served model is counted once, by protocol
// and verb, failures before the model call included; failures by status
// code; request and response sizes in histograms. Requests for models that
// are not served leave no series behind.
func TestMetrics_RequestsErrorsAndSizes(t *testing.T) {
	rt := runtimetest.StartModels(t, []runtime.Model{&echoModel{name: "echo"}}, runtimetest.WithGRPC(),
		runtimetest.WithConfig(func(c *config.Config) { c.MaxRequestBodySize = 100 }))
	v1 := func(path, body string, want int) string {
		t.Helper()
		code, _, resp := do(t, "POST", rt.URL+path, "application/json", []byte(body))
		require.Equal(t, want, code, resp)
		return resp
	}
	assert.Equal(t, `{"predictions":[[1,2]]}`, v1("/v1/models/echo:predict", `{"instances":[[1,2]]}`, 200)) // 21 B in, 23 out
	v1("/v1/models/echo:predict", `{"instances":`, 400)                                                     // 13 B
	assert.Equal(t, `{"explanations":[1.5]}`, v1("/v1/models/echo:explain", `{"instances":[1]}`, 200))      // 17 B in, 22 out
	big := `{"instances":[` + strings.Repeat("1,", 74) + `1]}`
	v1("/v1/models/echo:predict", big, 413) // over the limit
	v1("/v1/models/nope:predict", `{"instances":[1]}`, 404)

	v2req := `{"inputs":[{"name":"input-0","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`
	code, _, v2resp := do(t, "POST", rt.URL+"/v2/models/echo/infer", "application/json", []byte(v2req))
	require.Equal(t, 200, code, v2resp)
	code, _, body := do(t, "POST", rt.URL+"/v2/models/echo/infer", "application/json",
		[]byte(`{"inputs":[{"name":"fail","shape":[1],"datatype":"BYTES","data":["invalid"]}]}`))
	require.Equal(t, 400, code, body)

	gc, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer gc.Close()
	ctx := context.Background()
	_, err = gc.Infer(ctx, &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1, 2}, Data: []float32{1, 2}}}})
	require.NoError(t, err)
	_, err = gc.Infer(ctx, &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{{Name: "fail", Datatype: infer.BYTES, Shape: []int64{1}, Data: [][]byte{[]byte("invalid")}}}})
	require.Equal(t, codes.InvalidArgument, grpcstatus.Code(err), "%v", err)

	_, _, m := do(t, "GET", rt.URL+"/metrics", "", nil)
	for _, line := range []string{
		`kserve_requests_total{model_name="echo",protocol="v1",verb="predict"} 3`,
		`kserve_requests_total{model_name="echo",protocol="v1",verb="explain"} 1`,
		`kserve_requests_total{model_name="echo",protocol="v2",verb="predict"} 2`,
		`kserve_requests_total{model_name="echo",protocol="grpc-v2",verb="predict"} 2`,
		`kserve_request_errors_total{code="400",model_name="echo",protocol="v1"} 1`,
		`kserve_request_errors_total{code="413",model_name="echo",protocol="v1"} 1`,
		`kserve_request_errors_total{code="400",model_name="echo",protocol="v2"} 1`,
		`kserve_request_errors_total{code="InvalidArgument",model_name="echo",protocol="grpc-v2"} 1`,
		`kserve_request_size_bytes_bucket{model_name="echo",protocol="v1",le="64"} 3`,
		`kserve_request_size_bytes_bucket{model_name="echo",protocol="v1",le="256"} 4`,
		`kserve_request_size_bytes_sum{model_name="echo",protocol="v1"} ` + strconv.Itoa(21+13+17+len(big)),
		`kserve_request_size_bytes_count{model_name="echo",protocol="v1"} 4`,
		`kserve_response_size_bytes_sum{model_name="echo",protocol="v1"} 45`,
		`kserve_response_size_bytes_count{model_name="echo",protocol="v1"} 2`,
		`kserve_response_size_bytes_sum{model_name="echo",protocol="v2"} ` + strconv.Itoa(len(v2resp)),
		`kserve_response_size_bytes_count{model_name="echo",protocol="v2"} 1`,
		`kserve_request_size_bytes_count{model_name="echo",protocol="grpc-v2"} 2`,
		`kserve_response_size_bytes_count{model_name="echo",protocol="grpc-v2"} 1`,
	} {
		assert.Contains(t, m, line+"\n")
	}
	assert.Regexp(t, `(?m)^kserve_request_size_bytes_sum\{model_name="echo",protocol="v2"\} `+strconv.Itoa(len(v2req)+len(`{"inputs":[{"name":"fail","shape":[1],"datatype":"BYTES","data":["invalid"]}]}`))+`$`, m)
	assert.Regexp(t, `(?m)^kserve_response_size_bytes_sum\{model_name="echo",protocol="grpc-v2"\} [1-9]\d*$`, m)
	assert.NotContains(t, m, `model_name="nope"`)
}

// The protocol label lists only the protocols the server serves: a
// REST-only server (--enable_grpc=false) has no grpc-v2 series, which could
// never move; with gRPC on they are there at 0 from registration.
func TestMetrics_ProtocolSeriesFollowServedProtocols(t *testing.T) {
	grpcLines := []string{
		`kserve_requests_total{model_name="echo",protocol="grpc-v2",verb="predict"} 0`,
		`kserve_requests_total{model_name="echo",protocol="grpc-v2",verb="explain"} 0`,
		`kserve_request_size_bytes_count{model_name="echo",protocol="grpc-v2"} 0`,
		`kserve_response_size_bytes_count{model_name="echo",protocol="grpc-v2"} 0`,
	}
	restLines := []string{
		`kserve_requests_total{model_name="echo",protocol="v1",verb="predict"} 0`,
		`kserve_requests_total{model_name="echo",protocol="v1",verb="explain"} 0`,
		`kserve_requests_total{model_name="echo",protocol="v2",verb="predict"} 0`,
		`kserve_requests_total{model_name="echo",protocol="v2",verb="explain"} 0`,
		`kserve_request_size_bytes_count{model_name="echo",protocol="v1"} 0`,
		`kserve_request_size_bytes_count{model_name="echo",protocol="v2"} 0`,
		`kserve_response_size_bytes_count{model_name="echo",protocol="v1"} 0`,
		`kserve_response_size_bytes_count{model_name="echo",protocol="v2"} 0`,
	}
	grpcSeries := regexp.MustCompile(`(?m)^.*protocol="grpc-v2".*$`)
	t.Run("rest only", func(t *testing.T) {
		rt := runtimetest.StartModels(t, []runtime.Model{&echoModel{name: "echo"}},
			runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }))
		_, _, m := do(t, "GET", rt.URL+"/metrics", "", nil)
		for _, line := range restLines {
			assert.Contains(t, m, line+"\n")
		}
		assert.Empty(t, grpcSeries.FindAllString(m, -1))
		// A request still counts, on its own protocol only.
		code, _, body := do(t, "POST", rt.URL+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[[1,2]]}`))
		require.Equal(t, 200, code, body)
		_, _, m = do(t, "GET", rt.URL+"/metrics", "", nil)
		assert.Contains(t, m, `kserve_requests_total{model_name="echo",protocol="v1",verb="predict"} 1`+"\n")
		assert.Empty(t, grpcSeries.FindAllString(m, -1))
	})
	t.Run("grpc on", func(t *testing.T) {
		rt := runtimetest.StartModels(t, []runtime.Model{&echoModel{name: "echo"}}, runtimetest.WithGRPC())
		_, _, m := do(t, "GET", rt.URL+"/metrics", "", nil)
		for _, line := range append(restLines, grpcLines...) {
			assert.Contains(t, m, line+"\n")
		}
	})
}

// kserve_request_queue_seconds: 0 for a request that found a free slot,
// the wait for one that did not.
func TestMetrics_QueueWait(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	cfg := defaultConfig()
	cfg.MaxAsyncioWorkers = 1
	ts := startServer(t, cfg, m)
	ts.waitReady(t)
	var wg sync.WaitGroup
	post := func() {
		defer wg.Done()
		code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
		assert.Equal(t, 200, code, body)
	}
	wg.Add(2)
	go post()
	require.Eventually(t, func() bool { return m.inFlight.Load() == 1 }, 5*time.Second, time.Millisecond)
	go post()
	var metrics string
	require.Eventually(t, func() bool {
		_, _, metrics = do(t, "GET", ts.url+"/metrics", "", nil)
		return strings.Contains(metrics, `kserve_requests_in_flight{model_name="echo"} 2`)
	}, 5*time.Second, time.Millisecond)
	time.Sleep(30 * time.Millisecond) // the second request waits at least this long
	close(m.block)
	wg.Wait()
	_, _, metrics = do(t, "GET", ts.url+"/metrics", "", nil)
	assert.Contains(t, metrics, `kserve_request_queue_seconds_bucket{model_name="echo",le="0.0001"} 1`+"\n")
	assert.Contains(t, metrics, `kserve_request_queue_seconds_bucket{model_name="echo",le="0.025"} 1`+"\n")
	assert.Contains(t, metrics, `kserve_request_queue_seconds_count{model_name="echo"} 2`+"\n")
	sum := regexp.MustCompile(`(?m)^kserve_request_queue_seconds_sum\{model_name="echo"\} (\S+)$`).FindStringSubmatch(metrics)
	require.Len(t, sum, 2, metrics)
	v, err := strconv.ParseFloat(sum[1], 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, v, 0.03, fmt.Sprint("the second request's wait: ", v))
}

// --max_queued_requests: with every model slot busy and the queue full, a
// request is turned away at once — REST 503 with Retry-After, gRPC
// UNAVAILABLE, both with the reason — while those already queued are
// answered once slots free.
func TestMaxQueuedRequests(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	rt := runtimetest.StartModels(t, []runtime.Model{m}, runtimetest.WithGRPC(),
		runtimetest.WithConfig(func(c *config.Config) {
			c.MaxAsyncioWorkers = 1
			c.MaxQueuedRequests = 1
		}))
	var wg sync.WaitGroup
	codes200 := make(chan int, 2)
	post := func() {
		defer wg.Done()
		code, _, _ := do(t, "POST", rt.URL+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
		codes200 <- code
	}
	inFlight := func(n int) func() bool {
		return func() bool {
			_, _, metrics := do(t, "GET", rt.URL+"/metrics", "", nil)
			return strings.Contains(metrics, fmt.Sprintf("kserve_requests_in_flight{model_name=\"echo\"} %d\n", n))
		}
	}
	wg.Add(2)
	go post() // takes the one slot
	require.Eventually(t, func() bool { return m.inFlight.Load() == 1 }, 5*time.Second, time.Millisecond)
	go post() // waits: the queue is now full
	require.Eventually(t, inFlight(2), 5*time.Second, time.Millisecond)

	const msg = "Server overloaded: 1 request already waits for the model's one slot (--max_queued_requests, --max_asyncio_workers); retry later."
	start := time.Now()
	code, hdr, body := do(t, "POST", rt.URL+"/v2/models/echo/infer", "application/json",
		[]byte(`{"inputs":[{"name":"input-0","shape":[1],"datatype":"FP32","data":[1]}]}`))
	assert.Less(t, time.Since(start), 2*time.Second, "turned away at once, not after a wait")
	assert.Equal(t, 503, code)
	assert.Equal(t, "1", hdr.Get("Retry-After"))
	assert.Equal(t, `{"error":"`+msg+`"}`, body)

	gc, err := client.NewGRPC(rt.GRPCAddr, client.WithGRPCRetries(0)) // the default client retries UNAVAILABLE
	require.NoError(t, err)
	defer gc.Close()
	_, err = gc.Infer(context.Background(), &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}, Data: []float32{1}}}})
	assert.Equal(t, codes.Unavailable, grpcstatus.Code(err), "%v", err)
	assert.Equal(t, msg, grpcstatus.Convert(err).Message())

	// A client with a retry policy waits the server's pushback (1 s), not
	// its own 100 ms backoff, before the retry.
	retrying, err := client.NewGRPC(rt.GRPCAddr, client.WithGRPCRetries(1))
	require.NoError(t, err)
	defer retrying.Close()
	start = time.Now()
	_, err = retrying.Infer(context.Background(), &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}, Data: []float32{1}}}})
	assert.Equal(t, codes.Unavailable, grpcstatus.Code(err), "%v", err)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "grpc-retry-pushback-ms honoured")

	close(m.block)
	wg.Wait()
	close(codes200)
	for c := range codes200 {
		assert.Equal(t, 200, c, "the requests that took the slot and the queue place are answered")
	}
	_, _, metrics := do(t, "GET", rt.URL+"/metrics", "", nil)
	assert.Contains(t, metrics, `kserve_request_errors_total{code="503",model_name="echo",protocol="v2"} 1`+"\n")
	assert.Contains(t, metrics, `kserve_request_errors_total{code="Unavailable",model_name="echo",protocol="grpc-v2"} 3`+"\n", "one call, then one call and its retry")
	assert.True(t, inFlight(0)())

	// With the slot free again, nothing is turned away.
	code, _, body = do(t, "POST", rt.URL+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code, body)
}

// doubler predicts whole batches (runtime/batch).
type doubler struct{ ready atomic.Bool }

func (d *doubler) Name() string               { return "doubler" }
func (d *doubler) Load(context.Context) error { d.ready.Store(true); return nil }
func (d *doubler) Ready() bool                { return d.ready.Load() }
func (d *doubler) PredictBatch(_ context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
	x, err := b.Input("x").AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = 2 * v
	}
	return []*infer.Tensor{infer.NewTensor("y", b.Input("x").Shape, y)}, nil
}

// A model behind the dynamic batcher has its batcher's counters on
// /metrics: calls, rows and requests (so the mean batch size), the queue,
// cancellations and rejections.
func TestMetrics_DynamicBatching(t *testing.T) {
	m, err := batch.NewModel(&doubler{}, batch.Options{MaxBatchSize: 8, MaxQueueDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	rt := runtimetest.Start(t, m)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, body := do(t, "POST", rt.URL+"/v2/models/doubler/infer", "application/json",
				[]byte(`{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`))
			assert.Equal(t, 200, code, body)
			assert.Contains(t, body, `"data":[2.0,4.0]`)
		}()
	}
	wg.Wait()
	_, _, metrics := do(t, "GET", rt.URL+"/metrics", "", nil)
	for _, line := range []string{
		`kserve_batch_rows_total{model_name="doubler"} 8`, // one row each: dimension 0 is the batch
		`kserve_batch_requests_total{model_name="doubler"} 8`,
		`kserve_batch_queued_requests{model_name="doubler"} 0`,
		`kserve_batch_cancelled_total{model_name="doubler"} 0`,
		`kserve_batch_rejected_total{model_name="doubler"} 0`,
	} {
		assert.Contains(t, metrics, line+"\n")
	}
	calls := regexp.MustCompile(`(?m)^kserve_batch_calls_total\{model_name="doubler"\} (\d+)$`).FindStringSubmatch(metrics)
	require.Len(t, calls, 2, metrics)
	n, err := strconv.Atoi(calls[1])
	require.NoError(t, err)
	assert.True(t, n >= 1 && n <= 8, "8 rows in batches of at most 8 rows: 1 to 8 calls, got %d", n)
}
