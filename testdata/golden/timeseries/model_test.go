package main

import (
	"net/http"
	"os"
	"regexp"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// stamps are what the server fills in every forecast: the ids (random
// UUIDs) and the time.
var stamps = regexp.MustCompile(`"id":"[0-9a-f-]{36}"|"created_at":[0-9]+`)

// stamped is body with its ids written as ID and its time as 0.
func stamped(body string) string {
	return stamps.ReplaceAllStringFunc(body, func(s string) string {
		if s[1] == 'c' {
			return `"created_at":0`
		}
		return `"id":"ID"`
	})
}

// answer is the forecast body the server writes for one forecast.
func answer(forecast string) string {
	return `{"id":"ID","created_at":0,"status":"completed","error":null,"model":"forecast","outputs":[{"type":"time_series_forecast","id":"ID","status":"completed","content":[` +
		forecast + `],"error":null}],"usage":null}`
}

// TestConformance runs the runtime's conformance kit against the model:
// health, readiness, KServe's error bodies, and the model on
// GET /v1/timeseries/models. (It has no Predict, so v1 and v2 inference
// answer KServe's 500 "does not support inference", which the kit
// expects.)
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewForecast("forecast"))
}

// TestForecast sends input.json the way the README's curl does: the
// series goes on by its average step (2), and the 0.1 and 0.9 quantiles
// widen with the steps ahead.
func TestForecast(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := runtimetest.Start(t, NewForecast("forecast"))
	resp := srv.Do(t, http.MethodPost, "/v1/timeseries/forecast", "application/json", body)
	want := answer(`{"type":"univariate_time_series","name":"daily_sales","mean_forecast":[136.0,138.0,140.0,142.0],"frequency":"D","start_timestamp":"2025-06-09T00:00:00Z",` +
		`"quantiles":{"0.1":[135.03123807578956,136.62996374807096,138.32205512682935,140.06247615157915],"0.9":[136.96876192421044,139.37003625192904,141.67794487317065,143.93752384842085]}}`)
	if got := stamped(resp.Body); resp.Code != http.StatusOK || got != want {
		t.Fatalf("POST input.json: got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestForecastShapes checks a multivariate series (a row per step, a
// column per variable, each forecast on its own) and where each
// frequency's forecast starts: a month on from January 31 is February 28,
// as KServe's runtime (relativedelta) has it.
func TestForecastShapes(t *testing.T) {
	srv := runtimetest.Start(t, NewForecast("forecast"))
	tests := []struct {
		name, body, want string
	}{
		{"multivariate", `{"model":"forecast","inputs":[{"type":"multivariate_time_series","name":"temperature_humidity","series":[[20,60],[22,57],[23,56],[26,54]],"frequency":"H","start_timestamp":"2025-06-01T00:00:00Z"}],"options":{"horizon":3,"quantiles":[0.5]}}`,
			answer(`{"type":"multivariate_time_series","name":"temperature_humidity","mean_forecast":[[28.0,52.0],[30.0,50.0],[32.0,48.0]],"frequency":"H","start_timestamp":"2025-06-01T04:00:00Z","quantiles":{"0.5":[[28.0,52.0],[30.0,50.0],[32.0,48.0]]}}`)},
		{"month from the 31st", `{"model":"forecast","inputs":[{"type":"univariate_time_series","name":"s","series":[5],"frequency":"M","start_timestamp":"2025-01-31T00:00:00Z"}],"options":{"horizon":1}}`,
			answer(`{"type":"univariate_time_series","name":"s","mean_forecast":[5.0],"frequency":"M","start_timestamp":"2025-02-28T00:00:00Z","quantiles":null}`)},
		{"quarters", `{"model":"forecast","inputs":[{"type":"univariate_time_series","name":"s","series":[1,3],"frequency":"quarter","start_timestamp":"2024-11-30T12:00:00Z"}],"options":{"horizon":2}}`,
			answer(`{"type":"univariate_time_series","name":"s","mean_forecast":[5.0,7.0],"frequency":"quarter","start_timestamp":"2025-05-30T12:00:00Z","quantiles":null}`)},
		{"weeks", `{"model":"forecast","inputs":[{"type":"univariate_time_series","name":"s","series":[4,2],"frequency":"W","start_timestamp":"2025-12-25T00:00:00Z"}],"options":{"horizon":1}}`,
			answer(`{"type":"univariate_time_series","name":"s","mean_forecast":[0.0],"frequency":"W","start_timestamp":"2026-01-08T00:00:00Z","quantiles":null}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, "/v1/timeseries/forecast", tt.body)
			if got := stamped(resp.Body); resp.Code != http.StatusOK || got != tt.want {
				t.Errorf("got %d %s, want 200 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}

// TestModels lists the model on the time-series routes.
func TestModels(t *testing.T) {
	srv := runtimetest.Start(t, NewForecast("forecast"))
	resp := srv.Get(t, "/v1/timeseries/models")
	if want := `["forecast"]`; resp.Code != http.StatusOK || resp.Body != want {
		t.Fatalf("got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestRefusals checks what the model refuses, with KServe's error body:
// a horizon or quantile the model does not forecast (KServe's Hugging Face
// runtime's types and messages), and series and timestamps it cannot
// forecast from, naming the input at fault.
func TestRefusals(t *testing.T) {
	srv := runtimetest.Start(t, NewForecast("forecast"))
	request := func(input, options string) string {
		return `{"model":"forecast","inputs":[` + input + `],"options":` + options + `}`
	}
	const daily = `{"type":"univariate_time_series","name":"s","series":[1,2],"frequency":"D","start_timestamp":"2025-06-01T00:00:00Z"}`
	refusal := func(typ, message string) string {
		return `{"error":{"code":"400","message":` + message + `,"param":null,"type":"` + typ + `"}}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"horizon over the model's", request(daily, `{"horizon":129}`), refusal("invalid_horizon", `"Invalid horizon: 129"`)},
		{"no horizon", request(daily, `{"horizon":0}`), refusal("invalid_horizon", `"Invalid horizon: 0"`)},
		{"quantile", request(daily, `{"horizon":2,"quantiles":[0.1,0.95]}`), refusal("invalid_quantile", `"Invalid quantile: 0.95"`)},
		{"quantile 1", request(daily, `{"horizon":2,"quantiles":[1]}`), refusal("invalid_quantile", `"Invalid quantile: 1.0"`)},
		{"empty series", request(`{"type":"univariate_time_series","name":"s","series":[],"frequency":"D","start_timestamp":"2025-06-01T00:00:00Z"}`, `{"horizon":1}`),
			refusal("invalid_series", `"inputs[0].series: empty; the forecast goes on from the series' values"`)},
		{"rows for a univariate series", request(`{"type":"univariate_time_series","name":"s","series":[[1,2]],"frequency":"D","start_timestamp":"2025-06-01T00:00:00Z"}`, `{"horizon":1}`),
			refusal("invalid_series", `"inputs[0].series: a univariate_time_series is a list of numbers, one per step, not a list of rows"`)},
		{"values for a multivariate series", request(`{"type":"multivariate_time_series","name":"s","series":[1,2],"frequency":"D","start_timestamp":"2025-06-01T00:00:00Z"}`, `{"horizon":1}`),
			refusal("invalid_series", `"inputs[0].series: a multivariate_time_series is a list of rows, one per step, each with a number per variable ([[1, 10], [2, 11]])"`)},
		{"ragged rows", request(`{"type":"multivariate_time_series","name":"s","series":[[1,2],[3]],"frequency":"D","start_timestamp":"2025-06-01T00:00:00Z"}`, `{"horizon":1}`),
			refusal("invalid_series", `"inputs[0].series: row 1 has 1 values, row 0 has 2; each row has a number per variable"`)},
		{"no start", request(`{"type":"univariate_time_series","name":"s","series":[1],"frequency":"D"}`, `{"horizon":1}`),
			refusal("invalid_start_timestamp", `"inputs[0].start_timestamp: missing; the forecast starts where the series ends, so it needs the time of the series' first step, such as \"2025-06-01T00:00:00Z\""`)},
		{"start not UTC", request(daily+`,{"type":"univariate_time_series","name":"t","series":[1],"frequency":"D","start_timestamp":"2025-06-01 00:00"}`, `{"horizon":1}`),
			refusal("invalid_start_timestamp", `"inputs[1].start_timestamp: \"2025-06-01 00:00\" is not a UTC time such as \"2025-06-01T00:00:00Z\""`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, "/v1/timeseries/forecast", tt.body)
			if resp.Code != http.StatusBadRequest || resp.Body != tt.want {
				t.Errorf("got %d %s, want 400 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}
