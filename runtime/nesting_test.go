package runtime_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A v1 body is JSON as KServe's orjson reads it, nesting included: orjson
// (3.9.15 on, its yyjson-recursion-limit patch) refuses a document whose
// arrays and objects open 1025 deep, the outer object counting (yyjson
// reads the root container without counting it), and KServe
// answers that 400 "Unrecognized request format: ...". One level less is
// served. This server took 10 000 levels, so a body KServe refuses was a
// 200 here. A binary CloudEvent whose data is JSON is read by orjson too.
func TestV1NestingLimitIsOrjsons(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	// {"instances": ...} is one level; the instances make the rest.
	instances := func(depth int) string {
		return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
	}

	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":`+instances(1023)+`}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":`+instances(1023)+`}`, body)

	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":`+instances(1024)+`}`))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Unrecognized request format: JSON nested deeper than 1024 levels at offset 1036"}`, body)

	// The outer container counts whatever it is.
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(instances(1025)))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Unrecognized request format: JSON nested deeper than 1024 levels at offset 1024"}`, body)

	// Data orjson refuses is raw bytes to the model, unless the event says
	// it is JSON (KServe's checks ce-content-type).
	ce := []string{"ce-specversion", "1.0", "ce-source", "s", "ce-type", "t", "ce-id", "1"}
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(instances(1025)), ce...)
	assert.Equal(t, 200, code)
	assert.Equal(t, "raw:"+instances(1025), body)
	code, _, body = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(instances(1025)), append(ce, "ce-content-type", "application/json")...)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Failed to decode or parse binary json cloudevent: JSON nested deeper than 1024 levels at offset 1024"}`, body)

	// v2 keeps its own limits (docs/v1.md): a tensor's data nests 64 lists.
	v2 := func(depth int) []byte {
		return []byte(`{"inputs":[{"name":"x","shape":[1` + strings.Repeat(",1", depth-1) + `],"datatype":"FP32","data":` + instances(depth) + `}]}`)
	}
	code, _, _ = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", v2(64))
	assert.Equal(t, 200, code)
	code, _, body = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", v2(65))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"input x: data nested too deeply"}`, body)
}
