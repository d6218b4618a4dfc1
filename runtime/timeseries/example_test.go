package timeseries_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// Last forecasts every series as its last value: a stand-in for a
// forecasting model. It implements runtime.Model and
// timeseries.Forecaster, and no Predict.
type Last struct{}

func (Last) Name() string               { return "last" }
func (Last) Load(context.Context) error { return nil }
func (Last) Ready() bool                { return true }

func (Last) Forecast(_ context.Context, req *timeseries.ForecastRequest) (*timeseries.ForecastResponse, error) {
	if req.Options.Horizon > 4 {
		// Answered as KServe answers a model's ErrorResponse.
		return nil, &timeseries.Error{Code: http.StatusBadRequest, Type: "invalid_horizon", Message: fmt.Sprintf("Invalid horizon: %d", req.Options.Horizon)}
	}
	// The server fills an empty ID and CreatedAt (and each output's ID);
	// fixed here for the example's output.
	resp := &timeseries.ForecastResponse{ID: "fc-1", CreatedAt: 1700000000}
	for i, in := range req.Inputs {
		last := in.Series.Values[len(in.Series.Values)-1]
		fc := timeseries.Forecast{Type: in.Type, Name: in.Name, Frequency: in.Frequency, StartTimestamp: "2025-06-08T00:00:00Z"}
		for range req.Options.Horizon {
			fc.MeanForecast.Values = append(fc.MeanForecast.Values, last)
		}
		resp.Outputs = append(resp.Outputs, timeseries.Output{ID: fmt.Sprint("out-", i), Content: []timeseries.Forecast{fc}})
	}
	return resp, nil
}

// A model that implements Forecaster is served on KServe's time-series
// routes, POST /v1/timeseries/forecast and GET /v1/timeseries/models.
func Example() {
	cfg := config.Default()
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, Last{}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		panic(err)
	}
	base := "http://" + ln.Addr().String()

	for _, horizon := range []int{2, 5} {
		body := fmt.Sprintf(`{"model":"last","inputs":[{"type":"univariate_time_series","name":"sales",`+
			`"series":[3,4,5],"frequency":"D","start_timestamp":"2025-06-05T00:00:00Z"}],"options":{"horizon":%d}}`, horizon)
		resp, err := http.Post(base+"/v1/timeseries/forecast", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(b))
	}
	resp, err := http.Get(base + "/v1/timeseries/models")
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
	// 200 {"id":"fc-1","created_at":1700000000,"status":"completed","error":null,"model":"last","outputs":[{"type":"time_series_forecast","id":"out-0","status":"completed","content":[{"type":"univariate_time_series","name":"sales","mean_forecast":[5.0,5.0],"frequency":"D","start_timestamp":"2025-06-08T00:00:00Z","quantiles":null}],"error":null}],"usage":null}
	// 400 {"error":{"code":"400","message":"Invalid horizon: 5","param":null,"type":"invalid_horizon"}}
	// 200 ["last"]
}
