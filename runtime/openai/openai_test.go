package openai_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// base is the lifecycle of the test models: loaded at once, ready unless
// told otherwise.
type base struct {
	name     string
	notReady bool
}

func (b *base) Name() string               { return b.name }
func (b *base) Load(context.Context) error { return nil }
func (b *base) Ready() bool                { return !b.notReady }
func ptr[T any](v T) *T                    { return &v }
func words(s string) []string              { return strings.Fields(s) }
func lastUser(msgs []openai.ChatMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content.String()
		}
	}
	return ""
}

// echo is a deterministic generative model: it answers the last user
// message (or the prompt) with itself, streamed one word per chunk.
type echo struct {
	base
	last atomic.Pointer[openai.ChatCompletionRequest]
}

func (m *echo) Complete(_ context.Context, req *openai.CompletionRequest) (*openai.Completion, error) {
	text := strings.Join(req.Prompt.Texts, " ")
	n := len(words(text))
	return &openai.Completion{
		Choices: []openai.CompletionChoice{{Index: 0, Text: text, FinishReason: ptr("stop")}},
		Usage:   openai.Usage{PromptTokens: n, CompletionTokens: n, TotalTokens: 2 * n},
	}, nil
}

func (m *echo) CompleteStream(_ context.Context, req *openai.CompletionRequest) iter.Seq2[*openai.CompletionChunk, error] {
	return func(yield func(*openai.CompletionChunk, error) bool) {
		ws := words(strings.Join(req.Prompt.Texts, " "))
		for i, w := range ws {
			c := &openai.CompletionChunk{Choices: []openai.CompletionChoice{{Text: w + " "}}}
			if i == len(ws)-1 {
				c.Choices[0].FinishReason = ptr("stop")
			}
			if !yield(c, nil) {
				return
			}
		}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil && *req.StreamOptions.IncludeUsage {
			yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{}, Usage: &openai.Usage{PromptTokens: len(ws), CompletionTokens: len(ws), TotalTokens: 2 * len(ws)}}, nil)
		}
	}
}

func (m *echo) ChatComplete(_ context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	m.last.Store(req)
	text := lastUser(req.Messages)
	n := len(words(text))
	return &openai.ChatCompletion{
		Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: text}}, FinishReason: ptr("stop")}},
		Usage:   openai.Usage{PromptTokens: n, CompletionTokens: n, TotalTokens: 2 * n},
	}, nil
}

func (m *echo) ChatCompleteStream(_ context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Role: "assistant", Content: ptr("")}}}}, nil) {
			return
		}
		for _, w := range words(lastUser(req.Messages)) {
			if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: ptr(w + " ")}}}}, nil) {
				return
			}
		}
		yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{}, FinishReason: ptr("stop")}}}, nil)
	}
}

// embedder implements only embeddings: one vector [len, first byte] per text.
type embedder struct{ base }

func (m *embedder) Embed(_ context.Context, req *openai.EmbeddingRequest) (*openai.Embedding, error) {
	out := &openai.Embedding{}
	for i, s := range req.Input.Texts {
		out.Data = append(out.Data, openai.EmbeddingData{Index: i, Embedding: []float32{float32(len(s)), float32(s[0]) / 4}})
	}
	out.Usage = openai.Usage{PromptTokens: len(req.Input.Texts), TotalTokens: len(req.Input.Texts)}
	return out, nil
}

// ranker ranks documents by how many of the query's words they hold.
type ranker struct{ base }

func (m *ranker) Rerank(_ context.Context, req *openai.RerankRequest) (*openai.Rerank, error) {
	out := &openai.Rerank{}
	for i, d := range req.Documents {
		score := 0.0
		for _, w := range words(req.Query) {
			if strings.Contains(d, w) {
				score += 0.5
			}
		}
		out.Results = append(out.Results, openai.RerankResult{Index: i, Document: openai.RerankDocument{Text: d}, RelevanceScore: score})
	}
	out.Usage.TotalTokens = len(req.Documents)
	return out, nil
}

// predictor is a plain v1/v2 model, which the OpenAI routes do not serve.
type predictor struct{ base }

func (m *predictor) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return &infer.Response{Body: map[string]any{"predictions": []int{1}}}, nil
}

// oaiErr is the body of an error the OpenAI routes answer: OpenAI's
// envelope around KServe's message, which OpenAI's Go SDK reads (KServe's
// {"error": "<message>"} it cannot).
func oaiErr(code int, typ, message string) string {
	return fmt.Sprintf(`{"error":{"code":"%d","message":%q,"param":"","type":%q}}`, code, message, typ)
}

