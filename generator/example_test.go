package generator_test

import (
	"fmt"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/project"
)

// Render is a pure function: answers in, files out. Generate writes them.
func ExampleRender() {
	protocol, grpc := generator.TemplateDefaults(project.TemplateGRPC)
	files, err := generator.Render(&generator.Options{Project: project.File{
		Name:      "custom-model-grpc",
		Module:    "example.com/acme/custom-model-grpc",
		Template:  project.TemplateGRPC,
		Protocol:  protocol,
		GRPC:      grpc,
		Resources: generator.DefaultResources(),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Path)
	}
	// Output:
	// .gitignore
	// .go-version
	// Procfile
	// README.md
	// client/main.go
	// client/main_test.go
	// go.mod
	// inferenceservice.yaml
	// input.json
	// kserve-gen.yaml
	// main.go
	// model.go
	// model_test.go
	// project.toml
}
