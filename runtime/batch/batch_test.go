package batch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// harness runs a batcher whose batch function reports every call on calls
// and then waits for a token on release (or for release to be closed), so a
// test decides exactly when each batch finishes. The function answers
// "y" = 2*x row by row and "size" = the batch size for every row, which
// lets each client see both its own rows and the batch it was part of.
type harness struct {
	t       *testing.T
	b       *Batcher
	calls   chan *Batch
	release chan struct{}
	// fail, when set, decides the batch function's error.
	fail func(*Batch) error
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, calls: make(chan *Batch, 1000), release: make(chan struct{}, 1000)}
	b, err := New(t.Context(), h.run, opts)
	require.NoError(t, err)
	h.b = b
	t.Cleanup(func() {
		h.open()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, b.Close(ctx))
	})
	return h
}

// open lets every batch, present and future, finish without a token.
func (h *harness) open() {
	defer func() { _ = recover() }() // already open
	close(h.release)
}

func (h *harness) run(ctx context.Context, bt *Batch) ([]*infer.Tensor, error) {
	h.calls <- bt
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if h.fail != nil {
		if err := h.fail(bt); err != nil {
			return nil, err
		}
	}
	x, err := bt.Input("x").AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = 2 * v
	}
	size := make([]int64, bt.Size)
	for i := range size {
		size[i] = int64(bt.Size)
	}
	return []*infer.Tensor{
		infer.NewTensor("y", append([]int64(nil), bt.Input("x").Shape...), y),
		infer.NewTensor("size", []int64{int64(bt.Size)}, size),
	}, nil
}

// next returns the next call of the batch function.
func (h *harness) next() *Batch {
	h.t.Helper()
	select {
	case bt := <-h.calls:
		return bt
	case <-time.After(10 * time.Second):
		h.t.Fatal("the batch function was not called")
		return nil
	}
}

// noCall asserts that no further call has been made so far.
func (h *harness) noCall() {
	h.t.Helper()
	select {
	case bt := <-h.calls:
		h.t.Fatalf("unexpected batch of rows %v", bt.Rows)
	default:
	}
}

func (h *harness) finish(n int) {
	for range n {
		h.release <- struct{}{}
	}
}

type answer struct {
	outs []*infer.Tensor
	err  error
}

func (h *harness) submit(ctx context.Context, req *infer.Request) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		outs, err := h.b.Do(ctx, req)
		ch <- answer{outs, err}
	}()
	return ch
}

// queue submits req and waits until it is queued (after the n-1 already
// waiting), so arrival order is the order of the calls.
func (h *harness) queue(ctx context.Context, req *infer.Request, n int) <-chan answer {
	h.t.Helper()
	ch := h.submit(ctx, req)
	h.waitQueued(n)
	return ch
}

func (h *harness) waitQueued(n int) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.b.Stats().Queued == n }, 10*time.Second, time.Millisecond, "waiting for %d queued requests", n)
}

func get(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return answer{}
	}
}

// rowsReq is a request with input x of shape [rows, 2] counting up from base.
func rowsReq(rows int, base float32) *infer.Request {
	x := make([]float32, rows*2)
	for i := range x {
		x[i] = base + float32(i)
	}
	return &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{int64(rows), 2}, x)}}
}

// checkOwnRows asserts a answer holds exactly the rows of req, doubled, and
// that it ran in a batch of batchSize rows.
func checkOwnRows(t *testing.T, a answer, req *infer.Request, batchSize int) {
	t.Helper()
	require.NoError(t, a.err)
	require.Len(t, a.outs, 2)
	x := req.Inputs[0].Data.([]float32)
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = 2 * v
	}
	assert.Equal(t, "y", a.outs[0].Name)
	assert.Equal(t, req.Inputs[0].Shape, a.outs[0].Shape)
	assert.Equal(t, want, a.outs[0].Data)
	rows := int(req.Inputs[0].Shape[0])
	size := make([]int64, rows)
	for i := range size {
		size[i] = int64(batchSize)
	}
	assert.Equal(t, []int64{int64(rows)}, a.outs[1].Shape)
	assert.Equal(t, size, a.outs[1].Data)
}

