package pbconv_test

import (
	"encoding/hex"
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// The raw layout of every datatype, byte for byte.
func TestRawLayout(t *testing.T) {
	cases := []struct {
		t   *infer.Tensor
		hex string
	}{
		{infer.NewTensor("b", []int64{3}, []bool{true, false, true}), "010001"},
		{infer.NewTensor("u8", []int64{2}, []uint8{1, 255}), "01ff"},
		{infer.NewTensor("i8", []int64{2}, []int8{-1, 2}), "ff02"},
		{infer.NewTensor("u16", []int64{1}, []uint16{0x0102}), "0201"},
		{infer.NewTensor("i16", []int64{1}, []int16{-2}), "feff"},
		{infer.NewTensor("fp16", []int64{1}, []infer.Float16{infer.Float16From(1)}), "003c"},
		{infer.NewTensor("u32", []int64{1}, []uint32{0x01020304}), "04030201"},
		{infer.NewTensor("i32", []int64{1}, []int32{-1}), "ffffffff"},
		{infer.NewTensor("fp32", []int64{2}, []float32{1, -2}), "0000803f000000c0"},
		{infer.NewTensor("u64", []int64{1}, []uint64{1}), "0100000000000000"},
		{infer.NewTensor("i64", []int64{1}, []int64{-2}), "feffffffffffffff"},
		{infer.NewTensor("fp64", []int64{1}, []float64{1}), "000000000000f03f"},
		{infer.NewStrings("s", []int64{2}, []string{"ab", ""}), "02000000616200000000"},
	}
	for _, c := range cases {
		t.Run(c.t.Name, func(t *testing.T) {
			raw, err := infer.EncodeRaw(c.t)
			require.NoError(t, err)
			assert.Equal(t, c.hex, hex.EncodeToString(raw))
			back, err := infer.DecodeRaw("input", c.t.Name, c.t.Datatype, c.t.Shape, raw)
			require.NoError(t, err)
			assert.Equal(t, c.t.Data, back)
		})
	}
}

// Aligned raw bytes become the typed slice in place; unaligned ones are
// copied once; encoding shares the typed slice's memory.
func TestRaw_NoCopyWhenAligned(t *testing.T) {
	words := make([]uint64, 2) // 8-byte aligned backing store, 16 bytes
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 16)
	copy(buf, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40})

	d, err := infer.DecodeRaw("input", "x", infer.FP32, []int64{3}, buf[:12])
	require.NoError(t, err)
	f := d.([]float32)
	assert.Equal(t, []float32{1, 2, 3}, f)
	assert.Equal(t, unsafe.Pointer(&buf[0]), unsafe.Pointer(&f[0]), "aligned: no copy")

	copy(buf[1:], buf[:12])
	d, err = infer.DecodeRaw("input", "x", infer.FP32, []int64{3}, buf[1:13])
	require.NoError(t, err)
	g := d.([]float32)
	assert.Equal(t, []float32{1, 2, 3}, g)
	assert.NotEqual(t, unsafe.Pointer(&buf[1]), unsafe.Pointer(&g[0]), "unaligned: copied")

	raw, err := infer.EncodeRaw(infer.NewTensor("y", []int64{3}, f))
	require.NoError(t, err)
	assert.Equal(t, unsafe.Pointer(&f[0]), unsafe.Pointer(&raw[0]), "encoding shares memory")
}

func TestDecodeRaw_Errors(t *testing.T) {
	_, err := infer.DecodeRaw("input", "x", infer.FP64, []int64{2}, make([]byte, 15))
	assert.EqualError(t, err, "input 'x' with datatype FP64 and shape [2] needs 16 bytes of raw contents, but 15 were given")
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = infer.DecodeRaw("input", "x", infer.FP32, []int64{-1, 2}, nil)
	assert.EqualError(t, err, "input x: shape [-1, 2] is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements")
	_, err = infer.DecodeRaw("output", "s", infer.BYTES, []int64{1}, []byte{1, 0})
	assert.EqualError(t, err, "output 's': raw BYTES contents end inside the 4-byte length of element 0")
}

func TestFromRequest_FP16MakesTheRequestRaw(t *testing.T) {
	req := &infer.Request{ModelName: "m", ID: "1", Inputs: []*infer.Tensor{
		infer.NewTensor("a", []int64{1}, []float32{1}),
		infer.NewTensor("h", []int64{1}, []infer.Float16{infer.Float16From(2)}),
	}, Outputs: []infer.RequestedOutput{{Name: "o", Parameters: infer.Parameters{"binary_data": true}}}}
	m, err := pbconv.FromRequest(req, false)
	require.NoError(t, err)
	want := &pb.ModelInferRequest{ModelName: "m", Id: "1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "a", Datatype: "FP32", Shape: []int64{1}},
			{Name: "h", Datatype: "FP16", Shape: []int64{1}},
		},
		Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "o",
			Parameters: map[string]*pb.InferParameter{"binary_data": {ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}}}}},
		RawInputContents: [][]byte{{0, 0, 0x80, 0x3f}, {0, 0x40}},
	}
	assert.True(t, proto.Equal(want, m), "got %v", m)

	back, err := pbconv.Request(m)
	require.NoError(t, err)
	assert.Equal(t, infer.ProtocolGRPCV2, back.Protocol)
	assert.Equal(t, req.Inputs[1].Data, back.Inputs[1].Data)
	assert.Equal(t, req.Outputs, back.Outputs)
}

