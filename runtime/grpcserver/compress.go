package grpcserver

import (
	"compress/zlib"
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	// grpc-go's gzip compressor registers itself, when imported, in
	// grpc-go's process-wide compressor registry: that is how grpc-go
	// installs compressors (encoding.RegisterCompressor), there is no
	// per-server option. Without it a request with grpc-encoding: gzip,
	// which grpcio, tritonclient and grpcurl send when asked to compress,
	// is answered UNIMPLEMENTED "grpc: Decompressor is not installed for
	// grpc-encoding "gzip"", where KServe's grpcio server reads it.
	_ "google.golang.org/grpc/encoding/gzip"
)

// deflateName is the grpc-encoding of grpcio's "deflate" compression.
const deflateName = "deflate"

// grpc-go has no "deflate"; grpcio (KServe's server, tritonclient) has.
// Registered, as gzip, in grpc-go's process-wide registry.
func init() { encoding.RegisterCompressor(&deflate{}) }

// deflate is gRPC's "deflate" message coding as gRPC's C core (grpcio)
// writes and reads it: the zlib format (RFC 1950: a two-byte header and an
// Adler-32 trailer around the deflate data), not raw deflate (RFC 1951).
// message_compress.cc's zlib_compress and zlib_decompress call deflateInit2
// and inflateInit2 with windowBits 15, which is zlib's format (gzip adds 16).
//
// Writers and readers are pooled as in grpc-go's gzip compressor: each
// holds tens of kilobytes of tables and window.
type deflate struct {
	writers sync.Pool // *deflateWriter
	readers sync.Pool // *deflateReader
}

func (*deflate) Name() string { return deflateName }

func (c *deflate) Compress(w io.Writer) (io.WriteCloser, error) {
	if z, ok := c.writers.Get().(*deflateWriter); ok {
		z.Reset(w)
		return z, nil
	}
	return &deflateWriter{Writer: zlib.NewWriter(w), pool: &c.writers}, nil
}

// Decompress reads the zlib header at once: a message that does not start
// with one fails here, and grpc-go answers INTERNAL "grpc: failed to
// decompress the message: zlib: invalid header". grpc-go reads the result
// through a limit of --grpc_max_receive_message_length + 1 bytes.
func (c *deflate) Decompress(r io.Reader) (io.Reader, error) {
	if z, ok := c.readers.Get().(*deflateReader); ok {
		if err := z.ReadCloser.(zlib.Resetter).Reset(r, nil); err != nil {
			c.readers.Put(z)
			return nil, err
		}
		return z, nil
	}
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, err
	}
	return &deflateReader{ReadCloser: zr, pool: &c.readers}, nil
}

type deflateWriter struct {
	*zlib.Writer
	pool *sync.Pool
}

func (z *deflateWriter) Close() error {
	defer z.pool.Put(z)
	return z.Writer.Close()
}

// deflateReader is closed by grpc-go exactly once, which returns it to the
// pool; Reset makes it as new, after an error too.
type deflateReader struct {
	io.ReadCloser // zlib's reader, a zlib.Resetter
	pool          *sync.Pool
}

func (z *deflateReader) Close() error {
	defer z.pool.Put(z)
	return z.ReadCloser.Close()
}

// recvCompressor is grpc-go's server stream (transport.ServerStream, which
// grpc.ServerTransportStreamFromContext returns): its RecvCompress is the
// call's grpc-encoding.
type recvCompressor interface{ RecvCompress() string }

// answerUncompressed makes the answers to a compressed call go
// uncompressed, as KServe's server sends them. grpc-go answers in the
// request's coding by default; grpcio compresses an answer only with the
// server's default algorithm (none, which KServe keeps) or one the
// handler sets (KServe's does not): compression_filter.cc,
// HandleOutgoingMetadata. The answer carries grpc-encoding: identity, which
// every gRPC client reads as uncompressed.
//
// An uncompressed call, nearly all of them, costs a context lookup and
// changes nothing on the wire.
func answerUncompressed(ctx context.Context) {
	st, ok := grpc.ServerTransportStreamFromContext(ctx).(recvCompressor)
	if !ok {
		return
	}
	if rc := st.RecvCompress(); rc != "" && rc != encoding.Identity {
		// Fails only once headers have gone, which no handler has sent
		// yet: nothing to do about it but answer compressed.
		_ = grpc.SetSendCompressor(ctx, encoding.Identity)
	}
}
