package runtime_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

var (
	uuid4Pattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	// Python's datetime.isoformat() of an aware UTC time.
	isoTimePattern      = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)
	structuredIDAndTime = regexp.MustCompile(`"id": "([^"]*)", (.*)"time": "([^"]*)"`)
)

// KServe's v1 protocol takes CloudEvents in both content modes and answers
// in the request's mode; bodies are json.dumps text (the cloudevents
// library's), unlike every other answer (orjson's).
func TestCloudEvents(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	binary := []string{"ce-specversion", "1.0", "ce-source", "src", "ce-type", "t", "ce-id", "abc"}

	// Binary mode: ce-* headers, the data as the body.
	code, hdr, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json",
		[]byte(`{"instances":[[1.0,2.5,1e-05,1e16,"\u00e9😀"]]}`), binary...)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions": [[1.0, 2.5, 1e-05, 1e+16, "\u00e9\ud83d\ude00"]]}`, body)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, "1.0", hdr.Get("Ce-Specversion"))
	assert.Equal(t, "io.kserve.inference.echo", hdr.Get("Ce-Source"))
	assert.Equal(t, "io.kserve.inference.response", hdr.Get("Ce-Type"))
	assert.Regexp(t, uuid4Pattern, hdr.Get("Ce-Id"))
	assert.Regexp(t, isoTimePattern, hdr.Get("Ce-Time"))
	assert.Equal(t, "0.5", hdr.Get("Prediction-Time-Latency"), "the model's headers stay")

	// The explain path answers in the same mode.
	code, hdr, body = do(t, "POST", ts.url+"/v1/models/echo:explain", "application/json", []byte(`{"instances":[1]}`), binary...)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"explanations": [1.5]}`, body)
	assert.Equal(t, "io.kserve.inference.response", hdr.Get("Ce-Type"))

	// Data that is not JSON reaches the model as raw bytes.
	code, hdr, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "text/plain", []byte("hello"), binary...)
	assert.Equal(t, 200, code)
	assert.Equal(t, "raw:hello", body)
	assert.Equal(t, "text/plain", hdr.Get("Content-Type"))
	assert.Regexp(t, uuid4Pattern, hdr.Get("Ce-Id"))

	// ... unless the event says it is JSON, as KServe reads that: an
	// attribute "content-type" (a ce-content-type header): a 400.
	jsonEvent := append([]string{"ce-content-type", "application/json"}, binary...)
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "text/plain", []byte(`{"instances":[1,]}`), jsonEvent...)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Failed to decode or parse binary json cloudevent: invalid character ']' looking for beginning of value at offset 16"}`, body)
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "text/plain", []byte("hello"), jsonEvent...)
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `{"error":"Failed to decode or parse binary json cloudevent: `)
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte("caf\xe9"), jsonEvent...)
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `{"error":"Failed to decode or parse binary json cloudevent: `)

	// Only 1.0 and 0.3 events exist.
	bad := append([]string{}, binary...)
	bad[1] = "2.0"
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`), bad...)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Cloud Event Exceptions: Found invalid specversion 2.0"}`, body)

	// Structured mode: one JSON object; the model gets "data".
	event := `{"specversion":"1.0","id":"abc","source":"src","type":"t","time":"2020-01-01T00:00:00Z","datacontenttype":"application/json","myext":5,"data":{"instances":[[1.0,"\u00e9"]]}}`
	code, hdr, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/cloudevents+json", []byte(event))
	assert.Equal(t, 200, code)
	assert.Equal(t, "application/cloudevents+json", hdr.Get("Content-Type"))
	m := structuredIDAndTime.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	assert.Regexp(t, uuid4Pattern, m[1])
	assert.Regexp(t, isoTimePattern, m[3])
	assert.Equal(t, `{"specversion": "1.0", "id": "ID", "source": "io.kserve.inference.echo", "type": "io.kserve.inference.response", "time": "TIME", "data": {"predictions": [[1.0, "\u00e9"]]}}`,
		structuredIDAndTime.ReplaceAllString(body, `"id": "ID", $2"time": "TIME"`))

	// The same object as plain JSON: still unwrapped (KServe looks at the
	// members, not the content type), but the answer is plain JSON.
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(event))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[[1.0,"é"]]}`, body, "orjson writes non-ASCII as UTF-8")

	// A structured content type with an ordinary body: the answer is an event.
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/cloudevents+json", []byte(`{"instances":[[1,2]]}`))
	assert.Equal(t, 200, code)
	assert.Regexp(t, `^\{"specversion": "1\.0", "id": "[0-9a-f-]{36}", "source": "io\.kserve\.inference\.echo", "type": "io\.kserve\.inference\.response", "time": "[^"]+", "data": \{"predictions": \[\[1, 2\]\]\}\}$`, body)
}

