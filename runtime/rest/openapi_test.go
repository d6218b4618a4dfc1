package rest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

// openAPIDifferences are where our /openapi.json deliberately differs from
// the one KServe 0.16's FastAPI server publishes
// (testdata/kserve-openapi.json, made by scripts/kserve-openapi.py). Each
// is a JSON pointer, "*" standing for any one key; what it points at is
// left out of the comparison on both sides, and must differ. Everything
// else must be the same.
var openAPIDifferences = []struct{ pointer, why string }{
	{"/info/version", "this server's version, as /v2 reports it, not KServe's package version"},
	{"/paths/*/*/description", "ours describe this server; KServe's are its Python docstrings (\"raw_request (Request): fastapi request object\"), and / has none"},
	{"/paths/~1metrics/get/responses/200/content", "Prometheus text or OpenMetrics, not the JSON FastAPI's default response class claims"},
	{"/paths/*/*/responses/400", "KServe's {\"error\": ...} answers come from exception handlers, which FastAPI's document leaves out"},
	{"/paths/*/*/responses/404", "(the same)"},
	{"/paths/*/*/responses/413", "(the same), when --max_request_body_size limits bodies"},
	{"/paths/*/*/responses/415", "(the same), a Content-Encoding other than gzip or deflate"},
	{"/paths/*/*/responses/500", "(the same)"},
	{"/paths/*/*/responses/501", "(the same)"},
	{"/paths/*/*/responses/503", "(the same)"},
	{"/paths/~1v1~1models~1{model_name}:predict/post/requestBody", "KServe's handler reads the raw request and declares no body: ours lists JSON, CloudEvents and raw bytes"},
	{"/paths/~1v1~1models~1{model_name}:explain/post/requestBody", "(the same)"},
	{"/paths/~1v1~1models~1{model_name}:predict/post/responses/200/content/application~1cloudevents+json", "a structured CloudEvent is answered as one"},
	{"/paths/~1v1~1models~1{model_name}:explain/post/responses/200/content/application~1cloudevents+json", "(the same)"},
	{"/paths/~1v2~1models~1{model_name}~1infer/post/parameters/2", "the binary tensor data extension's Inference-Header-Content-Length header"},
	{"/paths/~1v2~1models~1{model_name}~1infer/post/requestBody/content/application~1octet-stream", "a binary tensor data extension body"},
	{"/paths/~1v2~1models~1{model_name}~1infer/post/responses/200/content", "InferenceResponse (KServe declares response_model=None, so {}), or a binary extension body"},
	{"/components/schemas/InferenceResponse", "added for the infer answer; checked against testdata/kserve-inference-response.json"},
	{"/components/schemas/ResponseOutput", "(the same)"},
	{"/components/schemas/ErrorResponse", "the {\"error\": ...} body of KServe's errors"},
}

func getJSON(t *testing.T, url string) any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return v
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func startREST(t *testing.T, opts rest.Options) string {
	t.Helper()
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 1, Metrics: metrics.New(), ServerName: "kserve", ServerVersion: "9.9.9",
		Latency: func(string, dataplane.Timings) {}})
	if err := dp.Register(passthrough{}, ""); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rest.New(dp, opts))
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestOpenAPI_MatchesKServe: /openapi.json is the document KServe's
// FastAPI server publishes, but for the differences listed above, so that
// clients generated from it (openapi-generator) and Swagger UI's schemas
// are KServe's.
func TestOpenAPI_MatchesKServe(t *testing.T) {
	url := startREST(t, rest.Options{Metrics: metrics.New().Handler(nil), MaxRequestBodySize: 1 << 20})
	ours := getJSON(t, url+"/openapi.json")
	kserve := readJSON(t, "testdata/kserve-openapi.json")

	for name, want := range readJSON(t, "testdata/kserve-inference-response.json").(map[string]any) {
		got := matches(ours, "/components/schemas/"+name)["/components/schemas/"+name]
		if d := diff(got, want, "/components/schemas/"+name); len(d) > 0 {
			t.Errorf("%s is not what FastAPI makes of KServe's model:\n%s", name, strings.Join(d, "\n"))
		}
	}
	if v := matches(ours, "/info/version")["/info/version"]; v != "9.9.9" {
		t.Errorf("info.version = %v, want the server's", v)
	}

	for _, d := range openAPIDifferences {
		a, b := matches(ours, d.pointer), matches(kserve, d.pointer)
		if len(a)+len(b) == 0 {
			t.Errorf("difference %s (%s) matches nothing", d.pointer, d.why)
		}
		for p := range a {
			if bv, ok := b[p]; ok && reflect.DeepEqual(a[p], bv) {
				t.Errorf("difference %s: %s is the same in both; drop it from the list", d.pointer, p)
			}
		}
		remove(ours, d.pointer)
		remove(kserve, d.pointer)
	}
	if d := diff(ours, kserve, ""); len(d) > 0 {
		t.Errorf("/openapi.json differs from KServe's where no difference is listed:\n%s", strings.Join(d, "\n"))
	}
}

