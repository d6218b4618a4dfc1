package deploy_test

import (
	"fmt"
	"os"

	"github.com/kserve-gen/kserve-gen/deploy"
	"github.com/kserve-gen/kserve-gen/project"
)

// Render a gRPC InferenceService from a project file's values.
func ExampleRender() {
	o := deploy.FromProject(&project.File{
		Name: "custom-model-grpc", Module: "example.com/custom-model-grpc", Template: project.TemplateGRPC,
		Protocol: project.ProtocolV2, GRPC: true, Image: "docker.io/example/custom-model-grpc:v1",
	})
	o.Metrics = false
	out, err := deploy.Render(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// apiVersion: serving.kserve.io/v1beta1
	// kind: InferenceService
	// metadata:
	//   name: custom-model-grpc
	//   labels:
	//     app.kubernetes.io/managed-by: kserve-gen
	// spec:
	//   predictor:
	//     containers:
	//       - name: kserve-container
	//         image: docker.io/example/custom-model-grpc:v1
	//         args:
	//           - --model_name=custom-model-grpc
	//           - --http_port=8080
	//           - --grpc_port=8081
	//           - --enable_grpc=true
	//           - --workers=1
	//         ports:
	//           - name: h2c
	//             containerPort: 8081
	//             protocol: TCP
	//         env:
	//           - name: PROTOCOL
	//             value: v2
	//         readinessProbe:
	//           httpGet:
	//             path: /v2/models/custom-model-grpc/ready
	//             port: 8080
	//         startupProbe:
	//           httpGet:
	//             path: /v2/models/custom-model-grpc/ready
	//             port: 8080
	//           periodSeconds: 5
	//           failureThreshold: 120
}

// Validate reports every problem, one line each, naming the flag.
func ExampleOptions_Validate() {
	o := deploy.Options{
		Name: "custom-model", Image: "docker.io/example/custom-model:v1",
		Protocol: project.ProtocolV1, GRPC: true, HTTPPort: 8080, GRPCPort: 8081, GPU: -1,
	}
	fmt.Println(o.Validate())
	// Output:
	// --grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2
	// --gpu: must be 0 (CPU only) or more, got -1
}