func TestParameters(t *testing.T) {
	p, err := pbconv.FromParameters(infer.Parameters{"b": true, "i": 3, "f": float32(0.5), "u": uint64(math.MaxUint64), "small": uint64(7), "s": "x"})
	require.NoError(t, err)
	back, err := pbconv.Parameters(p)
	require.NoError(t, err)
	// A uint64 that fits int64 becomes int64 (what most models read); one
	// above MaxInt64 stays uint64 and goes back out as uint64_param, not
	// rounded to a double.
	assert.Equal(t, infer.Parameters{"b": true, "i": int64(3), "f": 0.5, "u": uint64(math.MaxUint64), "small": int64(7), "s": "x"}, back)
	again, err := pbconv.FromParameters(back)
	require.NoError(t, err)
	assert.Equal(t, uint64(math.MaxUint64), again["u"].GetUint64Param())

	_, err = pbconv.FromParameters(infer.Parameters{"l": []int{1}})
	assert.EqualError(t, err, "parameter 'l' has type []int; gRPC parameters are bool, int64, uint64, double or string")
	_, err = pbconv.Parameters(map[string]*pb.InferParameter{"e": {}})
	assert.EqualError(t, err, "parameter 'e' has no value")
}

func TestFromResponse_InvalidOutputIsInternal(t *testing.T) {
	_, err := pbconv.FromResponse(&infer.Response{ModelName: "m", Outputs: []*infer.Tensor{{Name: "o", Datatype: infer.FP32, Shape: []int64{2}, Data: []int64{1, 2}}}}, false)
	assert.EqualError(t, err, "model m returned an invalid response: output o has datatype FP32 but holds INT64 data")
	assert.Equal(t, status.KindInternal, status.KindOf(err))
}

func TestDecodeRaw_HostileShapes(t *testing.T) {
	_, err := infer.DecodeRaw("input", "s", infer.BYTES, []int64{1 << 40}, []byte{1, 0, 0, 0, 'x'})
	assert.EqualError(t, err, "input 's' with datatype BYTES and shape [1099511627776] needs 1099511627776 elements, but its raw contents hold 1")
	_, err = infer.DecodeRaw("input", "x", infer.FP32, []int64{1 << 32, 1 << 32}, make([]byte, 4))
	assert.EqualError(t, err, "input x: shape [4294967296, 4294967296] is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements")
}

func TestRequest_OverflowingShapeIsRejected(t *testing.T) {
	_, err := pbconv.Request(&pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1 << 32, 1 << 32}, Contents: &pb.InferTensorContents{}}}})
	assert.EqualError(t, err, "input a: shape [4294967296, 4294967296] is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements")
}

// UTF8 replaces each byte that is not UTF-8 with U+FFFD, as REST's JSON
// encoder does (a lone surrogate's three bytes are three), and returns a
// valid string as it is, without allocating.
func TestUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"café":          "café",
		"caf\xe9":       "caf\uFFFD",
		"\xff\xfe":      "\uFFFD\uFFFD",
		"a\xed\xa0\x80": "a\uFFFD\uFFFD\uFFFD",
		"\xe2\x82":      "\uFFFD\uFFFD",
	} {
		assert.Equal(t, want, pbconv.UTF8(in), "%q", in)
	}
	s := "output-0 é"
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = pbconv.UTF8(s) }))
}

// Strings a model or a transformer's Preprocess made that are not UTF-8
// (names, ids, string parameters) are sent with U+FFFD in place of each
// invalid byte: protobuf refused the message whole, so grpc-go failed the
// call ("string field contains invalid UTF-8") and a transformer's call to
// its predictor.
func TestFromRequestResponse_NotUTF8(t *testing.T) {
	x := infer.NewTensor("x\xff", []int64{1}, []float32{1})
	x.Parameters = infer.Parameters{"k\xe9": "caf\xe9"}
	req, err := pbconv.FromRequest(&infer.Request{ModelName: "m", ID: "id\xff", Parameters: infer.Parameters{"p": "\xe9"},
		Inputs: []*infer.Tensor{x}, Outputs: []infer.RequestedOutput{{Name: "y\xff"}}}, false)
	require.NoError(t, err)
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	var got pb.ModelInferRequest
	require.NoError(t, proto.Unmarshal(b, &got))
	assert.Equal(t, "id\uFFFD", got.GetId())
	assert.Equal(t, "\uFFFD", got.GetParameters()["p"].GetStringParam())
	assert.Equal(t, "x\uFFFD", got.GetInputs()[0].GetName())
	assert.Equal(t, "caf\uFFFD", got.GetInputs()[0].GetParameters()["k\uFFFD"].GetStringParam())
	assert.Equal(t, "y\uFFFD", got.GetOutputs()[0].GetName())

	y := infer.NewTensor("y\xff", []int64{1}, []float32{1})
	resp, err := pbconv.FromResponse(&infer.Response{ModelName: "m", ID: "id\xff", Outputs: []*infer.Tensor{y}}, true)
	require.NoError(t, err)
	b, err = proto.Marshal(resp)
	require.NoError(t, err)
	var gotResp pb.ModelInferResponse
	require.NoError(t, proto.Unmarshal(b, &gotResp))
	assert.Equal(t, "id\uFFFD", gotResp.GetId())
	assert.Equal(t, "y\uFFFD", gotResp.GetOutputs()[0].GetName())
}
