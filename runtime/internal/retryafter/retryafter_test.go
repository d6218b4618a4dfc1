package retryafter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"":     0,
		"5":    5 * time.Second,
		" 7 ":  7 * time.Second,
		"-3":   0,
		"soon": 0,
		"1.5":  0,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): 0,
	} {
		assert.Equal(t, want, Parse(v), "%q", v)
	}
	later := Parse(time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat))
	assert.True(t, later > 80*time.Second && later <= 90*time.Second, "an HTTP date 90 s ahead: %v", later)
}
