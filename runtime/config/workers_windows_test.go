package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// On Windows, --workers 4 is refused at parse time as argparse refuses a
// bad value: the run exits 2 with the flag named.
func TestParse_WorkersOnWindows(t *testing.T) {
	cfg, err := NewParser("t").Parse([]string{"--workers=4"}, env())
	assert.Nil(t, cfg)
	assert.ErrorIs(t, err, ErrUsage)
	assert.ErrorContains(t, err, "argument --workers: 4 worker processes share the HTTP port with SO_REUSEPORT, which Windows does not have")
}
