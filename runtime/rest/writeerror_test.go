package rest_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// A route of the user's own answers errors as KServe's routes do
// (WriteError), or in its clients' envelope with the same status, log
// line and headers (WriteErrorBody); FastAPI's 422 stays as it is.
func TestWriteError_AsKServesRoutes(t *testing.T) {
	envelope := func(code int, msg string) []byte { return fmt.Appendf(nil, `{"e":{"code":%d,"msg":%q}}`, code, msg) }
	for _, c := range []struct {
		name     string
		err      error
		body     func(int, string) []byte
		code     int
		want     string
		logged   bool
		retryHdr string
	}{
		{"invalid input", status.InvalidInput("x must be positive"), nil, 400, `{"error":"x must be positive"}`, false, ""},
		{"plain error", errors.New("boom"), nil, 500, `{"error":"Error : boom"}`, true, ""},
		{"plain error, envelope", errors.New("boom"), envelope, 500, `{"e":{"code":500,"msg":"Error : boom"}}`, true, ""},
		{"not found, envelope", status.ModelNotFound("m"), envelope, 404, `{"e":{"code":404,"msg":"Model with name m does not exist."}}`, false, ""},
		{"overloaded, envelope", status.New(status.KindOverloaded, "busy"), envelope, 503, `{"e":{"code":503,"msg":"busy"}}`, false, "1"},
		{"validation, envelope", status.Unprocessable(status.ValidationDetail{Type: "missing", Loc: []any{"body", "x"}, Msg: "Field required"}), envelope,
			422, `{"detail":[{"type":"missing","loc":["body","x"],"msg":"Field required","input":null}]}`, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/mine", nil)
			var got int
			if c.body == nil {
				got = rest.WriteError(w, r, logger, c.err)
			} else {
				got = rest.WriteErrorBody(w, r, logger, c.err, c.body)
			}
			if got != c.code || w.Code != c.code || w.Body.String() != c.want {
				t.Errorf("got %d (written %d) %s, want %d %s", got, w.Code, w.Body, c.code, c.want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if h := w.Header().Get("Retry-After"); h != c.retryHdr {
				t.Errorf("Retry-After %q, want %q", h, c.retryHdr)
			}
			if logged := bytes.Contains(logs.Bytes(), []byte(`msg="Exception: `)); logged != c.logged {
				t.Errorf("logged %v, want %v: %s", logged, c.logged, logs.String())
			}
		})
	}
}
