// Package onnx serves ONNX models with the real ONNX Runtime, loaded at run
// time (dlopen) through github.com/yalue/onnxruntime_go. Build needs cgo but
// no ONNX Runtime headers or libraries; running needs the shared library,
// which scripts/setup-onnx.sh installs where Env finds it without
// configuration.
//
// The pieces, from low to high level:
//
//   - Env: the process's ONNX Runtime environment (library discovery,
//     initialisation once, the version in the log, ONNX Runtime's telemetry
//     switched off unless ORT_DISABLE_TELEMETRY is set). ONNX Runtime allows
//     one per process, so create one Env and share it.
//   - Session: one loaded model: input/output metadata, Run over infer
//     tensors (wrapping request data without copying), thread settings,
//     warm-up, and the execution provider (CUDA with a logged fallback to CPU).
//   - Pool: N sessions of one model, so concurrent requests run in parallel.
//   - Model: a ready-made runtime model: any ONNX file served over v1, v2 REST
//     and gRPC with no user code (NewModel).
package onnx
