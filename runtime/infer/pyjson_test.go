package infer_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

type scored struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
	Prob  float32 `json:"prob,omitempty"`
	Rank  int     `json:"rank"`
	Raw   float64 `json:"raw,string"`
	Extra unit    `json:"extra"`
	Skip  float64 `json:"-"`
}

// unit has its own MarshalJSON, which wins over the float rule.
type unit float64

func (u unit) MarshalJSON() ([]byte, error) { return []byte(`"kg"`), nil }

// Values the runtime does not write itself (a struct, a typed map, a slice
// of maps) follow encoding/json's rules — tags, omitempty, ",string",
// MarshalJSON, sorted keys — but their floats are written as KServe's
// orjson writes a Python float: 6.0, not encoding/json's 6, which a Python
// client reads back as an int; NaN and infinities null, where encoding/json
// fails.
func TestAppendJSON_FloatsOfOtherTypesAsKServeWritesThem(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{scored{Label: "cat", Score: 6, Prob: 0.25, Rank: 1, Raw: 3, Skip: 1},
			`{"label":"cat","score":6.0,"prob":0.25,"rank":1,"raw":"3","extra":"kg"}`},
		{[]scored{{Label: "dog", Score: 1e16}}, `[{"label":"dog","score":1e16,"rank":0,"raw":"0","extra":"kg"}]`},
		{[]map[string]float64{{"b": 1, "a": 0.00001}}, `[{"a":0.00001,"b":1.0}]`},
		{map[string]float64{"nan": math.NaN(), "inf": math.Inf(1)}, `{"inf":null,"nan":null}`},
		{map[string][]float32{"x": {2, 0.1}}, `{"x":[2.0,0.1]}`},
		{map[string]any{"s": scored{Score: 2}}, `{"s":{"label":"","score":2.0,"rank":0,"raw":"0","extra":"kg"}}`},
	} {
		b, err := infer.AppendJSON(nil, c.v)
		require.NoError(t, err)
		assert.Equal(t, c.want, string(b))
	}
	_, err := infer.AppendJSON(nil, map[string]any{"c": make(chan int)})
	assert.EqualError(t, err, "json: unsupported type: chan int")
}
