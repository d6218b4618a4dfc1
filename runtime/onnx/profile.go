package onnx

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProfileProviders reads the profiles ONNX Runtime wrote for sessions
// created with SessionOptions.ProfilePrefix = prefix (written when each
// session is closed) and counts the kernel runs per execution provider: the
// proof of where the nodes really ran, e.g. {"CUDAExecutionProvider": 12,
// "CPUExecutionProvider": 2}.
func ProfileProviders(prefix string) (map[string]int, error) {
	files, err := filepath.Glob(prefix + "_*.json")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no ONNX Runtime profile %s_*.json (is the session closed?)", prefix)
	}
	counts := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var events []struct {
			Cat  string `json:"cat"`
			Name string `json:"name"`
			Args struct {
				Provider string `json:"provider"`
			} `json:"args"`
		}
		if err := json.Unmarshal(b, &events); err != nil {
			return nil, fmt.Errorf("parse profile %s: %w", f, err)
		}
		for _, e := range events {
			if e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time") && e.Args.Provider != "" {
				counts[e.Args.Provider]++
			}
		}
	}
	return counts, nil
}
