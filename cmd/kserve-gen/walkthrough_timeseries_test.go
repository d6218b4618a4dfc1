package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

// timeSeriesStamps are what differ between two forecasts: the ids (random
// UUIDs) and the time.
var timeSeriesStamps = regexp.MustCompile(`"id":"[0-9a-f-]{36}"|"created_at":[0-9]+`)

// TestNew_TimeSeriesReadmeWalkthrough follows a timeseries project's
// README as a new user does (walkReadme): the forecast of input.json, a
// multivariate one, the model list and the readiness, their outputs as the
// README shows them.
func TestNew_TimeSeriesReadmeWalkthrough(t *testing.T) {
	ran, compared := walkReadme(t, "timeseries", "walk-forecast", "## Build the image", "localhost:8080/v1/", timeSeriesStamps)
	assert.Equal(t, 4, ran, "the README's curl commands: the forecast of input.json, the multivariate one, the model list and the readiness")
	assert.Equal(t, 2, compared, "the README's outputs: input.json's forecast, and the multivariate forecast with the list")
}
