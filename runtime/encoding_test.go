package runtime_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// zlibbed is what Content-Encoding: deflate means (RFC 9110 §8.4.1.2), as
// Python's zlib.compress and tritonclient write it.
func zlibbed(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func rawDeflated(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	require.NoError(t, err)
	_, err = zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// A body sent with Content-Encoding gzip (also x-gzip) or deflate is
// decompressed before anything reads it, on v1 and v2 alike, as
// tritonclient's request_compression_algorithm and curl users send it:
// the model sees the body as it was before compression, never the
// compressed bytes (a raw v1 body reached the model compressed before).
func TestCompressedRequestBodies(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	encoders := map[string]func(*testing.T, []byte) []byte{
		"gzip":     gzipped,
		"x-gzip":   gzipped,
		"GZip":     gzipped, // content codings are case-insensitive (RFC 9110 §8.4.1)
		"deflate":  zlibbed,
		"identity": func(_ *testing.T, b []byte) []byte { return b },
	}
	v2JSON := `{"id":"a","inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[7,8]}]}`
	raw := make([]byte, 8)
	copy(raw, []byte{0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0}) // FP32 1.5, -2
	head := `{"id":"b","inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	for enc, compress := range encoders {
		t.Run(enc, func(t *testing.T) {
			code, hdr, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json",
				compress(t, []byte(`{"instances":[[1,2.5]]}`)), "Content-Encoding", enc)
			assert.Equal(t, 200, code)
			assert.Equal(t, `{"predictions":[[1,2.5]]}`, body)
			assert.Empty(t, hdr.Get("Content-Encoding"), "responses are never compressed")

			code, hdr, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "text/csv",
				compress(t, []byte("a,b\n1,2")), "Content-Encoding", enc)
			assert.Equal(t, 200, code)
			assert.Equal(t, "text/plain", hdr.Get("Content-Type"))
			assert.Equal(t, "raw:a,b\n1,2", body)

			code, _, body = do(t, "POST", ts.url+"/v1/models/echo:explain", "application/json",
				compress(t, []byte(`{"instances":[1]}`)), "Content-Encoding", enc)
			assert.Equal(t, 200, code)
			assert.Equal(t, `{"explanations":[1.5]}`, body)

			code, _, body = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json",
				compress(t, []byte(v2JSON)), "Content-Encoding", enc)
			assert.Equal(t, 200, code)
			assert.Equal(t, `{"model_name":"echo","model_version":null,"id":"a","parameters":null,"outputs":[{"name":"output-0","shape":[2],"datatype":"INT32","parameters":null,"data":[7,8]}]}`, body)

			// The binary extension: Inference-Header-Content-Length counts
			// the JSON header before compression, as tritonclient sends it
			// and Triton's server reads it (the decompressed body's first
			// bytes).
			code, _, body = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream",
				compress(t, append([]byte(head), raw...)), "Content-Encoding", enc,
				"Inference-Header-Content-Length", fmt.Sprint(len(head)))
			assert.Equal(t, 200, code)
			assert.Equal(t, `{"model_name":"echo","model_version":null,"id":"b","parameters":null,"outputs":[{"name":"output-0","shape":[2],"datatype":"FP32","parameters":null,"data":[1.5,-2.0]}]}`, body)
		})
	}
}

// headerModel answers a v1 request with the Content-Encoding and
// Content-Length headers it was given and the body it saw.
type headerModel struct{ echoModel }

func (m *headerModel) Predict(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	s := fmt.Sprintf("encoding=%q length=%q body=%s", h.Get("Content-Encoding"), h.Get("Content-Length"), req.Body)
	return &infer.Response{Raw: []byte(s), ContentType: "text/plain"}, nil
}

// The model's request headers describe the body it gets: no
// Content-Encoding, no Content-Length of the compressed bytes (Go's HTTP
// client drops both from a response it decompresses, for the same reason).
func TestModelSeesTheDecompressedBodyAndHeaders(t *testing.T) {
	ts := startServer(t, defaultConfig(), &headerModel{echoModel{name: "h"}})
	ts.waitReady(t)
	code, _, body := do(t, "POST", ts.url+"/v1/models/h:predict", "text/plain", gzipped(t, []byte("hello")), "Content-Encoding", "gzip")
	assert.Equal(t, 200, code)
	assert.Equal(t, `encoding="" length="" body=hello`, body)
	// Without the header nothing changes.
	code, _, body = do(t, "POST", ts.url+"/v1/models/h:predict", "text/plain", []byte("hello"))
	assert.Equal(t, 200, code)
	assert.Equal(t, `encoding="" length="5" body=hello`, body)
}

// --max_request_body_size bounds the body as decompressed: a gzip bomb of
// about 1 KB that would expand to 1 MiB gets the very 413 of an oversized
// plain body, without the server inflating more than the limit.
func TestCompressedBombIs413(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxRequestBodySize = 1024
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	plain := []byte(`{"instances":[` + strings.Repeat(" ", 1<<20) + `1]}`)
	const want = `{"error":"Request body too large: the limit is 1024 bytes (--max_request_body_size)."}`
	for enc, compressed := range map[string][]byte{"gzip": gzipped(t, plain), "deflate": zlibbed(t, plain)} {
		require.Less(t, len(compressed), 1200, enc)
		for _, path := range []string{"/v1/models/echo:predict", "/v2/models/echo/infer"} {
			code, _, body := do(t, "POST", ts.url+path, "application/json", compressed, "Content-Encoding", enc)
			assert.Equal(t, 413, code, enc+" "+path)
			assert.Equal(t, want, body, enc+" "+path)
		}
	}
	// Chunked (no Content-Length): the bomb, and a body over the limit
	// as sent (random bytes do not compress).
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*7919>>3 ^ i*31)
	}
	for _, compressed := range [][]byte{gzipped(t, plain), gzipped(t, noise)} {
		req, err := http.NewRequest("POST", ts.url+"/v1/models/echo:predict", io.MultiReader(bytes.NewReader(compressed)))
		require.NoError(t, err)
		req.ContentLength = -1
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 413, resp.StatusCode)
		assert.Equal(t, want, string(b))
	}
	// Exactly at the limit, decompressed, is taken.
	atLimit := []byte(`{"instances":[` + strings.Repeat(" ", 1024-17) + `1]}`)
	require.Len(t, atLimit, 1024)
	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", gzipped(t, atLimit), "Content-Encoding", "gzip")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[1]}`, body)
}

// A compressed body that cannot be decompressed is a 400 naming the
// encoding and what is wrong with it; a body cut short by the client
// leaving is still the client gone (499), not a bad stream.
func TestCorruptCompressedBodyIs400(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	good := gzipped(t, []byte(`{"instances":[1,2,3]}`))
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the trailer
	deflated := zlibbed(t, []byte(`{"instances":[1,2,3]}`))
	for _, c := range []struct {
		name, enc string
		body      []byte
		want      string
	}{
		{"not gzip", "gzip", []byte(`{"instances":[1]}`),
			`could not decompress the request body (Content-Encoding: gzip): gzip: invalid header`},
		{"bad checksum", "gzip", badCRC,
			`could not decompress the request body (Content-Encoding: gzip): gzip: invalid checksum`},
		{"truncated gzip", "gzip", good[:len(good)-10],
			`could not decompress the request body (Content-Encoding: gzip): the compressed data is truncated (unexpected EOF)`},
		{"short, not gzip", "gzip", []byte(`[1]`),
			`could not decompress the request body (Content-Encoding: gzip): gzip: invalid header`},
		{"garbage after gzip", "gzip", append(bytes.Clone(good), "trailing garbage"...),
			`could not decompress the request body (Content-Encoding: gzip): data after the end of the compressed data`},
		{"short garbage after gzip", "gzip", append(bytes.Clone(good), "xyz"...),
			`could not decompress the request body (Content-Encoding: gzip): data after the end of the compressed data`},
		{"truncated second member", "gzip", append(bytes.Clone(good), good[:len(good)-10]...),
			`could not decompress the request body (Content-Encoding: gzip): the compressed data is truncated (unexpected EOF)`},
		{"truncated deflate", "deflate", deflated[:len(deflated)-3],
			`could not decompress the request body (Content-Encoding: deflate): the compressed data is truncated (unexpected EOF)`},
		{"garbage after deflate", "deflate", append(bytes.Clone(deflated), "xyz"...),
			`could not decompress the request body (Content-Encoding: deflate): data after the end of the compressed data`},
		{"raw deflate", "deflate", rawDeflated(t, []byte(`{"instances":[1]}`)),
			`could not decompress the request body (Content-Encoding: deflate): zlib: invalid header (deflate is a zlib stream, RFC 9110 §8.4.1.2, as zlib.compress writes it, not raw deflate)`},
	} {
		for _, path := range []string{"/v1/models/echo:predict", "/v2/models/echo/infer"} {
			code, _, body := do(t, "POST", ts.url+path, "application/json", c.body, "Content-Encoding", c.enc)
			assert.Equal(t, 400, code, c.name+" "+path)
			assert.Equal(t, `{"error":"`+c.want+`"}`, body, c.name+" "+path)
		}
	}

	// The decompressors are reused after those failures; a gzip body
	// may hold several members (RFC 1952 §2.2), read one after the other.
	twoMembers := append(gzipped(t, []byte(`{"instances":[1,`)), gzipped(t, []byte(`2,3]}`))...)
	for enc, body := range map[string][]byte{"gzip": good, "deflate": deflated, "x-gzip": twoMembers} {
		code, _, resp := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", body, "Content-Encoding", enc)
		assert.Equal(t, 200, code, enc)
		assert.Equal(t, `{"predictions":[1,2,3]}`, resp, enc)
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	require.NoError(t, err)
	_, err = fmt.Fprintf(c, "POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 1000\r\n\r\n%s", good[:len(good)/2])
	require.NoError(t, err)
	require.NoError(t, c.Close())
	const want = `kserve_request_errors_total{code="499",model_name="echo",protocol="v1"} 1`
	require.Eventually(t, func() bool {
		_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
		return strings.Contains(body, want)
	}, 5*time.Second, 10*time.Millisecond, "want %s", want)
}

// Any other encoding (br, zstd, two of them) is a 415 naming it and the
// ones the server takes, with Accept-Encoding listing them (RFC 9110
// §12.5.3; Triton answers the same way).
func TestUnsupportedContentEncodingIs415(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	for _, enc := range []string{"br", "zstd", "gzip, gzip", "gzip, br", "compress"} {
		for _, path := range []string{"/v1/models/echo:predict", "/v2/models/echo/infer"} {
			code, hdr, body := do(t, "POST", ts.url+path, "application/json", []byte(`{"instances":[1]}`), "Content-Encoding", enc)
			assert.Equal(t, 415, code, enc+" "+path)
			assert.Equal(t, `{"error":"Unsupported Content-Encoding '`+enc+`': a request body may be sent as one of gzip, x-gzip, deflate or identity."}`, body, enc+" "+path)
			assert.Equal(t, "gzip, deflate", hdr.Get("Accept-Encoding"), enc+" "+path)
		}
	}
	// identity, and an empty header, are the body as it is.
	for _, enc := range []string{"identity", "", "identity, gzip"} {
		body := []byte(`{"instances":[1]}`)
		if enc == "identity, gzip" {
			body = gzipped(t, body)
		}
		code, _, resp := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", body, "Content-Encoding", enc)
		assert.Equal(t, 200, code, enc)
		assert.Equal(t, `{"predictions":[1]}`, resp, enc)
	}
}
