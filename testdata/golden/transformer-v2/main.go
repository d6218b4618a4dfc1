// Command custom-transformer-v2 serves the custom-transformer-v2 transformer with the kserve-gen
// runtime: it preprocesses each request, forwards it to the predictor at
// --predictor_host over --predictor_protocol (default v2) and
// postprocesses the answer, serving KServe's v1 and v2 REST protocols on
// --http_port (8080).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
)

func main() {
	err := run(os.Args[1:])
	if errors.Is(err, config.ErrUsage) {
		os.Exit(2) // the parser printed the usage and the error, as argparse does
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // once: the runtime logs none of the errors it returns
		os.Exit(1)
	}
}

func run(args []string) error {
	p := config.NewParser("custom-transformer-v2")
	// Project defaults; the command line still overrides them.
	defaults := map[string]string{
		"model_name":  "custom-transformer-v2", // KServe's default is "model"
		"enable_grpc": "false",
		// The predictor speaks what this transformer speaks unless told otherwise.
		"predictor_protocol": "v2",
	}
	for name, value := range defaults {
		if err := p.FlagSet().Set(name, value); err != nil {
			return fmt.Errorf("default --%s: %w", name, err)
		}
	}
	cfg, err := p.ParseLookup(args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	m, err := NewCustomTransformerV2(cfg.ModelName, forward.FromConfig(*cfg, os.Getenv))
	if err != nil && cfg.PredictorHost == "" {
		return fmt.Errorf("%w (pass --predictor_host=HOST:PORT, the predictor this transformer calls)", err)
	}
	if err != nil {
		return err // it names the flag or variable at fault
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	return runtime.NewServer(*cfg).Run(ctx, m)
}
