package grpcserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// TestParity_RESTAndGRPC sends the same request through REST v2 (JSON) and
// gRPC (typed contents) to the same dataplane and expects the same tensors,
// or the same error message with the matching code.
func TestParity_RESTAndGRPC(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: rest.New(f.dp, rest.Options{})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()

	cases := []struct {
		name string
		rest string // v2 JSON body
		grpc string // ModelInferRequest as protobuf JSON
		http int    // expected REST status
		msg  string // expected error message (both transports)
	}{
		{
			name: "fp32",
			rest: `{"id":"1","inputs":[{"name":"a","shape":[2,2],"datatype":"FP32","data":[1.5,-2,3,4]}]}`,
			grpc: `{"model_name":"passthrough","id":"1","inputs":[{"name":"a","datatype":"FP32","shape":[2,2],"contents":{"fp32_contents":[1.5,-2,3,4]}}]}`,
		},
		{
			name: "int8 and bytes",
			rest: `{"id":"2","inputs":[{"name":"a","shape":[3],"datatype":"INT8","data":[-128,0,127]},{"name":"s","shape":[1],"datatype":"BYTES","data":["héllo"]}]}`,
			grpc: `{"model_name":"passthrough","id":"2","inputs":[{"name":"a","datatype":"INT8","shape":[3],"contents":{"int_contents":[-128,0,127]}},{"name":"s","datatype":"BYTES","shape":[1],"contents":{"bytes_contents":["aMOpbGxv"]}}]}`,
		},
		{
			name: "uint64 and bool",
			rest: `{"id":"3","inputs":[{"name":"u","shape":[2],"datatype":"UINT64","data":[0,18446744073709551615]},{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]}]}`,
			grpc: `{"model_name":"passthrough","id":"3","inputs":[{"name":"u","datatype":"UINT64","shape":[2],"contents":{"uint64_contents":["0","18446744073709551615"]}},{"name":"b","datatype":"BOOL","shape":[2],"contents":{"bool_contents":[true,false]}}]}`,
		},
		{
			name: "requested outputs select and order",
			rest: `{"id":"4","inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[1]},{"name":"b","shape":[1],"datatype":"INT64","data":[2]}],"outputs":[{"name":"output-1"}]}`,
			grpc: `{"model_name":"passthrough","id":"4","inputs":[{"name":"a","datatype":"INT64","shape":[1],"contents":{"int64_contents":[1]}},{"name":"b","datatype":"INT64","shape":[1],"contents":{"int64_contents":[2]}}],"outputs":[{"name":"output-1"}]}`,
		},
		{
			name: "unknown requested output",
			rest: `{"inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[1]}],"outputs":[{"name":"nope"}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"INT64","shape":[1],"contents":{"int64_contents":[1]}}],"outputs":[{"name":"nope"}]}`,
			http: 400, msg: "Unexpected inference output 'nope' for model 'passthrough'",
		},
		{
			// Each copy of an output asked for again was answered again:
			// an output of 1 MB asked for 60 000 times in a 1 MB request
			// was a 60 GB answer, built in memory, and the server spent
			// minutes on a 4 MB list of 200 000 copies (BinaryOutputs
			// compared every output with every requested one).
			name: "requested output twice",
			rest: `{"inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[1]},{"name":"b","shape":[1],"datatype":"INT64","data":[2]}],"outputs":[{"name":"output-1"},{"name":"output-0"},{"name":"output-1"}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"INT64","shape":[1],"contents":{"int64_contents":[1]}},{"name":"b","datatype":"INT64","shape":[1],"contents":{"int64_contents":[2]}}],"outputs":[{"name":"output-1"},{"name":"output-0"},{"name":"output-1"}]}`,
			http: 400, msg: `"outputs" asks for output 'output-1' twice (outputs[0] and outputs[2]) for model 'passthrough'`,
		},
		{
			// Not "output 'output-0' is BYTES": the second copy found
			// the first one's classes.
			name: "classified output twice",
			rest: `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2]}],"outputs":[{"name":"output-0","parameters":{"classification":1}},{"name":"output-0","parameters":{"classification":1}}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"FP32","shape":[2],"contents":{"fp32_contents":[1,2]}}],"outputs":[{"name":"output-0","parameters":{"classification":{"int64_param":1}}},{"name":"output-0","parameters":{"classification":{"int64_param":1}}}]}`,
			http: 400, msg: `"outputs" asks for output 'output-0' twice (outputs[0] and outputs[1]) for model 'passthrough'`,
		},
		{
			name: "shape mismatch",
			rest: `{"inputs":[{"name":"a","shape":[2,2],"datatype":"FP32","data":[1,2,3]}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"FP32","shape":[2,2],"contents":{"fp32_contents":[1,2,3]}}]}`,
			http: 400, msg: "input a: shape [2, 2] expects 4 elements, but 3 were given",
		},
		{
			name: "lower-case datatype",
			rest: `{"id":"5","inputs":[{"name":"a","shape":[2],"datatype":"fp32","data":[1,2]}]}`,
			grpc: `{"model_name":"passthrough","id":"5","inputs":[{"name":"a","datatype":"fp32","shape":[2],"contents":{"fp32_contents":[1,2]}}]}`,
		},
		{
			name: "invalid datatype",
			rest: `{"inputs":[{"name":"a","shape":[1],"datatype":"float","data":[1]}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"float","shape":[1],"contents":{"fp32_contents":[1]}}]}`,
			http: 400, msg: "invalid datatype FLOAT for input a",
		},
		{
			name: "negative dimension",
			rest: `{"inputs":[{"name":"a","shape":[-1,2],"datatype":"FP32","data":[1,2]}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"FP32","shape":[-1,2],"contents":{"fp32_contents":[1,2]}}]}`,
			http: 400, msg: "input a: shape [-1, 2] is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements",
		},
		{
			name: "INT8 element out of range",
			rest: `{"inputs":[{"name":"a","shape":[2],"datatype":"INT8","data":[1,300]}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"INT8","shape":[2],"contents":{"int_contents":[1,300]}}]}`,
			http: 400, msg: "input a: data element 1 is 300, not an integer in range for 8 bits as datatype INT8 needs",
		},
		{
			name: "UINT16 element out of range",
			rest: `{"inputs":[{"name":"a","shape":[2],"datatype":"UINT16","data":[70000,1]}]}`,
			grpc: `{"model_name":"passthrough","inputs":[{"name":"a","datatype":"UINT16","shape":[2],"contents":{"uint_contents":[70000,1]}}]}`,
			http: 400, msg: "input a: data element 0 is 70000, not an unsigned integer in range as datatype UINT16 needs",
		},
		{
			name: "unknown model",
			rest: `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`,
			grpc: `{"model_name":"nope","inputs":[{"name":"a","datatype":"FP32","shape":[1],"contents":{"fp32_contents":[1]}}]}`,
			http: 404, msg: "Model with name nope does not exist.",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var g pb.ModelInferRequest
			require.NoError(t, protojson.Unmarshal([]byte(c.grpc), &g))
			gresp, gerr := f.client.ModelInfer(ctxT(t), &g)

			hresp, err := http.Post(base+"/v2/models/"+g.GetModelName()+"/infer", "application/json", bytes.NewReader([]byte(c.rest)))
			require.NoError(t, err)
			body, err := io.ReadAll(hresp.Body)
			hresp.Body.Close()
			require.NoError(t, err)

			if c.msg != "" {
				assert.Equal(t, c.http, hresp.StatusCode)
				var e struct{ Error string }
				require.NoError(t, json.Unmarshal(body, &e))
				assert.Equal(t, c.msg, e.Error)
				// The gRPC code is the one status maps the REST error's kind to.
				requireStatus(t, gerr, status.GRPCCode(&status.Error{Kind: kindOfHTTP(c.http)}), c.msg)
				return
			}
			require.NoError(t, gerr)
			require.Equal(t, http.StatusOK, hresp.StatusCode, string(body))
			var r struct {
				ID      string `json:"id"`
				Outputs []struct {
					Name     string          `json:"name"`
					Shape    []int64         `json:"shape"`
					Datatype infer.Datatype  `json:"datatype"`
					Data     json.RawMessage `json:"data"`
				} `json:"outputs"`
			}
			require.NoError(t, json.Unmarshal(body, &r))
			got, err := pbconv.Response(gresp)
			require.NoError(t, err)
			assert.Equal(t, r.ID, got.ID)
			require.Len(t, got.Outputs, len(r.Outputs))
			for i, o := range r.Outputs {
				gt := got.Outputs[i]
				assert.Equal(t, o.Name, gt.Name)
				assert.Equal(t, o.Shape, gt.Shape)
				assert.Equal(t, o.Datatype, gt.Datatype)
				// REST data, decoded into the gRPC tensor's Go type, is equal.
				want := infer.MakeData(gt.Datatype, 0)
				switch w := want.(type) {
				case [][]byte:
					var s []string
					require.NoError(t, json.Unmarshal(o.Data, &s))
					for _, x := range s {
						w = append(w, []byte(x))
					}
					want = w
				case []uint8:
					var u []uint16
					require.NoError(t, json.Unmarshal(o.Data, &u))
					for _, x := range u {
						w = append(w, uint8(x))
					}
					want = w
				default:
					p := ptrTo(want)
					require.NoError(t, json.Unmarshal(o.Data, p))
					want = deref(p)
				}
				assert.Equal(t, want, gt.Data, "output %s", o.Name)
			}
		})
	}
}