// busy starts a one-row request and waits until the batch function holds
// it, so that what is submitted next queues up behind it.
func (h *harness) busy(ctx context.Context) (<-chan answer, *infer.Request) {
	h.t.Helper()
	req := rowsReq(1, -1)
	ch := h.submit(ctx, req)
	bt := h.next()
	require.Equal(h.t, []int{1}, bt.Rows)
	return ch, req
}

func TestBatcher_MergesQueuedRequestsCountingTheirRealRows(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8})
	ctx := t.Context()
	first, firstReq := h.busy(ctx)

	reqs := []*infer.Request{rowsReq(1, 0), rowsReq(3, 100), rowsReq(2, 200)}
	var answers []<-chan answer
	for i, r := range reqs {
		answers = append(answers, h.queue(ctx, r, i+1))
	}
	h.finish(1)
	checkOwnRows(t, get(t, first), firstReq, 1)

	bt := h.next()
	assert.Equal(t, []int{1, 3, 2}, bt.Rows)
	assert.Equal(t, 6, bt.Size)
	assert.Equal(t, reqs, bt.Requests)
	assert.Equal(t, []int64{6, 2}, bt.Input("x").Shape)
	assert.Equal(t, []float32{0, 1, 100, 101, 102, 103, 104, 105, 200, 201, 202, 203}, bt.Input("x").Data)
	h.finish(1)
	for i, r := range reqs {
		checkOwnRows(t, get(t, answers[i]), r, 6)
	}
	s := h.b.Stats()
	assert.Equal(t, Stats{Requests: 4, Batches: 2, Rows: 7}, s)
}

func TestBatcher_SingleRequestPassesTensorsThrough(t *testing.T) {
	var seen *Batch
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		seen = bt
		return []*infer.Tensor{bt.Inputs[0]}, nil
	}, Options{MaxBatchSize: 4})
	require.NoError(t, err)
	req := rowsReq(2, 0)
	outs, err := b.Do(t.Context(), req)
	require.NoError(t, err)
	assert.Same(t, req.Inputs[0], seen.Inputs[0])
	assert.Same(t, req.Inputs[0], outs[0])
	require.NoError(t, b.Close(t.Context()))
}

func TestBatcher_RejectsRequestOverMaxBatchSize(t *testing.T) {
	h := newHarness(t, Options{Name: "mlp", MaxBatchSize: 4})
	_, err := h.b.Do(t.Context(), rowsReq(5, 0))
	require.Error(t, err)
	assert.Equal(t, `input "x" has batch size 5, more than the max batch size 4 of model mlp`, err.Error())
	assert.Equal(t, 400, status.HTTPCode(err))
	h.noCall()
}

func TestBatcher_MaxBatchSizeSplitsTheQueue(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 2})
	ctx := t.Context()
	first, _ := h.busy(ctx)
	var answers []<-chan answer
	var reqs []*infer.Request
	for i := range 5 {
		reqs = append(reqs, rowsReq(1, float32(10*i)))
		answers = append(answers, h.queue(ctx, reqs[i], i+1))
	}
	h.open()
	require.NoError(t, get(t, first).err)
	var sizes [][]int
	for range 3 {
		sizes = append(sizes, h.next().Rows)
	}
	assert.Equal(t, [][]int{{1, 1}, {1, 1}, {1}}, sizes)
	for i, r := range reqs {
		checkOwnRows(t, get(t, answers[i]), r, []int{2, 2, 2, 2, 1}[i])
	}
}

// A request that would take the batch over MaxBatchSize waits for the next
// batch, and the batch before it goes at once: it cannot grow any more.
func TestBatcher_RequestThatDoesNotFitStartsTheNextBatch(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 4, MaxQueueDelay: time.Hour})
	ctx := t.Context()
	a := h.queue(ctx, rowsReq(3, 0), 1)
	h.noCall()
	b := h.submit(ctx, rowsReq(2, 10))
	assert.Equal(t, []int{3}, h.next().Rows)
	h.waitQueued(1)
	h.noCall()
	h.finish(1)
	require.NoError(t, get(t, a).err)
	c := h.submit(ctx, rowsReq(2, 20))
	assert.Equal(t, []int{2, 2}, h.next().Rows, "the full batch of 4 goes without waiting for the delay")
	h.finish(1)
	require.NoError(t, get(t, b).err)
	require.NoError(t, get(t, c).err)
}

