package runtime

import (
	"fmt"
	"slices"

	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

// checkServes refuses a model that nothing would serve: one without
// Predict that implements none of package openai's interfaces either
// (KServe's register_model refuses what is no BaseKServeModel).
func checkServes(m model.Model) error {
	if _, ok := m.(model.Predictor); !ok && !openai.Is(m) {
		return fmt.Errorf("model %q (%T) implements neither Predict nor any of package openai's interfaces", m.Name(), m)
	}
	return nil
}

// withOpenAIRoutes is the REST routes of WithHandler plus, when a model
// implements one of package openai's interfaces, the OpenAI-compatible
// routes under $KSERVE_OPENAI_ROUTE_PREFIX, which KServe registers only
// then too (maybe_register_openai_endpoints).
func (s *Server) withOpenAIRoutes(models []model.Model) ([]rest.Route, error) {
	if !slices.ContainsFunc(models, openai.Is) {
		return s.routes, nil
	}
	own := openai.Routes(s.dp, openai.Options{
		Prefix:             s.cfg.OpenAIRoutePrefix,
		MaxRequestBodySize: s.cfg.MaxRequestBodySize,
		Logger:             s.log,
	})
	// A WithHandler route on one of the OpenAI paths.
	if err := checkRoutes(s.routes, own); err != nil {
		return nil, fmt.Errorf("OpenAI routes under KSERVE_OPENAI_ROUTE_PREFIX %q: %w", s.cfg.OpenAIRoutePrefix, err)
	}
	s.log.Info("OpenAI endpoints registered")
	return slices.Concat(s.routes, own), nil
}
