package runtime

import (
	"fmt"
	"slices"

	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// checkServes refuses a model that nothing would serve: one without
// Predict that implements none of package openai's interfaces nor
// timeseries.Forecaster either (KServe's register_model refuses what is
// no BaseKServeModel).
func checkServes(m model.Model) error {
	if _, ok := m.(model.Predictor); !ok && !openai.Is(m) && !timeseries.Is(m) {
		return fmt.Errorf("model %q (%T) implements neither Predict nor any of package openai's interfaces nor timeseries.Forecaster", m.Name(), m)
	}
	return nil
}

// withOptionalRoutes is the REST routes of WithHandler plus KServe's
// optional routes, each registered only when a model needs them, as
// KServe registers them (RESTServer._register_endpoints): the
// OpenAI-compatible routes under $KSERVE_OPENAI_ROUTE_PREFIX when a model
// implements one of package openai's interfaces
// (maybe_register_openai_endpoints), the time-series routes when one
// implements timeseries.Forecaster (maybe_register_time_series_endpoints).
func (s *Server) withOptionalRoutes(models []model.Model) ([]rest.Route, error) {
	var own []rest.Route
	if slices.ContainsFunc(models, openai.Is) {
		oai := openai.Routes(s.dp, openai.Options{
			Prefix:             s.cfg.OpenAIRoutePrefix,
			MaxRequestBodySize: s.cfg.MaxRequestBodySize,
			Logger:             s.log,
		})
		// A WithHandler route on one of the OpenAI paths.
		if err := checkRoutes(s.routes, oai); err != nil {
			return nil, fmt.Errorf("OpenAI routes under KSERVE_OPENAI_ROUTE_PREFIX %q: %w", s.cfg.OpenAIRoutePrefix, err)
		}
		s.log.Info("OpenAI endpoints registered")
		own = oai
	}
	if slices.ContainsFunc(models, timeseries.Is) {
		ts := timeseries.Routes(s.dp, timeseries.Options{
			MaxRequestBodySize: s.cfg.MaxRequestBodySize,
			Logger:             s.log,
		})
		// WithHandler may not take /v1/... paths, and no OpenAI route
		// ends in /timeseries/..., so this cannot fail today; it keeps the
		// check where routes are added.
		if err := checkRoutes(s.routes, slices.Concat(own, ts)); err != nil {
			return nil, fmt.Errorf("time series routes: %w", err)
		}
		// KServe's register_time_series_endpoints logs this line.
		s.log.Info("Time Series endpoints registered")
		own = slices.Concat(own, ts)
	}
	return slices.Concat(s.routes, own), nil
}
