package onnxinfo_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/onnxinfo"
)

// The tests write ModelProto messages field by field (onnx.proto's
// numbers), so each case shows exactly what the file holds.

type msg []byte

func str(num protowire.Number, s string) msg {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
}

func varint(num protowire.Number, v uint64) msg {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func sub(num protowire.Number, fields ...msg) msg {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(asBytes(fields), nil))
}

func asBytes(fields []msg) [][]byte {
	out := make([][]byte, len(fields))
	for i, f := range fields {
		out[i] = f
	}
	return out
}

func model(fields ...msg) []byte { return bytes.Join(asBytes(fields), nil) }

// dim is a fixed size (a number) or a named dynamic one (a string); nil is
// an unnamed dynamic dimension.
func tensorValue(field protowire.Number, name string, elem onnxinfo.ElemType, dims ...any) msg {
	var ds []msg
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			ds = append(ds, sub(1, varint(1, uint64(d))))
		case string:
			ds = append(ds, sub(1, str(2, d)))
		case nil:
			ds = append(ds, sub(1))
		}
	}
	return sub(field, str(1, name), sub(2, sub(1, varint(1, uint64(elem)), sub(2, ds...))))
}

func input(name string, elem onnxinfo.ElemType, dims ...any) msg {
	return tensorValue(11, name, elem, dims...)
}

func output(name string, elem onnxinfo.ElemType, dims ...any) msg {
	return tensorValue(12, name, elem, dims...)
}

func opset(domain string, v uint64) msg { return sub(8, str(1, domain), varint(2, v)) }

// initializer is a TensorProto with raw data, or stored in location.
func initializer(name string, raw []byte, location string) msg {
	fields := []msg{varint(1, uint64(len(raw)/4)), varint(2, uint64(onnxinfo.Float)), str(8, name)}
	if location != "" {
		return sub(5, append(fields, sub(13, str(1, "location"), str(2, location)), sub(13, str(1, "offset"), str(2, "0")), varint(14, 1))...)
	}
	return sub(5, append(fields, str(9, string(raw)))...)
}

func read(t *testing.T, b []byte) *onnxinfo.Model {
	t.Helper()
	m, err := onnxinfo.Read(bytes.NewReader(b))
	require.NoError(t, err)
	return m
}

func TestRead_SampleModel(t *testing.T) {
	m := read(t, generator.SampleONNXModel())
	assert.Equal(t, int64(8), m.IRVersion)
	assert.Equal(t, "kserve-gen", m.Producer)
	assert.Equal(t, map[string]int64{"": 13}, m.Opsets)
	assert.Equal(t, "sample-classifier", m.Graph)
	assert.Equal(t, []onnxinfo.Value{{Name: "input", Kind: onnxinfo.KindTensor, Elem: onnxinfo.Float, Shape: []onnxinfo.Dim{{Size: -1, Param: "batch"}, {Size: 4}}, HasShape: true}}, m.Inputs)
	assert.Equal(t, []onnxinfo.Value{{Name: "probs", Kind: onnxinfo.KindTensor, Elem: onnxinfo.Float, Shape: []onnxinfo.Dim{{Size: -1, Param: "batch"}, {Size: 3}}, HasShape: true}}, m.Outputs)
	assert.Empty(t, m.ExternalData)
	assert.Equal(t, []int64{-1, 4}, m.Inputs[0].Dims())
	assert.Equal(t, "input FP32 [batch,4]", m.Inputs[0].String())
}

func TestRead_Signatures(t *testing.T) {
	b := model(
		varint(1, 7), str(2, "skl2onnx"), str(3, "1.17.0"),
		sub(7,
			str(2, "pipeline"),
			// An older exporter lists its weights as inputs too: "W" has an
			// initializer, so it is not something a caller feeds.
			initializer("W", make([]byte, 16), ""),
			input("W", onnxinfo.Float, 4),
			input("features", onnxinfo.Double, "N", 4),
			input("threshold", onnxinfo.Float),                                            // scalar
			input("tokens", onnxinfo.Int64, nil, "sequence"),                              // unnamed dynamic first dimension
			sub(11, str(1, "anything"), sub(2, sub(1, varint(1, uint64(onnxinfo.Bool))))), // rank unknown
			output("label", onnxinfo.Int64, "N"),
			// skl2onnx's ZipMap output: a sequence of maps.
			sub(12, str(1, "probabilities"), sub(2, sub(4, sub(1, sub(5))))),
			output("embedding", onnxinfo.BFloat16, "N", 8),
		),
		opset("", 15), opset("ai.onnx.ml", 3), opset("ai.onnx", 17),
	)
	m := read(t, b)
	assert.Equal(t, int64(7), m.IRVersion)
	assert.Equal(t, "skl2onnx", m.Producer)
	assert.Equal(t, "1.17.0", m.ProducerVersion)
	assert.Equal(t, map[string]int64{"": 17, "ai.onnx.ml": 3}, m.Opsets, "ai.onnx is the default domain")
	var ins []string
	for _, v := range m.Inputs {
		ins = append(ins, v.String())
	}
	assert.Equal(t, []string{"features FP64 [N,4]", "threshold FP32 []", "tokens INT64 [?,sequence]", "anything BOOL (rank unknown)"}, ins)
	assert.Nil(t, m.Inputs[3].Dims())
	assert.Equal(t, []int64{}, m.Inputs[1].Dims())
	var outs []string
	for _, v := range m.Outputs {
		outs = append(outs, v.String())
	}
	assert.Equal(t, []string{"label INT64 [N]", "probabilities sequence", "embedding BFLOAT16 [N,8]"}, outs)

	for _, v := range m.Inputs {
		assert.NoError(t, v.Servable(), v.Name)
	}
	assert.NoError(t, m.Outputs[0].Servable())
	assert.EqualError(t, m.Outputs[1].Servable(), `"probabilities" is a sequence, not a tensor`)
	assert.EqualError(t, m.Outputs[2].Servable(), `"embedding" has element type BFLOAT16, which the Open Inference Protocol has no datatype for`)
}