func TestBatcher_LargestPreferredSizeDispatchesWithoutWaiting(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8, PreferredBatchSizes: []int{4, 2}, MaxQueueDelay: time.Hour})
	ctx := t.Context()
	var answers []<-chan answer
	for i := range 3 {
		answers = append(answers, h.queue(ctx, rowsReq(1, float32(i)), i+1))
	}
	h.noCall() // 3 rows: neither 4 nor the hour reached
	answers = append(answers, h.submit(ctx, rowsReq(1, 3)))
	assert.Equal(t, []int{1, 1, 1, 1}, h.next().Rows)
	h.open()
	for _, a := range answers {
		require.NoError(t, get(t, a).err)
	}
}

func TestBatcher_DueBatchIsCutToTheLargestPreferredSize(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8, PreferredBatchSizes: []int{4}})
	ctx := t.Context()
	first, _ := h.busy(ctx)
	var answers []<-chan answer
	for i, rows := range []int{1, 1, 2, 1} {
		answers = append(answers, h.queue(ctx, rowsReq(rows, float32(10*i)), i+1))
	}
	h.open()
	require.NoError(t, get(t, first).err)
	assert.Equal(t, []int{1, 1, 2}, h.next().Rows, "cut at 4 rows, a preferred size")
	assert.Equal(t, []int{1}, h.next().Rows)
	for _, a := range answers {
		require.NoError(t, get(t, a).err)
	}
}

func TestBatcher_MaxQueueDelayDispatchesAPartialBatch(t *testing.T) {
	const delay = 30 * time.Millisecond
	h := newHarness(t, Options{MaxBatchSize: 8, MaxQueueDelay: delay})
	h.open()
	ctx := t.Context()
	start := time.Now()
	a := h.submit(ctx, rowsReq(1, 0))
	b := h.submit(ctx, rowsReq(2, 10))
	bt := h.next()
	waited := time.Since(start)
	// The two submissions race to the queue; whichever came first waited
	// the whole delay. Both usually meet; a slow runner may split them.
	assert.GreaterOrEqual(t, waited, delay, "the batch went before its oldest request had waited MaxQueueDelay")
	assert.LessOrEqual(t, bt.Size, 3)
	require.NoError(t, get(t, a).err)
	require.NoError(t, get(t, b).err)
}

func TestBatcher_IncompatibleRequestsGoToSeparateBatches(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8})
	ctx := t.Context()
	first, _ := h.busy(ctx)

	fp64 := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1, 2}, []float64{1, 2})}}
	wide := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1, 3}, []float32{1, 2, 3})}}
	other := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("z", []int64{1, 2}, []float32{1, 2})}}
	extra := rowsReq(1, 50)
	extra.Inputs = append(extra.Inputs, infer.NewTensor("mask", []int64{1}, []bool{true}))
	a, b := rowsReq(1, 0), rowsReq(2, 10)
	// Same inputs in another order are compatible.
	aSwapped := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("mask", []int64{1}, []bool{false}), infer.NewTensor("x", []int64{1, 2}, []float32{60, 61})}}

	order := []*infer.Request{a, fp64, wide, b, other, extra, aSwapped}
	for i, r := range order {
		h.queue(ctx, r, i+1)
	}
	h.open()
	require.NoError(t, get(t, first).err)
	batches := map[string][]*infer.Request{}
	var firstSeen []string
	for range 5 {
		bt := h.next()
		k := fmt.Sprintf("%s/%s/%v/%d", bt.Inputs[0].Name, bt.Inputs[0].Datatype, bt.Inputs[0].Shape[1:], len(bt.Inputs))
		batches[k] = bt.Requests
		firstSeen = append(firstSeen, k)
	}
	assert.Equal(t, map[string][]*infer.Request{
		"x/FP32/[2]/1": {a, b},
		"x/FP64/[2]/1": {fp64},
		"x/FP32/[3]/1": {wide},
		"z/FP32/[2]/1": {other},
		"x/FP32/[2]/2": {extra, aSwapped},
	}, batches)
	// Groups are served oldest head first.
	assert.Equal(t, []string{"x/FP32/[2]/1", "x/FP64/[2]/1", "x/FP32/[3]/1", "z/FP32/[2]/1", "x/FP32/[2]/2"}, firstSeen)
}

