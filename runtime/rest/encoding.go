package rest

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Request bodies may come compressed: tritonclient's HTTP clients send
// Content-Encoding gzip or deflate (request_compression_algorithm), and so
// do curl users with --data-binary @body.json.gz. Triton's server reads
// both; KServe's (uvicorn, Starlette) reads neither and hands the
// compressed bytes on. Here they are decompressed as they are read, and
// everything after (the JSON parser, the binary extension's
// Inference-Header-Content-Length, which counts the JSON header before
// compression as tritonclient and Triton count it, and the model) sees the
// body as it was before compression.
//
// Responses are never compressed: KServe's are not, and clients such as
// Python's requests ask for gzip by default, so compressing would change
// what every client gets.

// The request body's content codings.
const (
	encIdentity = iota
	encGzip
	encDeflate
)

// acceptEncoding names the codings a 415 says the server takes (RFC 9110
// §12.5.3), as Triton's 415 does.
const acceptEncoding = "gzip, deflate"

// bodyEncoding reads the Content-Encoding header's values: one coding
// (gzip, x-gzip or deflate; identity, and an empty value, are none), or a
// 415 naming what was sent. RFC 9110 lets a body carry a list of codings,
// applied in order; nobody sends two, and reading them would multiply
// what a small body can expand to, so a list of two is refused too.
func bodyEncoding(values []string) (int, error) {
	enc := encIdentity
	n := 0
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			switch tok = strings.TrimSpace(tok); {
			case tok == "" || strings.EqualFold(tok, "identity"):
				continue
			case strings.EqualFold(tok, "gzip") || strings.EqualFold(tok, "x-gzip"):
				enc = encGzip
			case strings.EqualFold(tok, "deflate"):
				enc = encDeflate
			default:
				return 0, unsupportedEncoding(values)
			}
			if n++; n > 1 {
				return 0, unsupportedEncoding(values)
			}
		}
	}
	return enc, nil
}

func unsupportedEncoding(values []string) error {
	return status.Newf(status.KindUnsupportedMediaType,
		"Unsupported Content-Encoding '%s': a request body may be sent as one of gzip, x-gzip, deflate or identity.",
		strings.Join(values, ", "))
}

// wireReader is the request body as sent, compressed: it keeps the error
// of the connection (a body over the limit, a client gone, a read
// timeout), told apart from the decompressor's own errors, which are the
// client's compressed data being wrong.
type wireReader struct {
	r   io.Reader
	err error
}

func (w *wireReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && err != io.EOF {
		w.err = err
	}
	return n, err
}

// readEncoded reads a compressed body of coding enc (wire, bounded by
// the limit as it arrives) whole, decompressed, so that body[at:] starts
// 8-byte aligned (readBodyAligned). The decompressed body is bounded by
// limit too, so a small body that expands without end (a decompression
// bomb) is the 413 of a large one, once limit bytes have been inflated.
func readEncoded(wire io.Reader, enc int, limit int64, at int) ([]byte, error) {
	name := "gzip"
	if enc == encDeflate {
		name = "deflate"
	}
	wr := &wireReader{r: wire}
	d := decoderPool.Get().(*decoders)
	defer d.release()
	// A bufio.Reader is an io.ByteReader, which flate reads from without
	// buffering ahead of its own: what is left in br after the stream is
	// what the client sent after it.
	br := d.br
	br.Reset(wr)
	if _, err := br.Peek(1); err == io.EOF {
		return []byte{}, nil // an empty body: nothing was compressed
	}
	dec, err := d.open(enc, br)
	var body []byte
	if err == nil {
		most := int64(-1)
		if limit > 0 {
			// One byte past the limit shows the body is over it.
			most = limit + 1
			dec = io.LimitReader(dec, most)
		}
		body, err = readAllAligned(dec, at, most)
	}
	if wr.err != nil {
		return nil, bodyError(wr.err, limit)
	}
	if err != nil {
		return nil, decodeError(name, err)
	}
	if limit > 0 && int64(len(body)) > limit {
		return nil, tooLarge(limit)
	}
	if enc == encDeflate {
		// A zlib stream ends with its checksum; gzipMembers reads on
		// after each member for the next, and so refuses what follows
		// the last one itself.
		if _, err := br.ReadByte(); err == nil {
			return nil, decodeError(name, errTrailing)
		} else if wr.err != nil {
			return nil, bodyError(wr.err, limit)
		}
	}
	return body, nil
}

// decoders are a decompressor of each kind with the buffered reader they
// read from, kept for the next compressed body: a new gzip or zlib reader
// costs some 50 KB (flate's window and tables), ten times what the rest of
// a small request allocates.
type decoders struct {
	br      *bufio.Reader
	gz      *gzip.Reader
	members gzipMembers   // reads gz, here so as not to allocate one a body
	zl      io.ReadCloser // a zlib.Resetter
}

var decoderPool = sync.Pool{New: func() any { return &decoders{br: bufio.NewReader(nil)} }}

