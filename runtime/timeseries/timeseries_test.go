package timeseries_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// base is the lifecycle of the test models: loaded at once, ready unless
// told otherwise.
type base struct {
	name     string
	notReady bool
}

func (b *base) Name() string               { return b.name }
func (b *base) Load(context.Context) error { return nil }
func (b *base) Ready() bool                { return !b.notReady }

// naive forecasts every series as its last value, each quantile q that
// value plus 10*(q-0.5), and starts the forecast len(series) days or
// hours after the series, as KServe's HuggingFaceTimeSeriesModel does. It
// fails as KServe's model does for a horizon over 8, a multivariate
// series, and, by a series' name, with a plain error or a panic.
type naive struct {
	base
	mu   sync.Mutex
	last *timeseries.ForecastRequest
}

func (m *naive) Forecast(_ context.Context, req *timeseries.ForecastRequest) (*timeseries.ForecastResponse, error) {
	m.mu.Lock()
	m.last = req
	m.mu.Unlock()
	if req.Options.Horizon > 8 {
		return nil, &timeseries.Error{Code: http.StatusBadRequest, Type: "invalid_horizon", Message: fmt.Sprintf("Invalid horizon: %d", req.Options.Horizon)}
	}
	resp := &timeseries.ForecastResponse{Usage: &timeseries.Usage{}}
	for _, in := range req.Inputs {
		switch {
		case in.Type != timeseries.Univariate:
			// KServe's model leaves the code out.
			return nil, &timeseries.Error{Type: "unsupported_time_series_type", Message: "Only univariate time series are supported at this time."}
		case in.Name == "boom":
			return nil, errors.New("boom")
		case in.Name == "panic":
			panic("oops")
		}
		last := in.Series.Values[len(in.Series.Values)-1]
		fc := timeseries.Forecast{Type: in.Type, Name: in.Name, Frequency: in.Frequency, Quantiles: map[string]timeseries.Series{}}
		for range req.Options.Horizon {
			fc.MeanForecast.Values = append(fc.MeanForecast.Values, last)
		}
		for _, q := range req.Options.Quantiles {
			var s timeseries.Series
			for range req.Options.Horizon {
				s.Values = append(s.Values, last+10*(q-0.5))
			}
			fc.Quantiles[strconv.FormatFloat(q, 'f', -1, 64)] = s
		}
		step := 24 * time.Hour
		if in.Frequency == timeseries.HourShort || in.Frequency == timeseries.Hour {
			step = time.Hour
		}
		start, _ := time.Parse(time.RFC3339, *in.StartTimestamp)
		fc.StartTimestamp = start.Add(time.Duration(len(in.Series.Values)) * step).Format("2006-01-02T15:04:05Z")
		resp.Outputs = append(resp.Outputs, timeseries.Output{Content: []timeseries.Forecast{fc}})
		resp.Usage.PromptTokens += len(in.Series.Values)
		resp.Usage.CompletionTokens += req.Options.Horizon
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	req.ResponseHeader.Set("X-Series", strconv.Itoa(len(req.Inputs)))
	return resp, nil
}

// predictor is a plain v1/v2 model, which the time-series routes do not
// serve.
type predictor struct{ base }

func (m *predictor) Predict(context.Context, *infer.Request, *runtime.Headers) (*infer.Response, error) {
	return &infer.Response{Body: map[string]any{"predictions": []int{1}}}, nil
}

// start serves models on real sockets, REST only.
func start(t *testing.T, cfg func(*config.Config), models ...runtime.Model) *runtimetest.Server {
	t.Helper()
	return runtimetest.StartModels(t, models, runtimetest.WithLogOutput(io.Discard, io.Discard), runtimetest.WithConfig(func(c *config.Config) {
		c.EnableGRPC = false
		if cfg != nil {
			cfg(c)
		}
	}))
}

var (
	uuidRE    = regexp.MustCompile(`"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)
	createdRE = regexp.MustCompile(`"created_at":[0-9]{10}`)
)

// norm replaces the random ids and the time the server stamps with ID and
// 0, after checking their form.
func norm(body string) string {
	body = uuidRE.ReplaceAllString(body, `"id":"ID"`)
	return createdRE.ReplaceAllString(body, `"created_at":0`)
}

const request = `{"model":"naive","inputs":[` +
	`{"type":"univariate_time_series","name":"stock_price","series":[120,122,125,127,130,133,135],"frequency":"day","start_timestamp":"2025-06-05T13:10:00Z"},` +
	`{"type":"univariate_time_series","name":"humidity","series":[33,34,35,36,37.5],"frequency":"H","start_timestamp":"2025-06-05T13:10:00Z","unit":"%"}],` +
	`"options":{"horizon":3.0,"quantiles":[0.1,0.9],"num_samples":20},"metadata":{"tenant":"a"},"trace":true}`

func TestForecast(t *testing.T) {
	m := &naive{base: base{name: "naive"}}
	srv := start(t, nil, m)
	r := srv.PostJSON(t, "/v1/timeseries/forecast", request)
	body := r.Body
	require.Equal(t, 200, r.Code, body)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "2", r.Header.Get("X-Series"), "the model's response header")
	// Every field in KServe's order, null where unset, numbers as Python
	// writes floats.
	assert.Equal(t, `{"id":"ID","created_at":0,"status":"completed","error":null,"model":"naive","outputs":[`+
		`{"type":"time_series_forecast","id":"ID","status":"completed","content":[{"type":"univariate_time_series","name":"stock_price","mean_forecast":[135.0,135.0,135.0],"frequency":"day","start_timestamp":"2025-06-12T13:10:00Z","quantiles":{"0.1":[131.0,131.0,131.0],"0.9":[139.0,139.0,139.0]}}],"error":null},`+
		`{"type":"time_series_forecast","id":"ID","status":"completed","content":[{"type":"univariate_time_series","name":"humidity","mean_forecast":[37.5,37.5,37.5],"frequency":"H","start_timestamp":"2025-06-05T18:10:00Z","quantiles":{"0.1":[33.5,33.5,33.5],"0.9":[41.5,41.5,41.5]}}],"error":null}],`+
		`"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}`, norm(body))
	assert.Equal(t, 3, strings.Count(norm(body), `"id":"ID"`), "a UUID for the response and each output")

	// What the model was given: the request, its undeclared members kept.
	m.mu.Lock()
	req := m.last
	m.mu.Unlock()
	assert.Equal(t, 3, req.Options.Horizon)
	assert.Equal(t, []float64{0.1, 0.9}, req.Options.Quantiles)
	assert.Equal(t, `20`, string(req.Options.Extra["num_samples"]))
	assert.Equal(t, `"%"`, string(req.Inputs[1].Extra["unit"]))
	assert.Equal(t, `true`, string(req.Extra["trace"]))
	assert.Equal(t, `"a"`, string(req.Metadata["tenant"]))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
}

// The answer's quantiles come in the order the request asked for them, as
// KServe's TimesFM model inserts them into its dict; a Forecast marshalled
// outside the server, and a key naming no quantile asked for, in sorted
// order.
func TestForecast_QuantilesInTheOrderAsked(t *testing.T) {
	srv := start(t, nil, &naive{base: base{name: "naive"}})
	r := srv.PostJSON(t, "/v1/timeseries/forecast", `{"model":"naive","inputs":[{"type":"univariate_time_series","name":"s","series":[1,2],"frequency":"D","start_timestamp":"2025-01-01T00:00:00Z"}],"options":{"horizon":1,"quantiles":[0.9,0.1,0.5]}}`)
	require.Equal(t, 200, r.Code, r.Body)
	assert.Contains(t, r.Body, `"quantiles":{"0.9":[6.0],"0.1":[-2.0],"0.5":[2.0]}`)

	fc := timeseries.Forecast{Type: timeseries.Univariate, Name: "s", Quantiles: map[string]timeseries.Series{"0.9": {Values: []float64{1}}, "0.1": {Values: []float64{2}}, "mean": {Values: []float64{3}}}}
	b, err := json.Marshal(fc)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"univariate_time_series","name":"s","mean_forecast":[],"frequency":"","start_timestamp":"","quantiles":{"0.1":[2.0],"0.9":[1.0],"mean":[3.0]}}`, string(b))
	b, err = json.Marshal(timeseries.Forecast{Quantiles: nil})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"quantiles":null`)
}

// A model's own id, time, status and usage are kept; a multivariate
// series is read as rows and written back as rows.
func TestSeries_Multivariate(t *testing.T) {
	var s timeseries.Series
	require.NoError(t, json.Unmarshal([]byte(`[[1,2],[3,4.5]]`), &s))
	assert.Equal(t, timeseries.Series{Rows: [][]float64{{1, 2}, {3, 4.5}}}, s)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, `[[1.0,2.0],[3.0,4.5]]`, string(b))
	require.NoError(t, json.Unmarshal([]byte(`[]`), &s))
	assert.Equal(t, timeseries.Series{Values: []float64{}}, s, "an empty list is List[float], as pydantic matches it first")
	// KServe's app answers with ORJSONResponse: orjson's text of each
	// float, not Python's repr (1e-05, 1e+16), and null for NaN and the
	// infinities.
	b, err = json.Marshal(timeseries.Series{Values: []float64{1e-5, 0.0001, 1e16, 1e15, 123456789012345.6, 1.5e-7, math.Copysign(0, -1), 2, math.NaN(), math.Inf(-1)}})
	require.NoError(t, err)
	assert.Equal(t, `[0.00001,0.0001,1e16,1000000000000000.0,123456789012345.6,1.5e-7,-0.0,2.0,null,null]`, string(b))
}