func kindOfHTTP(code int) status.Kind {
	switch code {
	case 400:
		return status.KindInvalidInput
	case 404:
		return status.KindModelNotFound
	}
	return status.KindInternal
}

func ptrTo(v any) any {
	switch d := v.(type) {
	case []float32:
		return &d
	case []int8:
		return &d
	case []int64:
		return &d
	case []uint64:
		return &d
	case []bool:
		return &d
	}
	panic("add the type to ptrTo")
}

func deref(p any) any {
	switch d := p.(type) {
	case *[]float32:
		return *d
	case *[]int8:
		return *d
	case *[]int64:
		return *d
	case *[]uint64:
		return *d
	case *[]bool:
		return *d
	}
	panic("add the type to deref")
}

// awkwardHeaders sets response headers that cannot go on the wire as they
// are: a value with a line break, and a name that is no HTTP token.
type awkwardHeaders struct{}

func (awkwardHeaders) Name() string               { return "headers" }
func (awkwardHeaders) Load(context.Context) error { return nil }
func (awkwardHeaders) Ready() bool                { return true }
func (awkwardHeaders) Predict(_ context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	h.Set("Prediction-Time-Latency", "42")
	h.Set("X-Note", "line one\r\nline two")
	h.Response["X Bad Name"] = []string{"v"}
	return infer.PredictResponse(req, "headers", []float32{1})
}

