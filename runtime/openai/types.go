package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
)

// The request and response types follow vLLM's (vllm/entrypoints/openai/protocol.py,
// vLLM 0.9.2, the version KServe 0.16 pins), which KServe re-exports as its
// OpenAI types (kserve/protocol/rest/openai/types/__init__.py). Optional
// numbers are pointers, so a model tells "not given" from zero.
//
// vLLM's request models allow fields they do not declare (OpenAIBaseModel:
// model_config = ConfigDict(extra="allow")): every request type keeps them,
// as raw JSON, in Extra, instead of refusing or dropping them.

// StreamOptions is a streamed request's stream_options.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk with the usage and no choices.
	IncludeUsage *bool `json:"include_usage,omitempty"`
	// ContinuousUsageStats (vLLM) asks for the usage on every chunk.
	ContinuousUsageStats *bool `json:"continuous_usage_stats,omitempty"`
}

// Strings is a field that takes a string or a list of strings (stop, a
// document list): either way it reads as the list.
type Strings []string

// UnmarshalJSON reads a string as a one-element list.
func (s *Strings) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// Input is a completion's prompt or an embedding's input: a string, a list
// of strings, a list of token ids, or a list of lists of token ids. Exactly
// one of Texts and Tokens is set; a single string or token list is a
// one-element list.
type Input struct {
	Texts  []string
	Tokens [][]int
}

// UnmarshalJSON reads the four forms OpenAI's API takes.
func (in *Input) UnmarshalJSON(b []byte) error {
	*in = Input{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		in.Texts = []string{s}
		return nil
	case len(b) > 0 && b[0] == '[':
	default:
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[string]()}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	if len(items) == 0 {
		in.Texts = []string{}
		return nil
	}
	switch first := bytes.TrimSpace(items[0]); {
	case len(first) > 0 && first[0] == '"':
		return json.Unmarshal(b, &in.Texts)
	case len(first) > 0 && first[0] == '[':
		return json.Unmarshal(b, &in.Tokens)
	default:
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
		in.Tokens = [][]int{ids}
		return nil
	}
}

// MarshalJSON writes the texts, or the token lists, as a list.
func (in Input) MarshalJSON() ([]byte, error) {
	if in.Tokens != nil {
		return pydantic.Marshal(in.Tokens)
	}
	if in.Texts == nil {
		return []byte("[]"), nil
	}
	return pydantic.Marshal(in.Texts)
}

// jsonKind names a JSON value's kind as encoding/json's type errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Model            string             `json:"model"`
	Prompt           Input              `json:"prompt"`
	BestOf           *int               `json:"best_of,omitempty"`
	Echo             bool               `json:"echo,omitempty"`
	FrequencyPenalty *float64           `json:"frequency_penalty,omitempty"`
	LogitBias        map[string]float64 `json:"logit_bias,omitempty"`
	Logprobs         *int               `json:"logprobs,omitempty"`
	// MaxTokens is nil when not given (vLLM's default is 16).
	MaxTokens       *int           `json:"max_tokens,omitempty"`
	N               *int           `json:"n,omitempty"`
	PresencePenalty *float64       `json:"presence_penalty,omitempty"`
	Seed            *int64         `json:"seed,omitempty"`
	Stop            Strings        `json:"stop,omitempty"`
	Stream          bool           `json:"stream,omitempty"`
	StreamOptions   *StreamOptions `json:"stream_options,omitempty"`
	Suffix          *string        `json:"suffix,omitempty"`
	Temperature     *float64       `json:"temperature,omitempty"`
	TopP            *float64       `json:"top_p,omitempty"`
	User            string         `json:"user,omitempty"`
	// Extra holds the body's fields not declared above (vLLM's own
	// sampling parameters, top_k, repetition_penalty, ...), as sent.
	Extra map[string]json.RawMessage `json:"-"`
	// Header is the request's HTTP headers (KServe's context["headers"]).
	Header http.Header `json:"-"`
	// ResponseHeader is the headers to send with the answer (KServe's
	// context["response"]); see Completer.
	ResponseHeader http.Header `json:"-"`
}

