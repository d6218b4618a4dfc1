package grpcserver

import (
	"context"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// healthService is grpc.health.v1.Health over the dataplane. Service ""
// and "inference.GRPCInferenceService" report server readiness (every
// model ready); a model's name reports that model's readiness. Status is
// computed on each call rather than cached, so it can never be stale;
// Watch re-checks on load/unload and every poll interval.
type healthService struct {
	healthpb.UnimplementedHealthServer
	dp   *dataplane.Dataplane
	poll time.Duration
	quit <-chan struct{}

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every load/unload
}

func newHealthService(dp *dataplane.Dataplane, poll time.Duration, quit <-chan struct{}) *healthService {
	return &healthService{dp: dp, poll: poll, quit: quit, changed: make(chan struct{})}
}

// notify wakes every Watch after a model was loaded or unloaded.
func (h *healthService) notify() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *healthService) changes() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

func (h *healthService) stopping() bool {
	select {
	case <-h.quit:
		return true
	default:
		return false
	}
}

// status returns the serving status of service, and false when the
// service is unknown; stopping is whether the server is shutting down.
func (h *healthService) status(service string, stopping bool) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	if stopping {
		if service == "" || service == pb.GRPCInferenceService_ServiceDesc.ServiceName {
			return healthpb.HealthCheckResponse_NOT_SERVING, true
		}
		if _, err := h.dp.Lookup(service); err != nil {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
		}
		return healthpb.HealthCheckResponse_NOT_SERVING, true
	}
	var ready bool
	if service == "" || service == pb.GRPCInferenceService_ServiceDesc.ServiceName {
		ready = h.dp.Ready()
	} else {
		r, err := h.dp.ModelReady(service)
		if err != nil {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
		}
		ready = r
	}
	if ready {
		return healthpb.HealthCheckResponse_SERVING, true
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, true
}

func (h *healthService) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, ok := h.status(req.GetService(), h.stopping())
	if !ok {
		return nil, grpcstatus.Errorf(codes.NotFound, "unknown service %q: it is neither the server (\"\") nor a served model", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

func (h *healthService) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	names := append([]string{"", pb.GRPCInferenceService_ServiceDesc.ServiceName}, h.dp.Names()...)
	sort.Strings(names[2:])
	out := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(names))}
	stopping := h.stopping()
	for _, n := range names {
		if st, ok := h.status(n, stopping); ok {
			out.Statuses[n] = &healthpb.HealthCheckResponse{Status: st}
		}
	}
	return out, nil
}

// Watch sends the current status at once and then every change; an
// unknown service is SERVICE_UNKNOWN until it appears. The stream ends
// after a final NOT_SERVING when the server shuts down.
func (h *healthService) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	for {
		changed := h.changes()
		// One reading of stopping per round: read again after the status,
		// a shutdown starting in between would end the stream without
		// its final NOT_SERVING.
		stopping := h.stopping()
		st, _ := h.status(req.GetService(), stopping)
		if st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		if stopping {
			return nil
		}
		select {
		case <-stream.Context().Done():
			return grpcstatus.FromContextError(stream.Context().Err()).Err()
		case <-h.quit:
		case <-changed:
		case <-t.C:
		}
	}
}