// TestParity_ResponseHeaders: the headers a model sets reach REST and gRPC
// clients alike. REST (net/http) drops a header whose name is not a token
// and turns line breaks into spaces; gRPC sends the same, where HTTP/2's
// checks used to fail the whole call with INTERNAL "invalid header field
// name" after the model had answered.
func TestParity_ResponseHeaders(t *testing.T) {
	f := start(t, grpcserver.Options{}, awkwardHeaders{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: rest.New(f.dp, rest.Options{})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })

	hresp, err := http.Post("http://"+ln.Addr().String()+"/v2/models/headers/infer", "application/json",
		bytes.NewReader([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`)))
	require.NoError(t, err)
	hresp.Body.Close()
	require.Equal(t, http.StatusOK, hresp.StatusCode)
	assert.Equal(t, "42", hresp.Header.Get("Prediction-Time-Latency"))
	assert.Equal(t, "line one  line two", hresp.Header.Get("X-Note"))
	assert.NotContains(t, hresp.Header, "X Bad Name")

	var md metadata.MD
	_, err = f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "headers", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "a", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}}, grpc.Header(&md))
	require.NoError(t, err)
	assert.Equal(t, []string{"42"}, md.Get("prediction-time-latency"))
	assert.Equal(t, []string{"line one  line two"}, md.Get("x-note"))
	assert.Empty(t, md.Get("x bad name"))
}

// TestParity_V1BodyToAV2Request: a model that answers a v2 request with a
// v1 body (no tensors) is a server error on both transports, naming the
// fix. REST used to answer 200 with "outputs": [], dropping the body.
func TestParity_V1BodyToAV2Request(t *testing.T) {
	f := start(t, grpcserver.Options{}, failing{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: rest.New(f.dp, rest.Options{})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })

	hresp, err := http.Post("http://"+ln.Addr().String()+"/v2/models/failing/infer", "application/json",
		bytes.NewReader([]byte(`{"parameters":{"kind":"v1body"},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`)))
	require.NoError(t, err)
	body, err := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, hresp.StatusCode)
	assert.Equal(t, `{"error":"model failing returned a v1 response body to a v2 REST request; return tensors (infer.PredictResponse)"}`, string(body))

	_, err = f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "failing",
		Parameters: map[string]*pb.InferParameter{"kind": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "v1body"}}}})
	requireStatus(t, err, codes.Internal, "model failing returned a v1 response body to a gRPC v2 request; return tensors (infer.PredictResponse)")
}

// smallInts answers with parameters of Go's other integer types, as model
// code gets them from its libraries (a uint32 count, an int16 offset).
type smallInts struct{}

func (smallInts) Name() string               { return "ints" }
func (smallInts) Load(context.Context) error { return nil }
func (smallInts) Ready() bool                { return true }
func (smallInts) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	resp, err := infer.PredictResponse(req, "ints", []float32{1})
	if err != nil {
		return nil, err
	}
	resp.Parameters = infer.Parameters{"count": uint32(3), "offset": int16(-2), "n": uint(5), "flag": uint8(1), "small": int8(-1), "port": uint16(8080)}
	return resp, nil
}

// TestParity_IntegerParameters: parameters of any Go integer type go out on
// both transports (REST writes them as JSON numbers; gRPC used to fail the
// call with INTERNAL because only int, int32 and int64 had a conversion).
func TestParity_IntegerParameters(t *testing.T) {
	f := start(t, grpcserver.Options{}, smallInts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: rest.New(f.dp, rest.Options{})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })

	hresp, err := http.Post("http://"+ln.Addr().String()+"/v2/models/ints/infer", "application/json",
		bytes.NewReader([]byte(`{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`)))
	require.NoError(t, err)
	body, err := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, `{"model_name":"ints","model_version":null,"id":"1","parameters":{"count":3,"flag":1,"n":5,"offset":-2,"port":8080,"small":-1},"outputs":[{"name":"output-0","shape":[1],"datatype":"FP32","parameters":null,"data":[1.0]}]}`, string(body))

	resp, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "ints", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "a", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	require.NoError(t, err)
	got, err := pbconv.Parameters(resp.GetParameters())
	require.NoError(t, err)
	assert.Equal(t, infer.Parameters{"count": int64(3), "flag": int64(1), "n": int64(5), "offset": int64(-2), "port": int64(8080), "small": int64(-1)}, got)
}
