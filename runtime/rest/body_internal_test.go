package rest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"unsafe"
)

// The binary extension's tensor data must start 8-byte aligned whatever the
// JSON header's length, so infer.DecodeRaw can use it in place.
func TestReadBodyAlignsBinaryPart(t *testing.T) {
	h := &Handler{}
	for at := range 17 {
		body := bytes.Repeat([]byte{'x'}, at+64)
		r := httptest.NewRequest("POST", "/v2/models/m/infer", bytes.NewReader(body))
		got, err := h.readBodyAligned(httptest.NewRecorder(), r, at)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("at %d: body changed", at)
		}
		if p := uintptr(unsafe.Pointer(&got[at])); p%8 != 0 {
			t.Errorf("at %d: binary part at address %#x, not 8-byte aligned", at, p)
		}
	}
}

// A body larger than firstBody or eagerBody is read whole across the
// buffer's growth, still aligned.
func TestReadBodyGrowsAcrossChunks(t *testing.T) {
	h := &Handler{}
	for _, n := range []int{firstBody - 1, firstBody, firstBody + 1, eagerBody - 1, eagerBody, eagerBody + 1, 3*eagerBody + 5} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		for _, at := range []int{0, 3} {
			// Small reads, as from a slow client.
			r := httptest.NewRequest("POST", "/v2/models/m/infer", iotest.HalfReader(bytes.NewReader(body)))
			r.ContentLength = int64(n)
			got, err := h.readBodyAligned(httptest.NewRecorder(), r, at)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("%d bytes at %d: body changed", n, at)
			}
			if p := uintptr(unsafe.Pointer(&got[at])); p%8 != 0 {
				t.Errorf("%d bytes at %d: binary part not 8-byte aligned", n, at)
			}
		}
	}
}

// A declared length is not allocated before the bytes arrive: a client
// declaring 1 GiB and sending 10 bytes costs about firstBody, not 1 GiB
// (it cost the whole declared length, which idle connections could
// multiply until the server ran out of memory).
func TestReadBodyAllocatesWhatArrives(t *testing.T) {
	h := &Handler{}
	r := httptest.NewRequest("POST", "/v1/models/m:predict", io.LimitReader(strings.NewReader(strings.Repeat("x", 100)), 10))
	r.ContentLength = 1 << 30
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, err := h.readBodyAligned(httptest.NewRecorder(), r, 0)
	goruntime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("err = %v, want the body cut short", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d bytes for a 10-byte body declared as 1 GiB", alloc)
	}
}

// firstRead signals when the handler first reads the body: by then
// readDeclared has allocated its buffer.
type firstRead struct {
	io.ReadCloser
	once    sync.Once
	reading chan<- struct{}
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { f.reading <- struct{}{} })
	return f.ReadCloser.Read(p)
}

// Clients that declare a large body, send a few bytes and stall (a
// slow-loris, or clients that hang mid-upload) hold their connections: no
// read timeout covers a body, as under uvicorn. Each must cost little more
// than it sent: with 1 MiB allocated up front, 64 such connections
// held 64 MiB of heap for 64 × 200 bytes sent, and a few thousand would
// push a pod into GOMEMLIMIT's collection spiral and its memory limit.
func TestStalledBodiesHoldLittleHeap(t *testing.T) {
	const conns = 64
	h := &Handler{}
	reading := make(chan struct{}, conns)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &firstRead{ReadCloser: r.Body, reading: reading}
		_, _ = h.readBody(w, r)
		<-release
	}))
	defer srv.Close()
	defer close(release)

	var before goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	for range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{\"instances\":[", 64<<20)
	}
	for range conns {
		<-reading
	}
	var after goruntime.MemStats
	goruntime.GC() // the buffers stay: their handlers are blocked reading
	goruntime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if held > conns*256<<10 {
		t.Errorf("%d stalled bodies of 14 bytes hold %d KiB of heap (%d KiB each)", conns, held>>10, held/conns>>10)
	}
}

// A gzip bomb is refused once the limit has been inflated, and inflating it
// allocates about twice the limit in all (the doubling buffer's steps), not
// four times: the buffer grew past the limit, to twice it, to take the one
// byte that shows the body is over, so a 200 KB bomb cost 192 MiB at once
// under the default 64 MiB limit, and a few of them at a time the pod's
// memory.
func TestCompressedBombAllocatesAboutTheLimit(t *testing.T) {
	const limit = 8 << 20
	h := &Handler{opts: Options{MaxRequestBodySize: limit}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := h.readBody(w, r)
		fmt.Fprint(w, err)
	}))
	defer srv.Close()
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	if _, err := zw.Write(make([]byte, 4*limit)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	req, err := http.NewRequest("POST", srv.URL, &bomb)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	goruntime.ReadMemStats(&after)
	if want := fmt.Sprintf("Request body too large: the limit is %d bytes (--max_request_body_size).", limit); string(got) != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*limit+2<<20 {
		t.Errorf("inflating a bomb to the %d MiB limit allocated %d MiB", limit>>20, alloc>>20)
	}
}
