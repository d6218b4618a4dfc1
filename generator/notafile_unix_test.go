//go:build unix

package generator_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
)

// TestLoadONNXModel_RefusesWhatIsNotAFile: a named pipe given as the
// model, its labels or its external data blocked kserve-gen new for ever
// (the open waits for a writer); each is now refused by name.
func TestLoadONNXModel_RefusesWhatIsNotAFile(t *testing.T) {
	within := func(f func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("still reading after 10 s: blocked on the named pipe")
			return nil
		}
	}
	dir := t.TempDir()

	pipe := filepath.Join(dir, "pipe.onnx")
	require.NoError(t, syscall.Mkfifo(pipe, 0o600))
	err := within(func() error { _, err := generator.LoadONNXModel(pipe, nil); return err })
	assert.EqualError(t, err, pipe+": not a regular file")

	model, _ := onnxtest.ExternalData("data/weights.bin")
	p := filepath.Join(dir, "m.onnx")
	require.NoError(t, os.WriteFile(p, model, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "data", "weights.bin"), 0o600))
	err = within(func() error { _, err := generator.LoadONNXModel(p, nil); return err })
	assert.EqualError(t, err, p+": external data data/weights.bin: not a regular file")

	scorer := filepath.Join(dir, "scorer.onnx")
	require.NoError(t, os.WriteFile(scorer, generator.ScorerONNXModel(), 0o644))
	m, err := generator.LoadONNXModel(scorer, nil)
	require.NoError(t, err)
	m.Labels = filepath.Join(dir, "labels-pipe")
	require.NoError(t, syscall.Mkfifo(m.Labels, 0o600))
	err = within(func() error { _, err := m.CheckLabels(); return err })
	assert.EqualError(t, err, "labels "+m.Labels+": not a regular file")
}
