package cloudevent

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var (
	fixedTime = time.Date(2026, 12, 1, 10, 20, 30, 123456789, time.UTC)
	event     = Event{Model: "m", ID: "00000000-0000-4000-8000-000000000000", Time: fixedTime}
)

func TestIsBinaryNeedsAllFourHeaders(t *testing.T) {
	all := []string{"ce-specversion", "1.0", "ce-source", "s", "ce-type", "t", "ce-id", "1"}
	assert.True(t, IsBinary(header(all...)))
	for i := 0; i < len(all); i += 2 {
		some := append(append([]string{}, all[:i]...), all[i+2:]...)
		assert.False(t, IsBinary(header(some...)), "without %s", all[i])
	}
}

func TestIsStructured(t *testing.T) {
	for _, ct := range []string{"application/cloudevents+json", "Application/CloudEvents+JSON", "application/cloudevents+json; charset=utf-8"} {
		assert.True(t, IsStructured(ct), ct)
	}
	for _, ct := range []string{"", "application/json", "application/cloudevents", "application/cloudevents+jsonx", "application/cloudevents-batch+json"} {
		assert.False(t, IsStructured(ct), ct)
	}
}

func TestFromBinary(t *testing.T) {
	ev, err := FromBinary(header("Ce-Specversion", "1.0", "Ce-Id", "abc", "Ce-Source", "src", "Ce-Type", "t",
		"Ce-Time", "2020-01-01T00:00:00Z", "Ce-Zext", "z", "Ce-Myext", "x1", "Content-Type", "application/json", "Accept", "*/*"))
	require.NoError(t, err)
	assert.True(t, ev.Binary)
	var got []string
	for _, a := range ev.Attributes {
		got = append(got, a.Name+"="+string(a.Value))
	}
	assert.Equal(t, []string{`specversion="1.0"`, `id="abc"`, `source="src"`, `type="t"`, `datacontenttype="application/json"`,
		`time="2020-01-01T00:00:00Z"`, `myext="x1"`, `zext="z"`}, got)

	_, err = FromBinary(header("Ce-Specversion", "2.0", "Ce-Id", "abc", "Ce-Source", "src", "Ce-Type", "t"))
	assert.EqualError(t, err, "Cloud Event Exceptions: Found invalid specversion 2.0")
}

func TestBinaryResponse(t *testing.T) {
	h := http.Header{}
	b, err := Options{}.Binary(h, &infer.CloudEvent{Binary: true}, event, Body{JSON: []byte(`{"predictions":[[1.0,"é"]]}`)})
	require.NoError(t, err)
	assert.Equal(t, `{"predictions": [[1.0, "\u00e9"]]}`, string(b))
	assert.Equal(t, http.Header{
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"00000000-0000-4000-8000-000000000000"},
		"Ce-Source":      {"io.kserve.inference.m"},
		"Ce-Type":        {"io.kserve.inference.response"},
		"Ce-Time":        {"2026-12-01T10:20:30.123456+00:00"},
		"Content-Type":   {"application/json"},
	}, h)

	// CE_MERGE copies the request's attributes but id, time and
	// datacontenttype; CE_TYPE and CE_SOURCE replace type and source.
	req, err := FromBinary(header("Ce-Specversion", "1.0", "Ce-Id", "abc", "Ce-Source", "src", "Ce-Type", "t",
		"Ce-Time", "2020-01-01T00:00:00Z", "Ce-Subject", "s1", "Ce-Myext", "x1", "Content-Type", "application/json"))
	require.NoError(t, err)
	h = http.Header{}
	ev := event
	ev.Time = time.Date(2026, 12, 1, 10, 20, 30, 0, time.UTC)
	_, err = Options{Type: "my.type", Source: "my.src", Merge: true}.Binary(h, req, ev, Body{Raw: []byte("raw"), ContentType: "text/plain"})
	require.NoError(t, err)
	assert.Equal(t, http.Header{
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"00000000-0000-4000-8000-000000000000"},
		"Ce-Source":      {"my.src"},
		"Ce-Type":        {"my.type"},
		"Ce-Subject":     {"s1"},
		"Ce-Time":        {"2026-12-01T10:20:30+00:00"},
		"Ce-Myext":       {"x1"},
		"Content-Type":   {"text/plain"},
	}, h)
}

func TestStructuredResponse(t *testing.T) {
	h := http.Header{}
	b, err := Options{}.Structured(h, nil, event, Body{JSON: []byte(`{"predictions":[[1,2]]}`)})
	require.NoError(t, err)
	assert.Equal(t, `{"specversion": "1.0", "id": "00000000-0000-4000-8000-000000000000", "source": "io.kserve.inference.m", `+
		`"type": "io.kserve.inference.response", "time": "2026-12-01T10:20:30.123456+00:00", "data": {"predictions": [[1, 2]]}}`, string(b))
	assert.Equal(t, http.Header{"Content-Type": {"application/cloudevents+json"}}, h)

	r := &infer.Request{Protocol: infer.ProtocolV1, IsJSON: true, Body: []byte(`{"specversion":"1.0","id":"abc","source":"src","type":"t",` +
		`"time":"2020-01-01T00:00:00Z","datacontenttype":"application/json","myext":5,"data":{"instances":[[1.0,"\u00e9"]]}}`)}
	require.NoError(t, r.ParseV1())
	b, err = Options{Merge: true}.Structured(http.Header{}, r.CloudEvent, event, Body{Raw: []byte("\x00\x01raw")})
	require.NoError(t, err)
	assert.Equal(t, `{"specversion": "1.0", "id": "00000000-0000-4000-8000-000000000000", "source": "io.kserve.inference.m", `+
		`"type": "io.kserve.inference.response", "datacontenttype": "application/json", "time": "2026-12-01T10:20:30.123456+00:00", `+
		`"data_base64": "AAFyYXc=", "myext": 5}`, string(b))
}
