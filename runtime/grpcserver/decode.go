package grpcserver

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// requestCodec is grpc-go's protobuf codec, which also reports a request
// message that does not decode (a string field that is not UTF-8,
// truncated or garbled bytes). grpc-go decodes a unary request before any
// interceptor runs (the generated handler calls its dec first) and answers
// the failure itself, INTERNAL "grpc: failed to unmarshal the received
// message: …" (rpc_util.go, recv): no code of the server's saw such a call,
// which was neither logged nor, for a ModelInfer, counted. The codec is the
// one hook on that path that sees the message's bytes, and so the model
// name; watchReceive, which sees grpc-go's other refusals, leaves these to
// it.
//
// The answer stays grpc-go's: INTERNAL is the code gRPC prescribes for
// "Error parsing request proto" (doc/statuscodes.md), and grpcio's
// synchronous server answers it too; KServe's grpc.aio server answers
// UNKNOWN "Unexpected <class 'google.protobuf.message.DecodeError'>: …",
// the code of any exception its servicer raises.
//
// It is forced on every call (grpc.ForceServerCodecV2), whatever the
// content-type's subtype: grpc-go otherwise decodes a subtype with no
// registered codec ("application/grpc+foo") as protobuf too, and the
// server's services speak nothing else.
type requestCodec struct {
	encoding.CodecV2 // grpc-go's "proto"
	refused          func(data mem.BufferSlice, m any, err error)
}

func newRequestCodec(refused func(mem.BufferSlice, any, error)) requestCodec {
	return requestCodec{CodecV2: encoding.GetCodecV2("proto"), refused: refused}
}

func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err != nil {
		// data is still the caller's: grpc-go frees it once this returns.
		c.refused(data, v, err)
	}
	return err
}

// refusedRequest logs a request message that did not decode with the line
// of every INTERNAL answer, and counts a ModelInfer's as a failed request
// of the model it names, as ModelInfer counts its own failures, or of no
// model (model_name="", as refusedMessage counts the messages grpc-go
// refuses unread) when no name could be read. The text is what the client
// got, grpc-go's status message (rpc_util.go, recv).
func (s *Server) refusedRequest(data mem.BufferSlice, m any, err error) {
	msg := fmt.Sprintf(unmarshalFailed+"%v", err)
	s.log.Error(fmt.Sprintf("Internal server error: %s, grpc_method: %s", msg, s.methodsTaking(m)))
	if _, ok := m.(*pb.ModelInferRequest); ok {
		b := data.Materialize()
		if name := modelNameOf(b); name != "" {
			s.dp.Record(name, infer.ProtocolGRPCV2, dataplane.Predict, len(b), -1, codes.Internal.String())
		} else {
			s.dp.RecordUnnamed(infer.ProtocolGRPCV2, dataplane.Predict, len(b), codes.Internal.String())
		}
	}
}

// methodsTaking names the methods of the server's services whose request
// is m's message type: the codec is not told the call's method, and
// health's Check and Watch take the same message.
func (s *Server) methodsTaking(m any) string {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Sprintf("(a method taking %T)", m)
	}
	in := pm.ProtoReflect().Descriptor().FullName()
	var methods []string
	for name := range s.grpc.GetServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			continue
		}
		for i := range sd.Methods().Len() {
			if md := sd.Methods().Get(i); md.Input().FullName() == in {
				methods = append(methods, "/"+name+"/"+string(md.Name()))
			}
		}
	}
	if len(methods) == 0 {
		return fmt.Sprintf("(a method taking %s)", in)
	}
	slices.Sort(methods)
	return strings.Join(methods, " or ")
}

// modelNameOf is the model_name (field 1) of a ModelInferRequest's bytes
// that did not decode as a whole: the last occurrence before the first
// malformed field, as protobuf reads a repeated scalar; "" when there is
// none. A name that is not UTF-8 names no served model, and is not counted.
func modelNameOf(b []byte) string {
	var name string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				break
			}
			name, b = string(v), b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			break
		}
		b = b[n:]
	}
	return name
}

// Compile-time check: the codec is grpc-go's CodecV2.
var _ encoding.CodecV2 = requestCodec{}
