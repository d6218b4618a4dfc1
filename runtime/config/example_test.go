package config_test

import (
	"fmt"
	"log"

	"github.com/kserve-gen/kserve-gen/runtime/config"
)

// A user's main adds its own flags beside KServe's, like the Python seed's
// argparse.ArgumentParser(parents=[kserve.model_server.parser]).
func ExampleParser() {
	p := config.NewParser("custom-model")
	labels := p.FlagSet().String("labels", "labels.txt", "class labels file")
	verbose := p.FlagSet().Bool("verbose", false, "log every request")

	args := []string{"--model_name=resnet", "--http_port", "9000", "--enable_grpc", "False", "--labels=/mnt/models/l.txt", "--verbose=yes", "--unknown", "x"}
	env := map[string]string{"PROTOCOL": "v2", "STORAGE_URI": "pvc://models/resnet"}
	cfg, err := p.Parse(args, func(k string) string { return env[k] })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.ModelName, cfg.HTTPPort, cfg.EnableGRPC, cfg.Protocol, cfg.StorageURI)
	fmt.Println(*labels, *verbose)
	fmt.Println("ignored:", p.Unknown())
	// Output:
	// resnet 9000 false v2 pvc://models/resnet
	// /mnt/models/l.txt true
	// ignored: [--unknown x]
}