// start serves models with the default configuration changed by cfg.
func start(t *testing.T, cfg func(*config.Config), models ...runtime.Model) *runtimetest.Server {
	t.Helper()
	opts := []runtimetest.Option{runtimetest.WithLogOutput(io.Discard, io.Discard), runtimetest.WithConfig(func(c *config.Config) {
		c.EnableGRPC = false
		if cfg != nil {
			cfg(c)
		}
	})}
	return runtimetest.StartModels(t, models, opts...)
}

func post(t *testing.T, url, body string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

var (
	idRE      = regexp.MustCompile(`"id":"(cmpl|chatcmpl|embd|rerank)-[0-9a-f]{32}"`)
	createdRE = regexp.MustCompile(`"created":[0-9]{10}`)
)

// norm replaces the random id and the time the server stamps with ID and
// 0, after checking their form.
func norm(t *testing.T, body string) string {
	t.Helper()
	body = idRE.ReplaceAllString(body, `"id":"$1-ID"`)
	return createdRE.ReplaceAllString(body, `"created":0`)
}

func TestChatCompletion(t *testing.T) {
	m := &echo{base: base{name: "echo"}}
	srv := start(t, nil, m)
	code, hdr, body := post(t, srv.URL+"/openai/v1/chat/completions",
		`{"model":"echo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hello "},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"world"}]}],"temperature":0.5,"max_tokens":8,"stop":"x","top_k":5}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, `{"id":"chatcmpl-ID","object":"chat.completion","created":0,"model":"echo","choices":[{"index":0,"message":{"role":"assistant","content":"hello world","refusal":null,"annotations":null,"audio":null,"function_call":null,"tool_calls":[],"reasoning_content":null},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":2,"total_tokens":4,"completion_tokens":2,"prompt_tokens_details":null},"prompt_logprobs":null,"kv_transfer_params":null}`, norm(t, body))
	req := m.last.Load()
	require.NotNil(t, req)
	assert.Equal(t, 0.5, *req.Temperature)
	assert.Equal(t, 8, *req.MaxTokens)
	assert.Equal(t, openai.Strings{"x"}, req.Stop)
	assert.Equal(t, map[string]json.RawMessage{"top_k": json.RawMessage("5")}, req.Extra, "an undeclared field reaches the model")
	assert.Equal(t, "data:,", req.Messages[1].Content.Parts[1].ImageURL.URL)
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
}

// readEvents reads server-sent events as they arrive, calling each with
// the event's data; it stops after [DONE] and checks the stream ends there.
func readEvents(t *testing.T, r io.Reader, each func(data string)) {
	t.Helper()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "the stream ended before data: [DONE]")
		data, ok := strings.CutPrefix(line, "data: ")
		require.True(t, ok, "an event line: %q", line)
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "\n", blank, "events end with a blank line")
		data = strings.TrimSuffix(data, "\n")
		each(data)
		if data == "[DONE]" {
			_, err := br.ReadByte()
			assert.ErrorIs(t, err, io.EOF, "nothing after [DONE]")
			return
		}
	}
}

// gated streams one chunk per word, each only once the test has read the
// one before from the wire: a server that did not flush every chunk
// would leave the test waiting for it, and fail.
type gated struct {
	base
	read chan struct{}
	gone chan error // the model's ctx error, once the client has gone
}

func (m *gated) ChatCompleteStream(ctx context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		for _, w := range words(lastUser(req.Messages)) {
			if !yield(&openai.ChatCompletionChunk{ID: "chatcmpl-fixed", Created: 7, Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: ptr(w)}}}}, nil) {
				m.gone <- ctx.Err()
				return
			}
			select {
			case <-m.read:
			case <-ctx.Done():
				m.gone <- ctx.Err()
				return
			}
		}
	}
}

func TestChatStream_ChunksFlushedOneByOne(t *testing.T) {
	m := &gated{base: base{name: "gated"}, read: make(chan struct{}), gone: make(chan error, 1)}
	srv := start(t, nil, m)
	// Without a flush per chunk the client and the model would wait for
	// each other: the client's timeout turns that into a failure.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(srv.URL+"/openai/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gated","messages":[{"role":"user","content":"one two three"}],"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	var got []string
	readEvents(t, resp.Body, func(data string) {
		got = append(got, data)
		if data != "[DONE]" {
			m.read <- struct{}{} // the model may send the next chunk
		}
	})
	assert.Equal(t, []string{
		`{"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":7,"model":"gated","choices":[{"index":0,"delta":{"role":null,"content":"one","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`,
		`{"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":7,"model":"gated","choices":[{"index":0,"delta":{"role":null,"content":"two","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`,
		`{"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":7,"model":"gated","choices":[{"index":0,"delta":{"role":null,"content":"three","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`,
		`[DONE]`,
	}, got)
}