func TestRead_ExternalData(t *testing.T) {
	b := model(sub(7,
		initializer("a", nil, "weights.bin"),
		initializer("b", nil, "weights.bin"),
		initializer("c", nil, "extra/c.bin"),
		// A sparse initializer: values and indices each stored outside.
		sub(15, sub(1, str(8, "s"), sub(13, str(1, "location"), str(2, "sparse.bin")), varint(14, 1)),
			sub(2, str(8, ""), sub(13, str(1, "location"), str(2, "sparse-idx.bin")), varint(14, 1))),
		input("x", onnxinfo.Float, 2),
		input("s", onnxinfo.Float, 2),
		output("y", onnxinfo.Float, 2),
	))
	m := read(t, b)
	assert.Equal(t, []string{"weights.bin", "extra/c.bin", "sparse.bin", "sparse-idx.bin"}, m.ExternalData)
	require.Len(t, m.Inputs, 1, "the sparse initializer s is not an input")
	assert.Equal(t, "x", m.Inputs[0].Name)
}

func TestRead_ExternalDataOutsideTheFolder(t *testing.T) {
	for _, loc := range []string{"../secrets.bin", "/etc/passwd", "a/../../b", `..\x.bin`, ""} {
		w := sub(5, str(8, "w"), sub(13, str(1, "location"), str(2, loc)), varint(14, 1))
		b := model(sub(7, w, output("y", onnxinfo.Float, 2)))
		_, err := onnxinfo.Read(bytes.NewReader(b))
		require.Error(t, err, loc)
		assert.ErrorIs(t, err, onnxinfo.ErrNotONNX)
		if loc == "" {
			assert.ErrorContains(t, err, `initializer "w": external data with an empty location`)
		} else {
			assert.ErrorContains(t, err, fmt.Sprintf(`initializer "w": external data location %q is outside the model's folder`, loc))
		}
	}
}

