package onnx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Field numbers of onnx.proto read for the names of symbolic dimensions:
// TensorShapeProto.Dimension.dim_param.
const dimParam protowire.Number = 2

// inputDimNames reads, for each graph input of the model file at path, the
// name (dim_param) of each of its dimensions ("" for a fixed or unnamed
// one). ONNX gives dimensions of one name one size in a run, but ONNX
// Runtime neither reports the names nor checks that inputs agree on them:
// silero VAD's input, h and c all batch along a dimension named "batch",
// and a request whose h has another batch size fails deep inside the graph
// ("LSTM_245: Input initial_h must have shape {1,1,64}"), a 500 that names
// no input of the request. The file is streamed and everything but the
// graph's inputs skipped, so a model of gigabytes is not read into memory.
func inputDimNames(path string) (map[string][]string, error) {
	names := map[string][]string{}
	err := graphValueInfos(path, false, func(_ bool, vi []byte) error {
		name, dims, err := valueInfoDimNames(vi)
		if err == nil {
			names[name] = dims
		}
		return err
	})
	return names, err
}

// graphValueInfos streams the model file at path and calls each with the
// ValueInfoProto of every graph input (input true) and, with outputs set,
// of every graph output. Everything else, the weights above all, is seeked
// past, so a model of gigabytes is not read into memory.
func graphValueInfos(path string, outputs bool, each func(input bool, vi []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r := &fieldReader{f: f, r: bufio.NewReader(f)}
	return r.fields(-1, func(num protowire.Number, n int64) (bool, error) {
		if num != modelGraph {
			return false, nil
		}
		return true, r.fields(n, func(num protowire.Number, n int64) (bool, error) {
			if num != graphInput && (!outputs || num != graphOutput) {
				return false, nil
			}
			vi := make([]byte, n)
			if _, err := io.ReadFull(r.r, vi); err != nil {
				return true, err
			}
			return true, each(num == graphInput, vi)
		})
	})
}

// valueInfoDimNames reads a ValueInfoProto's name and the dim_param of each
// dimension of its tensor shape.
func valueInfoDimNames(vi []byte) (name string, dims []string, err error) {
	name, shape, ok, err := valueInfoShape(vi)
	if err != nil || !ok {
		return name, nil, err
	}
	err = eachField(shape, func(num protowire.Number, typ protowire.Type, _, dim []byte) error {
		if num != shapeDim || typ != protowire.BytesType {
			return nil
		}
		param := ""
		err := eachField(dim, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
			if num == dimParam && typ == protowire.BytesType {
				param = string(val)
			}
			return nil
		})
		dims = append(dims, param)
		return err
	})
	return name, dims, err
}

// fieldReader reads protobuf fields from a file without holding it in
// memory, seeking past the fields it skips.
type fieldReader struct {
	f *os.File
	r *bufio.Reader
}

var errTruncated = errors.New("truncated protobuf message")

// fields reads the fields of a message of n bytes (-1: up to the end of the
// file). For each length-delimited field f is called with its number and
// length: it either reads exactly that many bytes from r.r and returns
// true, or returns false to have the field skipped. Other fields are
// skipped.
func (r *fieldReader) fields(n int64, f func(num protowire.Number, n int64) (bool, error)) error {
	for n != 0 {
		tag, k, err := r.uvarint()
		if err == io.EOF && k == 0 && n < 0 {
			return nil
		}
		if err != nil {
			return err
		}
		num, typ := protowire.DecodeTag(tag)
		if num < protowire.MinValidNumber {
			return fmt.Errorf("invalid field number %d", num)
		}
		var size int64 // the field's bytes after its tag and length
		skip := true
		switch typ {
		case protowire.VarintType:
			_, m, err := r.uvarint()
			if err != nil {
				return err
			}
			k += m
		case protowire.Fixed32Type:
			size = 4
		case protowire.Fixed64Type:
			size = 8
		case protowire.BytesType:
			l, m, err := r.uvarint()
			if err != nil {
				return err
			}
			k += m
			size = int64(l)
			if size < 0 || (n >= 0 && int64(k)+size > n) {
				return errTruncated
			}
			read, err := f(num, size)
			if err != nil {
				return err
			}
			skip = !read
		default:
			return fmt.Errorf("unsupported wire type %d", typ)
		}
		if skip {
			if err := r.skip(size); err != nil {
				return err
			}
		}
		if n >= 0 {
			if n -= int64(k) + size; n < 0 {
				return errTruncated
			}
		}
	}
	return nil
}