// ChatCompletionRequest is the body of POST /v1/chat/completions.
type ChatCompletionRequest struct {
	Model               string             `json:"model"`
	Messages            []ChatMessage      `json:"messages"`
	FrequencyPenalty    *float64           `json:"frequency_penalty,omitempty"`
	LogitBias           map[string]float64 `json:"logit_bias,omitempty"`
	Logprobs            bool               `json:"logprobs,omitempty"`
	TopLogprobs         *int               `json:"top_logprobs,omitempty"`
	MaxTokens           *int               `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int               `json:"max_completion_tokens,omitempty"`
	N                   *int               `json:"n,omitempty"`
	PresencePenalty     *float64           `json:"presence_penalty,omitempty"`
	ResponseFormat      json.RawMessage    `json:"response_format,omitempty"`
	Seed                *int64             `json:"seed,omitempty"`
	Stop                Strings            `json:"stop,omitempty"`
	Stream              bool               `json:"stream,omitempty"`
	StreamOptions       *StreamOptions     `json:"stream_options,omitempty"`
	Temperature         *float64           `json:"temperature,omitempty"`
	TopP                *float64           `json:"top_p,omitempty"`
	Tools               json.RawMessage    `json:"tools,omitempty"`
	ToolChoice          json.RawMessage    `json:"tool_choice,omitempty"`
	User                string             `json:"user,omitempty"`
	// Extra holds the body's fields not declared above, as sent.
	Extra map[string]json.RawMessage `json:"-"`
	// Header is the request's HTTP headers (KServe's context["headers"]).
	Header http.Header `json:"-"`
	// ResponseHeader is the headers to send with the answer (KServe's
	// context["response"]); see Completer.
	ResponseHeader http.Header `json:"-"`
}

// ChatMessage is one message of a chat request, or the message of a chat
// completion's choice.
//
// In a request it encodes with the fields it has, as sent; in a ChatChoice
// it is written as vLLM's ChatMessage: role, content, refusal, annotations,
// audio, function_call, tool_calls and reasoning_content, null (tool_calls
// []) when unset, then name and tool_call_id when set (vLLM's extra
// fields).
type ChatMessage struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
	Name    string  `json:"name,omitempty"`
	// ToolCalls and ToolCallID are an assistant's tool calls and a tool
	// message's answer to one, as sent.
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	// Refusal, Annotations, Audio and FunctionCall are OpenAI's fields of
	// an assistant message, as sent (raw JSON objects).
	Refusal      *string         `json:"refusal,omitempty"`
	Annotations  json.RawMessage `json:"annotations,omitempty"`
	Audio        json.RawMessage `json:"audio,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
	// ReasoningContent is a reasoning model's thinking (vLLM's field).
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

// Content is a message's content: a string, or a list of content parts
// (text, image_url, ...). A string reads as Text with Parts nil.
type Content struct {
	Text  string
	Parts []ContentPart
}

// String is the content's text: Text, or the text of its text parts, one
// after another.
func (c Content) String() string {
	if c.Parts == nil {
		return c.Text
	}
	var b strings.Builder
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// UnmarshalJSON reads a string, a list of parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &c.Text)
	case bytes.Equal(b, []byte("null")):
		return nil
	}
	if err := json.Unmarshal(b, &c.Parts); err != nil {
		return err
	}
	if c.Parts == nil {
		c.Parts = []ContentPart{}
	}
	return nil
}

// MarshalJSON writes Text as a string, or Parts as a list.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return pydantic.Marshal(c.Parts)
	}
	return pydantic.Marshal(c.Text)
}

// ContentPart is one part of a message's content.
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
	// Extra holds the part's other fields (input_audio, video_url, ...).
	Extra map[string]json.RawMessage `json:"-"`
}

// ImageURL is an image_url part's image.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// UnmarshalJSON keeps the part's undeclared fields in Extra.
func (p *ContentPart) UnmarshalJSON(b []byte) error {
	type plain ContentPart
	return pydantic.DecodeWithExtra(b, (*plain)(p), &p.Extra)
}

