package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Classifier scores two classes and names them, so the classification
// extension can answer "value:index:label".
type Classifier struct{}

func (Classifier) Name() string               { return "pets" }
func (Classifier) Load(context.Context) error { return nil }
func (Classifier) Ready() bool                { return true }

func (Classifier) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	x, err := infer.InputAs[float32](req, "x")
	if err != nil {
		return nil, err // a 400 naming the missing input, or its datatype
	}
	probs := make([]float32, 0, 2*len(x))
	for _, v := range x { // one row per element of x: [P(cat), P(dog)]
		probs = append(probs, 1-v, v)
	}
	return runtime.PredictResponse(req, "pets", infer.NewTensor("probs", []int64{int64(len(x)), 2}, probs))
}

// Labels names the classes of output "probs", by index.
func (Classifier) Labels(output string) []string {
	if output == "probs" {
		return []string{"cat", "dog"}
	}
	return nil
}

var _ runtime.Labeler = Classifier{}

// A model that names its classes (runtime.Labeler) gets the classification
// extension of the Open Inference Protocol for free: a request that asks for
// an output with "classification": k is answered with each row's k largest
// classes as "value:index:label", without the model doing anything more.
func Example_classification() {
	cfg := config.Default()
	cfg.ModelName = "pets"
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, Classifier{}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		panic(err)
	}

	resp, err := http.Post("http://"+ln.Addr().String()+"/v2/models/pets/infer", "application/json", strings.NewReader(
		`{"id":"1","inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[0.25,0.75]}],
		  "outputs":[{"name":"probs","parameters":{"classification":1}}]}`))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(b))

	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// 200 {"model_name":"pets","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"probs","shape":[2,1],"datatype":"BYTES","parameters":null,"data":["0.750000:0:cat","0.750000:1:dog"]}]}
}

// A batch.Model queues requests for its batcher, so it must not count
// against --max_asyncio_workers: it says so with runtime.Unbounded.
var _ runtime.Unbounded = (*batch.Model)(nil)