func TestModels(t *testing.T) {
	slow := &naive{base: base{name: "slow", notReady: true}}
	srv := start(t, nil, &naive{base: base{name: "naive"}}, &predictor{base: base{name: "plain"}}, slow)
	r := srv.Get(t, "/v1/timeseries/models")
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, `["naive","slow"]`, r.Body, "the time-series models only, ready or not")
	r = srv.Get(t, "/v1/models")
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, `{"models":["naive","plain","slow"]}`, r.Body)
}

func TestErrors(t *testing.T) {
	slow := &naive{base: base{name: "slow", notReady: true}}
	srv := start(t, nil, &naive{base: base{name: "naive"}}, &predictor{base: base{name: "plain"}}, slow)
	const path = "/v1/timeseries/forecast"
	body := func(model, inputs, options string) string {
		return fmt.Sprintf(`{"model":%q,"inputs":[%s],"options":%s}`, model, inputs, options)
	}
	const day = `{"type":"univariate_time_series","name":"s","series":[1,2],"frequency":"D","start_timestamp":"2025-01-01T00:00:00Z"}`
	const freqs = `'second', 'S', 'minute', 'T', 'hour', 'H', 'day', 'D', 'week', 'W', 'month', 'M', 'quarter', 'Q', 'year' or 'Y'`
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"unknown model", body("nope", day, `{"horizon":2}`), 404, `{"error":"Model with name nope does not exist."}`},
		{"not a time-series model", body("plain", day, `{"horizon":2}`), 404, `{"error":"Model with name plain does not exist."}`},
		{"not ready", body("slow", day, `{"horizon":2}`), 503, `{"error":"Model with name slow is not ready."}`},
		{"no body", ``, 422, `{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"not JSON", `{"model":`, 422, `{"detail":[{"type":"json_invalid","loc":["body",9],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`},
		{"not an object", `[1]`, 422, `{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1]}]}`},
		{"fields missing", `{"model":"naive"}`, 422, `{"detail":[` +
			`{"type":"missing","loc":["body","inputs"],"msg":"Field required","input":{"model":"naive"}},` +
			`{"type":"missing","loc":["body","options"],"msg":"Field required","input":{"model":"naive"}}]}`},
		{"input fields missing", body("naive", `{"name":"s"}`, `{}`), 422, `{"detail":[` +
			`{"type":"missing","loc":["body","inputs",0,"type"],"msg":"Field required","input":{"name":"s"}},` +
			`{"type":"missing","loc":["body","inputs",0,"series"],"msg":"Field required","input":{"name":"s"}},` +
			`{"type":"missing","loc":["body","inputs",0,"frequency"],"msg":"Field required","input":{"name":"s"}},` +
			`{"type":"missing","loc":["body","options","horizon"],"msg":"Field required","input":{}}]}`},
		{"wrong types", `{"model":1,"inputs":{},"options":[],"metadata":"m"}`, 422, `{"detail":[` +
			`{"type":"string_type","loc":["body","model"],"msg":"Input should be a valid string","input":1},` +
			`{"type":"list_type","loc":["body","inputs"],"msg":"Input should be a valid list","input":{}},` +
			`{"type":"model_type","loc":["body","options"],"msg":"Input should be a valid dictionary or instance of ForecastOptions","input":[],"ctx":{"class_name":"ForecastOptions"}},` +
			`{"type":"model_type","loc":["body","metadata"],"msg":"Input should be a valid dictionary or instance of Metadata","input":"m","ctx":{"class_name":"Metadata"}}]}`},
		{"bad enums", body("naive", `{"type":"uni","name":"s","series":[1],"frequency":"fortnight"}`, `{"horizon":2}`), 422, `{"detail":[` +
			`{"type":"enum","loc":["body","inputs",0,"type"],"msg":"Input should be 'univariate_time_series' or 'multivariate_time_series'","input":"uni","ctx":{"expected":"'univariate_time_series' or 'multivariate_time_series'"}},` +
			`{"type":"enum","loc":["body","inputs",0,"frequency"],"msg":"Input should be ` + freqs + `","input":"fortnight","ctx":{"expected":"` + freqs + `"}}]}`},
		{"bad series", body("naive", `{"type":"univariate_time_series","name":"s","series":[1,"x",[2]],"frequency":"D"}`, `{"horizon":2}`), 422, `{"detail":[` +
			`{"type":"float_parsing","loc":["body","inputs",0,"series","list[float]",1],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"},` +
			`{"type":"float_type","loc":["body","inputs",0,"series","list[float]",2],"msg":"Input should be a valid number","input":[2]},` +
			`{"type":"list_type","loc":["body","inputs",0,"series","list[list[float]]",0],"msg":"Input should be a valid list","input":1},` +
			`{"type":"list_type","loc":["body","inputs",0,"series","list[list[float]]",1],"msg":"Input should be a valid list","input":"x"}]}`},
		{"series not a list", body("naive", `{"type":"univariate_time_series","name":"s","series":5,"frequency":"D"}`, `{"horizon":2}`), 422, `{"detail":[` +
			`{"type":"list_type","loc":["body","inputs",0,"series","list[float]"],"msg":"Input should be a valid list","input":5},` +
			`{"type":"list_type","loc":["body","inputs",0,"series","list[list[float]]"],"msg":"Input should be a valid list","input":5}]}`},
		{"bad options", body("naive", day, `{"horizon":2.5,"quantiles":[0.1,true]}`), 422, `{"detail":[` +
			`{"type":"int_from_float","loc":["body","options","horizon"],"msg":"Input should be a valid integer, got a number with a fractional part","input":2.5},` +
			`{"type":"float_type","loc":["body","options","quantiles",1],"msg":"Input should be a valid number","input":true}]}`},
		{"model's error with a code", body("naive", day, `{"horizon":9}`), 400, `{"error":{"code":"400","message":"Invalid horizon: 9","param":null,"type":"invalid_horizon"}}`},
		{"model's error without one", body("naive", `{"type":"multivariate_time_series","name":"s","series":[[1]],"frequency":"D"}`, `{"horizon":2}`), 500,
			`{"error":{"code":"500","message":"Only univariate time series are supported at this time.","param":null,"type":"unsupported_time_series_type"}}`},
		{"model's plain error", body("naive", strings.Replace(day, `"s"`, `"boom"`, 1), `{"horizon":2}`), 500, `{"error":"Error : boom"}`},
		{"model's panic", body("naive", strings.Replace(day, `"s"`, `"panic"`, 1), `{"horizon":2}`), 500, `{"error":"panic : oops"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.PostJSON(t, path, tc.body)
			assert.Equal(t, tc.code, r.Code)
			assert.Equal(t, tc.want, r.Body)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Empty(t, r.Header.Get("X-Series"), "no model headers on an error")
		})
	}
	r := srv.Get(t, path)
	assert.Equal(t, 405, r.Code)
	assert.Equal(t, `{"detail":"Method Not Allowed"}`, r.Body)
}

// A model with Forecast only is served; v1 and v2 inference answer it as
// KServe's dataplane answers a model that is no InferenceModel.
func TestForecasterOnly_NoInference(t *testing.T) {
	m := &naive{base: base{name: "naive"}}
	srv := start(t, nil, m)
	want := fmt.Sprintf(`{"error":%q}`, dataplane.NoInference(m).Error())
	assert.Equal(t, `{"error":"ValueError : Model of type naive does not support inference"}`, want)
	r := srv.PostJSON(t, "/v1/models/naive:predict", `{"instances":[[1]]}`)
	assert.Equal(t, 500, r.Code)
	assert.Equal(t, want, r.Body)
	r = srv.PostJSON(t, "/v2/models/naive/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`)
	assert.Equal(t, 500, r.Code)
	assert.Equal(t, want, r.Body)
}

func TestNoTimeSeriesModel_NoRoutes(t *testing.T) {
	srv := start(t, nil, &predictor{base: base{name: "plain"}})
	r := srv.Get(t, "/v1/timeseries/models")
	assert.Equal(t, 404, r.Code)
	assert.Equal(t, `{"detail":"Not Found"}`, r.Body)
	r = srv.PostJSON(t, "/v1/timeseries/forecast", request)
	assert.Equal(t, 404, r.Code)
	assert.Equal(t, `{"detail":"Not Found"}`, r.Body)
}

func TestRun_RefusesModelWithoutAnyAPI(t *testing.T) {
	srv := runtime.NewServer(config.Default(), runtime.WithLogOutput(io.Discard, io.Discard))
	err := srv.Run(context.Background(), &base{name: "bare"})
	require.EqualError(t, err, `model "bare" (*timeseries_test.base) implements neither Predict nor any of package openai's interfaces nor timeseries.Forecaster`)
}

// The routes get the access log, the server's middleware and the body
// limit, and are listed in /openapi.json.
func TestAccessLogMiddlewareAndOpenAPI(t *testing.T) {
	var logs, seen runtimetest.LogBuffer
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(&seen, r.Method, r.URL.Path)
			next.ServeHTTP(w, r)
		})
	}
	srv := runtimetest.StartModels(t, []runtime.Model{&naive{base: base{name: "naive"}}},
		runtimetest.WithLogOutput(&logs, &logs),
		runtimetest.WithServerOptions(runtime.WithMiddleware(mw), runtime.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))),
		runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false; c.MaxRequestBodySize = 600 }))
	r := srv.PostJSON(t, "/v1/timeseries/forecast", request)
	require.Equal(t, 200, r.Code)
	r = srv.PostJSON(t, "/v1/timeseries/forecast", request+strings.Repeat(" ", 600))
	assert.Equal(t, 413, r.Code, r.Body)

	r = srv.Get(t, "/openapi.json")
	require.Equal(t, 200, r.Code)
	body := r.Body
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.Contains(t, doc.Paths["/v1/timeseries/forecast"], "post")
	assert.Contains(t, doc.Paths["/v1/timeseries/models"], "get")

	require.NoError(t, srv.Stop()) // every line written
	assert.Contains(t, logs.String(), `"POST /v1/timeseries/forecast HTTP/1.1" 200`)
	assert.Contains(t, logs.String(), "Time Series endpoints registered")
	assert.Contains(t, seen.String(), "POST /v1/timeseries/forecast\n")
}
