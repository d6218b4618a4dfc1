package rest

import (
	"bytes"
	"io"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
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

// A body larger than eagerBody is read whole across the buffer's growth,
// still aligned.
func TestReadBodyGrowsAcrossChunks(t *testing.T) {
	h := &Handler{}
	for _, n := range []int{eagerBody - 1, eagerBody, eagerBody + 1, 3*eagerBody + 5} {
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
// declaring 1 GiB and sending 10 bytes costs about eagerBody, not 1 GiB
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