func TestChatStream_ClientGoneCancelsModel(t *testing.T) {
	m := &gated{base: base{name: "gated"}, read: make(chan struct{}), gone: make(chan error, 1)}
	srv := start(t, nil, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/openai/v1/chat/completions",
		strings.NewReader(`{"model":"gated","messages":[{"role":"user","content":"one two"}],"stream":true}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, `"content":"one"`)
	cancel() // the client goes away while the model waits to send "two"
	resp.Body.Close()
	select {
	case err := <-m.gone:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("the model's context was not cancelled when its client went away")
	}
}

func TestChatStream_Echo(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}})
	code, hdr, body := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"hi there"}],"stream":true}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/event-stream; charset=utf-8", hdr.Get("Content-Type"))
	// vLLM's ChatCompletionStreamResponse written whole, as KServe's own
	// models write their chunks (model_dump_json).
	want := `data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"echo","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"echo","choices":[{"index":0,"delta":{"role":null,"content":"hi ","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"echo","choices":[{"index":0,"delta":{"role":null,"content":"there ","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"echo","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":null}` + "\n\n" +
		"data: [DONE]\n\n"
	assert.Equal(t, want, norm(t, body))
	ids := idRE.FindAllString(body, -1)
	require.Len(t, ids, 4)
	for _, id := range ids {
		assert.Equal(t, ids[0], id, "one id for every chunk of a stream")
	}
}

func TestCompletions(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}})
	code, _, body := post(t, srv.URL+"/openai/v1/completions", `{"model":"echo","prompt":"say this","max_tokens":4}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"id":"cmpl-ID","object":"text_completion","created":0,"model":"echo","choices":[{"index":0,"text":"say this","logprobs":null,"finish_reason":"stop","stop_reason":null,"prompt_logprobs":null}],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":2,"total_tokens":4,"completion_tokens":2,"prompt_tokens_details":null},"kv_transfer_params":null}`, norm(t, body))

	code, hdr, body := post(t, srv.URL+"/openai/v1/completions", `{"model":"echo","prompt":["a b"],"stream":true,"stream_options":{"include_usage":true}}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/event-stream; charset=utf-8", hdr.Get("Content-Type"))
	assert.Equal(t, `data: {"id":"cmpl-ID","object":"text_completion","created":0,"model":"echo","choices":[{"index":0,"text":"a ","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`+"\n\n"+
		`data: {"id":"cmpl-ID","object":"text_completion","created":0,"model":"echo","choices":[{"index":0,"text":"b ","logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":null}`+"\n\n"+
		`data: {"id":"cmpl-ID","object":"text_completion","created":0,"model":"echo","choices":[],"usage":{"prompt_tokens":2,"total_tokens":4,"completion_tokens":2,"prompt_tokens_details":null}}`+"\n\n"+
		"data: [DONE]\n\n", norm(t, body))
}

func TestEmbeddings_ModelWithOnlyEmbeddings(t *testing.T) {
	srv := start(t, nil, &embedder{base: base{name: "emb"}})
	code, _, body := post(t, srv.URL+"/openai/v1/embeddings", `{"model":"emb","input":["ab","c"]}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"id":"embd-ID","object":"list","created":0,"model":"emb","data":[{"index":0,"object":"embedding","embedding":[2.0,24.25]},{"index":1,"object":"embedding","embedding":[1.0,24.75]}],"usage":{"prompt_tokens":2,"total_tokens":2,"completion_tokens":0,"prompt_tokens_details":null}}`, norm(t, body))

	// base64: the little-endian float32s [1, 24.75].
	code, _, body = post(t, srv.URL+"/openai/v1/embeddings", `{"model":"emb","input":"c","encoding_format":"base64"}`)
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"data":[{"index":0,"object":"embedding","embedding":"AACAPwAAxkE="}]`)

	code, _, body = post(t, srv.URL+"/openai/v1/embeddings", `{"model":"emb","input":"c","encoding_format":"int8"}`)
	assert.Equal(t, 422, code)
	assert.Equal(t, `{"detail":[{"type":"literal_error","loc":["body","encoding_format"],"msg":"Input should be 'float' or 'base64'","input":"int8","ctx":{"expected":"'float' or 'base64'"}}]}`, body)

	// The generative APIs are KServe's 400 for an encoder model.
	code, hdr, body := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"emb","messages":[{"role":"user","content":"x"}]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, `{"error":{"code":"400","message":"Model emb does not support Chat Completion API","param":"","type":"BadRequestError"}}`, body)
	_, _, body = post(t, srv.URL+"/openai/v1/completions", `{"model":"emb","prompt":"x"}`)
	assert.Equal(t, `{"error":{"code":"400","message":"Model emb does not support Completions API","param":"","type":"BadRequestError"}}`, body)
	_, _, body = post(t, srv.URL+"/openai/v1/rerank", `{"model":"emb","query":"x","documents":["y"]}`)
	assert.Equal(t, `{"error":{"code":"400","message":"Model emb does not support Rerank API","param":"","type":"BadRequestError"}}`, body)

	// KServe's own routes list it and probe it; inference is KServe's
	// ValueError for a model that is no InferenceModel.
	code, body = get(t, srv.URL+"/v1/models")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"models":["emb"]}`, body)
	code, _ = get(t, srv.URL+"/v2/models/emb/ready")
	assert.Equal(t, 200, code)
	code, _, body = post(t, srv.URL+"/v1/models/emb:predict", `{"instances":[1]}`)
	assert.Equal(t, 500, code)
	assert.Equal(t, `{"error":"ValueError : Model of type embedder does not support inference"}`, body)
}

func TestRerank(t *testing.T) {
	srv := start(t, nil, &ranker{base: base{name: "rank"}})
	code, _, body := post(t, srv.URL+"/openai/v1/rerank", `{"model":"rank","query":"red car","documents":["a red car","a blue car","a tree"]}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"id":"rerank-ID","model":"rank","usage":{"total_tokens":3},"results":[{"index":0,"document":{"text":"a red car","multi_modal":null},"relevance_score":1.0},{"index":1,"document":{"text":"a blue car","multi_modal":null},"relevance_score":0.5},{"index":2,"document":{"text":"a tree","multi_modal":null},"relevance_score":0.0}]}`, norm(t, body))
	code, _, body = post(t, srv.URL+"/openai/v1/rerank", `{"model":"rank","query":"x"}`)
	assert.Equal(t, 422, code)
	assert.Equal(t, `{"detail":[{"type":"missing","loc":["body","documents"],"msg":"Field required","input":{"model":"rank","query":"x"}}]}`, body)
}

func TestModels(t *testing.T) {
	before := time.Now().Unix()
	slow := &echo{base: base{name: "slow", notReady: true}}
	srv := start(t, nil, &echo{base: base{name: "echo"}}, &predictor{base: base{name: "plain"}}, slow)
	after := time.Now().Unix()
	code, body := get(t, srv.URL+"/openai/v1/models")
	assert.Equal(t, 200, code)
	var list struct {
		Data []struct{ Created int64 } `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Data, 2)
	assert.True(t, list.Data[0].Created >= before && list.Data[0].Created <= after, "created is the server's start")
	assert.Equal(t, `{"object":"list","data":[{"id":"echo","object":"model","created":0,"owned_by":"","root":null,"parent":null,"max_model_len":null,"permission":[]},{"id":"slow","object":"model","created":0,"owned_by":"","root":null,"parent":null,"max_model_len":null,"permission":[]}]}`, norm(t, body),
		"the OpenAI models only, ready or not")

	code, body = get(t, srv.URL+"/openai/v1/models/echo")
	assert.Equal(t, 200, code)
	assert.Equal(t, "null", body)
	for _, name := range []string{"slow", "plain", "nope"} {
		code, body = get(t, srv.URL+"/openai/v1/models/"+name)
		assert.Equal(t, 503, code, name)
		assert.Equal(t, oaiErr(503, "InternalServerError", "Model with name "+name+" is not ready."), body, name)
	}
	code, body = get(t, srv.URL+"/v1/models")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"models":["echo","plain","slow"]}`, body)
	code, body = get(t, srv.URL+"/v2/health/ready")
	assert.Equal(t, 503, code, "a not-ready OpenAI model holds the server back like any other")
	assert.Contains(t, body, "Model with name slow is not ready.")
}

func TestErrors(t *testing.T) {
	slow := &echo{base: base{name: "slow", notReady: true}}
	srv := start(t, nil, &echo{base: base{name: "echo"}}, &predictor{base: base{name: "plain"}}, slow, &failing{base: base{name: "fail"}})
	chat := srv.URL + "/openai/v1/chat/completions"
	for _, tc := range []struct {
		name, url, body string
		code            int
		want            string
	}{
		{"unknown model", chat, `{"model":"nope","messages":[]}`, 404, oaiErr(404, "NotFoundError", "Model with name nope does not exist.")},
		{"not an OpenAI model", chat, `{"model":"plain","messages":[]}`, 404, oaiErr(404, "NotFoundError", "Model with name plain does not exist.")},
		{"no model", chat, `{"messages":[]}`, 404, oaiErr(404, "NotFoundError", "Model with name None does not exist.")},
		{"not ready", chat, `{"model":"slow","messages":[]}`, 503, oaiErr(503, "InternalServerError", "Model with name slow is not ready.")},
		{"no messages", chat, `{"model":"echo"}`, 422, `{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{"model":"echo"}}]}`},
		{"no body", chat, ``, 422, `{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"not an object", chat, `[1]`, 422, `{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1]}]}`},
		{"wrong type", chat, `{"model":"echo","messages":[],"temperature":"hot"}`, 422, `{"detail":[{"type":"float_type","loc":["body","temperature"],"msg":"Input should be a valid number","input":"hot"}]}`},
		{"no prompt", srv.URL + "/openai/v1/completions", `{"model":"echo"}`, 422, `{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{"model":"echo"}}]}`},
		{"model's OpenAI error", chat, `{"model":"fail","messages":[{"role":"user","content":"openai"}]}`, 429, `{"error":{"code":"429","message":"too many tokens","param":"max_tokens","type":"RateLimitError"}}`},
		{"model's error", chat, `{"model":"fail","messages":[{"role":"user","content":"plain"}]}`, 500, oaiErr(500, "InternalServerError", "Error : boom")},
		{"model's panic", chat, `{"model":"fail","messages":[{"role":"user","content":"panic"}]}`, 500, oaiErr(500, "InternalServerError", "panic : oops")},
		{"stream error before any chunk", chat, `{"model":"fail","stream":true,"messages":[{"role":"user","content":"early"}]}`, 400, oaiErr(400, "BadRequestError", "bad prompt")},
		{"no streaming", srv.URL + "/openai/v1/completions", `{"model":"fail","prompt":"x","stream":true}`, 400, `{"error":{"code":"400","message":"Model fail does not support streaming Completions API","param":"","type":"BadRequestError"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := post(t, tc.url, tc.body)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.want, body)
		})
	}
	code, body := get(t, chat)
	assert.Equal(t, 405, code)
	assert.Equal(t, `{"detail":"Method Not Allowed"}`, body)
}