// open starts decompressing br with the decompressor of enc.
func (d *decoders) open(enc int, br *bufio.Reader) (io.Reader, error) {
	var err error
	if enc == encGzip {
		if !gzipNext(br) {
			// Said here, not left to the gzip reader: a body shorter
			// than a gzip header would be "truncated" there.
			return nil, gzip.ErrHeader
		}
		if d.gz == nil {
			d.gz, err = gzip.NewReader(br)
		} else {
			err = d.gz.Reset(br)
		}
		if err != nil {
			return nil, err
		}
		d.gz.Multistream(false)
		d.members = gzipMembers{gz: d.gz, br: br}
		return &d.members, nil
	}
	if d.zl == nil {
		d.zl, err = zlib.NewReader(br)
		return d.zl, err
	}
	return d.zl, d.zl.(zlib.Resetter).Reset(br, nil)
}

// gzipMembers reads the members of a gzip body one after the other (RFC
// 1952 allows several, as `cat a.gz b.gz` makes them), and refuses what follows the last one as errTrailing. gzip.Reader's own
// multistream mode reads anything after a member as the next one's
// header, which named a few bytes of trailing garbage a truncated stream
// and more of it an invalid header.
type gzipMembers struct {
	gz *gzip.Reader
	br *bufio.Reader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	n, err := g.gz.Read(p)
	if err != io.EOF {
		return n, err
	}
	if _, err := g.br.Peek(1); err != nil {
		return n, err // io.EOF: the body ends with the member
	}
	if !gzipNext(g.br) {
		return n, errTrailing
	}
	if err := g.gz.Reset(g.br); err != nil {
		return n, err
	}
	g.gz.Multistream(false)
	return n, nil
}

// gzipNext reports whether br's next bytes can begin a gzip member: its
// magic number 1f 8b, or 1f alone at the end of the body (a member cut
// short, which the gzip reader calls truncated).
func gzipNext(br *bufio.Reader) bool {
	b, _ := br.Peek(2)
	return len(b) > 0 && b[0] == 0x1f && (len(b) == 1 || b[1] == 0x8b)
}

// release returns d to the pool, no longer reading the request's body
// (the decompressors read from d.br alone).
func (d *decoders) release() {
	d.br.Reset(nil)
	decoderPool.Put(d)
}

var errTrailing = errors.New("data after the end of the compressed data")

// decodeError is a 400 naming the coding and what is wrong with its data.
func decodeError(name string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the compressed data is truncated (unexpected EOF)"
	case name == "deflate" && errors.Is(err, zlib.ErrHeader):
		// Some clients mean deflate as raw deflate (RFC 1951). It is not
		// taken as such: RFC 9110 and Triton mean zlib, raw deflate can
		// only be told from zlib by guessing from its first bytes, and it
		// has no checksum to catch corrupt data.
		msg += " (deflate is a zlib stream, RFC 9110 §8.4.1.2, as zlib.compress writes it, not raw deflate)"
	}
	return &status.Error{Kind: status.KindInvalidInput, Message: fmt.Sprintf("could not decompress the request body (Content-Encoding: %s): %s", name, msg), Err: err}
}

// readAllAligned reads rd to its end, or to most bytes when most >= 0,
// into a buffer whose byte at starts 8-byte aligned (readDeclared's, for a
// body of unknown length). The buffer doubles as the bytes come, from a
// small start: what a body decompresses to is not known before it is read.
// It grows to most bytes at the most: doubled from the limit to take the
// one byte more that shows a decompression bomb is over it, it held three
// times the limit at once (the old buffer and the new), for a bomb of a few
// hundred bytes.
func readAllAligned(rd io.Reader, at int, most int64) ([]byte, error) {
	pad := (8 - at%8) % 8
	size := int64(4 << 10)
	if most >= 0 {
		size = min(size, most)
	}
	buf := make([]byte, pad+int(size))
	got := 0
	for {
		if pad+got == len(buf) {
			if most >= 0 && int64(got) >= most {
				return buf[pad : pad+got], nil
			}
			size = int64(2 * got)
			if most >= 0 && size > most/2 {
				// Straight to most from over half of it: a limit that
				// is a power of two times the first size would take
				// one more doubling, all of it copied, for its last
				// byte.
				size = most
			}
			grown := make([]byte, pad+int(size))
			copy(grown[pad:], buf[pad:pad+got])
			buf = grown
		}
		m, err := rd.Read(buf[pad+got:])
		got += m
		if err == io.EOF {
			return buf[pad : pad+got], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readEncodedBody reads r's body with Content-Encoding values ce, within
// the limit both as sent and as decompressed, and drops the headers that
// described the compressed bytes, so the model's request headers describe
// the body it gets (as Go's HTTP client drops them from a response it
// decompresses).
func (h *Handler) readEncodedBody(w http.ResponseWriter, r *http.Request, ce []string, at int) ([]byte, error) {
	enc, err := bodyEncoding(ce)
	if err != nil {
		w.Header().Set("Accept-Encoding", acceptEncoding)
		return nil, err
	}
	delete(r.Header, "Content-Encoding")
	if enc == encIdentity {
		return h.readPlain(w, r, at)
	}
	wire, err := h.wireBody(w, r)
	if err != nil {
		return nil, err
	}
	body, err := readEncoded(wire, enc, h.opts.MaxRequestBodySize, at)
	if err != nil {
		return nil, err
	}
	delete(r.Header, "Content-Length")
	return body, nil
}
