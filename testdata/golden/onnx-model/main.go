// Command scorer serves the scorer ONNX model with ONNX Runtime and
// the kserve-gen runtime: KServe's flags and environment variables, the v1
// and v2 REST protocols on --http_port (8080) and the v2 gRPC protocol
// on --grpc_port (8081). The model is --model_dir, else what $STORAGE_URI
// names (a local path; an http(s):// file or archive, or an hf:// repository,
// downloaded into the user's cache; on KServe, what the storage-initializer
// put in /mnt/models), else ./model.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
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
	p := config.NewParser("scorer")
	// --device, --replicas, --intra_op_threads, --inter_op_threads,
	// --gpu_mem_limit, --cudnn_conv_algo_search, and dynamic batching:
	// --max_batch_size, --max_queue_delay.
	f := onnx.RegisterFlags(p.FlagSet())
	// Project defaults; the command line still overrides them.
	defaults := map[string]string{
		"model_name":  "scorer", // KServe's default is "model"
		"enable_grpc": "true",
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
	if err := f.Validate(); err != nil {
		return p.Fail(err) // --replicas=0 is a usage error too
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	srv := runtime.NewServer(*cfg)
	dir, err := srv.ResolveModelDir(ctx)
	if err != nil {
		return err
	}
	if dir == "" {
		dir = "model"
	}
	m, err := f.Serve(NewScorer(cfg.ModelName, dir, f.Options()...))
	if err != nil {
		return err
	}
	return srv.Run(ctx, m)
}
