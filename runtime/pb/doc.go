// Package pb is the generated Go code of the Open Inference Protocol gRPC API
// (package inference, service GRPCInferenceService), from
// runtime/proto/grpc_predict_v2.proto. Do not edit the *.pb.go files:
// change the proto and run go generate (scripts/gen-proto.sh --check in CI
// fails when they are out of date).
package pb

//go:generate ../../scripts/gen-proto.sh