// Silero VAD: input [batch, samples], sr a scalar without a batch
// dimension, state h [2, batch, 64] batched along dimension 1, and outputs
// batched the same way.
func TestBatcher_SileroStyleDimsAndUnbatchedScalar(t *testing.T) {
	opts := Options{
		MaxBatchSize:   8,
		InputBatchDim:  map[string]int{"sr": NotBatched, "h": 1},
		OutputBatchDim: map[string]int{"hn": 1, "sr_out": NotBatched},
	}
	calls := make(chan *Batch, 10)
	gate := make(chan struct{})
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		calls <- bt
		<-gate
		h := bt.Input("h")
		hd := h.Data.([]float32)
		hn := make([]float32, len(hd))
		for i, v := range hd {
			hn[i] = v + 0.5
		}
		return []*infer.Tensor{
			infer.NewTensor("hn", h.Shape, hn),
			{Name: "sr_out", Datatype: infer.INT64, Shape: []int64{}, Data: bt.Input("sr").Data},
		}, nil
	}, Options(opts))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(t.Context())) }()
	req := func(rows int, sr int64, base float32) *infer.Request {
		h := make([]float32, 2*rows*2)
		for i := range h {
			h[i] = base + float32(i)
		}
		return &infer.Request{Inputs: []*infer.Tensor{
			infer.NewTensor("input", []int64{int64(rows), 3}, make([]float32, rows*3)),
			infer.NewTensor("sr", []int64{}, []int64{sr}),
			infer.NewTensor("h", []int64{2, int64(rows), 2}, h),
		}}
	}
	h := &harness{t: t, b: b}
	ctx := t.Context()
	blocker := h.submit(ctx, req(1, 16000, 0))
	<-calls
	r1, r2, r8k := req(1, 16000, 100), req(2, 16000, 200), req(1, 8000, 300)
	a1 := h.queue(ctx, r1, 1)
	a8k := h.queue(ctx, r8k, 2)
	a2 := h.queue(ctx, r2, 3)
	close(gate)
	require.NoError(t, get(t, blocker).err)

	bt := <-calls
	assert.Equal(t, []*infer.Request{r1, r2}, bt.Requests, "a different sample rate never shares a batch")
	assert.Equal(t, []int64{}, bt.Input("sr").Shape)
	assert.Equal(t, []int64{16000}, bt.Input("sr").Data)
	assert.Equal(t, []int64{2, 3, 2}, bt.Input("h").Shape)
	assert.Equal(t, []float32{100, 101, 200, 201, 202, 203, 102, 103, 204, 205, 206, 207}, bt.Input("h").Data)
	assert.Equal(t, []*infer.Request{r8k}, (<-calls).Requests)

	for _, c := range []struct {
		ch  <-chan answer
		req *infer.Request
		sr  int64
	}{{a1, r1, 16000}, {a2, r2, 16000}, {a8k, r8k, 8000}} {
		a := get(t, c.ch)
		require.NoError(t, a.err)
		in := c.req.Input("h")
		want := make([]float32, in.Len())
		for i, v := range in.Data.([]float32) {
			want[i] = v + 0.5
		}
		assert.Equal(t, in.Shape, a.outs[0].Shape)
		assert.Equal(t, want, a.outs[0].Data)
		assert.Equal(t, []int64{c.sr}, a.outs[1].Data, "an unbatched output goes whole to every request")
	}
}

func TestBatcher_BytesInputs(t *testing.T) {
	calls := make(chan *Batch, 10)
	gate := make(chan struct{})
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		calls <- bt
		<-gate
		s, err := bt.Inputs[0].AsStrings()
		if err != nil {
			return nil, err
		}
		up := make([]string, len(s))
		for i, v := range s {
			up[i] = v + "!"
		}
		return []*infer.Tensor{infer.NewStrings("out", []int64{int64(len(s))}, up)}, nil
	}, Options{MaxBatchSize: 8})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(t.Context())) }()
	h := &harness{t: t, b: b}
	ctx := t.Context()
	blocker := h.submit(ctx, &infer.Request{Inputs: []*infer.Tensor{infer.NewStrings("text", []int64{1}, []string{"first"})}})
	<-calls
	x := h.queue(ctx, &infer.Request{Inputs: []*infer.Tensor{infer.NewStrings("text", []int64{2}, []string{"héllo", ""})}}, 1)
	y := h.queue(ctx, &infer.Request{Inputs: []*infer.Tensor{infer.NewStrings("text", []int64{1}, []string{"wörld"})}}, 2)
	close(gate)
	require.NoError(t, get(t, blocker).err)
	got, err := (<-calls).Inputs[0].AsStrings()
	require.NoError(t, err)
	assert.Equal(t, []string{"héllo", "", "wörld"}, got)
	ax, ay := get(t, x), get(t, y)
	require.NoError(t, ax.err)
	require.NoError(t, ay.err)
	sx, _ := ax.outs[0].AsStrings()
	sy, _ := ay.outs[0].AsStrings()
	assert.Equal(t, []string{"héllo!", "!"}, sx)
	assert.Equal(t, []string{"wörld!"}, sy)
}

