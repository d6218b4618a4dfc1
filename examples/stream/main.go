// Command stream serves a model that streams its answer, as generative
// models send tokens while they produce them: a v1 request
// {"prompt": "...", "delay_ms": N} is answered with server-sent events, one
// per word of the prompt, then "[DONE]" (the shape of OpenAI-style streams).
//
//	go run . --model_name=stream --http_port=8080
//	curl -N -H 'Content-Type: application/json' localhost:8080/v1/models/stream:predict \
//	  -d '{"prompt":"the quick brown fox","delay_ms":200}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Words streams the words of its prompt.
type Words struct{ name string }

// Name is the model name on the endpoint paths.
func (m *Words) Name() string { return m.name }

// Load has nothing to load.
func (m *Words) Load(context.Context) error { return nil }

// Ready is always true: there are no weights.
func (m *Words) Ready() bool { return true }

// Predict checks the request before the stream starts, so a bad one is an
// ordinary 400; the stream itself runs after Predict has returned.
func (m *Words) Predict(ctx context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	var body struct {
		Prompt  string `json:"prompt"`
		DelayMS int    `json:"delay_ms"`
	}
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	if strings.TrimSpace(body.Prompt) == "" {
		return nil, runtime.InvalidInput(`"prompt" must hold at least one word`)
	}
	if body.DelayMS < 0 || body.DelayMS > 10_000 {
		return nil, runtime.InvalidInput(fmt.Sprintf(`"delay_ms" must be between 0 and 10000, got %d`, body.DelayMS))
	}
	words := strings.Fields(body.Prompt)
	delay := time.Duration(body.DelayMS) * time.Millisecond
	return &infer.Response{ContentType: "text/event-stream", Stream: func(yield func([]byte, error) bool) {
		for i, w := range words {
			if i > 0 && delay > 0 {
				select {
				case <-time.After(delay): // the time a model takes per token
				case <-ctx.Done():
					return // the client went away
				}
			}
			tok, _ := infer.AppendJSON(nil, map[string]any{"index": i, "token": w})
			if !yield(fmt.Appendf(nil, "data: %s\n\n", tok), nil) {
				return
			}
		}
		yield([]byte("data: [DONE]\n\n"), nil)
	}}, nil
}

func main() {
	p := config.NewParser("stream")
	cfg, err := p.ParseLookup(os.Args[1:], os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // Parse printed the usage and the error, as argparse does
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	if err := runtime.NewServer(*cfg).Run(ctx, &Words{name: cfg.ModelName}); err != nil {
		fmt.Fprintln(os.Stderr, err) // once: the runtime logs none of the errors it returns
		os.Exit(1)
	}
}
