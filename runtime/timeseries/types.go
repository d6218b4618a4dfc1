package timeseries

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
)

// The request and response types follow KServe's pydantic models
// (kserve/protocol/rest/timeseries/types.py, KServe 0.16): the same JSON
// names, in the same order, a field without a value written as null as
// pydantic's model_dump writes it. KServe's request models allow fields
// they do not declare (model_config = {"extra": "allow"}): the request
// types keep them, as raw JSON, in Extra.

// Type says whether a series is univariate or multivariate (KServe's
// TimeSeriesType).
type Type string

// The values of Type.
const (
	Univariate   Type = "univariate_time_series"
	Multivariate Type = "multivariate_time_series"
)

// Frequency is a series' step (KServe's Frequency): each has a long and a
// short name, and KServe takes either.
type Frequency string

// The values of Frequency, in KServe's order.
const (
	Second       Frequency = "second"
	SecondShort  Frequency = "S"
	Minute       Frequency = "minute"
	MinuteShort  Frequency = "T"
	Hour         Frequency = "hour"
	HourShort    Frequency = "H"
	Day          Frequency = "day"
	DayShort     Frequency = "D"
	Week         Frequency = "week"
	WeekShort    Frequency = "W"
	Month        Frequency = "month"
	MonthShort   Frequency = "M"
	Quarter      Frequency = "quarter"
	QuarterShort Frequency = "Q"
	Year         Frequency = "year"
	YearShort    Frequency = "Y"
)

// frequencies are the values of Frequency in KServe's order, the order
// pydantic's enum error lists them in.
var frequencies = []string{
	"second", "S", "minute", "T", "hour", "H", "day", "D",
	"week", "W", "month", "M", "quarter", "Q", "year", "Y",
}

// Status is the state of a forecast or of one of its outputs (KServe's
// Status).
type Status string

// The values of Status.
const (
	Completed Status = "completed"
	Failed    Status = "error"
	Pending   Status = "pending"
	Partial   Status = "partial"
)

// Series is a time series, KServe's TimeSeries (Union[List[float],
// List[List[float]]]): Values for a univariate one (one number a step),
// Rows for a multivariate one. A request sets exactly one of them (an
// empty list is Values, as pydantic matches it to List[float] first); in
// an answer, Rows wins when set. Numbers are written as KServe's orjson
// writes a Python float (120.0, 0.00001).
type Series struct {
	Values []float64
	Rows   [][]float64
}

// UnmarshalJSON reads a list of numbers or a list of lists of numbers.
func (s *Series) UnmarshalJSON(b []byte) error {
	*s = Series{}
	var values []float64
	err := json.Unmarshal(b, &values)
	if err == nil {
		s.Values = values
		return nil
	}
	var rows [][]float64
	if json.Unmarshal(b, &rows) == nil {
		s.Rows = rows
		return nil
	}
	return err
}

// MarshalJSON writes Rows when set, else Values ([] when nil), each
// number as KServe writes a Python float: its app's default response class
// is ORJSONResponse, so orjson's text (1.0, 0.00001, 1e16) and NaN or an
// infinity as null (pydantic's JSON mode and orjson both write null), as
// infer.AppendJSON writes float lists for the v1 and v2 routes.
func (s Series) MarshalJSON() ([]byte, error) {
	if s.Rows != nil {
		return infer.AppendJSON(nil, s.Rows)
	}
	return infer.AppendJSON(nil, s.Values)
}

// ForecastRequest is the body of POST /v1/timeseries/forecast (KServe's
// ForecastRequest).
type ForecastRequest struct {
	// Model names the model to forecast with.
	Model  string  `json:"model"`
	Inputs []Input `json:"inputs"`
	// Options are the forecast's horizon, quantiles and the model's own
	// hyperparameters (in ForecastOptions.Extra).
	Options ForecastOptions `json:"options"`
	// Metadata is the caller's own, any JSON object; nil when not sent or
	// null.
	Metadata map[string]json.RawMessage `json:"metadata"`
	// Extra holds the body's members no field above names.
	Extra map[string]json.RawMessage `json:"-"`

	// Header is the request's headers (KServe passes them in the model's
	// context["headers"]).
	Header http.Header `json:"-"`
	// ResponseHeader, never nil, is the headers to answer with (KServe's
	// context["response"].headers): they go out with a forecast, not with
	// an error answer. Content-Type and Content-Length stay the server's.
	ResponseHeader http.Header `json:"-"`
}

// Input is one series to forecast (KServe's TimeSeriesInput).
type Input struct {
	Type Type   `json:"type"`
	Name string `json:"name"`
	// Series is the observed data.
	Series    Series    `json:"series"`
	Frequency Frequency `json:"frequency"`
	// StartTimestamp is the ISO 8601 time of the first step; nil when not
	// sent or null.
	StartTimestamp *string `json:"start_timestamp"`
	// Extra holds the input's members no field above names.
	Extra map[string]json.RawMessage `json:"-"`
}