// failing fails as its last user message says.
type failing struct{ base }

func (m *failing) Complete(context.Context, *openai.CompletionRequest) (*openai.Completion, error) {
	return nil, errors.New("unused")
}

func (m *failing) ChatComplete(_ context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	switch lastUser(req.Messages) {
	case "openai":
		return nil, &openai.Error{Code: 429, Type: "RateLimitError", Param: "max_tokens", Message: "too many tokens"}
	case "panic":
		panic("oops")
	}
	return nil, errors.New("boom")
}

func (m *failing) ChatCompleteStream(_ context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		if lastUser(req.Messages) == "early" {
			yield(nil, runtime.InvalidInput("bad prompt"))
			return
		}
		if !yield(&openai.ChatCompletionChunk{ID: "chatcmpl-1", Created: 1, Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: ptr("partial")}}}}, nil) {
			return
		}
		yield(nil, errors.New("engine died"))
	}
}

func TestStream_ErrorAfterFirstChunk(t *testing.T) {
	var logs syncBuffer
	srv := runtimetest.StartModels(t, []runtime.Model{&failing{base: base{name: "fail"}}},
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(newLogger(&logs))),
		runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }))
	code, _, body := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"fail","stream":true,"messages":[{"role":"user","content":"late"}]}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fail","choices":[{"index":0,"delta":{"role":null,"content":"partial","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`+"\n\n"+
		`data: {"error":{"code":"500","message":"Error : engine died","param":"","type":"InternalServerError"}}`+"\n\n"+
		"data: [DONE]\n\n", body)
	assert.Contains(t, logs.String(), "Exception: engine died")
}

func TestRoutePrefixFromEnvironment(t *testing.T) {
	env := map[string]string{"KSERVE_OPENAI_ROUTE_PREFIX": "llm"}
	cfg, err := config.NewParser("srv").Parse(nil, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "/llm", cfg.OpenAIRoutePrefix, "a leading / is added, as KServe adds it")
	srv := start(t, func(c *config.Config) { c.OpenAIRoutePrefix = cfg.OpenAIRoutePrefix }, &echo{base: base{name: "echo"}})
	code, _ := get(t, srv.URL+"/llm/v1/models")
	assert.Equal(t, 200, code)
	code, body := get(t, srv.URL+"/openai/v1/models")
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"detail":"Not Found"}`, body)

	env["KSERVE_OPENAI_ROUTE_PREFIX"] = "/llm/"
	p := config.NewParser("srv")
	var out bytes.Buffer
	p.FlagSet().SetOutput(&out)
	_, err = p.Parse(nil, func(k string) string { return env[k] })
	require.ErrorIs(t, err, config.ErrUsage)
	assert.Contains(t, out.String(), "srv: error: argument environment variable KSERVE_OPENAI_ROUTE_PREFIX: '/llm/': a path prefix must not end with '/' nor hold '{', '}', '?', '#' or blanks")
}

