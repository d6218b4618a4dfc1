package openai_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/openai"
)

// A prompt or an embedding input takes OpenAI's four forms.
func TestInput_FourForms(t *testing.T) {
	for body, want := range map[string]openai.Input{
		`"a"`:         {Texts: []string{"a"}},
		`["a","b"]`:   {Texts: []string{"a", "b"}},
		`[1,2]`:       {Tokens: [][]int{{1, 2}}},
		`[[1],[2,3]]`: {Tokens: [][]int{{1}, {2, 3}}},
		`[]`:          {Texts: []string{}},
	} {
		var got openai.Input
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		assert.Equal(t, want, got, body)
	}
	var in openai.Input
	assert.Error(t, json.Unmarshal([]byte(`3`), &in))
}

// Content is a string or a list of parts, each part keeping its
// undeclared fields, and is written back in the form it came in.
func TestContent_StringOrParts(t *testing.T) {
	var m openai.ChatMessage
	require.NoError(t, json.Unmarshal([]byte(`{"role":"user","content":[{"type":"text","text":"hi"},{"type":"input_audio","input_audio":{"data":"x"}}]}`), &m))
	assert.Equal(t, "hi", m.Content.String())
	assert.JSONEq(t, `{"data":"x"}`, string(m.Content.Parts[1].Extra["input_audio"]))
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.Equal(t, `{"role":"user","content":[{"type":"text","text":"hi"},{"type":"input_audio","input_audio":{"data":"x"}}]}`, string(b))

	require.NoError(t, json.Unmarshal([]byte(`{"role":"user","content":"plain"}`), &m))
	assert.Equal(t, openai.Content{Text: "plain"}, m.Content)
	var s openai.Strings
	require.NoError(t, json.Unmarshal([]byte(`"x"`), &s))
	assert.Equal(t, openai.Strings{"x"}, s)
}

// Embeddings and rerank scores are written as KServe writes vLLM's Python
// floats with orjson: each float32 widened to float64 (torch's tolist()),
// whole numbers with ".0", small and large ones with orjson's exponents,
// NaN as null.
func TestNumbers_AsKServeWritesVLLMFloats(t *testing.T) {
	emb := openai.EmbeddingData{Index: 0, Object: "embedding", Embedding: []float32{2. / 3, 1, 0, float32(math.Copysign(0, -1)), 1e-5, 1e16, float32(math.NaN()), 0.1}}
	b, err := json.Marshal(emb)
	require.NoError(t, err)
	assert.Equal(t, `{"index":0,"object":"embedding","embedding":[0.6666666865348816,1.0,0.0,-0.0,9.999999747378752e-6,1.0000000272564224e16,null,0.10000000149011612]}`, string(b))
	b, err = json.Marshal(openai.EmbeddingData{Object: "embedding"})
	require.NoError(t, err)
	assert.Equal(t, `{"index":0,"object":"embedding","embedding":[]}`, string(b), "no vector is an empty list")

	b, err = json.Marshal([]openai.RerankResult{{Index: 1, Document: openai.RerankDocument{Text: "a"}, RelevanceScore: 1}, {RelevanceScore: 0.00001}})
	require.NoError(t, err)
	assert.Equal(t, `[{"index":1,"document":{"text":"a","multi_modal":null},"relevance_score":1.0},{"index":0,"document":{"text":"","multi_modal":null},"relevance_score":0.00001}]`, string(b))
}
