// Command client sends input.json to the pool model over gRPC and
// prints the response as JSON: the Go counterpart of the seed's
// grpc_client.py. INGRESS_HOST and INGRESS_PORT (default localhost:8081)
// say where the server is; SERVICE_HOSTNAME sets the authority an ingress
// routes by; MODEL_NAME overrides the model name. Run it from the project
// folder (go run ./client), or pass -input.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

func main() {
	input := flag.String("input", "input.json", "the v2 JSON request to send")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *input); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdout io.Writer, input string) error {
	target := env("INGRESS_HOST", "localhost") + ":" + env("INGRESS_PORT", "8081")
	var opts []client.GRPCOption
	if host := os.Getenv("SERVICE_HOSTNAME"); host != "" {
		opts = append(opts, client.WithDialOptions(grpc.WithAuthority(host)))
	}
	c, err := client.NewGRPC(target, opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	body, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	req, err := infer.DecodeRequest(body, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	req.ModelName = env("MODEL_NAME", "pool")

	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	resp, err := c.Infer(ctx, req)
	if err != nil {
		return err
	}
	out, err := infer.AppendResponseJSON(nil, resp)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