// KSERVE_OPENAI_ROUTE_PREFIX set empty serves the routes at /v1/..., where
// OpenAI's clients find them with the base URL http://host/v1. GET
// /v1/models and /v1/models/{name} stay KServe's v1 model list and
// readiness: KServe registers its v1 routes before the OpenAI router, and
// Starlette takes the first route that matches.
func TestRoutePrefixEmpty_RoutesAtV1(t *testing.T) {
	cfg, err := config.NewParser("srv").ParseLookup(nil, func(k string) (string, bool) {
		return "", k == "KSERVE_OPENAI_ROUTE_PREFIX"
	})
	require.NoError(t, err)
	require.Equal(t, "", cfg.OpenAIRoutePrefix)
	srv := start(t, func(c *config.Config) { c.OpenAIRoutePrefix = cfg.OpenAIRoutePrefix }, &echo{base: base{name: "echo"}})

	code, _, body := post(t, srv.URL+"/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"hello there"}]}`)
	assert.Equal(t, 200, code, body)
	assert.Contains(t, body, `"object":"chat.completion"`)
	assert.Contains(t, body, `"content":"hello there"`)
	code, _, body = post(t, srv.URL+"/v1/completions", `{"model":"echo","prompt":"hi"}`)
	assert.Equal(t, 200, code, body)
	assert.Contains(t, body, `"object":"text_completion"`)

	code, body = get(t, srv.URL+"/v1/models")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"models":["echo"]}`, body, "KServe's v1 model list, which OpenAI's clients cannot read")
	code, body = get(t, srv.URL+"/v1/models/echo")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"name":"echo","ready":true}`, body, "KServe's v1 model readiness")
	code, body = get(t, srv.URL+"/v1/models/nope")
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"error":"Model with name nope does not exist."}`, body)

	// Starlette's answers for the other methods and paths.
	code, body = get(t, srv.URL+"/v1/chat/completions")
	assert.Equal(t, 405, code)
	assert.Equal(t, `{"detail":"Method Not Allowed"}`, body)
	code, body = get(t, srv.URL+"/v1/nothing")
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"detail":"Not Found"}`, body)
	code, _, body = post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"echo","messages":[]}`)
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"detail":"Not Found"}`, body)
}

