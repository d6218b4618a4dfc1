package runtimetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// UnknownModel is the model name Run uses to check not-found errors.
const UnknownModel = "runtimetest-no-such-model"

// Run serves m (see Start) and checks it as KServe clients see it, each
// check a subtest:
//
//   - health: GET / is {"status":"alive"}, /v2/health/live and /ready are true;
//   - v1 and v2 model listing and readiness answer ready for m;
//   - v2 server and model metadata, with m's tensors when it describes them,
//     and (with WithV2) that they describe the tensors really served; for
//     a model without Predict (an OpenAI model), model metadata is KServe's
//     500 for a model that is no InferenceModel (dataplane.NoInference);
//   - for an OpenAI model (openai.Is), the OpenAI routes' model list and
//     readiness name m: GET <prefix>/v1/models and <prefix>/v1/models/NAME;
//   - for a time-series model (timeseries.Is), GET /v1/timeseries/models
//     names m;
//   - error bodies: unknown model 404 {"error":"Model with name X does not
//     exist."} on every route, malformed JSON 400 "Unrecognized request
//     format: ...", unknown route 404 and wrong method 405 {"detail":...};
//   - with WithV1 / WithV2, the predict and infer round trips;
//   - with WithGRPC, gRPC health, metadata and (with WithV2) the same
//     inference over gRPC giving the same response as REST.
func Run(t *testing.T, m runtime.Model, opts ...Option) {
	t.Helper()
	s := newSettings(opts)
	srv := Start(t, m, opts...)
	name := m.Name()

	t.Run("health", func(t *testing.T) {
		expect(t, srv.Get(t, "/"), http.StatusOK, `{"status":"alive"}`)
		expect(t, srv.Get(t, "/v2/health/live"), http.StatusOK, `{"live":true}`)
		expect(t, srv.Get(t, "/v2/health/ready"), http.StatusOK, `{"ready":true}`)
	})

	t.Run("readiness", func(t *testing.T) {
		expect(t, srv.Get(t, "/v1/models/"+name), http.StatusOK, fmt.Sprintf(`{"name":%q,"ready":true}`, name))
		expect(t, srv.Get(t, "/v2/models/"+name+"/ready"), http.StatusOK, fmt.Sprintf(`{"name":%q,"ready":true}`, name))
		for _, path := range []string{"/v1/models", "/v2/models"} {
			resp := srv.Get(t, path)
			var list struct{ Models []string }
			if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &list) != nil || !slices.Contains(list.Models, name) {
				t.Errorf("GET %s: got %d %s, want 200 with %q in models", path, resp.Code, resp.Body, name)
			}
		}
	})

	t.Run("metadata", func(t *testing.T) {
		resp := srv.Get(t, "/v2")
		var server struct {
			Name       string   `json:"name"`
			Version    string   `json:"version"`
			Extensions []string `json:"extensions"`
		}
		if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &server) != nil || server.Name != "kserve" || server.Version == "" {
			t.Errorf("GET /v2: got %d %s, want 200 with name kserve and a version", resp.Code, resp.Body)
		}
		resp = srv.Get(t, "/v2/models/"+name)
		if _, ok := m.(runtime.Predictor); !ok {
			// KServe's dataplane.model_metadata raises ValueError for a
			// model that is no InferenceModel.
			expect(t, resp, http.StatusInternalServerError, errorBody(dataplane.NoInference(m).Error()))
			return
		}
		var meta struct {
			Name     string                   `json:"name"`
			Platform *string                  `json:"platform"`
			Inputs   []runtime.TensorMetadata `json:"inputs"`
			Outputs  []runtime.TensorMetadata `json:"outputs"`
		}
		if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &meta) != nil || meta.Name != name || meta.Platform == nil || meta.Inputs == nil || meta.Outputs == nil {
			t.Fatalf("GET /v2/models/%s: got %d %s, want 200 with name, platform, inputs and outputs", name, resp.Code, resp.Body)
		}
		if mp, ok := m.(runtime.MetadataProvider); ok {
			if want := mp.InputsMetadata(); !sameTensors(meta.Inputs, want) {
				t.Errorf("model metadata inputs = %+v, want the model's %+v", meta.Inputs, want)
			}
			if want := mp.OutputsMetadata(); !sameTensors(meta.Outputs, want) {
				t.Errorf("model metadata outputs = %+v, want the model's %+v", meta.Outputs, want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		notFound := fmt.Sprintf(`{"error":"Model with name %s does not exist."}`, UnknownModel)
		expect(t, srv.Get(t, "/v1/models/"+UnknownModel), http.StatusNotFound, notFound)
		expect(t, srv.PostJSON(t, "/v1/models/"+UnknownModel+":predict", `{"instances":[]}`), http.StatusNotFound, notFound)
		expect(t, srv.Get(t, "/v2/models/"+UnknownModel), http.StatusNotFound, notFound)
		expect(t, srv.Get(t, "/v2/models/"+UnknownModel+"/ready"), http.StatusNotFound, notFound)
		expect(t, srv.PostJSON(t, "/v2/models/"+UnknownModel+"/infer", `{"inputs":[]}`), http.StatusNotFound, notFound)
		expect(t, srv.Get(t, "/no/such/route"), http.StatusNotFound, `{"detail":"Not Found"}`)
		expect(t, srv.PostJSON(t, "/v2/health/live", `{}`), http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)

		resp := srv.PostJSON(t, "/v1/models/"+name+":predict", `{"instances": [`)
		var body struct{ Error string }
		if resp.Code != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil || !strings.HasPrefix(body.Error, "Unrecognized request format: ") {
			t.Errorf(`POST :predict with malformed JSON: got %d %s, want 400 {"error":"Unrecognized request format: ..."}`, resp.Code, resp.Body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
	})

	if openai.Is(m) {
		t.Run("openai", func(t *testing.T) { checkOpenAI(t, srv, name) })
	}
	if timeseries.Is(m) {
		t.Run("timeseries", func(t *testing.T) { checkTimeSeries(t, srv, name) })
	}

	if s.v1 != nil {
		t.Run("v1 predict", func(t *testing.T) {
			resp := srv.PostJSON(t, "/v1/models/"+name+":predict", s.v1.request)
			checkRoundTrip(t, "POST /v1/models/"+name+":predict", resp, s.v1.want, "")
		})
	}
	var v2Body string
	if s.v2 != nil {
		t.Run("v2 infer", func(t *testing.T) {
			resp := srv.PostJSON(t, "/v2/models/"+name+"/infer", s.v2.request)
			checkRoundTrip(t, "POST /v2/models/"+name+"/infer", resp, s.v2.want, idHint(s.v2.request))
			var got struct {
				ModelName string                   `json:"model_name"`
				Outputs   []runtime.TensorMetadata `json:"outputs"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || got.ModelName != name || len(got.Outputs) == 0 {
				t.Errorf("v2 response %s: want model_name %q and at least one output", resp.Body, name)
			}
			if mp, ok := m.(runtime.MetadataProvider); ok {
				var req struct {
					Inputs []runtime.TensorMetadata `json:"inputs"`
				}
				if err := json.Unmarshal([]byte(s.v2.request), &req); err == nil {
					checkDescribed(t, "input", req.Inputs, mp.InputsMetadata())
				}
				checkDescribed(t, "output", got.Outputs, mp.OutputsMetadata())
			}
			v2Body = resp.Body
		})
	}
	if s.grpc {
		t.Run("grpc", func(t *testing.T) { checkGRPC(t, srv, name, s.v2, v2Body) })
	}
}

func checkGRPC(t *testing.T, srv *Server, name string, v2 *exchange, restBody string) {
	if srv.GRPCAddr == "" {
		t.Fatal("gRPC is off (a WithConfig option set EnableGRPC to false)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.NewGRPC(srv.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for what, check := range map[string]func(context.Context) (bool, error){
		"ServerLive":  c.IsServerLive,
		"ServerReady": c.IsServerReady,
		"ModelReady":  func(ctx context.Context) (bool, error) { return c.IsModelReady(ctx, name) },
	} {
		if ok, err := check(ctx); err != nil || !ok {
			t.Errorf("gRPC %s = %v, %v; want true", what, ok, err)
		}
	}
	if _, err := c.IsModelReady(ctx, UnknownModel); err == nil || !strings.Contains(err.Error(), "Model with name "+UnknownModel+" does not exist.") {
		t.Errorf("gRPC ModelReady(%s) error = %v, want NOT_FOUND naming the model", UnknownModel, err)
	}
	if md, err := c.ServerMetadata(ctx); err != nil || md.GetName() != "kserve" {
		t.Errorf("gRPC ServerMetadata = %v, %v; want name kserve", md, err)
	}
	if md, err := c.ModelMetadata(ctx, name); err != nil || md.GetName() != name {
		t.Errorf("gRPC ModelMetadata = %v, %v; want name %s", md, err, name)
	}
	if v2 == nil {
		return
	}
	req, err := infer.DecodeRequest([]byte(v2.request), nil)
	if err != nil {
		t.Fatalf("WithV2 request: %v", err)
	}
	req.ModelName = name
	resp, err := c.Infer(ctx, req)
	if err != nil {
		t.Fatalf("gRPC ModelInfer: %v", err)
	}
	got, err := infer.AppendResponseJSON(nil, resp)
	if err != nil {
		t.Fatalf("gRPC ModelInfer response: %v", err)
	}
	if restBody == "" {
		return // the REST round trip failed and said so
	}
	if !sameJSON(string(got), restBody) {
		t.Errorf("gRPC ModelInfer gave %s, REST gave %s for the same request%s", got, restBody, idHint(v2.request))
	}
}

// checkOpenAI checks that the OpenAI routes list model name and answer
// it ready, as OpenAI's clients (client.models.list()) and KServe's
// OpenAI health route see it. Without a prefix those paths are KServe's
// v1 model list and readiness, checked as such elsewhere.
func checkOpenAI(t *testing.T, srv *Server, name string) {
	if srv.openAIPrefix == "" {
		return
	}
	type entry struct {
		ID     string `json:"id"`
		Object string `json:"object"`
	}
	var list struct {
		Object string  `json:"object"`
		Data   []entry `json:"data"`
	}
	resp := srv.Get(t, srv.openAIPrefix+"/v1/models")
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &list) != nil || list.Object != "list" ||
		!slices.Contains(list.Data, entry{ID: name, Object: "model"}) {
		t.Errorf(`GET %s/v1/models: got %d %s, want 200 with {"id":%q,"object":"model"} in data`, srv.openAIPrefix, resp.Code, resp.Body, name)
	}
	expect(t, srv.Get(t, srv.openAIPrefix+"/v1/models/"+name), http.StatusOK, "null")
}

// checkTimeSeries checks that the time-series routes list model name, as
// KServe's GET /v1/timeseries/models lists the forecasting models.
func checkTimeSeries(t *testing.T, srv *Server, name string) {
	resp := srv.Get(t, "/v1/timeseries/models")
	var names []string
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &names) != nil || !slices.Contains(names, name) {
		t.Errorf("GET /v1/timeseries/models: got %d %s, want 200 with %q in the list", resp.Code, resp.Body, name)
	}
}

// errorBody is KServe's error body for msg: {"error": msg}.
func errorBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

// expect fails t unless resp has code and exactly body.
func expect(t *testing.T, resp Response, code int, body string) {
	t.Helper()
	if resp.Code != code || resp.Body != body {
		t.Errorf("got %d %s, want %d %s", resp.Code, resp.Body, code, body)
	}
}

func checkRoundTrip(t *testing.T, what string, resp Response, want, hint string) {
	t.Helper()
	if resp.Code != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200", what, resp.Code, resp.Body)
	}
	if want != "" && resp.Body != want {
		t.Errorf("%s:\n got %s\nwant %s%s", what, resp.Body, want, hint)
	}
	if want == "" && !json.Valid([]byte(resp.Body)) {
		t.Errorf("%s: body is not JSON: %s", what, resp.Body)
	}
}

// idHint is what a failed comparison of v2 answers adds when request
// (WithV2's) has no "id": the server then gives every answer a fresh uuid4
// (KServe's generate_uuid), which neither a want written beforehand nor a
// second answer over gRPC can equal, however right the outputs are.
func idHint(request string) string {
	var head struct {
		ID *string `json:"id"`
	}
	if json.Unmarshal([]byte(request), &head) != nil || (head.ID != nil && *head.ID != "") {
		return ""
	}
	return "\n(the WithV2 request has no \"id\", so each answer carries a new uuid4 one: give the request an id, e.g. {\"id\":\"1\",\"inputs\":[...]}, and put the same in want)"
}

// checkDescribed checks that the model's metadata describes the tensors
// it really takes or gives: when it declares any, at least one served
// tensor is declared, and every declared one that is served has the
// declared datatype and a shape that fits (-1 matches any size).
func checkDescribed(t *testing.T, kind string, served, declared []runtime.TensorMetadata) {
	t.Helper()
	if len(declared) == 0 {
		return
	}
	found := false
	for _, s := range served {
		i := slices.IndexFunc(declared, func(d runtime.TensorMetadata) bool { return d.Name == s.Name })
		if i < 0 {
			continue
		}
		found = true
		d := declared[i]
		if s.Datatype != d.Datatype || !shapeFits(s.Shape, d.Shape) {
			t.Errorf("%s %s is %s %v, but the model's metadata says %s %v", kind, s.Name, s.Datatype, s.Shape, d.Datatype, d.Shape)
		}
	}
	if !found {
		names := func(l []runtime.TensorMetadata) []string {
			var n []string
			for _, x := range l {
				n = append(n, x.Name)
			}
			return n
		}
		t.Errorf("none of the %ss %v is in the model's metadata %ss %v", kind, names(served), kind, names(declared))
	}
}

func shapeFits(shape, declared []int64) bool {
	if len(shape) != len(declared) {
		return false
	}
	for i := range shape {
		if declared[i] >= 0 && declared[i] != shape[i] {
			return false
		}
	}
	return true
}

func sameTensors(a, b []runtime.TensorMetadata) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
