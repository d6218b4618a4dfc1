// Command forecast serves the forecast model with the kserve-gen runtime:
// KServe's flags and environment variables, and KServe's time-series routes
// (/v1/timeseries/forecast, /v1/timeseries/models) on --http_port (8080).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
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
	p := config.NewParser("forecast")
	// Project defaults; the command line still overrides them.
	defaults := map[string]string{
		"model_name":  "forecast", // KServe's default is "model"
		"enable_grpc": "false",
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
	ctx, stop := runtime.SignalContext()
	defer stop()
	return runtime.NewServer(*cfg).Run(ctx, NewForecast(cfg.ModelName))
}
