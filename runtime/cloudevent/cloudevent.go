// Package cloudevent reads and writes the CloudEvents KServe's v1 protocol
// accepts on :predict and :explain (Knative Eventing delivers events to an
// InferenceService this way), in both HTTP content modes:
//
//   - binary: the attributes are ce-* headers and the body is the data;
//   - structured: the body is one JSON object (content type
//     application/cloudevents+json) holding the attributes and "data".
//
// The answer is a CloudEvent in the request's mode, with KServe's attributes
// (CE_TYPE, CE_SOURCE, CE_MERGE) and byte for byte KServe's body, which the
// Python cloudevents library writes with json.dumps. Structured requests are
// recognised in package infer (a JSON body with KServe's six members); this
// package handles the headers and the responses.
package cloudevent

import (
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// DefaultType is the type of response events unless CE_TYPE says otherwise.
const DefaultType = "io.kserve.inference.response"

// StructuredContentType is the media type of a structured-mode event.
const StructuredContentType = "application/cloudevents+json"

// Options are the attributes of response events.
type Options struct {
	// Type is the response event's type ($CE_TYPE; "" means DefaultType).
	Type string
	// Source is its source ($CE_SOURCE; "" means
	// io.kserve.inference.<model name>).
	Source string
	// Merge copies the request event's attributes into the response, except
	// id and time (new ones) and, in binary mode, datacontenttype ($CE_MERGE).
	Merge bool
}

// IsBinary reports whether the headers carry a binary-mode event: all four
// required attributes as ce-* headers (the cloudevents library's
// has_binary_headers, which KServe asks first).
func IsBinary(h http.Header) bool {
	for _, k := range [...]string{"Ce-Specversion", "Ce-Source", "Ce-Type", "Ce-Id"} {
		if _, ok := h[k]; !ok {
			return false
		}
	}
	return true
}

// IsStructured reports whether a request's content type asks for a
// structured-mode answer. KServe compares the whole header; we compare the
// media type, so "application/cloudevents+json; charset=utf-8" counts too.
func IsStructured(contentType string) bool {
	// Cheap refusal first: every v1 request asks.
	n := len(StructuredContentType)
	if len(contentType) < n || !strings.EqualFold(contentType[:n], StructuredContentType) {
		return false
	}
	if len(contentType) == n {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == StructuredContentType
}

// knownAttributes are the CloudEvents 1.0 context attributes in the order
// the cloudevents library writes them; everything else is an extension.
var knownAttributes = [...]string{"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"}

// FromBinary reads a binary-mode event's attributes from its headers: every
// ce-* header, and Content-Type as datacontenttype. Only 1.0 and 0.3 events
// exist; any other specversion is KServe's 400.
func FromBinary(h http.Header) (*infer.CloudEvent, error) {
	attrs := map[string]string{}
	var ext []string
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		name := strings.ToLower(k)
		switch {
		case name == "content-type":
			name = "datacontenttype"
		case strings.HasPrefix(name, "ce-"):
			name = name[len("ce-"):]
			if !slices.Contains(knownAttributes[:], name) {
				ext = append(ext, name)
			}
		default:
			continue
		}
		// Starlette's header dict keeps the last of repeated headers.
		attrs[name] = v[len(v)-1]
	}
	if sv := attrs["specversion"]; sv != "1.0" && sv != "0.3" {
		return nil, status.InvalidInput("Cloud Event Exceptions: Found invalid specversion " + sv)
	}
	ev := &infer.CloudEvent{Binary: true}
	add := func(name string) {
		if v, ok := attrs[name]; ok {
			ev.Attributes = append(ev.Attributes, infer.CloudEventAttribute{Name: name, Value: jsonString(v)})
		}
	}
	for _, name := range knownAttributes {
		add(name)
	}
	slices.Sort(ext) // header order is lost in http.Header; sorted is at least stable
	for _, name := range ext {
		add(name)
	}
	return ev, nil
}

func jsonString(s string) json.RawMessage {
	return infer.AppendString(nil, s)
}

// Body is a model's answer to wrap in an event: JSON text, or raw bytes
// with their content type.
type Body struct {
	JSON        []byte // compact JSON text of the response body, or nil
	Raw         []byte // a raw (non-JSON) response body when JSON is nil
	ContentType string // the raw body's content type ("" if unknown)
}

// Event is one response event being written.
type Event struct {
	Model string    // served model name, for the default source
	ID    string    // the new event's id (a uuid4)
	Time  time.Time // the new event's time
}

// attributes returns the response event's attributes in the order the
// cloudevents library writes them: specversion, id, source, type, the
// optional context attributes, time, then extensions (in request order).
// Values are JSON text.
func (o Options) attributes(req *infer.CloudEvent, ev Event, binary bool) []infer.CloudEventAttribute {
	typ := o.Type
	if typ == "" {
		typ = DefaultType
	}
	src := o.Source
	if src == "" {
		src = "io.kserve.inference." + ev.Model
	}
	set := map[string]json.RawMessage{
		"specversion": jsonString("1.0"),
		"id":          jsonString(ev.ID),
		"source":      jsonString(src),
		"type":        jsonString(typ),
		"time":        jsonString(pythonISOTime(ev.Time)),
	}
	var ext []infer.CloudEventAttribute
	if o.Merge && req != nil {
		for _, a := range req.Attributes {
			switch a.Name {
			case "id", "time", "source", "type":
				continue // generated or set above
			case "datacontenttype":
				if binary {
					continue
				}
			}
			if slices.Contains(knownAttributes[:], a.Name) {
				set[a.Name] = a.Value
			} else {
				ext = append(ext, a)
			}
		}
	}
	out := make([]infer.CloudEventAttribute, 0, len(set)+len(ext))
	for _, name := range knownAttributes {
		if v, ok := set[name]; ok {
			out = append(out, infer.CloudEventAttribute{Name: name, Value: v})
		}
	}
	return append(out, ext...)
}

// pythonISOTime formats t as Python's datetime.isoformat() of an aware UTC
// time: microseconds only when non-zero, "+00:00" for UTC.
func pythonISOTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

// Binary writes a binary-mode response event: its attributes into h as
// ce-* headers (and Content-Type), and returns the body. KServe labels
// every binary-mode answer application/json; a raw body keeps the content
// type its model gave it (application/octet-stream when none).
func (o Options) Binary(h http.Header, req *infer.CloudEvent, ev Event, body Body) ([]byte, error) {
	for _, a := range o.attributes(req, ev, true) {
		v := string(a.Value)
		var s string
		if err := json.Unmarshal(a.Value, &s); err == nil {
			v = s
		}
		h[http.CanonicalHeaderKey("ce-"+a.Name)] = []string{v}
	}
	if body.JSON == nil {
		ct := body.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h["Content-Type"] = []string{ct}
		return body.Raw, nil
	}
	h["Content-Type"] = []string{"application/json"}
	return infer.AppendDumps(nil, body.JSON)
}

// Structured writes a structured-mode response event: Content-Type
// application/cloudevents+json and the event as one JSON object, data last
// but for merged extensions; a raw body travels base64-encoded in
// "data_base64", as the cloudevents library sends bytes.
func (o Options) Structured(h http.Header, req *infer.CloudEvent, ev Event, body Body) ([]byte, error) {
	attrs := o.attributes(req, ev, false)
	var b []byte
	b = append(b, '{')
	n := 0
	for _, a := range attrs {
		if !slices.Contains(knownAttributes[:], a.Name) {
			break
		}
		b = appendMember(b, n, a.Name, a.Value)
		n++
	}
	if body.JSON != nil {
		b = appendMember(b, n, "data", body.JSON)
	} else {
		b = appendMember(b, n, "data_base64", jsonString(base64.StdEncoding.EncodeToString(body.Raw)))
	}
	for _, a := range attrs[n:] {
		b = appendMember(b, 1, a.Name, a.Value)
	}
	b = append(b, '}')
	h["Content-Type"] = []string{StructuredContentType}
	return infer.AppendDumps(nil, b)
}

func appendMember(b []byte, i int, name string, v json.RawMessage) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = infer.AppendString(b, name)
	b = append(b, ':')
	return append(b, v...)
}
