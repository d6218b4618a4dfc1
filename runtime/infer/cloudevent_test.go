package infer

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected texts are python3's json.dumps of the value each input parses to.
func TestAppendDumpsMatchesPythonJSONDumps(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"predictions":[[1.0,2.5,1e-5,1E16,"é😀","a\"b\\c\n\t\u0001` + "\x7f" + `\/"]]}`,
			`{"predictions": [[1.0, 2.5, 1e-05, 1e+16, "\u00e9\ud83d\ude00", "a\"b\\c\n\t\u0001\u007f/"]]}`},
		{` { "a" : [ ] , "b" : {}, "c": null, "d": true, "e": false, "f": -0.0, "g": 12345678901234567890, "h": 1.5e300, "i": 1e400, "j": -1e400 } `,
			`{"a": [], "b": {}, "c": null, "d": true, "e": false, "f": -0.0, "g": 12345678901234567890, "h": 1.5e+300, "i": Infinity, "j": -Infinity}`},
		{`[1,[2,[3,{"x":"y"}]]]`, `[1, [2, [3, {"x": "y"}]]]`},
		{`"\u00E9"`, `"\u00e9"`},
		{`"plain"`, `"plain"`},
	}
	for _, c := range cases {
		got, err := AppendDumps(nil, []byte(c.in))
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, string(got), c.in)
	}
	for _, bad := range []string{`{"a":}`, `[1,]`, `{"a":1} x`, `tru`, ``, `{"a" 1}`} {
		_, err := AppendDumps(nil, []byte(bad))
		assert.Error(t, err, bad)
	}
}

// A JSON object with KServe's six members (is_structured_cloudevent) is a
// structured CloudEvent whatever its content type: the model gets its data.
func TestParseV1UnwrapsStructuredCloudEvent(t *testing.T) {
	body := `{"specversion":"1.0","id":"abc","source":"src","type":"t","time":"2020-01-01T00:00:00Z","myext":5,"data":{"instances":[[1.0,2]]}}`
	r := &Request{Protocol: ProtocolV1, Body: []byte(body), IsJSON: true}
	require.NoError(t, r.ParseV1())
	assert.Equal(t, `{"instances":[[1.0,2]]}`, string(r.Body))
	assert.JSONEq(t, `[[1.0,2]]`, string(r.RawInstances()))
	require.NotNil(t, r.CloudEvent)
	assert.False(t, r.CloudEvent.Binary)
	var names []string
	for _, a := range r.CloudEvent.Attributes {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"specversion", "id", "source", "type", "time", "myext"}, names)
	src, ok := r.CloudEvent.String("source")
	assert.True(t, ok)
	assert.Equal(t, "src", src)
	_, ok = r.CloudEvent.String("myext")
	assert.False(t, ok, "a number is not a string")
	assert.Equal(t, json.RawMessage("5"), r.CloudEvent.Attribute("myext"))

	// The data is validated as a body of its own.
	bad := &Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","time":"x","data":{"instances":3}}`)}
	assert.EqualError(t, bad.ParseV1(), `Expected "instances" to be a list`)

	// Five of the six members is an ordinary body.
	plain := &Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","data":{"instances":[1]}}`)}
	require.NoError(t, plain.ParseV1())
	assert.Nil(t, plain.CloudEvent)
	assert.Nil(t, plain.RawInstances())

	// A binary-mode event's data is not unwrapped again.
	bin := &Request{Protocol: ProtocolV1, IsJSON: true, CloudEvent: &CloudEvent{Binary: true}, Body: []byte(body)}
	require.NoError(t, bin.ParseV1())
	assert.Equal(t, body, string(bin.Body))
}

func TestValidJSON(t *testing.T) {
	for _, s := range []string{`{}`, ` [1, "a"] `, `"x"`, `3`, `null`} {
		assert.True(t, ValidJSON([]byte(s)), s)
	}
	for _, s := range []string{``, `hello`, `{"a":1} {}`, "\"\xff\"", `[1,]`} {
		assert.False(t, ValidJSON([]byte(s)), s)
	}
}

// FuzzV1Body: no v1 body makes ParseV1 (with its structured-CloudEvent
// unwrapping) panic; what it accepts is UTF-8 and its instances can be
// written back (a 1e400 it let through once failed only in the answer);
// and every valid JSON text goes through AppendCompact and AppendDumps to
// JSON holding the same value.
func FuzzV1Body(f *testing.F) {
	f.Add([]byte(`{"instances":[[1.0,2,"\u00e9"]]}`))
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","time":"x","myext":[1],"data":{"instances":[1e16]}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"s","type":"t","time":"x","data":"\ud83d\ude00\/"}`))
	f.Add([]byte(`{"instances":[1e400,"\ud800"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := &Request{Protocol: ProtocolV1, IsJSON: true, Body: body}
		if err := r.ParseV1(); err == nil {
			if !utf8.Valid(body) {
				t.Fatalf("accepted a body that is not UTF-8: %q", body)
			}
			if r.CloudEvent != nil && !ValidJSON(r.Body) {
				t.Fatalf("unwrapped data is not JSON: %q", r.Body)
			}
			if inst := r.RawInstances(); inst != nil {
				if _, err := AppendCompact(nil, inst); err != nil {
					t.Fatalf("accepted %q, but its instances cannot be written back: %v", body, err)
				}
			}
		}
		if !ValidJSON(body) {
			return
		}
		var want any
		if err := json.Unmarshal(body, &want); err != nil {
			return // a number out of float64's range: Python prints Infinity
		}
		compact, err := AppendCompact(nil, body)
		if err != nil {
			t.Fatalf("AppendCompact(%q): %v", body, err)
		}
		dumps, err := AppendDumps(nil, compact)
		if err != nil {
			t.Fatalf("AppendDumps(%q): %v", compact, err)
		}
		for _, out := range [][]byte{compact, dumps} {
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%q gave invalid JSON %q: %v", body, out, err)
			}
			assert.Equal(t, want, got, "%q → %q", body, out)
		}
	})
}