// uvarint reads a varint, returning the bytes it took.
func (r *fieldReader) uvarint() (uint64, int, error) {
	var x uint64
	for i := 0; i < binary64Max; i++ {
		b, err := r.r.ReadByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				err = errTruncated
			}
			return 0, i, err
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return x, i + 1, nil
		}
	}
	return 0, binary64Max, errors.New("varint overflows 64 bits")
}

// binary64Max is the most bytes a 64-bit varint takes.
const binary64Max = 10

// skip moves past n bytes: through the buffer, then by seeking (a model's
// weights are most of its file).
func (r *fieldReader) skip(n int64) error {
	if b := int64(r.r.Buffered()); n <= b {
		_, err := r.r.Discard(int(n))
		return err
	}
	n -= int64(r.r.Buffered())
	if _, err := r.r.Discard(r.r.Buffered()); err != nil {
		return err
	}
	end, err := r.f.Seek(n, io.SeekCurrent)
	if err != nil {
		return err
	}
	if st, err := r.f.Stat(); err == nil && end > st.Size() {
		return errTruncated
	}
	r.r.Reset(r.f)
	return nil
}

// sharedDims names, for each input (in the model's order) and each of its
// dimensions, the dimension name it shares with another dimension of the
// inputs ("" when it shares none): the dimensions a request must give one
// size. Nil when no two dimensions share a name.
func sharedDims(in []TensorInfo, names map[string][]string) [][]string {
	count := map[string]int{}
	for _, t := range in {
		dims := names[t.Name]
		if len(dims) != len(t.Shape) {
			continue // not what ONNX Runtime reported: leave it unchecked
		}
		for j, d := range dims {
			if d != "" && t.Shape[j] < 0 {
				count[d]++
			}
		}
	}
	var out [][]string
	for i, t := range in {
		dims := names[t.Name]
		if len(dims) != len(t.Shape) {
			continue
		}
		for j, d := range dims {
			if d != "" && t.Shape[j] < 0 && count[d] > 1 {
				if out == nil {
					out = make([][]string, len(in))
				}
				if out[i] == nil {
					out[i] = make([]string, len(dims))
				}
				out[i][j] = d
			}
		}
	}
	return out
}

// checkSharedDims refuses inputs (in the model's order) that give one
// dimension name two sizes, naming both inputs. The batch dimensions a
// dynamic batcher frees from the model's fixed sizes are checked too: the
// inputs of one request still batch together.
func checkSharedDims(shared [][]string, ordered []*infer.Tensor) error {
	type seen struct {
		input, dim int
	}
	first := map[string]seen{}
	for i, dims := range shared {
		t := ordered[i]
		for j, d := range dims {
			if d == "" {
				continue
			}
			f, ok := first[d]
			if !ok {
				first[d] = seen{i, j}
				continue
			}
			if o := ordered[f.input]; o.Shape[f.dim] != t.Shape[j] {
				if f.input == i {
					return status.InvalidInputf("input %q has shape %s: the model names its dimensions %d and %d both %q, so they must be the same size", t.Name, infer.FormatShape(t.Shape), f.dim, j, d)
				}
				return status.InvalidInputf("input %q has shape %s, but input %q has shape %s: the model names dimension %d of %s and dimension %d of %s both %q, so they must be the same size",
					t.Name, infer.FormatShape(t.Shape), o.Name, infer.FormatShape(o.Shape), j, t.Name, f.dim, o.Name, d)
			}
		}
	}
	return nil
}
