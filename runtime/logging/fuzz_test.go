package logging

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary documents to the JSON, YAML and INI readers and
// to Setup: no input may panic, and every failure is a *ConfigError.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"logging.json", "logging.yaml", "logging.ini"} {
		b, err := os.ReadFile(filepath.Join(examples, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[loggers]\nkeys=root\n[logger_root]\nhandlers=h\n[handlers]\nkeys=h\n[handler_h]\nclass=FileHandler\nargs=('/dev/null', 'w')\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (*Config, error){parseJSON, parseYAML, parseINI} {
			cfg, err := parse(data)
			if err != nil {
				continue
			}
			// Keep file handlers off the disk.
			for name, h := range cfg.Handlers {
				if h.Filename != "" {
					h.Filename = os.DevNull
					h.MaxBytes = 0
					cfg.Handlers[name] = h
				}
			}
			l, err := Setup(Options{Configure: true, Config: cfg, Stdout: discardWriter{}, Stderr: discardWriter{}})
			if err != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("Setup error is %T, not *ConfigError: %v", err, err)
				}
				continue
			}
			l.Server().Info("x", "k", 1)
			l.LogLatency("r", 1, 2, 3, 4)
			l.LogAccess(sampleAccess)
			l.Close()
		}
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