func TestBatcher_CancelledQueuedRequestLeavesWithoutHarmingOthers(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8})
	ctx := t.Context()
	first, _ := h.busy(ctx)
	a, c := rowsReq(1, 0), rowsReq(2, 20)
	cctx, cancel := context.WithCancel(ctx)
	aa := h.queue(ctx, a, 1)
	ab := h.queue(cctx, rowsReq(1, 10), 2)
	ac := h.queue(ctx, c, 3)
	cancel()
	assert.ErrorIs(t, get(t, ab).err, context.Canceled)
	h.waitQueued(2)
	assert.Equal(t, int64(1), h.b.Stats().Cancelled)
	h.open()
	require.NoError(t, get(t, first).err)
	bt := h.next()
	assert.Equal(t, []*infer.Request{a, c}, bt.Requests)
	checkOwnRows(t, get(t, aa), a, 3)
	checkOwnRows(t, get(t, ac), c, 3)
}

func TestBatcher_ClientLeavingARunningBatchDoesNotCancelIt(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8})
	ctx := t.Context()
	first, _ := h.busy(ctx)
	cctx, cancel := context.WithCancel(ctx)
	stay := rowsReq(1, 0)
	as := h.queue(ctx, stay, 1)
	al := h.queue(cctx, rowsReq(1, 10), 2)
	h.finish(1)
	require.NoError(t, get(t, first).err)
	bt := h.next() // both are running now
	require.Len(t, bt.Requests, 2)
	cancel()
	assert.ErrorIs(t, get(t, al).err, context.Canceled, "the leaving client returns at once")
	h.finish(1) // the batch function's ctx was not cancelled: it waits for this token
	checkOwnRows(t, get(t, as), stay, 2)
}

func TestBatcher_BatchContextIsCancelledWhenEveryClientLeft(t *testing.T) {
	ctxs := make(chan context.Context, 1)
	b, err := New(t.Context(), func(ctx context.Context, _ *Batch) ([]*infer.Tensor, error) {
		ctxs <- ctx
		<-ctx.Done()
		return nil, ctx.Err()
	}, Options{MaxBatchSize: 8, MaxQueueDelay: time.Hour, PreferredBatchSizes: []int{2}})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(t.Context())) }()
	h := &harness{t: t, b: b}
	c1, cancel1 := context.WithCancel(t.Context())
	c2, cancel2 := context.WithCancel(t.Context())
	a1 := h.queue(c1, rowsReq(1, 0), 1)
	a2 := h.submit(c2, rowsReq(1, 1))
	bctx := <-ctxs
	cancel1()
	assert.ErrorIs(t, get(t, a1).err, context.Canceled)
	assert.NoError(t, bctx.Err(), "one client is still waiting")
	cancel2()
	assert.ErrorIs(t, get(t, a2).err, context.Canceled)
	<-bctx.Done()
}

func TestBatcher_ErrorReachesOnlyTheRequestsOfItsBatch(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 2})
	boom := status.InferenceError("out of memory", "")
	h.fail = func(bt *Batch) error {
		if bt.Input("x").Data.([]float32)[0] == 100 {
			return boom
		}
		return nil
	}
	ctx := t.Context()
	first, _ := h.busy(ctx)
	good1, good2 := rowsReq(1, 0), rowsReq(1, 10)
	ag1 := h.queue(ctx, good1, 1)
	ag2 := h.queue(ctx, good2, 2)
	ab1 := h.queue(ctx, rowsReq(1, 100), 3)
	ab2 := h.queue(ctx, rowsReq(1, 110), 4)
	h.open()
	require.NoError(t, get(t, first).err)
	checkOwnRows(t, get(t, ag1), good1, 2)
	checkOwnRows(t, get(t, ag2), good2, 2)
	assert.Same(t, boom, get(t, ab1).err)
	assert.Same(t, boom, get(t, ab2).err)
}

