package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// Forecast is the forecast model: a time-series forecaster. The server
// serves it on KServe's time-series routes, POST /v1/timeseries/forecast
// and GET /v1/timeseries/models, as KServe's Hugging Face runtime serves
// TimesFM. It needs no Predict.
//
// The "model" here is a stand-in so the project runs end to end: a random
// walk with drift, the textbook baseline forecast. Each series goes on
// from its last value by its average step (the drift), and a quantile q
// lies z(q) standard deviations of its steps away from that, widening
// with the square root of the steps ahead, z being the standard normal
// quantile. Your model's calls go where the comments say ENGINE: Load
// (load the weights) and predict (one series in, its forecast out); the
// rest — checking the options, series and timestamps, and putting
// forecasts into the answer — stays as it is.
type Forecast struct {
	name  string
	ready atomic.Bool
}

// NewForecast returns the model, to be loaded by the server.
func NewForecast(name string) *Forecast {
	return &Forecast{name: name}
}

// The server finds the routes a model serves by its method set; this line
// makes a misspelt or mistyped Forecast a compile error instead of a model
// the server refuses to start with.
var _ timeseries.Forecaster = (*Forecast)(nil)

// maxHorizon is the most steps the model forecasts: TimesFM's
// horizon_length, which KServe's Hugging Face runtime refuses a longer
// horizon against. ENGINE: your model's own.
const maxHorizon = 128

// quantiles are the quantiles the model forecasts, TimesFM's: KServe's
// Hugging Face runtime refuses any other. ENGINE: your model's own.
var quantiles = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// timestampLayout is how KServe's Hugging Face runtime reads and writes a
// start timestamp (strptime "%Y-%m-%dT%H:%M:%SZ").
const timestampLayout = "2006-01-02T15:04:05Z"

// Name is the model name clients put in a request's "model".
func (m *Forecast) Name() string { return m.name }

// Ready reports whether Load has finished; readiness probes ask it.
func (m *Forecast) Ready() bool { return m.ready.Load() }

// Load loads the model before the server reports ready.
//
// ENGINE: load the weights here (for TimesFM or Chronos exported to ONNX,
// an ONNX Runtime session: see the kserve-gen onnx template's model.go).
// For weights from --model_dir or $STORAGE_URI (downloaded when remote),
// have main.go make the server first, srv := runtime.NewServer(*cfg),
// call srv.ResolveModelDir(ctx) for the folder, pass it to
// NewForecast, then srv.Run(ctx, model).
func (m *Forecast) Load(ctx context.Context) error {
	m.ready.Store(true)
	return nil
}

// Forecast answers POST /v1/timeseries/forecast: a forecast of each of
// the request's series, horizon steps on from its end. The server has
// checked the body's shape (the 422s); what is refused here is refused as
// KServe's Hugging Face runtime refuses it, a *timeseries.Error with the
// same type and message. KServe's runtime leaves the code out of those,
// and its endpoint then fails with a 500 TypeError; a 400 says what it
// means.
func (m *Forecast) Forecast(ctx context.Context, req *timeseries.ForecastRequest) (*timeseries.ForecastResponse, error) {
	h := req.Options.Horizon
	if h < 1 || h > maxHorizon {
		return nil, refuse("invalid_horizon", fmt.Sprintf("Invalid horizon: %d", h))
	}
	z := make([]float64, len(req.Options.Quantiles))
	for i, q := range req.Options.Quantiles {
		if !slices.Contains(quantiles, q) {
			return nil, refuse("invalid_quantile", "Invalid quantile: "+pyFloat(q))
		}
		z[i] = math.Sqrt2 * math.Erfinv(2*q-1)
	}

	resp := &timeseries.ForecastResponse{}
	for i, in := range req.Inputs {
		columns, err := columnsOf(in)
		if err != nil {
			return nil, refuse("invalid_series", fmt.Sprintf("inputs[%d].series: %v", i, err))
		}
		start, err := forecastStart(in, len(columns[0]))
		if err != nil {
			return nil, refuse("invalid_start_timestamp", fmt.Sprintf("inputs[%d].start_timestamp: %v", i, err))
		}
		fc := timeseries.Forecast{Type: in.Type, Name: in.Name, Frequency: in.Frequency, StartTimestamp: start}
		// Each variable of a multivariate series is forecast on its own,
		// and the answer has its rows, as the request had.
		var means [][]float64
		spreads := make([][][]float64, len(z)) // [quantile][variable][step]
		for _, col := range columns {
			mean, sd := predict(col, h)
			means = append(means, mean)
			for j := range z {
				band := make([]float64, h)
				for s := range band {
					band[s] = mean[s] + float64(z[j]*sd[s]) // float64: no fused multiply-add, the same answer on every CPU
				}
				spreads[j] = append(spreads[j], band)
			}
		}
		fc.MeanForecast = seriesOf(in.Type, means)
		if req.Options.Quantiles != nil {
			fc.Quantiles = map[string]timeseries.Series{}
			for j, q := range req.Options.Quantiles {
				// Keyed as KServe writes them: Python's str of the float.
				fc.Quantiles[pyFloat(q)] = seriesOf(in.Type, spreads[j])
			}
		}
		resp.Outputs = append(resp.Outputs, timeseries.Output{Content: []timeseries.Forecast{fc}})
	}
	// The server fills the ids, the time and the statuses. ENGINE: a model
	// that counts tokens sets resp.Usage (TimesFM: the series' and the
	// horizon's patches of 32 steps).
	return resp, nil
}