// A WithHandler route on one of the OpenAI paths is refused, and one
// under /v1/ still is when the OpenAI routes sit there.
func TestRoutes_ConflictingHandlerRefused(t *testing.T) {
	for prefix, tc := range map[string]struct{ pattern, want string }{
		"/openai": {"POST /openai/v1/completions", `OpenAI routes under KSERVE_OPENAI_ROUTE_PREFIX "/openai": WithHandler("POST /openai/v1/completions"): pattern "POST /openai/v1/completions" (registered at `},
		"":        {"POST /v1/completions", `WithHandler("POST /v1/completions"): /v1/completions is one of KServe's paths, which the server keeps serving`},
	} {
		cfg := config.Default()
		cfg.EnableGRPC = false
		cfg.OpenAIRoutePrefix = prefix
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard),
			runtime.WithHandler(tc.pattern, http.NotFoundHandler()))
		err = srv.Run(context.Background(), &echo{base: base{name: "echo"}})
		ln.Close()
		require.Error(t, err, prefix)
		assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%q: %v", prefix, err)
	}
}

func TestNoOpenAIModel_NoRoutes(t *testing.T) {
	srv := start(t, nil, &predictor{base: base{name: "plain"}})
	code, body := get(t, srv.URL+"/openai/v1/models")
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"detail":"Not Found"}`, body)
}

func TestRun_RefusesModelWithoutAnyAPI(t *testing.T) {
	srv := runtime.NewServer(config.Default(), runtime.WithLogOutput(io.Discard, io.Discard))
	err := srv.Run(context.Background(), &base{name: "bare"})
	require.EqualError(t, err, `model "bare" (*openai_test.base) implements neither Predict nor any of package openai's interfaces nor timeseries.Forecaster`)
}