// MarshalJSON writes the part's fields and its Extra.
func (p ContentPart) MarshalJSON() ([]byte, error) {
	type plain ContentPart
	return pydantic.EncodeWithExtra(plain(p), p.Extra)
}

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string `json:"model"`
	Input Input  `json:"input"`
	// EncodingFormat is "float" (the default) or "base64": the server
	// encodes the embeddings the model returns accordingly.
	EncodingFormat string `json:"encoding_format,omitempty"`
	Dimensions     *int   `json:"dimensions,omitempty"`
	User           string `json:"user,omitempty"`
	// Extra holds the body's fields not declared above, as sent.
	Extra map[string]json.RawMessage `json:"-"`
	// Header is the request's HTTP headers (KServe's context["headers"]).
	Header http.Header `json:"-"`
	// ResponseHeader is the headers to send with the answer (KServe's
	// context["response"]); see Completer.
	ResponseHeader http.Header `json:"-"`
}

// RerankRequest is the body of POST /v1/rerank (vLLM's, after Jina's and
// Cohere's rerank APIs).
type RerankRequest struct {
	Model     string   `json:"model"`
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	// TopN is how many results to return; 0 (the default) means all.
	TopN int `json:"top_n,omitempty"`
	// Extra holds the body's fields not declared above, as sent.
	Extra map[string]json.RawMessage `json:"-"`
	// Header is the request's HTTP headers (KServe's context["headers"]).
	Header http.Header `json:"-"`
	// ResponseHeader is the headers to send with the answer (KServe's
	// context["response"]); see Completer.
	ResponseHeader http.Header `json:"-"`
}

// Usage counts a request's tokens (vLLM's UsageInfo).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// PromptTokensDetails is null when nil.
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details"`
}

// PromptTokensDetails details a prompt's tokens (vLLM's
// PromptTokenUsageInfo).
type PromptTokensDetails struct {
	// CachedTokens is how many came from the prefix cache (null when nil).
	CachedTokens *int `json:"cached_tokens"`
}

// Completion answers a completion request.
//
// The answer types encode as vLLM's models do when KServe writes them
// whole: every field in vLLM's order, null for an unset one (a nil
// pointer or json.RawMessage, a nil StopReason), [] for an empty list.
type Completion struct {
	// ID, Object, Created and Model are filled by the server when left
	// empty: "cmpl-<random>", "text_completion", now, the request's model.
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	// ServiceTier ("auto", "default", "flex", "scale", "priority") and
	// SystemFingerprint are OpenAI's fields, null when nil.
	ServiceTier       *string `json:"service_tier"`
	SystemFingerprint *string `json:"system_fingerprint"`
	Usage             Usage   `json:"usage"`
	// KVTransferParams is vLLM's kv_transfer_params object, null when nil.
	KVTransferParams json.RawMessage `json:"kv_transfer_params"`
}

// CompletionChoice is one generated text.
type CompletionChoice struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
	// Logprobs is the choice's log probabilities, as the model builds
	// them (null when nil).
	Logprobs json.RawMessage `json:"logprobs"`
	// FinishReason is "stop", "length", ... ; nil (null) in a stream's
	// chunks before the last.
	FinishReason *string `json:"finish_reason"`
	// StopReason is vLLM's stop_reason: the stop string (a string) or
	// token id (an int) that ended the text; nil (null) otherwise.
	StopReason any `json:"stop_reason"`
	// PromptLogprobs is vLLM's prompt_logprobs, as the model builds them
	// (null when nil). A stream's chunks have none.
	PromptLogprobs json.RawMessage `json:"prompt_logprobs"`
}

// CompletionChunk is one event of a streamed completion. Usage is set in
// the last chunk only when the request asked for it
// (stream_options.include_usage), with no choices; it is null in the
// others.
type CompletionChunk struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage"`
}

