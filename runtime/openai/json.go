package openai

import (
	"bytes"
	"encoding/json"
)

// marshal is json.Marshal without its HTML escaping. KServe (orjson) and
// vLLM (pydantic) write <, > and & as they are; json.Marshal writes
// \u003c, \u003e and \u0026, which reads the same to a JSON parser but not
// to anyone looking at a stream or matching a reasoning model's <think>
// tags in its raw events. The answers' MarshalJSON methods use it too:
// encoding/json copies a Marshaler's output as it is, escaped or not.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