func TestBatcher_RequestErrorsFailOnlyTheNamedRequests(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 8})
	h.fail = func(bt *Batch) error {
		bad := RequestErrors{}
		for i, r := range bt.Requests {
			if r.Inputs[0].Data.([]float32)[0] < 0 {
				bad[i] = status.InvalidInputf("request %d has a negative value", i)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("validate: %w", bad)
		}
		return nil
	}
	ctx := t.Context()
	first, _ := h.busy(ctx) // its -1 makes it bad as well
	ok1, bad, ok2 := rowsReq(1, 0), rowsReq(2, -50), rowsReq(1, 20)
	a1 := h.queue(ctx, ok1, 1)
	ab := h.queue(ctx, bad, 2)
	a2 := h.queue(ctx, ok2, 3)
	h.open()
	assert.EqualError(t, get(t, first).err, "request 0 has a negative value")
	assert.Equal(t, []*infer.Request{ok1, bad, ok2}, h.next().Requests)
	assert.Equal(t, []*infer.Request{ok1, ok2}, h.next().Requests, "the rest run again without the bad request")
	err := get(t, ab).err
	assert.EqualError(t, err, "request 1 has a negative value")
	assert.Equal(t, 400, status.HTTPCode(err))
	checkOwnRows(t, get(t, a1), ok1, 2)
	checkOwnRows(t, get(t, a2), ok2, 2)
	assert.Equal(t, int64(3), h.b.Stats().Batches, "the lone bad request, then 3, then 2")
}

func TestBatcher_OutputWithoutTheBatchRowsFailsTheBatch(t *testing.T) {
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		return []*infer.Tensor{infer.NewTensor("y", []int64{1, 2}, []float32{1, 2})}, nil
	}, Options{Name: "mlp", MaxBatchSize: 8})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(t.Context())) }()
	_, err = b.Do(t.Context(), rowsReq(3, 0))
	assert.EqualError(t, err, `batch function of model mlp returned output "y" with shape [1, 2] for a batch of 3 rows: its dimension 0 must be the batch size`)
	assert.Equal(t, 500, status.HTTPCode(err))

	b2, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		return []*infer.Tensor{infer.NewTensor("y", []int64{3}, []float32{1, 2})}, nil
	}, Options{Name: "mlp", MaxBatchSize: 8})
	require.NoError(t, err)
	defer func() { require.NoError(t, b2.Close(t.Context())) }()
	_, err = b2.Do(t.Context(), rowsReq(3, 0))
	assert.EqualError(t, err, "batch function of model mlp returned an invalid output: output y: shape [3] expects 3 elements, but 2 were given")
}

func TestBatcher_PanicFailsTheBatchAndTheBatcherGoesOn(t *testing.T) {
	calls := 0
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		calls++
		if calls == 1 {
			panic("index out of range")
		}
		return []*infer.Tensor{bt.Inputs[0]}, nil
	}, Options{MaxBatchSize: 8})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(t.Context())) }()
	_, err = b.Do(t.Context(), rowsReq(1, 0))
	assert.EqualError(t, err, "panic : index out of range")
	assert.Equal(t, 500, status.HTTPCode(err))
	_, err = b.Do(t.Context(), rowsReq(1, 0))
	assert.NoError(t, err)
}

func TestBatcher_FullQueueRejectsWith503(t *testing.T) {
	h := newHarness(t, Options{Name: "mlp", MaxBatchSize: 8, MaxQueueSize: 2})
	ctx := t.Context()
	first, _ := h.busy(ctx)
	a := h.queue(ctx, rowsReq(1, 0), 1)
	b := h.queue(ctx, rowsReq(1, 1), 2)
	_, err := h.b.Do(ctx, rowsReq(1, 2))
	require.ErrorIs(t, err, ErrQueueFull)
	assert.EqualError(t, err, "model mlp is overloaded: 2 requests are queued, the most it queues (max queue size)")
	assert.Equal(t, 503, status.HTTPCode(err))
	assert.Equal(t, int64(1), h.b.Stats().Rejected)
	h.open()
	for _, ch := range []<-chan answer{first, a, b} {
		require.NoError(t, get(t, ch).err)
	}
}

