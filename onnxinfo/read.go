package onnxinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto.
const (
	modelIRVersion, modelProducer, modelProducerVersion, modelGraph, modelOpset = 1, 2, 3, 7, 8
	opsetDomain, opsetVersion                                                   = 1, 2
	graphName, graphInit, graphIn, graphOut, graphSparseInit                    = 2, 5, 11, 12, 15
	tensorName, tensorExternal, tensorLocation                                  = 8, 13, 14
	entryKey, entryValue                                                        = 1, 2
	sparseValues, sparseIndices                                                 = 1, 2
	valueName, valueType                                                        = 1, 2
	typeTensor, typeSequence, typeMap, typeSparse, typeOptional                 = 1, 4, 5, 8, 9
	tensorTypeElem, tensorTypeShape                                             = 1, 2
	shapeDim, dimValue, dimParam                                                = 1, 1, 2
	locationExternal                                                            = 1
)

// maxString bounds the names and strings read into memory: no real model
// has a tensor name near it, and a corrupt length must not allocate GBs.
const maxString = 1 << 20

// ErrNotONNX is matched (errors.Is) by the error of a file that is not an
// ONNX model: not a protobuf ModelProto, or one without a graph.
var ErrNotONNX = errors.New("not an ONNX model")

// ReadFile reads the model file at path.
func ReadFile(path string) (*Model, error) {
	// Opening a named pipe blocks until something writes to it, and a
	// device may never end: refuse what is not a file before opening it.
	if err := regularFile(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read reads a model from r, which it consumes to the end. When r is also
// an io.Seeker (an *os.File), large fields are seeked over, not read: a
// model's weights cost no I/O.
func Read(r io.Reader) (*Model, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 64<<10)}
	if rs, ok := r.(io.ReadSeeker); ok {
		d.seekable(rs)
	}
	m := &Model{Opsets: map[string]int64{}}
	var g graph
	sawGraph := false
	err := d.message(-1, func(f field) (bool, error) {
		switch {
		case f.num == modelIRVersion && f.typ == protowire.VarintType:
			m.IRVersion = int64(f.val)
		case f.num == modelProducer && f.typ == protowire.BytesType:
			return true, d.str(f, &m.Producer)
		case f.num == modelProducerVersion && f.typ == protowire.BytesType:
			return true, d.str(f, &m.ProducerVersion)
		case f.num == modelOpset && f.typ == protowire.BytesType:
			return true, d.opset(f, m.Opsets)
		case f.num == modelGraph && f.typ == protowire.BytesType:
			sawGraph = true
			return true, d.graph(f, &g)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: at byte %d: %w", ErrNotONNX, d.off, err)
	}
	if !sawGraph {
		return nil, fmt.Errorf("%w: the file has no graph", ErrNotONNX)
	}
	m.Graph = g.name
	for _, in := range g.inputs {
		if !g.initialized[in.Name] {
			m.Inputs = append(m.Inputs, in)
		}
	}
	m.Outputs = g.outputs
	m.ExternalData = g.external
	return m, nil
}

// graph collects what Read keeps of a GraphProto.
type graph struct {
	name            string
	inputs, outputs []Value
	initialized     map[string]bool
	external        []string
	seen            map[string]bool
}

// field is one field's key and, for a varint, its value; for a
// length-delimited field, n is its length and the bytes are still unread.
type field struct {
	num protowire.Number
	typ protowire.Type
	val uint64
	n   int64
}

// decoder reads protobuf wire format from a stream, counting its offset
// so that nested messages know where they end.
type decoder struct {
	r   *bufio.Reader
	off int64
	// src, when set, is r's source, seeked over large fields; size is
	// its length from where reading started.
	src  io.ReadSeeker
	size int64
}

// seekAbove is the field length from which skip seeks rather than reads.
const seekAbove = 1 << 20

// seekable makes skip seek in rs, if rs can tell its size.
func (d *decoder) seekable(rs io.ReadSeeker) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return // a pipe: read through
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return
	}
	d.src, d.size = rs, end-start
}