// KServe reads a binary-mode event's data with orjson.loads (its
// decode_cloudevent): data orjson refuses (a number beyond float64, a lone
// surrogate escape) reaches the model as the raw bytes, as data that is not
// JSON at all does, or is a 400 when the event says it is JSON. The data
// used to be read as json.loads reads it, so a 1e400 passed as JSON and
// failed in the answer: a 500 "errorString : invalid number".
func TestCloudEventDataOrjsonRefuses(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	binary := []string{"ce-specversion", "1.0", "ce-source", "src", "ce-type", "t", "ce-id", "abc"}
	for _, data := range []string{`{"instances":[[1e400]]}`, `{"instances":["\ud800"]}`} {
		code, hdr, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(data), binary...)
		assert.Equal(t, 200, code, data)
		assert.Equal(t, "raw:"+data, body)
		assert.Regexp(t, uuid4Pattern, hdr.Get("Ce-Id"))
	}
	jsonEvent := append([]string{"ce-content-type", "application/json"}, binary...)
	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[[1e400]]}`), jsonEvent...)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Failed to decode or parse binary json cloudevent: number 1e400 is beyond the range of a float64 at offset 15"}`, body)
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":["\ud800"]}`), jsonEvent...)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Failed to decode or parse binary json cloudevent: lone surrogate \\ud800 in string at offset 15"}`, body)
}

// CE_TYPE, CE_SOURCE and CE_MERGE=true, as KServe reads them.
func TestCloudEventsMergeAndEnvironment(t *testing.T) {
	p := config.NewParser("echo")
	cfg, err := p.Parse(nil, func(k string) string {
		return map[string]string{"CE_TYPE": "my.type", "CE_SOURCE": "my.src", "CE_MERGE": "True"}[k]
	})
	require.NoError(t, err)
	cfg.EnableLatencyLogging = false
	ts := startServer(t, *cfg, &echoModel{name: "echo"})
	ts.waitReady(t)

	code, hdr, _ := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`),
		"ce-specversion", "1.0", "ce-source", "src", "ce-type", "t", "ce-id", "abc", "ce-time", "2020-01-01T00:00:00Z", "ce-subject", "s1", "ce-myext", "x1")
	assert.Equal(t, 200, code)
	assert.Equal(t, "my.type", hdr.Get("Ce-Type"))
	assert.Equal(t, "my.src", hdr.Get("Ce-Source"))
	assert.Equal(t, "s1", hdr.Get("Ce-Subject"))
	assert.Equal(t, "x1", hdr.Get("Ce-Myext"))
	assert.NotEqual(t, "abc", hdr.Get("Ce-Id"))
	assert.NotEqual(t, "2020-01-01T00:00:00Z", hdr.Get("Ce-Time"))
	assert.Empty(t, hdr.Values("Ce-Datacontenttype"))

	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/cloudevents+json",
		[]byte(`{"specversion":"1.0","id":"abc","source":"src","type":"t","time":"2020-01-01T00:00:00Z","datacontenttype":"application/json","myext":5,"data":{"instances":[1]}}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"specversion": "1.0", "id": "ID", "source": "my.src", "type": "my.type", "datacontenttype": "application/json", "time": "TIME", "data": {"predictions": [1]}, "myext": 5}`,
		structuredIDAndTime.ReplaceAllString(body, `"id": "ID", $2"time": "TIME"`))

	// KServe answers 500 here (it deletes the missing "id"); there is
	// nothing to merge, so the answer is an event with the new attributes.
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/cloudevents+json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"specversion": "1.0", "id": "ID", "source": "my.src", "type": "my.type", "time": "TIME", "data": {"predictions": [1]}}`,
		structuredIDAndTime.ReplaceAllString(body, `"id": "ID", $2"time": "TIME"`))
}

// streamModel streams "data: <i>\n\n" chunks (server-sent events). It waits
// for next before each chunk after the first, so a test sees chunks arrive
// one by one; "fail" ends the stream with an error, "panic" panics,
// "nilerr" ends it with an error whose Error() panics (a typed nil).
type streamModel struct {
	echoModel
	next     chan struct{}
	finished chan struct{} // receives when a stream's iteration ends
}

func (m *streamModel) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	var body struct {
		N    int    `json:"n"`
		Then string `json:"then"`
	}
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	h.Set("X-Model", "stream")
	return &infer.Response{ContentType: "text/event-stream", Stream: func(yield func([]byte, error) bool) {
		defer func() { m.finished <- struct{}{} }()
		for i := range body.N {
			if i > 0 {
				select {
				case <-m.next:
				case <-ctx.Done():
					return
				}
			}
			if !yield([]byte("data: "+string(rune('0'+i))+"\n\n"), nil) {
				return
			}
		}
		switch body.Then {
		case "fail":
			yield(nil, errors.New("generator broke"))
		case "panic":
			panic("generator panicked")
		case "nilerr":
			var err *shapeErr
			yield(nil, err)
		}
	}}, nil
}

// A v1 model may stream its answer (KServe: an async iterator): each chunk
// reaches the client when produced; a failure mid-stream cuts the
// connection instead of ending the response cleanly.
func TestStreamingResponse(t *testing.T) {
	m := &streamModel{echoModel: echoModel{name: "gen"}, next: make(chan struct{}), finished: make(chan struct{}, 10)}
	var stdout, stderr runtimetest.LogBuffer
	cfg := defaultConfig()
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(&stdout, &stderr))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, m) }()
	t.Cleanup(func() { stop(); require.NoError(t, <-done) })
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	rt := struct{ URL string }{"http://" + ln.Addr().String()}

	resp, err := http.Post(rt.URL+"/v1/models/gen:predict", "application/json", strings.NewReader(`{"n":3}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "stream", resp.Header.Get("X-Model"))
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		if i > 0 {
			m.next <- struct{}{} // the model produces chunk i only after the client has chunk i-1
		}
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "data: "+string(rune('0'+i))+"\n", line)
		_, _ = rd.ReadString('\n')
	}
	rest, err := io.ReadAll(rd)
	require.NoError(t, err, "a complete stream ends cleanly")
	assert.Empty(t, rest)

	for _, then := range []string{"fail", "panic", "nilerr"} {
		resp, err := http.Post(rt.URL+"/v1/models/gen:predict", "application/json", strings.NewReader(`{"n":1,"then":"`+then+`"}`))
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "data: 0\n\n", string(got), then)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%s: the cut must show", then)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(stderr.String(), "Exception: generator broke") && strings.Contains(stderr.String(), "Exception: panic : generator panicked") &&
			strings.Contains(stderr.String(), "Exception: panic : runtime error: invalid memory address or nil pointer dereference\npanicked in an error's Error method:\ngoroutine ")
	}, 5*time.Second, 10*time.Millisecond, stderr.String())
	require.Eventually(t, func() bool {
		return strings.Count(stdout.String(), `"POST /v1/models/gen%3Apredict HTTP/1.1" 200`) == 4
	}, 5*time.Second, 10*time.Millisecond, "every stream gets its access line:\n%s", stdout.String())
	// /metrics: the three cut streams are errors (500, though their status
	// line said 200); the whole one is a response of its chunks' size.
	_, _, metrics := do(t, "GET", rt.URL+"/metrics", "", nil)
	for _, line := range []string{
		`kserve_requests_total{model_name="gen",protocol="v1",verb="predict"} 4`,
		`kserve_request_errors_total{code="500",model_name="gen",protocol="v1"} 3`,
		`kserve_response_size_bytes_sum{model_name="gen",protocol="v1"} 27`, // 3 × "data: N\n\n"
		`kserve_response_size_bytes_count{model_name="gen",protocol="v1"} 1`,
	} {
		assert.Contains(t, metrics, line+"\n")
	}

	for range 4 {
		<-m.finished // the four streams above
	}

	// A client that leaves stops the stream: the model sees its context end.
	cctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(cctx, "POST", rt.URL+"/v1/models/gen:predict", strings.NewReader(`{"n":5}`))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	select {
	case <-m.finished:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream went on after its client left")
	}
	code, _, _ := do(t, "GET", rt.URL+"/v2/health/live", "", nil)
	assert.Equal(t, 200, code, "the server keeps serving")
}