func TestBatcher_CloseDrainsTheQueue(t *testing.T) {
	h := newHarness(t, Options{Name: "mlp", MaxBatchSize: 8, MaxQueueDelay: time.Hour})
	h.open()
	ctx := t.Context()
	reqs := []*infer.Request{rowsReq(1, 0), rowsReq(2, 10)}
	a := h.queue(ctx, reqs[0], 1)
	b := h.queue(ctx, reqs[1], 2)
	h.noCall()
	require.NoError(t, h.b.Close(ctx))
	checkOwnRows(t, get(t, a), reqs[0], 3)
	checkOwnRows(t, get(t, b), reqs[1], 3)
	_, err := h.b.Do(ctx, rowsReq(1, 0))
	require.ErrorIs(t, err, ErrClosed)
	assert.EqualError(t, err, "model mlp is shutting down")
	assert.Equal(t, 503, status.HTTPCode(err))
}

func TestBatcher_CloseDeadlineFailsQueuedAndCancelsRunning(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 1})
	ctx := t.Context()
	running, _ := h.busy(ctx)
	queued := h.queue(ctx, rowsReq(1, 0), 1)
	expired, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, h.b.Close(expired), context.Canceled)
	assert.ErrorIs(t, get(t, running).err, context.Canceled, "the running batch saw its context end")
	err := get(t, queued).err
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 503, status.HTTPCode(err))
}