// message reads fields until end (the absolute offset the message ends
// at; -1 for the top level, which ends at EOF). fn handles a field and
// says whether it did; for a length-delimited field it must read exactly
// its n bytes. Unhandled fields are skipped.
func (d *decoder) message(end int64, fn func(field) (bool, error)) error {
	for end < 0 || d.off < end {
		key, err := d.varint()
		if errors.Is(err, io.EOF) && end < 0 {
			return nil
		}
		if err != nil {
			return truncated(err)
		}
		num, typ := protowire.DecodeTag(key)
		if num < protowire.MinValidNumber {
			return fmt.Errorf("invalid field number %d", num)
		}
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			if f.val, err = d.varint(); err != nil {
				return truncated(err)
			}
		case protowire.Fixed32Type:
			f.n = 4
		case protowire.Fixed64Type:
			f.n = 8
		case protowire.BytesType:
			n, err := d.varint()
			if err != nil {
				return truncated(err)
			}
			if n > math.MaxInt64/2 || (end >= 0 && d.off+int64(n) > end) {
				return fmt.Errorf("field %d: length %d runs past its message", num, n)
			}
			f.n = int64(n)
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, typ)
		}
		start := d.off
		handled, err := fn(f)
		if err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
		if !handled && typ != protowire.VarintType {
			if err := d.skip(f.n); err != nil {
				return err
			}
		}
		if typ != protowire.VarintType && d.off != start+f.n {
			return fmt.Errorf("field %d: read %d of its %d bytes", num, d.off-start, f.n)
		}
	}
	if d.off != end {
		return fmt.Errorf("a field runs past its message's end")
	}
	return nil
}

// truncated says an EOF came inside a field or message.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

func (d *decoder) varint() (uint64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		b, err := d.r.ReadByte()
		if err != nil {
			if i > 0 {
				return 0, truncated(err)
			}
			return 0, err
		}
		d.off++
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint overflows 64 bits")
}

func (d *decoder) skip(n int64) error {
	if buffered := int64(d.r.Buffered()); d.src != nil && n > buffered+seekAbove {
		if d.off+n > d.size {
			return truncated(io.ErrUnexpectedEOF)
		}
		// src is buffered bytes ahead of d.off.
		if _, err := d.src.Seek(n-buffered, io.SeekCurrent); err != nil {
			return fmt.Errorf("skip %d bytes: %w", n, err)
		}
		d.r.Reset(d.src)
		d.off += n
		return nil
	}
	for n > 0 {
		k := int(min(n, 1<<30))
		got, err := d.r.Discard(k)
		d.off += int64(got)
		n -= int64(got)
		if err != nil {
			return truncated(err)
		}
	}
	return nil
}

func (d *decoder) str(f field, s *string) error {
	if f.n > maxString {
		return fmt.Errorf("a string of %d bytes", f.n)
	}
	b := make([]byte, f.n)
	got, err := io.ReadFull(d.r, b)
	d.off += int64(got)
	if err != nil {
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	*s = string(b)
	return nil
}

// sub reads a nested message held in the length-delimited field f.
func (d *decoder) sub(f field, fn func(field) (bool, error)) error {
	return d.message(d.off+f.n, fn)
}

func (d *decoder) opset(f field, opsets map[string]int64) error {
	var domain string
	var version int64
	err := d.sub(f, func(f field) (bool, error) {
		switch {
		case f.num == opsetDomain && f.typ == protowire.BytesType:
			return true, d.str(f, &domain)
		case f.num == opsetVersion && f.typ == protowire.VarintType:
			version = int64(f.val)
			return true, nil
		}
		return false, nil
	})
	if domain == "ai.onnx" {
		domain = ""
	}
	opsets[domain] = version
	return err
}

func (d *decoder) graph(f field, g *graph) error {
	g.initialized, g.seen = map[string]bool{}, map[string]bool{}
	return d.sub(f, func(f field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case graphName:
			return true, d.str(f, &g.name)
		case graphIn, graphOut:
			v, err := d.value(f)
			if err != nil {
				return true, err
			}
			if f.num == graphIn {
				g.inputs = append(g.inputs, v)
			} else {
				g.outputs = append(g.outputs, v)
			}
			return true, nil
		case graphInit:
			return true, d.initializer(f, g, true)
		case graphSparseInit:
			// A SparseTensorProto: its values tensor carries the name;
			// values and indices may each be stored outside.
			return true, d.sub(f, func(f field) (bool, error) {
				if f.typ == protowire.BytesType && (f.num == sparseValues || f.num == sparseIndices) {
					return true, d.initializer(f, g, f.num == sparseValues)
				}
				return false, nil
			})
		}
		return false, nil
	})
}

