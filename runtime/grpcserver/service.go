package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// service implements inference.GRPCInferenceService over the dataplane.
type service struct {
	pb.UnimplementedGRPCInferenceServiceServer
	dp      *dataplane.Dataplane
	log     *slog.Logger
	health  *healthService
	maxSend int // --grpc_max_send_message_length, resolved (messageLimit)
}

func (s *service) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: s.dp.Live()}, nil
}

func (s *service) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: s.dp.Ready()}, nil
}

// ModelReady answers ready=false for a model that is not ready (REST
// answers 503 instead) and NOT_FOUND for an unknown one, as KServe does.
func (s *service) ModelReady(ctx context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	ready, err := s.dp.ModelReady(req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.ModelReadyResponse{Ready: ready}, nil
}

func (s *service) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	md := s.dp.ServerMetadata()
	return &pb.ServerMetadataResponse{Name: md.Name, Version: md.Version, Extensions: md.Extensions}, nil
}

func (s *service) ModelMetadata(ctx context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	md, err := s.dp.ModelMetadata(req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	// The model's strings, a byte not UTF-8 as U+FFFD (pbconv.UTF8), as
	// REST's JSON writes them: grpc-go would refuse the answer whole.
	out := &pb.ModelMetadataResponse{Name: pbconv.UTF8(md.Name), Versions: md.Versions, Platform: pbconv.UTF8(md.Platform)}
	for _, t := range md.Inputs {
		out.Inputs = append(out.Inputs, &pb.ModelMetadataResponse_TensorMetadata{Name: pbconv.UTF8(t.Name), Datatype: pbconv.UTF8(string(t.Datatype)), Shape: t.Shape})
	}
	for _, t := range md.Outputs {
		out.Outputs = append(out.Outputs, &pb.ModelMetadataResponse_TensorMetadata{Name: pbconv.UTF8(t.Name), Datatype: pbconv.UTF8(string(t.Datatype)), Shape: t.Shape})
	}
	return out, nil
}

func (s *service) RepositoryModelLoad(ctx context.Context, req *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	err := s.dp.LoadModel(ctx, req.GetModelName())
	s.health.notify()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.RepositoryModelLoadResponse{ModelName: req.GetModelName(), IsLoaded: true}, nil
}

func (s *service) RepositoryModelUnload(ctx context.Context, req *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	err := s.dp.UnloadModel(ctx, req.GetModelName())
	s.health.notify()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.RepositoryModelUnloadResponse{ModelName: req.GetModelName(), IsUnloaded: true}, nil
}

// ModelInfer decodes the request (typed or raw contents), runs the
// dataplane's predict pipeline with the call's metadata as request headers,
// sends the model's response headers as header metadata, and encodes the
// outputs raw when the request was raw (or an output is FP16).
//
// A model that is not ready answers UNAVAILABLE "Model with name X is not
// ready." — KServe instead calls load() inline on the request path, which
// can stall a call for the length of a model load; readiness is the
// server's business, not the request's.
//
// A response over --grpc_max_send_message_length is refused here, not by
// grpc-go after the handler returns, so that it is counted as the failure it
// is (and its size is not recorded as sent), with a message naming the flag.
// The limit applies to the uncompressed message, as in KServe's server.
func (s *service) ModelInfer(ctx context.Context, m *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	out, err := s.modelInfer(ctx, m)
	n := 0
	if err == nil {
		if n = proto.Size(out); n > s.maxSend {
			msg := fmt.Sprintf("response of %d bytes is larger than --grpc_max_send_message_length (%d)", n, s.maxSend)
			s.log.ErrorContext(ctx, "Exception:", "error", msg)
			err = grpcstatus.Error(codes.ResourceExhausted, msg)
		}
	}
	if err != nil {
		s.dp.Record(m.GetModelName(), infer.ProtocolGRPCV2, dataplane.Predict, proto.Size(m), -1, grpcstatus.Code(err).String())
		return nil, err
	}
	s.dp.Record(m.GetModelName(), infer.ProtocolGRPCV2, dataplane.Predict, proto.Size(m), n, "")
	return out, nil
}

func (s *service) modelInfer(ctx context.Context, m *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	req, err := pbconv.Request(m)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	h := model.NewHeaders(incomingHeaders(ctx))
	ctx = model.ContextWithLogger(ctx, s.log) // for model code, as on REST
	resp, err := s.dp.Infer(ctx, m.GetModelName(), dataplane.Predict, req, h)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	// As the REST transport: defaults for name and id, then the request's
	// "outputs" list selects and orders the outputs.
	if resp.ModelName == "" {
		resp.ModelName = m.GetModelName()
	}
	if resp.ID == "" {
		resp.ID = req.EnsureID()
	}
	if err := infer.SelectOutputs(req, resp, m.GetModelName()); err != nil {
		return nil, s.fail(ctx, err)
	}
	out, err := pbconv.FromResponse(resp, len(m.GetRawInputContents()) != 0)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(h.Response) != 0 {
		if err := grpc.SetHeader(ctx, outgoingMetadata(h.Response)); err != nil {
			s.log.WarnContext(ctx, "cannot send response headers as gRPC metadata", "error", err)
		}
	}
	return out, nil
}

// fail turns err into a gRPC status that carries its message (KServe's
// mapper drops the message of not-ready and not-implemented errors).
//
// A context error is the caller's own cancel or deadline, answered with
// CANCELLED or DEADLINE_EXCEEDED, only when the call's context has ended:
// one from a deadline of the server's (a predictor that did not answer
// within --predictor_request_timeout_seconds, a model's own timeout) is a
// server error, mapped by its kind and logged like the others.
func (s *service) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return grpcstatus.FromContextError(ctx.Err()).Err()
	}
	code := status.GRPCCode(err)
	switch {
	case status.KindOf(err) == status.KindOverloaded:
		// gRPC's retry pushback, the Retry-After of REST: a client with a
		// retry policy (grpc-go's included) waits this long before trying
		// again instead of its own, shorter backoff.
		_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", strconv.Itoa(int(status.OverloadRetryAfter.Milliseconds()))))
	case code == codes.Internal:
		// A failure of the server, not of the request, logged with the
		// line of KServe's gRPC interceptor for an unexpected error.
		method, _ := grpc.Method(ctx)
		s.log.ErrorContext(ctx, fmt.Sprintf("Internal server error: %s, grpc_method: %s", status.LogText(err), method)+status.PanicStack(err))
	case status.KindOf(err) == status.KindUpstreamTimeout:
		// A failure upstream, logged as REST logs its 5xx.
		s.log.ErrorContext(ctx, "Exception:", "error", status.LogText(err))
	case status.PanicStack(err) != "":
		// A model's panic answered with another code (a Load that
		// panicked is UNAVAILABLE, not ready): its stack is in no other
		// line.
		s.log.ErrorContext(ctx, "Exception: "+status.LogText(err)+status.PanicStack(err))
	}
	return grpcstatus.Error(code, status.Message(err))
}