func TestAccessLogAndOpenAPI(t *testing.T) {
	var access syncBuffer
	srv := runtimetest.StartModels(t, []runtime.Model{&echo{base: base{name: "echo"}}},
		runtimetest.WithLogOutput(&access, &access),
		runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }))
	code, _, _ := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, 200, code)
	require.NoError(t, srv.Stop()) // every line written
	assert.Contains(t, access.String(), `"POST /openai/v1/chat/completions HTTP/1.1" 200`)

	srv = start(t, nil, &echo{base: base{name: "echo"}})
	code, body := get(t, srv.URL+"/openapi.json")
	require.Equal(t, 200, code)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	for path, method := range map[string]string{
		"/openai/v1/completions": "post", "/openai/v1/chat/completions": "post", "/openai/v1/embeddings": "post",
		"/openai/v1/rerank": "post", "/openai/v1/models": "get", "/openai/v1/models/{model_name}": "get",
	} {
		assert.Contains(t, doc.Paths[path], method, path)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// headered sets response headers: from the request's own (X-Tenant), and,
// streaming, one before its first chunk and one after.
type headered struct{ base }

func (m *headered) ChatComplete(_ context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	req.ResponseHeader.Set("X-Tenant-Echo", req.Header.Get("X-Tenant"))
	req.ResponseHeader.Add("Set-Cookie", "a=1")
	req.ResponseHeader.Add("Set-Cookie", "b=2")
	req.ResponseHeader.Set("Content-Type", "text/plain")    // the server's stays
	req.ResponseHeader.Set("Content-Length", "1")           // recomputed
	req.ResponseHeader.Set("X-Control", "bad\r\nX-Evil: 1") // cleaned, not split
	if lastUser(req.Messages) == "fail" {
		return nil, errors.New("boom")
	}
	return &openai.ChatCompletion{Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: "ok"}}}}}, nil
}

func (m *headered) ChatCompleteStream(_ context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	req.ResponseHeader.Set("X-Opened", "1")
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		req.ResponseHeader.Set("X-Early", "before the first chunk")
		if lastUser(req.Messages) == "fail" {
			yield(nil, errors.New("boom"))
			return
		}
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: ptr("a")}}}}, nil) {
			return
		}
		req.ResponseHeader.Set("X-Late", "after it")
		yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: ptr("b")}}}}, nil)
	}
}

// A model's response headers reach the client with a plain answer and with
// a stream (those set before its first chunk), not with an error answer.
func TestResponseHeaders(t *testing.T) {
	srv := start(t, nil, &headered{base: base{name: "h"}})
	send := func(body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("POST", srv.URL+"/openai/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant", "acme")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	resp, body := send(`{"model":"h","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, []string{"acme"}, resp.Header.Values("X-Tenant-Echo"))
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie"))
	assert.Equal(t, []string{"application/json"}, resp.Header.Values("Content-Type"))
	assert.Equal(t, fmt.Sprint(len(body)), resp.Header.Get("Content-Length"))
	assert.Equal(t, []string{"bad  X-Evil: 1"}, resp.Header.Values("X-Control"))
	assert.Empty(t, resp.Header.Values("X-Evil"))

	resp, body = send(`{"model":"h","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "1", resp.Header.Get("X-Opened"))
	assert.Equal(t, "before the first chunk", resp.Header.Get("X-Early"))
	assert.Empty(t, resp.Header.Values("X-Late"), "set after the first chunk: the header block had gone")
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, 2, strings.Count(body, `"delta":{`), body)

	for _, body := range []string{
		`{"model":"h","messages":[{"role":"user","content":"fail"}]}`,
		`{"model":"h","stream":true,"messages":[{"role":"user","content":"fail"}]}`,
	} {
		resp, got := send(body)
		assert.Equal(t, 500, resp.StatusCode, got)
		assert.Equal(t, `{"error":{"code":"500","message":"Error : boom","param":"","type":"InternalServerError"}}`, got)
		assert.Empty(t, resp.Header.Values("X-Tenant-Echo"), body)
		assert.Empty(t, resp.Header.Values("X-Early"), body)
	}
}

// full sets every field of vLLM's answers, or leaves a list nil.
type full struct{ base }

func (m *full) ChatComplete(context.Context, *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	return &openai.ChatCompletion{
		ID: "chatcmpl-x", Created: 5,
		Choices: []openai.ChatChoice{{
			Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: "t"}, Refusal: ptr("no"),
				Annotations: json.RawMessage(`{"type":"url_citation"}`), Audio: json.RawMessage(`{"id":"a"}`),
				FunctionCall:     json.RawMessage(`{"name":"f","arguments":"{}"}`),
				ToolCalls:        json.RawMessage(`[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]`),
				ReasoningContent: ptr("because")},
			Logprobs: json.RawMessage(`{"content":[]}`), FinishReason: ptr("stop"), StopReason: "\n"}},
		ServiceTier: ptr("default"), SystemFingerprint: ptr("fp"),
		Usage:          openai.Usage{PromptTokens: 3, TotalTokens: 4, CompletionTokens: 1, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: ptr(2)}},
		PromptLogprobs: json.RawMessage(`[null]`), KVTransferParams: json.RawMessage(`{"k":1}`),
	}, nil
}

func (m *full) Complete(context.Context, *openai.CompletionRequest) (*openai.Completion, error) {
	return &openai.Completion{ID: "cmpl-x", Created: 5, SystemFingerprint: ptr("fp")}, nil
}