// predict forecasts one series h steps ahead: each step's mean and
// standard deviation.
//
// ENGINE: your model goes here (TimesFM, Chronos, ...): it takes the
// series and gives the mean forecast and, for the quantiles, either the
// model's own quantile forecasts (change Forecast to use them) or a
// standard deviation per step. A model that takes whole batches gets
// every input's series at once in Forecast instead.
func predict(series []float64, h int) (mean, sd []float64) {
	n := len(series)
	last := series[n-1]
	var drift, variance float64
	if n > 1 {
		drift = (last - series[0]) / float64(n-1) // the average step
		for k := 1; k < n; k++ {
			d := series[k] - series[k-1] - drift
			variance += float64(d * d)
		}
		variance /= float64(n - 1)
	}
	mean, sd = make([]float64, h), make([]float64, h)
	for s := range h {
		mean[s] = last + float64(drift*float64(s+1))
		sd[s] = math.Sqrt(variance * float64(s+1))
	}
	return mean, sd
}

// columnsOf returns the input's series as one list of values per variable:
// the values of a univariate series, the columns of a multivariate one's
// rows (a row per step).
func columnsOf(in timeseries.Input) ([][]float64, error) {
	if in.Type == timeseries.Univariate {
		if in.Series.Rows != nil {
			return nil, fmt.Errorf("a %s is a list of numbers, one per step, not a list of rows", in.Type)
		}
		if len(in.Series.Values) == 0 {
			return nil, errors.New("empty; the forecast goes on from the series' values")
		}
		return [][]float64{in.Series.Values}, nil
	}
	rows := in.Series.Rows
	if rows == nil {
		if len(in.Series.Values) == 0 {
			return nil, errors.New("empty; the forecast goes on from the series' values")
		}
		return nil, fmt.Errorf("a %s is a list of rows, one per step, each with a number per variable ([[1, 10], [2, 11]])", in.Type)
	}
	width := len(rows[0])
	if width == 0 {
		return nil, errors.New("row 0 is empty; each row has a number per variable")
	}
	columns := make([][]float64, width)
	for k, row := range rows {
		if len(row) != width {
			return nil, fmt.Errorf("row %d has %d values, row 0 has %d; each row has a number per variable", k, len(row), width)
		}
		for v, x := range row {
			columns[v] = append(columns[v], x)
		}
	}
	return columns, nil
}

// seriesOf makes a forecast's series of the forecast of each variable:
// its values for a univariate series, rows of a value per variable for a
// multivariate one.
func seriesOf(typ timeseries.Type, columns [][]float64) timeseries.Series {
	if typ == timeseries.Univariate {
		return timeseries.Series{Values: columns[0]}
	}
	rows := make([][]float64, len(columns[0]))
	for s := range rows {
		for _, col := range columns {
			rows[s] = append(rows[s], col[s])
		}
	}
	return timeseries.Series{Rows: rows}
}

// forecastStart is the time of the first forecast step: the series' start
// moved on by its length in steps of its frequency, as KServe's Hugging
// Face runtime computes it (types.py FREQUENCY_MAP).
func forecastStart(in timeseries.Input, steps int) (string, error) {
	if in.StartTimestamp == nil {
		return "", fmt.Errorf("missing; the forecast starts where the series ends, so it needs the time of the series' first step, such as %q", "2025-06-01T00:00:00Z")
	}
	t, err := time.Parse(timestampLayout, *in.StartTimestamp)
	if err != nil {
		return "", fmt.Errorf("%q is not a UTC time such as %q", *in.StartTimestamp, "2025-06-01T00:00:00Z")
	}
	switch in.Frequency {
	case timeseries.Second, timeseries.SecondShort:
		t = t.Add(time.Duration(steps) * time.Second)
	case timeseries.Minute, timeseries.MinuteShort:
		t = t.Add(time.Duration(steps) * time.Minute)
	case timeseries.Hour, timeseries.HourShort:
		t = t.Add(time.Duration(steps) * time.Hour)
	case timeseries.Day, timeseries.DayShort:
		t = t.AddDate(0, 0, steps)
	case timeseries.Week, timeseries.WeekShort:
		t = t.AddDate(0, 0, 7*steps)
	case timeseries.Month, timeseries.MonthShort:
		t = addMonths(t, steps)
	case timeseries.Quarter, timeseries.QuarterShort:
		t = addMonths(t, 3*steps)
	case timeseries.Year, timeseries.YearShort:
		t = addMonths(t, 12*steps)
	}
	return t.Format(timestampLayout), nil
}

// addMonths adds months as Python's relativedelta does: a day past the
// end of the month it lands in is that month's last (January 31 plus a
// month is February 28), where time.AddDate would roll on into March.
func addMonths(t time.Time, months int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}

// refuse is a 400 with KServe's error body.
func refuse(typ, message string) *timeseries.Error {
	return &timeseries.Error{Code: http.StatusBadRequest, Type: typ, Message: message}
}

// pyFloat writes q as Python's str does, as KServe's messages and quantile
// keys carry it: 0.1, 1.0, 1e-05.
func pyFloat(q float64) string {
	if a := math.Abs(q); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(q, 'e', -1, 64)
	}
	s := strconv.FormatFloat(q, 'f', -1, 64)
	if _, err := strconv.Atoi(s); err == nil {
		s += ".0"
	}
	return s
}