// WithHandler mounts a user's routes next to KServe's (as KServe's OpenAI
// routes sit next to its dataplane): they get the middleware and the access
// line; KServe's routes and 404 body stay.
func TestWithHandler(t *testing.T) {
	var stdout, stderr runtimetest.LogBuffer
	completions := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"text_completion"}`)
	})
	tag := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Middleware", "yes")
			if r.Method == http.MethodOptions { // a CORS preflight, answered here
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	rt := runtimetest.Start(t, &echoModel{name: "echo"}, runtimetest.WithLogOutput(&stdout, &stderr),
		runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }),
		runtimetest.WithServerOptions(runtime.WithHandler("POST /openai/v1/completions", completions), runtime.WithMiddleware(tag)))
	url := rt.URL

	code, hdr, body := do(t, "POST", url+"/openai/v1/completions", "application/json", []byte(`{"prompt":"hi"}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"object":"text_completion"}`, body)
	assert.Equal(t, "yes", hdr.Get("X-Middleware"))
	code, hdr, body = do(t, "GET", url+"/openai/v1/completions", "", nil)
	assert.Equal(t, 405, code, "the pattern's method holds")
	assert.Equal(t, `{"detail":"Method Not Allowed"}`, body)
	assert.Equal(t, "POST", hdr.Get("Allow"), "a 405 names the methods the path takes")

	code, hdr, body = do(t, "POST", url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[1]}`, body)
	assert.Equal(t, "yes", hdr.Get("X-Middleware"))
	code, _, body = do(t, "GET", url+"/nope", "", nil)
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"detail":"Not Found"}`, body)
	code, _, _ = do(t, "OPTIONS", url+"/v1/models/echo:predict", "", nil)
	assert.Equal(t, 204, code)
	require.Eventually(t, func() bool {
		return strings.Contains(stdout.String(), `"POST /openai/v1/completions HTTP/1.1" 200`)
	}, 5*time.Second, 10*time.Millisecond, "the user's route gets an access line:\n%s", stdout.String())
	// Behind a proxy on the loopback interface (Knative's queue-proxy), the
	// client is the one X-Forwarded-For names, as uvicorn logs it.
	code, _, _ = do(t, "GET", url+"/v2/health/live", "", nil, "X-Forwarded-For", "203.0.113.7")
	assert.Equal(t, 200, code)
	require.Eventually(t, func() bool {
		return regexp.MustCompile(`INFO:     203\.0\.113\.7:0 \d+ - "GET /v2/health/live HTTP/1.1" 200`).MatchString(stdout.String())
	}, 5*time.Second, 10*time.Millisecond, "the forwarded client is logged:\n%s", stdout.String())
	// What the middleware answers itself is logged too, as by uvicorn.
	require.Eventually(t, func() bool {
		return strings.Contains(stdout.String(), `"OPTIONS /v1/models/echo%3Apredict HTTP/1.1" 204`)
	}, 5*time.Second, 10*time.Millisecond, "the middleware's own answer gets an access line:\n%s", stdout.String())
}

func TestWithHandler_BadPatternIsAnError(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET":               `WithHandler("GET"): `,
		"/":                 `WithHandler("/"): / is one of KServe's paths`,
		"POST /v2/models/x": `WithHandler("POST /v2/models/x"): /v2/models/x is one of KServe's paths`,
		"GET /metrics":      `WithHandler("GET /metrics"): /metrics is one of KServe's paths`,
		"BAD PATH x":        `WithHandler("BAD PATH x"): `,
		"GET /a/{x}/{x}":    `WithHandler("GET /a/{x}/{x}"): `,
	} {
		cfg := defaultConfig()
		cfg.EnableGRPC = false
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard),
			runtime.WithHandler(pattern, http.NotFoundHandler()))
		err = srv.Run(context.Background(), &echoModel{name: "echo"})
		ln.Close()
		require.Error(t, err, pattern)
		assert.Contains(t, err.Error(), want, pattern)
	}

	twice := runtime.NewServer(defaultConfig(), runtime.WithLogOutput(io.Discard, io.Discard),
		runtime.WithHandler("GET /a", http.NotFoundHandler()), runtime.WithHandler("GET /a", http.NotFoundHandler()))
	err := twice.Run(context.Background(), &echoModel{name: "echo"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `WithHandler("GET /a"): `)
	assert.Contains(t, err.Error(), "conflicts with")
}

