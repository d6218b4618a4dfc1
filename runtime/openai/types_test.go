package openai_test

import (
	"encoding/json"
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