// MarshalJSON writes the chunk as vLLM's CompletionStreamResponse, whose
// choices have no prompt_logprobs.
func (c CompletionChunk) MarshalJSON() ([]byte, error) {
	type choice struct {
		Index        int             `json:"index"`
		Text         string          `json:"text"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
		StopReason   any             `json:"stop_reason"`
	}
	choices := make([]choice, len(c.Choices))
	for i, ch := range c.Choices {
		choices[i] = choice{ch.Index, ch.Text, ch.Logprobs, ch.FinishReason, ch.StopReason}
	}
	return pydantic.Marshal(struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   *Usage   `json:"usage"`
	}{c.ID, c.Object, c.Created, c.Model, choices, c.Usage})
}

// ChatCompletion answers a chat completion request.
type ChatCompletion struct {
	// ID, Object, Created and Model are filled by the server when left
	// empty: "chatcmpl-<random>", "chat.completion", now, the request's
	// model.
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	// ServiceTier and SystemFingerprint are OpenAI's fields, null when nil.
	ServiceTier       *string `json:"service_tier"`
	SystemFingerprint *string `json:"system_fingerprint"`
	Usage             Usage   `json:"usage"`
	// PromptLogprobs and KVTransferParams are vLLM's fields, as the model
	// builds them (null when nil).
	PromptLogprobs   json.RawMessage `json:"prompt_logprobs"`
	KVTransferParams json.RawMessage `json:"kv_transfer_params"`
}

// ChatChoice is one generated message.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ChatMessage     `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
	// StopReason is vLLM's stop_reason: the stop string or token id that
	// ended the message; nil (null) otherwise.
	StopReason any `json:"stop_reason"`
}

// MarshalJSON writes the choice as vLLM's ChatCompletionResponseChoice, its
// message as vLLM's ChatMessage (see ChatMessage).
func (c ChatChoice) MarshalJSON() ([]byte, error) {
	m := &c.Message
	return pydantic.Marshal(struct {
		Index        int             `json:"index"`
		Message      responseMessage `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
		StopReason   any             `json:"stop_reason"`
	}{c.Index, responseMessage{m.Role, m.Content, m.Refusal, m.Annotations, m.Audio, m.FunctionCall, list(m.ToolCalls), m.ReasoningContent, m.Name, m.ToolCallID},
		c.Logprobs, c.FinishReason, c.StopReason})
}

// responseMessage is a ChatMessage as vLLM's ChatMessage writes it, its
// extra fields (name, tool_call_id) last.
type responseMessage struct {
	Role             string          `json:"role"`
	Content          Content         `json:"content"`
	Refusal          *string         `json:"refusal"`
	Annotations      json.RawMessage `json:"annotations"`
	Audio            json.RawMessage `json:"audio"`
	FunctionCall     json.RawMessage `json:"function_call"`
	ToolCalls        json.RawMessage `json:"tool_calls"`
	ReasoningContent *string         `json:"reasoning_content"`
	Name             string          `json:"name,omitempty"`
	ToolCallID       string          `json:"tool_call_id,omitempty"`
}

// emptyList is a list field left unset: vLLM's default_factory=list.
var emptyList = json.RawMessage("[]")

// list is raw, or [] when it is empty.
func list(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return emptyList
	}
	return raw
}

// ChatCompletionChunk is one event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []ChatChunkChoice `json:"choices"`
	// Usage is null when nil (see CompletionChunk).
	Usage *Usage `json:"usage"`
}

// ChatChunkChoice is one choice's part of a chunk.
type ChatChunkChoice struct {
	Index        int             `json:"index"`
	Delta        ChatDelta       `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
	// StopReason is vLLM's stop_reason (see ChatChoice).
	StopReason any `json:"stop_reason"`
}

// ChatDelta is what a chunk adds to a choice's message: the role in the
// first chunk, then pieces of the content.
type ChatDelta struct {
	// Role is written null when empty.
	Role    string  `json:"role"`
	Content *string `json:"content"`
	// ReasoningContent is a piece of a reasoning model's thinking.
	ReasoningContent *string `json:"reasoning_content"`
	// ToolCalls is the tool calls' deltas, as the model builds them ([]
	// when nil).
	ToolCalls json.RawMessage `json:"tool_calls"`
}

// MarshalJSON writes the delta as vLLM's DeltaMessage: role, content,
// reasoning_content, null when unset, and tool_calls, [] when unset.
func (d ChatDelta) MarshalJSON() ([]byte, error) {
	var role *string
	if d.Role != "" {
		role = &d.Role
	}
	return pydantic.Marshal(struct {
		Role             *string         `json:"role"`
		Content          *string         `json:"content"`
		ReasoningContent *string         `json:"reasoning_content"`
		ToolCalls        json.RawMessage `json:"tool_calls"`
	}{role, d.Content, d.ReasoningContent, list(d.ToolCalls)})
}

// Embedding answers an embedding request.
type Embedding struct {
	// ID, Object, Created and Model are filled by the server when left
	// empty: "embd-<random>", "list", now, the request's model.
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Data    []EmbeddingData `json:"data"`
	Usage   Usage           `json:"usage"`
}

// EmbeddingData is one input's embedding.
type EmbeddingData struct {
	Index int `json:"index"`
	// Object is filled by the server ("embedding").
	Object string `json:"object"`
	// Embedding is the vector; it goes out as a list of numbers, or, when
	// the request asked for encoding_format "base64", as the base64 of its
	// little-endian float32s (vLLM's encoding, which OpenAI's clients
	// decode).
	Embedding []float32 `json:"-"`
	base64    bool
}

// MarshalJSON writes the embedding in the request's encoding. As numbers,
// each float32 is written as KServe writes vLLM's vector: a list of Python
// floats (the float32s widened to float64, torch's tolist()) in orjson's
// text, so 2/3 is 0.6666666865348816, 1 is 1.0 and NaN null; a reader
// keeping float64s gets the values KServe's server sends.
func (d EmbeddingData) MarshalJSON() ([]byte, error) {
	var emb any
	if d.base64 {
		raw := make([]byte, 4*len(d.Embedding))
		for i, f := range d.Embedding {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		emb = base64.StdEncoding.EncodeToString(raw)
	} else {
		emb = json.RawMessage(infer.AppendFloats(make([]byte, 0, 2+20*len(d.Embedding)), d.Embedding, 64))
	}
	type plain EmbeddingData
	return pydantic.Marshal(struct {
		plain
		Embedding any `json:"embedding"`
	}{plain(d), emb})
}

// Rerank answers a rerank request: the documents by relevance, most
// relevant first.
type Rerank struct {
	// ID and Model are filled by the server when left empty:
	// "rerank-<random>", the request's model.
	ID      string         `json:"id"`
	Model   string         `json:"model"`
	Usage   RerankUsage    `json:"usage"`
	Results []RerankResult `json:"results"`
}

// RerankUsage counts a rerank request's tokens.
type RerankUsage struct {
	TotalTokens int `json:"total_tokens"`
}

// RerankResult is one document's relevance.
type RerankResult struct {
	Index          int            `json:"index"`
	Document       RerankDocument `json:"document"`
	RelevanceScore float64        `json:"relevance_score"`
}

// MarshalJSON writes the result with its score in orjson's text of a
// Python float, as KServe writes vLLM's (1.0, not encoding/json's 1).
func (r RerankResult) MarshalJSON() ([]byte, error) {
	type plain RerankResult
	// The outer field hides the embedded one of the same name.
	return pydantic.Marshal(struct {
		plain
		RelevanceScore json.RawMessage `json:"relevance_score"`
	}{plain(r), infer.AppendFloat(nil, r.RelevanceScore, 64)})
}

// RerankDocument is a ranked document.
type RerankDocument struct {
	Text string `json:"text"`
	// MultiModal is vLLM's multi_modal content part, for a document that
	// is not text (null when nil).
	MultiModal json.RawMessage `json:"multi_modal"`
}

// Error is an error a model returns to answer with OpenAI's error body,
// {"error": {"message", "type", "param", "code"}}, and Code as the HTTP
// status (KServe's OpenAIError carrying an ErrorResponse, errors.py). Any
// other error a model returns is answered as KServe answers an exception
// (a status.Error's kind, else a 500 "<type> : <message>").
type Error struct {
	// Code is the HTTP status; 0 is 500.
	Code int
	// Type is OpenAI's error type ("BadRequestError", "NotFoundError");
	// "" is "BadRequestError" for a 4xx and "InternalServerError" for a
	// 5xx.
	Type    string
	Param   string
	Message string
	// quiet marks the server's own answer that KServe returns rather
	// than raises, and so does not log.
	quiet bool
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// errorBody is KServe's ErrorResponse: code is the status as a string
// (errors.py create_error_response: code=str(status_code.value)).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param"`
		Type    string `json:"type"`
	} `json:"error"`
}

// body is e's ErrorResponse and HTTP status.
func (e *Error) body() (errorBody, int) {
	code := e.Code
	if code == 0 {
		code = http.StatusInternalServerError
	}
	typ := e.Type
	if typ == "" {
		typ = "BadRequestError"
		if code >= 500 {
			typ = "InternalServerError"
		}
	}
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Param, b.Error.Type = fmt.Sprint(code), e.Message, e.Param, typ
	return b, code
}