func (m *full) CompleteStream(context.Context, *openai.CompletionRequest) iter.Seq2[*openai.CompletionChunk, error] {
	return func(yield func(*openai.CompletionChunk, error) bool) {
		yield(&openai.CompletionChunk{ID: "cmpl-x", Created: 5, Choices: []openai.CompletionChoice{{Text: "t", FinishReason: ptr("stop"), StopReason: 7, PromptLogprobs: json.RawMessage(`[null]`)}}}, nil)
	}
}

func (m *full) ChatCompleteStream(context.Context, *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		if !yield(&openai.ChatCompletionChunk{ID: "chatcmpl-x", Created: 5, Choices: []openai.ChatChunkChoice{{
			Delta:        openai.ChatDelta{ReasoningContent: ptr("hm"), ToolCalls: json.RawMessage(`[{"index":0,"function":{"arguments":"{"}}]`)},
			FinishReason: ptr("tool_calls"), StopReason: nil}}}, nil) {
			return
		}
		yield(&openai.ChatCompletionChunk{ID: "chatcmpl-x", Created: 5, Usage: &openai.Usage{PromptTokens: 1, TotalTokens: 1}}, nil)
	}
}

// Every answer carries vLLM's fields in vLLM's order, the model's values
// where it set them, and a list the model left nil as [].
func TestAnswers_EveryFieldInVLLMOrder(t *testing.T) {
	srv := start(t, nil, &full{base: base{name: "full"}})
	_, _, body := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"full","messages":[{"role":"user","content":"x"}]}`)
	assert.Equal(t, `{"id":"chatcmpl-x","object":"chat.completion","created":5,"model":"full","choices":[{"index":0,"message":{"role":"assistant","content":"t","refusal":"no","annotations":{"type":"url_citation"},"audio":{"id":"a"},"function_call":{"name":"f","arguments":"{}"},"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}],"reasoning_content":"because"},"logprobs":{"content":[]},"finish_reason":"stop","stop_reason":"\n"}],"service_tier":"default","system_fingerprint":"fp","usage":{"prompt_tokens":3,"total_tokens":4,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":2}},"prompt_logprobs":[null],"kv_transfer_params":{"k":1}}`, body)
	_, _, body = post(t, srv.URL+"/openai/v1/completions", `{"model":"full","prompt":"x"}`)
	assert.Equal(t, `{"id":"cmpl-x","object":"text_completion","created":5,"model":"full","choices":[],"service_tier":null,"system_fingerprint":"fp","usage":{"prompt_tokens":0,"total_tokens":0,"completion_tokens":0,"prompt_tokens_details":null},"kv_transfer_params":null}`, body)
	_, _, body = post(t, srv.URL+"/openai/v1/completions", `{"model":"full","prompt":"x","stream":true}`)
	assert.Equal(t, `data: {"id":"cmpl-x","object":"text_completion","created":5,"model":"full","choices":[{"index":0,"text":"t","logprobs":null,"finish_reason":"stop","stop_reason":7}],"usage":null}`+"\n\ndata: [DONE]\n\n", body,
		"a stream's choices have no prompt_logprobs")
	_, _, body = post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"full","messages":[{"role":"user","content":"x"}],"stream":true}`)
	assert.Equal(t, `data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":5,"model":"full","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":"hm","tool_calls":[{"index":0,"function":{"arguments":"{"}}]},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}],"usage":null}`+"\n\n"+
		`data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":5,"model":"full","choices":[],"usage":{"prompt_tokens":1,"total_tokens":1,"completion_tokens":0,"prompt_tokens_details":null}}`+"\n\ndata: [DONE]\n\n", body)
}

// A request's message encodes as it came, without the answer's nulls: a
// model that forwards the messages upstream sends what the client sent.
func TestChatMessage_RequestFormKept(t *testing.T) {
	in := `{"role":"assistant","content":"x","refusal":"no","reasoning_content":"r"}`
	var m openai.ChatMessage
	require.NoError(t, json.Unmarshal([]byte(in), &m))
	assert.Equal(t, "no", *m.Refusal)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.Equal(t, in, string(b))
}

// Answers write <, > and & as they are, as KServe and vLLM do: a reasoning
// model's <think> tags reach a stream's reader as tags, not \u003cthink\u003e.
func TestAnswers_NoHTMLEscaping(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}})
	code, _, body := post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"<think>a && b</think>"}]}`)
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"content":"<think>a && b</think>"`)
	code, _, body = post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"<think>a && b</think>"}],"stream":true}`)
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"content":"<think>a "`)
	assert.Contains(t, body, `"content":"&& "`)
	assert.NotContains(t, body, `\u00`)
	code, _, body = post(t, srv.URL+"/openai/v1/chat/completions", `{"model":"<none>","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, 404, code)
	assert.Contains(t, body, `"message":"Model with name <none> does not exist."`)
}
