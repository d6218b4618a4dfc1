package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWithDefaultPort(t *testing.T) {
	assert.Equal(t, "example.com:80", withDefaultPort("example.com", false))
	assert.Equal(t, "example.com:443", withDefaultPort("example.com", true))
	assert.Equal(t, "example.com:8081", withDefaultPort("example.com:8081", true))
	assert.Equal(t, "[::1]:8081", withDefaultPort("[::1]:8081", false))
	assert.Equal(t, "dns:///example.com", withDefaultPort("dns:///example.com", false))
	assert.Equal(t, "unix:/tmp/s.sock", withDefaultPort("unix:/tmp/s.sock", false))
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for i := range 6 {
		got = append(got, backoff(i))
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}, got)
}

func TestRetryServiceConfig(t *testing.T) {
	assert.JSONEq(t, `{"methodConfig":[{"name":[{"service":"inference.GRPCInferenceService"}],"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.1s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}},`+
		`{"name":[{"service":"inference.GRPCInferenceService","method":"ModelInfer"}]}]}`,
		retryServiceConfig(3))
	assert.Contains(t, retryServiceConfig(10), `"maxAttempts":5`)
}