// TestOpenAPI_UserRoutes: routes the user added are listed as FastAPI
// lists a plain route, so Swagger UI at /docs shows them and can call them.
func TestOpenAPI_UserRoutes(t *testing.T) {
	h := http.NotFoundHandler()
	url := startREST(t, rest.Options{Routes: []rest.Route{
		{Pattern: "POST /openai/v1/chat/completions", Handler: h},
		{Pattern: "GET example.com/files/{dir}/{path...}", Handler: h},
		{Pattern: "/hooks/{$}", Handler: h},
		{Pattern: "PROPFIND /dav", Handler: h},
	}})
	paths, _ := matches(getJSON(t, url+"/openapi.json"), "/paths")["/paths"].(map[string]any)
	got, err := json.Marshal(map[string]any{
		"/openai/v1/chat/completions": paths["/openai/v1/chat/completions"],
		"/files/{dir}/{path}":         paths["/files/{dir}/{path}"],
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"/files/{dir}/{path}":{"get":{"operationId":"files_files__dir___path__get",` +
		`"parameters":[{"in":"path","name":"dir","required":true,"schema":{"title":"Dir","type":"string"}},` +
		`{"in":"path","name":"path","required":true,"schema":{"title":"Path","type":"string"}}],` +
		`"responses":{"200":{"content":{"application/json":{"schema":{}}},"description":"Successful Response"}},"summary":"Files"}},` +
		`"/openai/v1/chat/completions":{"post":{"operationId":"completions_openai_v1_chat_completions_post",` +
		`"responses":{"200":{"content":{"application/json":{"schema":{}}},"description":"Successful Response"}},"summary":"Completions"}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	hooks, _ := paths["/hooks/"].(map[string]any)
	var methods []string
	for m := range hooks {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	if !slices.Equal(methods, []string{"delete", "get", "patch", "post", "put"}) {
		t.Errorf("a pattern without a method is listed under %v", methods)
	}
	if _, ok := paths["/dav"]; ok {
		t.Error("/dav is listed, under a method OpenAPI has no name for")
	}
}

// matches returns the values at the pointers p ("*" any key) matches in v.
func matches(v any, p string) map[string]any {
	out := map[string]any{}
	var walk func(v any, segs []string, at string)
	walk = func(v any, segs []string, at string) {
		if len(segs) == 0 {
			out[at] = v
			return
		}
		key := strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[0])
		for k, c := range children(v) {
			if key == "*" || key == k {
				walk(c, segs[1:], at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
			}
		}
	}
	walk(v, strings.Split(p, "/")[1:], "")
	return out
}

// remove deletes what p matches from v.
func remove(v any, p string) {
	segs := strings.Split(p, "/")[1:]
	var walk func(v any, segs []string) any
	walk = func(v any, segs []string) any {
		key := strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[0])
		switch x := v.(type) {
		case map[string]any:
			for k := range x {
				if key != "*" && key != k {
					continue
				}
				if len(segs) == 1 {
					delete(x, k)
				} else {
					x[k] = walk(x[k], segs[1:])
				}
			}
		case []any:
			for i := len(x) - 1; i >= 0; i-- {
				if key != "*" && key != strconv.Itoa(i) {
					continue
				}
				if len(segs) == 1 {
					x = slices.Delete(x, i, i+1)
				} else {
					x[i] = walk(x[i], segs[1:])
				}
			}
			return x
		}
		return v
	}
	walk(v, segs)
}

func children(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		m := map[string]any{}
		for i, c := range x {
			m[strconv.Itoa(i)] = c
		}
		return m
	}
	return nil
}

// diff lists the pointers where a and b differ, with both values.
func diff(a, b any, at string) []string {
	ca, cb := children(a), children(b)
	if ca == nil || cb == nil || reflect.TypeOf(a) != reflect.TypeOf(b) {
		if reflect.DeepEqual(a, b) {
			return nil
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return []string{fmt.Sprintf("%s: ours %s, KServe's %s", at, ja, jb)}
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	var out []string
	for k := range ca {
		if _, ok := cb[k]; !ok {
			ja, _ := json.Marshal(ca[k])
			out = append(out, fmt.Sprintf("%s/%s: only ours: %s", at, esc.Replace(k), ja))
		}
	}
	for k := range cb {
		if _, ok := ca[k]; !ok {
			jb, _ := json.Marshal(cb[k])
			out = append(out, fmt.Sprintf("%s/%s: only KServe's: %s", at, esc.Replace(k), jb))
			continue
		}
		out = append(out, diff(ca[k], cb[k], at+"/"+esc.Replace(k))...)
	}
	sort.Strings(out)
	return out
}
