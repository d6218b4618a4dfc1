package rest

import (
	"bytes"
	"net/http/httptest"
	"testing"
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
