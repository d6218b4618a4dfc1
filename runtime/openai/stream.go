package openai

import (
	"errors"
	"iter"
	"net/http"
	"runtime/debug"

	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// stream sends chunks as server-sent events, as KServe sends a model's
// async generator (StreamingResponse, media type text/event-stream):
// "data: <chunk JSON>\n\n" per chunk, flushed as it is written, then
// "data: [DONE]\n\n". stamp fills what the model left empty of a chunk;
// hdr, the headers the model set, go out with the first.
//
// The status is sent with the first chunk, so an error the model yields
// before any is answered as a plain error (status and body). One yielded
// later is sent as vLLM sends it, an event whose data is the error body
// ({"error": {...}}, which OpenAI's clients raise), followed by [DONE].
// A client that goes away ends the model's loop: its yield returns false
// (and the request's context, the model's ctx, is cancelled).
func stream[C any](s *server, w http.ResponseWriter, r *http.Request, m model.Model, hdr http.Header, chunks iter.Seq2[*C, error], stamp func(*C)) {
	started := false
	rc := http.NewResponseController(w)
	start := func() {
		started = true
		h := w.Header()
		// The headers the model set before its first chunk; later ones
		// are too late for the header block.
		headerval.SetModelHeaders(h, hdr)
		// Starlette adds the charset to a text/ media type.
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	}
	// send writes one event; false when the client has gone.
	send := func(data []byte) bool {
		buf := make([]byte, 0, len(data)+8)
		buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return false
		}
		// A writer that cannot flush (a middleware hiding it) still
		// streams, in net/http's buffer-sized pieces.
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		return true
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = status.Panic("the stream of model "+m.Name(), p, debug.Stack())
			}
		}()
		if chunks == nil {
			return status.Newf(status.KindInternal, "model %s returned a nil stream", m.Name())
		}
		for c, err := range chunks {
			if err != nil {
				return err
			}
			if c == nil {
				return status.Newf(status.KindInternal, "model %s yielded a nil chunk", m.Name())
			}
			stamp(c)
			b, err := pydantic.Marshal(c)
			if err != nil {
				return status.Newf(status.KindInternal, "model %s yielded a chunk that cannot be encoded: %v", m.Name(), err)
			}
			if !started {
				start()
			}
			if !send(b) {
				return nil // the client is gone; nobody to tell
			}
		}
		return nil
	}()
	if err != nil && !started {
		s.writeError(w, r, err)
		return
	}
	if !started {
		start() // a stream without chunks: [DONE] alone
	}
	if err != nil {
		if r.Context().Err() != nil {
			return // the client is gone
		}
		var oe *Error
		if !errors.As(err, &oe) {
			s.opts.Logger.Error("Exception: " + status.LogText(err) + status.PanicStack(err))
			code := status.HTTPCode(err)
			oe = &Error{Code: code, Type: errorType(code), Message: status.Message(err)}
		} else {
			s.opts.Logger.Error("Exception: " + oe.Message)
		}
		body, _ := oe.body()
		b, _ := pydantic.Marshal(body)
		if !send(b) {
			return
		}
	}
	send([]byte("[DONE]"))
}