// Streams are v1 only: a v2 (REST or gRPC) request answered with one is a
// 500 naming the model, and the stream is told to stop (its clean-up runs).
func TestStreamOverV2IsAnError(t *testing.T) {
	m := &v2Streamer{stopped: make(chan struct{}, 1)}
	rt := runtimetest.Start(t, m)
	code, _, body := do(t, "POST", rt.URL+"/v2/models/gen/infer", "application/json",
		[]byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`))
	assert.Equal(t, 500, code)
	assert.Equal(t, `{"error":"model gen returned a streamed answer, which only v1 :predict and :explain send (this request is v2)"}`, body)
	select {
	case <-m.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not stopped")
	}
}

type v2Streamer struct{ stopped chan struct{} }

func (m *v2Streamer) Name() string               { return "gen" }
func (m *v2Streamer) Load(context.Context) error { return nil }
func (m *v2Streamer) Ready() bool                { return true }
func (m *v2Streamer) Predict(context.Context, *infer.Request, *runtime.Headers) (*infer.Response, error) {
	return &infer.Response{Stream: func(yield func([]byte, error) bool) {
		defer func() { m.stopped <- struct{}{} }()
		for yield([]byte("x"), nil) {
		}
	}}, nil
}

// $FORWARDED_ALLOW_IPS replaces the proxies trusted by default (the
// loopback interface), as uvicorn's: a loopback peer outside the list is
// logged as itself and cannot choose the scheme of a redirect; entries
// that are no IP address or network are named in a warning.
func TestForwardedAllowIPs(t *testing.T) {
	cfg, err := config.NewParser("server").Parse([]string{"--enable_grpc=false", "--enable_latency_logging=false"},
		func(k string) string {
			if k == "FORWARDED_ALLOW_IPS" {
				return "192.0.2.1, ingress.local"
			}
			return ""
		})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var stdout, stderr runtimetest.LogBuffer
	srv := runtime.NewServer(*cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(&stdout, &stderr))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, &echoModel{name: "echo"}) }()
	t.Cleanup(func() { stop(); require.NoError(t, <-done) })
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	assert.Contains(t, stdout.String()+stderr.String(),
		"FORWARDED_ALLOW_IPS: ingress.local: not an IP address or network, matches no client of a TCP listener")

	code, _, _ := do(t, "GET", url+"/v2/health/live", "", nil, "X-Forwarded-For", "203.0.113.7")
	assert.Equal(t, 200, code)
	require.Eventually(t, func() bool {
		return regexp.MustCompile(`INFO:     127\.0\.0\.1:\d+ \d+ - "GET /v2/health/live HTTP/1.1" 200`).MatchString(stdout.String())
	}, 5*time.Second, 10*time.Millisecond, "the untrusted peer is logged as itself:\n%s\n%s", stdout.String(), stderr.String())
	assert.NotContains(t, stdout.String(), "203.0.113.7")

	req, err := http.NewRequest("GET", url+"/v2/health/live/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-Proto", "https")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Equal(t, url+"/v2/health/live", resp.Header.Get("Location"), "the untrusted peer's X-Forwarded-Proto is ignored")
}