// Many clients with random row counts: every one gets exactly one answer
// holding exactly its own rows, and the batch function saw every row once.
func TestBatcher_ExactlyOneResponsePerRequestUnderLoad(t *testing.T) {
	const clients = 300
	var mu sync.Mutex
	seen := map[float32]int{}
	b, err := New(t.Context(), func(_ context.Context, bt *Batch) ([]*infer.Tensor, error) {
		x := bt.Input("x").Data.([]float32)
		mu.Lock()
		for i := 0; i < len(x); i += 2 {
			seen[x[i]]++
		}
		mu.Unlock()
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = 2 * v
		}
		return []*infer.Tensor{infer.NewTensor("y", bt.Input("x").Shape, y)}, nil
	}, Options{MaxBatchSize: 8, Instances: 2, MaxQueueDelay: 200 * time.Microsecond, PreferredBatchSizes: []int{4, 8}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	totalRows := 0
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range clients {
		rows := 1 + rng.IntN(4)
		totalRows += rows
		req := rowsReq(rows, float32(c*1000))
		wg.Go(func() {
			outs, err := b.Do(t.Context(), req)
			if err != nil {
				errs <- err
				return
			}
			x := req.Inputs[0].Data.([]float32)
			y := outs[0].Data.([]float32)
			if len(outs) != 1 || len(y) != len(x) {
				errs <- fmt.Errorf("client %d: got %d outputs, %d values for %d", c, len(outs), len(y), len(x))
				return
			}
			for i := range x {
				if y[i] != 2*x[i] {
					errs <- fmt.Errorf("client %d: value %d is %v, want %v", c, i, y[i], 2*x[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.NoError(t, b.Close(t.Context()))
	assert.Len(t, seen, totalRows)
	for v, n := range seen {
		if n != 1 {
			t.Errorf("row starting %v ran %d times", v, n)
		}
	}
	s := b.Stats()
	assert.Equal(t, int64(clients), s.Requests)
	assert.Equal(t, int64(totalRows), s.Rows)
	t.Logf("%d requests, %d rows in %d batches", s.Requests, s.Rows, s.Batches)
}

func TestBatcher_StoppedContextFailsQueuedRequests(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := New(ctx, func(context.Context, *Batch) ([]*infer.Tensor, error) { return nil, nil }, Options{Name: "m", MaxBatchSize: 8, MaxQueueDelay: time.Hour})
	require.NoError(t, err)
	h := &harness{t: t, b: b}
	queued := h.queue(t.Context(), rowsReq(1, 0), 1)
	cancel()
	err = get(t, queued).err
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "model m is shutting down")
	_, err = b.Do(t.Context(), rowsReq(1, 0))
	assert.ErrorIs(t, err, ErrClosed)
}

func TestBatcher_InvalidRequests(t *testing.T) {
	h := newHarness(t, Options{Name: "m", MaxBatchSize: 8, InputBatchDim: map[string]int{"h": 1, "sr": NotBatched}})
	f := func(name string, shape []int64, n int) *infer.Tensor {
		return infer.NewTensor(name, shape, make([]float32, n))
	}
	for _, c := range []struct {
		name   string
		inputs []*infer.Tensor
		want   string
	}{
		{"no inputs", nil, "model m batches tensor inputs, but the request has none"},
		{"duplicate", []*infer.Tensor{f("x", []int64{1}, 1), f("x", []int64{1}, 1)}, `input "x" appears more than once in the request`},
		{"rows differ", []*infer.Tensor{f("a", []int64{2, 1}, 2), f("b", []int64{3, 1}, 3)}, `input "b" has 3 rows along its batch dimension 0, but input "a" has 2`},
		{"rows differ across dims", []*infer.Tensor{f("h", []int64{2, 3, 1}, 6), f("x", []int64{2, 1}, 2)}, `input "x" has 2 rows along its batch dimension 0, but input "h" has 3`},
		{"no batch dim", []*infer.Tensor{f("h", []int64{2}, 2)}, `input "h" has shape [2], which has no batch dimension 1`},
		{"scalar", []*infer.Tensor{f("x", []int64{}, 1)}, `input "x" has shape [], which has no batch dimension 0`},
		{"empty batch", []*infer.Tensor{f("x", []int64{0, 4}, 0)}, `input "x" has shape [0, 4]: its batch dimension 0 is empty`},
		{"only unbatched", []*infer.Tensor{f("sr", []int64{}, 1)}, "model m: no input of the request has a batch dimension"},
		{"data mismatch", []*infer.Tensor{f("x", []int64{2, 2}, 3)}, "input x: shape [2, 2] expects 4 elements, but 3 were given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.b.Do(t.Context(), &infer.Request{Inputs: c.inputs})
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
			assert.Equal(t, 400, status.HTTPCode(err))
		})
	}
	h.noCall()
}

func TestNew_InvalidOptions(t *testing.T) {
	fn := func(context.Context, *Batch) ([]*infer.Tensor, error) { return nil, nil }
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{}, "batch: MaxBatchSize is 0, must be at least 1"},
		{Options{MaxBatchSize: 4, MaxQueueDelay: -1}, "batch: MaxQueueDelay is -1ns, must not be negative"},
		{Options{MaxBatchSize: 4, PreferredBatchSizes: []int{2, 8}}, "batch: preferred batch size 8 is outside [1, MaxBatchSize 4]"},
		{Options{MaxBatchSize: 4, InputBatchDim: map[string]int{"h": -2}}, `batch: input "h" has batch dimension -2; use a dimension >= 0 or NotBatched`},
		{Options{MaxBatchSize: 4, OutputBatchDim: map[string]int{"y": -3}}, `batch: output "y" has batch dimension -3; use a dimension >= 0 or NotBatched`},
		{Options{MaxBatchSize: 4, MaxQueueSize: -1}, "batch: MaxQueueSize is -1, must not be negative"},
		{Options{MaxBatchSize: 4, Instances: -1}, "batch: Instances is -1, must not be negative"},
	} {
		_, err := New(t.Context(), fn, c.opts)
		assert.EqualError(t, err, c.want)
	}
	_, err := New(t.Context(), nil, Options{MaxBatchSize: 1})
	assert.EqualError(t, err, "batch: nil batch function")
}

func TestRequestErrors_Message(t *testing.T) {
	err := RequestErrors{2: errors.New("bad shape"), 0: errors.New("bad value")}
	assert.Equal(t, "request 0: bad value; request 2: bad shape", err.Error())
}

func TestBatcher_CancelledRequestTakesNoRoomInABatch(t *testing.T) {
	h := newHarness(t, Options{MaxBatchSize: 2, MaxQueueDelay: time.Hour})
	h.open()
	ctx := t.Context()
	cctx, cancel := context.WithCancel(ctx)
	gone := h.queue(cctx, rowsReq(1, 0), 1)
	cancel()
	assert.ErrorIs(t, get(t, gone).err, context.Canceled)
	h.waitQueued(0)
	b, c := rowsReq(1, 10), rowsReq(1, 20)
	ab := h.queue(ctx, b, 1)
	h.noCall()
	ac := h.submit(ctx, c)
	assert.Equal(t, []*infer.Request{b, c}, h.next().Requests)
	checkOwnRows(t, get(t, ab), b, 2)
	checkOwnRows(t, get(t, ac), c, 2)
}
