// Package timeseries serves KServe's time-series forecast routes for
// models that implement Forecaster, as KServe's Python server does for its
// time-series models (kserve/protocol/rest/timeseries, KServe 0.16): POST
// /v1/timeseries/forecast and GET /v1/timeseries/models. The server
// (package runtime) registers them when it serves at least one such model
// (KServe: maybe_register_time_series_endpoints).
//
// A model implements runtime.Model (Name, Load, Ready) and Forecaster; it
// needs no Predict. It is loaded, probed, listed and unloaded like any
// other model.
package timeseries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Forecaster answers POST /v1/timeseries/forecast (KServe's
// TimeSeriesModel.forecast).
//
// To refuse a request as KServe's models do (an ErrorResponse: an
// unsupported horizon or quantile), Forecast returns an *Error: it is
// answered with its Code and KServe's {"error": {...}} body. Any other
// error is answered as KServe's routes answer an exception (status by
// kind, {"error": "<message>"}).
type Forecaster interface {
	Forecast(ctx context.Context, req *ForecastRequest) (*ForecastResponse, error)
}

// Is reports whether m is a time-series model: one that implements
// Forecaster (KServe: a HuggingFaceTimeSeriesModel).
func Is(m model.Model) bool {
	_, ok := m.(Forecaster)
	return ok
}

// Options configure the routes.
type Options struct {
	// MaxRequestBodySize bounds a request body (--max_request_body_size;
	// <= 0: no bound).
	MaxRequestBodySize int64
	// Logger receives the "Exception: ..." lines of failed requests; nil
	// discards them.
	Logger *slog.Logger
	// Now and NewID stamp responses whose model left "created_at" and
	// "id" empty; nil means time.Now and a random UUID (tests fix them).
	Now   func() time.Time
	NewID func() string
}

// Routes returns the time-series routes over dp's models (KServe's
// register_time_series_endpoints), for the server's rest.Options.Routes.
// A request's "model" chooses the model; a model that is not a
// time-series model is not found there, as KServe's time-series dataplane
// holds only those.
func Routes(dp *dataplane.Dataplane, opts Options) []rest.Route {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		// KServe's HuggingFaceTimeSeriesModel: str(uuid.uuid4()).
		opts.NewID = uuid.NewString
	}
	s := &server{dp: dp, opts: opts}
	return []rest.Route{
		{Pattern: "POST /v1/timeseries/forecast", Handler: http.HandlerFunc(s.forecast)},
		{Pattern: "GET /v1/timeseries/models", Handler: http.HandlerFunc(s.models)},
	}
}

type server struct {
	dp   *dataplane.Dataplane
	opts Options
}

// models answers GET /v1/timeseries/models: the names of the time-series
// models served, ready or not, as a JSON list (KServe's
// TimeSeriesEndpoints.models).
func (s *server) models(w http.ResponseWriter, r *http.Request) {
	names := []string{}
	for _, name := range s.dp.Names() {
		if e, err := s.dp.Lookup(name); err == nil && Is(e.Model) {
			names = append(names, name)
		}
	}
	s.writeJSON(w, r, names)
}

// forecast answers POST /v1/timeseries/forecast.
func (s *server) forecast(w http.ResponseWriter, r *http.Request) {
	req, err := s.read(w, r)
	if err != nil {
		rest.WriteError(w, r, s.opts.Logger, err)
		return
	}
	f, release, err := s.lookup(r.Context(), req.Model)
	if err != nil {
		rest.WriteError(w, r, s.opts.Logger, err)
		return
	}
	defer release()
	req.Header, req.ResponseHeader = r.Header, http.Header{}
	resp, err := s.call(req.Model, func() (*ForecastResponse, error) { return f.Forecast(r.Context(), req) })
	if err == nil && resp == nil {
		err = status.Newf(status.KindInternal, "model %s returned a nil forecast", req.Model)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.stamp(resp, req.Model, req.Options.Quantiles)
	headerval.SetModelHeaders(w.Header(), req.ResponseHeader)
	s.writeJSON(w, r, resp)
}

// read reads the body and validates it as FastAPI validates KServe's
// ForecastRequest: its errors are 422s with FastAPI's details.
func (s *server) read(w http.ResponseWriter, r *http.Request) (*ForecastRequest, error) {
	body, err := rest.ReadBody(w, r, s.opts.MaxRequestBodySize)
	if err != nil {
		return nil, err
	}
	fields, err := pydantic.Object(body)
	if err != nil {
		return nil, err
	}
	if details := validate(fields); len(details) > 0 {
		return nil, status.Unprocessable(details...)
	}
	var req ForecastRequest
	if err := req.UnmarshalJSON(body); err != nil {
		return nil, pydantic.TypeError(err, fields)
	}
	return &req, nil
}

// lookup finds the time-series model name, ready, and takes a model slot
// for it (--max_asyncio_workers, --max_queued_requests), which release
// frees. KServe's dataplane raises ModelNotFound (404) for a name its
// time-series registry does not hold (get_model), which holds only
// time-series models.
func (s *server) lookup(ctx context.Context, name string) (f Forecaster, release func(), err error) {
	m, release, err := s.dp.AcquireKind(ctx, name, Is)
	if err != nil {
		return nil, nil, err
	}
	return m.(Forecaster), release, nil
}

// call runs fn, model name's Forecast, turning its panic into an error
// (status.Panic), as the dataplane does for Predict: nothing a model does
// ends the server.
func (s *server) call(name string, fn func() (*ForecastResponse, error)) (resp *ForecastResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Panic("Forecast of model "+name, p, debug.Stack())
		}
	}()
	return fn()
}

// stamp fills what the model left empty of resp, and has its forecasts
// write their quantiles in the order asked for.
func (s *server) stamp(resp *ForecastResponse, model string, asked []float64) {
	if resp.ID == "" {
		resp.ID = s.opts.NewID()
	}
	if resp.CreatedAt == 0 {
		resp.CreatedAt = s.opts.Now().Unix()
	}
	if resp.Status == "" {
		resp.Status = Completed
	}
	if resp.Model == "" {
		resp.Model = model
	}
	if resp.Outputs == nil {
		resp.Outputs = []Output{}
	}
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if o.Type == "" {
			o.Type = "time_series_forecast"
		}
		if o.ID == "" {
			o.ID = s.opts.NewID()
		}
		if o.Status == "" {
			o.Status = Completed
		}
		if o.Content == nil {
			o.Content = []Forecast{}
		}
		for j := range o.Content {
			o.Content[j].asked = asked
		}
	}
}

// writeError answers err: an *Error as KServe's forecast endpoint answers
// a model's ErrorResponse (its code as the status, the ErrorResponse as
// the body, nothing logged), anything else as KServe's routes answer an
// exception (rest.WriteError).
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var te *Error
	if !errors.As(err, &te) {
		rest.WriteError(w, r, s.opts.Logger, err)
		return
	}
	e := *te
	if e.Code < 100 || e.Code > 599 {
		// No code: KServe's int(None) fails, and its generic handler
		// answers 500. A code no HTTP status would make net/http panic.
		e.Code = http.StatusInternalServerError
	}
	b, err := pydantic.Marshal(struct {
		Error Error `json:"error"`
	}{e})
	if err != nil {
		rest.WriteError(w, r, s.opts.Logger, fmt.Errorf("encoding the error response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code)
	_, _ = w.Write(b)
}

// writeJSON writes v as a 200 JSON answer.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := pydantic.Marshal(v)
	if err != nil {
		rest.WriteError(w, r, s.opts.Logger, status.Newf(status.KindInternal, "encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
