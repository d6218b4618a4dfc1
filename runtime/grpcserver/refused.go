package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// grpc-go reads a unary call's request message before any interceptor runs
// (the generated handler calls its dec first, and returns dec's error
// without calling the interceptor), and answers a message it refuses
// itself (rpc_util.go, recvAndDecompress): one over
// --grpc_max_receive_message_length, as sent or decompressed
// (RESOURCE_EXHAUSTED), one that does not decompress (INTERNAL). No code
// of the server's saw such a call, which was neither logged nor counted.
//
// watchReceive wraps each unary method's handler so that it learns what
// dec returned. The other hooks cost a successful call more: a stats
// handler (grpc.StatsHandler) sees each call's end and its error, but a
// no-op one adds 18 allocations and 1.2 KB to each ModelInfer (grpc-go
// builds its Begin, End, payload and header events, and copies the
// metadata for InHeader); a tap handle runs before the message is read;
// the codec is not called for a message that is too large or does not
// decompress.

// receiver stands between grpc-go's dec and the generated handler, keeping
// dec's error. Receivers are pooled, and each one's recv is bound once:
// a closure over dec made per call would cost a successful call an
// allocation.
type receiver struct {
	dec  func(any) error
	err  error
	recv func(any) error // decode, bound
}

func (r *receiver) decode(m any) error {
	r.err = r.dec(m)
	return r.err
}

var receivers = sync.Pool{New: func() any {
	r := new(receiver)
	r.recv = r.decode
	return r
}}

// watchReceive is desc with each unary method's handler reporting a
// request message grpc-go refused (refusedMessage). Streaming methods read
// their messages in the handler, through limitStream's stream.
func (s *Server) watchReceive(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	d := *desc
	d.Methods = slices.Clone(desc.Methods)
	for i := range d.Methods {
		method := "/" + desc.ServiceName + "/" + d.Methods[i].MethodName
		h := d.Methods[i].Handler
		d.Methods[i].Handler = func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			r := receivers.Get().(*receiver)
			r.dec = dec
			resp, err := h(srv, ctx, r.recv, ic)
			recvErr := r.err
			r.dec, r.err = nil, nil
			receivers.Put(r)
			if recvErr != nil {
				s.refusedMessage(ctx, method, recvErr)
			}
			return resp, err
		}
	}
	return &d
}

// unmarshalFailed begins grpc-go's message for a request that does not
// decode, which requestCodec has already logged and counted, with the
// model name it could read.
const unmarshalFailed = "grpc: failed to unmarshal the received message: "

// refusedMessage logs a request message grpc-go refused, with the line of
// every INTERNAL answer (KServe's interceptor's) or, for a message over
// the receive limit, the client's to fix, the same shape at WARN; and
// counts a ModelInfer as a failed request of no model (model_name=""):
// grpc-go read no byte of an oversized message, and hands the server none
// of one that did not decompress, so its model_name is not known. The
// text is what the client got. The caller's own cancel or deadline is
// neither, as for any other call.
func (s *Server) refusedMessage(ctx context.Context, method string, err error) {
	st := grpcstatus.Convert(err)
	msg := st.Message()
	if st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded || strings.HasPrefix(msg, unmarshalFailed) {
		return // the caller's own; requestCodec's
	}
	// Counted before the line is logged: the client has its answer already
	// (grpc-go wrote it), and a reader of the log then finds it counted.
	if method == pb.GRPCInferenceService_ModelInfer_FullMethodName {
		s.dp.RecordUnnamed(infer.ProtocolGRPCV2, dataplane.Predict, -1, st.Code().String())
	}
	if st.Code() == codes.Internal {
		s.log.ErrorContext(ctx, fmt.Sprintf("Internal server error: %s, grpc_method: %s", msg, method))
	} else {
		s.log.WarnContext(ctx, fmt.Sprintf("Request refused: %s, grpc_method: %s", msg, method))
	}
}

// recvStream reports a message of a stream that grpc-go refused
// (refusedMessage); the end of the client's messages (io.EOF) is not one.
type recvStream struct {
	grpc.ServerStream
	s      *Server
	method string
}

func (r *recvStream) RecvMsg(m any) error {
	err := r.ServerStream.RecvMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		r.s.refusedMessage(r.Context(), r.method, err)
	}
	return err
}
