package infer

import (
	"encoding/json"
)

// CloudEvent is the envelope of a v1 request that arrived as a CloudEvent
// (KServe accepts both HTTP content modes on :predict and :explain). The
// model sees the event's data as the request body; the envelope stays here
// for models that want its attributes, and for the server, which answers
// with a CloudEvent in the same mode.
type CloudEvent struct {
	// Binary is true for the binary content mode (attributes in ce-*
	// headers, data as the body), false for the structured mode (one JSON
	// object holding the attributes and "data").
	Binary bool
	// Attributes are the event's attributes in arrival order, without
	// "data". Values are JSON text: binary-mode header values are JSON
	// strings; structured-mode values are as sent.
	Attributes []CloudEventAttribute
}

// CloudEventAttribute is one context attribute or extension of an event.
type CloudEventAttribute struct {
	Name  string
	Value json.RawMessage
}

// Attribute returns the JSON text of the attribute name, or nil.
func (e *CloudEvent) Attribute(name string) json.RawMessage {
	if e == nil {
		return nil
	}
	for _, a := range e.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return nil
}

// String returns the attribute name when it is a JSON string ("source",
// "type", "id", "subject", string extensions), and whether it was.
func (e *CloudEvent) String(name string) (string, bool) {
	v := e.Attribute(name)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// structuredKeys are the members whose presence makes a v1 JSON object a
// structured CloudEvent in KServe (is_structured_cloudevent), one bit each.
var structuredKeys = [...]string{"time", "type", "source", "id", "specversion", "data"}

const allStructuredKeys = 1<<len(structuredKeys) - 1

func structuredBit(k []byte) int {
	for i, s := range structuredKeys {
		if string(k) == s {
			return 1 << i
		}
	}
	return 0
}

// unwrapStructured makes the request a structured CloudEvent's data: the
// object in Body (already checked to have all of structuredKeys) is split
// into its attributes and "data", which becomes the Body the model sees.
func (r *Request) unwrapStructured() error {
	ev := &CloudEvent{}
	var data []byte
	err := (&scanner{b: r.Body}).members(func(k, v []byte) {
		if string(k) == "data" {
			data = v
		} else {
			ev.Attributes = append(ev.Attributes, CloudEventAttribute{Name: string(k), Value: json.RawMessage(v)})
		}
	})
	if err != nil {
		return unrecognized(err)
	}
	r.CloudEvent = ev
	r.Body = data
	return nil
}