// initializer reads a TensorProto for its name (recorded as initialized
// when named is set) and external data file, skipping its data.
func (d *decoder) initializer(f field, g *graph, named bool) error {
	var name, location string
	external := false
	err := d.sub(f, func(f field) (bool, error) {
		switch {
		case f.num == tensorName && f.typ == protowire.BytesType:
			return true, d.str(f, &name)
		case f.num == tensorLocation && f.typ == protowire.VarintType:
			external = f.val == locationExternal
			return true, nil
		case f.num == tensorExternal && f.typ == protowire.BytesType:
			var key, value string
			err := d.sub(f, func(f field) (bool, error) {
				if f.typ != protowire.BytesType {
					return false, nil
				}
				switch f.num {
				case entryKey:
					return true, d.str(f, &key)
				case entryValue:
					return true, d.str(f, &value)
				}
				return false, nil
			})
			if key == "location" {
				location = value
			}
			return true, err
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if named && name != "" {
		g.initialized[name] = true
	}
	if external {
		if err := checkLocation(location); err != nil {
			return fmt.Errorf("initializer %q: %w", name, err)
		}
		if !g.seen[location] {
			g.seen[location] = true
			g.external = append(g.external, location)
		}
	}
	return nil
}

// value reads a ValueInfoProto.
func (d *decoder) value(f field) (Value, error) {
	var v Value
	err := d.sub(f, func(f field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case valueName:
			return true, d.str(f, &v.Name)
		case valueType:
			return true, d.sub(f, func(f field) (bool, error) {
				if f.typ != protowire.BytesType {
					return false, nil
				}
				switch f.num {
				case typeTensor:
					v.Kind = KindTensor
					return true, d.tensorType(f, &v)
				case typeSparse:
					v.Kind = KindSparseTensor
				case typeSequence:
					v.Kind = KindSequence
				case typeMap:
					v.Kind = KindMap
				case typeOptional:
					v.Kind = KindOptional
				}
				return false, nil
			})
		}
		return false, nil
	})
	if err != nil {
		return v, fmt.Errorf("value %q: %w", v.Name, err)
	}
	return v, nil
}

func (d *decoder) tensorType(f field, v *Value) error {
	return d.sub(f, func(f field) (bool, error) {
		switch {
		case f.num == tensorTypeElem && f.typ == protowire.VarintType:
			v.Elem = ElemType(int32(f.val))
			return true, nil
		case f.num == tensorTypeShape && f.typ == protowire.BytesType:
			v.HasShape = true
			v.Shape = []Dim{}
			return true, d.sub(f, func(f field) (bool, error) {
				if f.num != shapeDim || f.typ != protowire.BytesType {
					return false, nil
				}
				dim := Dim{Size: -1}
				err := d.sub(f, func(f field) (bool, error) {
					switch {
					case f.num == dimValue && f.typ == protowire.VarintType:
						if s := int64(f.val); s >= 0 {
							dim.Size = s
						}
						return true, nil
					case f.num == dimParam && f.typ == protowire.BytesType:
						return true, d.str(f, &dim.Param)
					}
					return false, nil
				})
				v.Shape = append(v.Shape, dim)
				return true, err
			})
		}
		return false, nil
	})
}

// regularFile returns an error naming path unless it is a regular file
// (links followed); a path that cannot be read is left to the open, which
// says why.
func regularFile(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s: not a regular file", path)
}