func TestRead_NotAModel(t *testing.T) {
	sample := generator.SampleONNXModel()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not an ONNX model: the file has no graph"},
		{"a zip file", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "not an ONNX model: at byte 3: invalid field number 0"},
		{"text", []byte("hello, world\n"), "not an ONNX model: at byte 3: field 13: unsupported wire type 4"},
		{"cut in half", sample[:len(sample)/2], "truncated: unexpected EOF"},
		{"a graph field of the wrong length", append(append([]byte{}, sample...), 0x3a, 0x05, 0x08), "field 7: truncated: unexpected EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnxinfo.Read(bytes.NewReader(c.data))
			require.Error(t, err)
			assert.ErrorIs(t, err, onnxinfo.ErrNotONNX)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestReadFile_NamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.onnx")
	require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
	_, err := onnxinfo.ReadFile(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p+": not an ONNX model")

	_, err = onnxinfo.ReadFile(filepath.Join(t.TempDir(), "missing.onnx"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestRead_StreamsTheWeights reads a model with 64 MiB of weights and
// checks that describing it allocated well under that: the weights are
// skipped, not read into memory.
func TestRead_StreamsTheWeights(t *testing.T) {
	weights := make([]byte, 64<<20)
	b := model(sub(7, initializer("W", weights, ""), input("x", onnxinfo.Float, "N", 4), output("y", onnxinfo.Float, "N", 2)), opset("", 17))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := onnxinfo.Read(io.MultiReader(bytes.NewReader(b)))
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, "x", m.Inputs[0].Name)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated while reading a model with 64 MiB of weights")
}

// TestReadFile_RealModels reads the pretrained models scripts/setup-onnx.sh
// --models installs; the signatures are what ONNX Runtime 1.29 reports
// for them (runtime/onnx's session metadata), with the models' own names
// for their dynamic dimensions.
func TestReadFile_RealModels(t *testing.T) {
	dir := filepath.Join(cacheDir(), "models")
	for _, c := range []struct {
		file, producer string
		opset          int64
		in, out        []string
	}{
		{"ch_ppocr_mobile_v2.0_cls_infer.onnx", "", 9,
			[]string{"x FP32 [p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]"},
			[]string{"softmax_0.tmp_0 FP32 [p2o.DynamicDimension.3,2]"}},
		{"ch_PP-OCRv4_det_infer.onnx", "", 11,
			[]string{"x FP32 [p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]"},
			[]string{"sigmoid_0.tmp_0 FP32 [p2o.DynamicDimension.3,1,p2o.DynamicDimension.4,p2o.DynamicDimension.5]"}},
		{"ch_PP-OCRv4_rec_infer.onnx", "", 9,
			[]string{"x FP32 [p2o.DynamicDimension.0,3,48,p2o.DynamicDimension.1]"},
			[]string{"softmax_11.tmp_0 FP32 [p2o.DynamicDimension.2,p2o.DynamicDimension.3,6625]"}},
		{"silero_vad.onnx", "pytorch", 16,
			[]string{"input FP32 [batch,sequence]", "sr INT64 []", "h FP32 [2,batch,64]", "c FP32 [2,batch,64]"},
			[]string{"output FP32 [batch,1]", "hn FP32 [2,batch,64]", "cn FP32 [2,batch,64]"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				if os.Getenv("KSERVE_GEN_REQUIRE_ONNX") != "" {
					t.Fatalf("%s is missing (run scripts/setup-onnx.sh --models); KSERVE_GEN_REQUIRE_ONNX is set", p)
				}
				t.Skipf("SKIPPED: %s is missing (run scripts/setup-onnx.sh --models)", p)
			}
			m, err := onnxinfo.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, c.producer, m.Producer)
			assert.Equal(t, c.opset, m.Opsets[""])
			assert.Equal(t, c.in, describe(m.Inputs))
			assert.Equal(t, c.out, describe(m.Outputs))
			assert.Empty(t, m.ExternalData)
		})
	}
}

func describe(vs []onnxinfo.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// cacheDir is scripts/setup-onnx.sh's cache: $KSERVE_GEN_CACHE or
// ~/.cache/kserve-gen.
func cacheDir() string {
	if d := os.Getenv("KSERVE_GEN_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kserve-gen")
}

func FuzzRead(f *testing.F) {
	f.Add(generator.SampleONNXModel())
	f.Add(model(sub(7, initializer("a", nil, "w.bin"), input("x", onnxinfo.Float, "N", nil, 3), output("y", onnxinfo.Int64))))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnxinfo.Read(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, onnxinfo.ErrNotONNX) {
				t.Fatalf("error %v does not match ErrNotONNX", err)
			}
			return
		}
		for _, v := range append(m.Inputs, m.Outputs...) {
			_ = v.String()
			_ = v.Servable()
		}
	})
}

// TestRead_SeeksOverWeights reads a model whose weights (2 MiB, more than
// the decoder reads through) come before its inputs and outputs, from a
// seekable reader and from a stream: the same description either way, and
// a file cut inside the weights is truncated either way.
func TestRead_SeeksOverWeights(t *testing.T) {
	b := model(sub(7, initializer("W", make([]byte, 2<<20), ""), initializer("V", make([]byte, 3<<20), ""),
		input("x", onnxinfo.Float, "N", 4), output("y", onnxinfo.Float, "N", 2)), opset("", 17))
	seeked, err := onnxinfo.Read(bytes.NewReader(b))
	require.NoError(t, err)
	streamed, err := onnxinfo.Read(io.MultiReader(bytes.NewReader(b)))
	require.NoError(t, err)
	assert.Equal(t, streamed, seeked)
	assert.Equal(t, []string{"x FP32 [N,4]"}, describe(seeked.Inputs))
	assert.Equal(t, []string{"y FP32 [N,2]"}, describe(seeked.Outputs))

	cut := b[:3<<20]
	for _, r := range []io.Reader{bytes.NewReader(cut), io.MultiReader(bytes.NewReader(cut))} {
		_, err := onnxinfo.Read(r)
		assert.ErrorIs(t, err, onnxinfo.ErrNotONNX)
		assert.ErrorContains(t, err, "truncated: unexpected EOF")
	}
}

// BenchmarkReadFile describes a model file with 256 MiB of weights, as
// ReadFile does (seeking over them) and through a plain stream (reading
// them): go test -bench ReadFile ./onnxinfo.
func BenchmarkReadFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.onnx")
	data := model(sub(7, initializer("W", make([]byte, 256<<20), ""), input("x", onnxinfo.Float, "N", 4), output("y", onnxinfo.Float, "N", 2)))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("seek", func(b *testing.B) {
		for b.Loop() {
			if _, err := onnxinfo.ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			_, err = onnxinfo.Read(io.MultiReader(f))
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestValueString_QuotesControlCharacters(t *testing.T) {
	v := onnxinfo.Value{Name: "x\x1b[2J", Kind: onnxinfo.KindTensor, Elem: onnxinfo.Float, HasShape: true,
		Shape: []onnxinfo.Dim{{Size: -1, Param: "batch\n//"}, {Size: 4}, {Size: -1}}}
	assert.Equal(t, `"x\x1b[2J" FP32 ["batch\n//",4,?]`, v.String())
	assert.Equal(t, `["batch\n//",4,?]`, v.ShapeString())
}