// incomingHeaders turns the call's metadata into request headers (KServe's
// to_headers): canonical keys, pseudo-headers such as :authority left out.
// It rewrites the copy FromIncomingContext makes instead of building a
// second map: at tens of thousands of calls a second the maps are most of
// this transport's own cost.
func incomingHeaders(ctx context.Context) http.Header {
	md, _ := metadata.FromIncomingContext(ctx)
	if md == nil {
		return http.Header{}
	}
	for k, v := range md {
		if strings.HasPrefix(k, ":") {
			delete(md, k)
			continue
		}
		if ck := canonicalKey(k); ck != k {
			delete(md, k)
			md[ck] = v
		}
	}
	return http.Header(md)
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey without its allocation
// for the keys nearly every call carries.
func canonicalKey(k string) string {
	switch k {
	case "content-type":
		return "Content-Type"
	case "user-agent":
		return "User-Agent"
	case "te":
		return "Te"
	case "grpc-accept-encoding":
		return "Grpc-Accept-Encoding"
	case "grpc-timeout":
		return "Grpc-Timeout"
	case "x-request-id":
		return "X-Request-Id"
	case "x-b3-traceid":
		return "X-B3-Traceid"
	case "authorization":
		return "Authorization"
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// outgoingMetadata turns response headers into gRPC metadata (lower-case
// keys), as REST's net/http writes them: a header whose name is not a valid
// field name is left out, and control characters in values, which HTTP/2
// refuses, become spaces (net/http turns line breaks into spaces). Sent as
// they are, HTTP/2 would fail the whole call with INTERNAL "invalid header
// field name" after the model had answered.
func outgoingMetadata(h http.Header) metadata.MD {
	md := make(metadata.MD, len(h))
	for k, v := range h {
		if !headerval.ValidName(k) {
			continue
		}
		md[strings.ToLower(k)] = headerval.Clean(v)
	}
	return md
}