// ForecastOptions are a request's forecasting options (KServe's
// ForecastOptions).
type ForecastOptions struct {
	// Horizon is the number of steps to forecast.
	Horizon int `json:"horizon"`
	// Quantiles to forecast, e.g. [0.1, 0.5, 0.9]; nil when not sent or
	// null.
	Quantiles []float64 `json:"quantiles"`
	// Extra holds the options' members no field above names: a model's
	// own hyperparameters.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the body's undeclared fields in Extra.
func (r *ForecastRequest) UnmarshalJSON(b []byte) error {
	type plain ForecastRequest
	return pydantic.DecodeWithExtra(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON keeps the input's undeclared fields in Extra.
func (in *Input) UnmarshalJSON(b []byte) error {
	type plain Input
	return pydantic.DecodeWithExtra(b, (*plain)(in), &in.Extra)
}

// UnmarshalJSON keeps the options' undeclared fields in Extra, and reads
// a whole number written with a fraction (8.0) as a horizon, as pydantic
// does.
func (o *ForecastOptions) UnmarshalJSON(b []byte) error {
	var p struct {
		Horizon   float64   `json:"horizon"`
		Quantiles []float64 `json:"quantiles"`
	}
	if err := pydantic.DecodeWithExtra(b, &p, &o.Extra); err != nil {
		return err
	}
	o.Horizon, o.Quantiles = int(p.Horizon), p.Quantiles
	return nil
}

// ForecastResponse is a forecast (KServe's ForecastResponse). The server
// fills what a model leaves empty: ID (a random UUID), CreatedAt (now),
// Status ("completed") and Model (the request's); and of each output,
// Type ("time_series_forecast"), ID and Status.
type ForecastResponse struct {
	ID        string `json:"id"`
	CreatedAt int64  `json:"created_at"`
	Status    Status `json:"status"`
	// Error is the top-level error of a forecast that failed in part; nil
	// is null.
	Error   *Error   `json:"error"`
	Model   string   `json:"model"`
	Outputs []Output `json:"outputs"`
	// Usage is null when nil.
	Usage *Usage `json:"usage"`
}

// Output is one forecast result (KServe's ForecastOutput).
type Output struct {
	Type    string     `json:"type"`
	ID      string     `json:"id"`
	Status  Status     `json:"status"`
	Content []Forecast `json:"content"`
	Error   *Error     `json:"error"`
}

// Forecast is the forecast of one series (KServe's TimeSeriesForecast).
type Forecast struct {
	Type Type   `json:"type"`
	Name string `json:"name"`
	// MeanForecast is the forecast values, Horizon steps.
	MeanForecast Series    `json:"mean_forecast"`
	Frequency    Frequency `json:"frequency"`
	// StartTimestamp is the ISO 8601 time of the first forecast step.
	StartTimestamp string `json:"start_timestamp"`
	// Quantiles maps a quantile ("0.1", as Python's str writes the float
	// asked for) to its forecast; nil is null. The server writes the keys
	// in the order the request asked for the quantiles, as KServe's
	// TimesFM model inserts them (a Python dict keeps its order); keys
	// that name no quantile asked for, and all keys of a Forecast
	// marshalled elsewhere, follow in sorted order.
	Quantiles map[string]Series `json:"quantiles"`

	// asked is the request's quantiles, set by the server before it
	// writes the answer.
	asked []float64
}

// MarshalJSON writes the forecast, its quantiles in the order asked for
// (see Quantiles).
func (f Forecast) MarshalJSON() ([]byte, error) {
	q, err := f.quantilesJSON()
	if err != nil {
		return nil, err
	}
	type plain Forecast
	// The outer field hides the embedded one of the same name; it is the
	// last field of Forecast too, so the order stays.
	return pydantic.Marshal(struct {
		plain
		Quantiles json.RawMessage `json:"quantiles"`
	}{plain(f), q})
}

// quantilesJSON is Quantiles as a JSON object, its keys ranked by the
// first quantile asked for that each names (parsed as a number, so "0.10"
// names 0.1 too), then by the key.
func (f Forecast) quantilesJSON() (json.RawMessage, error) {
	if f.Quantiles == nil {
		return json.RawMessage("null"), nil
	}
	keys := slices.Sorted(maps.Keys(f.Quantiles))
	rank := make(map[string]int, len(keys))
	for _, k := range keys {
		rank[k] = len(f.asked)
		if v, err := strconv.ParseFloat(k, 64); err == nil {
			if i := slices.Index(f.asked, v); i >= 0 {
				rank[k] = i
			}
		}
	}
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := pydantic.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := f.Quantiles[k].MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}

// Usage is a forecast's token accounting (KServe's Usage).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Error is KServe's time-series error (types.py Error, inside an
// ErrorResponse). A model returns one from Forecast to answer with it:
// the status is Code (0: 500) and the body {"error": {...}}, as KServe's
// forecast endpoint answers the ErrorResponse a model returns. In a
// response's error fields it is written the same way, Code 0 as null.
type Error struct {
	// Code is the HTTP status, written as a string ("400").
	Code int
	// Type names the error ("invalid_horizon").
	Type    string
	Message string
	// Param names the parameter at fault; "" is null.
	Param string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// MarshalJSON writes KServe's field order: code, message, param, type.
func (e Error) MarshalJSON() ([]byte, error) {
	var code, param *string
	if e.Code != 0 {
		c := strconv.Itoa(e.Code)
		code = &c
	}
	if e.Param != "" {
		param = &e.Param
	}
	return pydantic.Marshal(struct {
		Code    *string `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
		Type    string  `json:"type"`
	}{code, e.Message, param, e.Type})
}
