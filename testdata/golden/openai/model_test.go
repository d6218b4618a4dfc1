package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The stand-in model's answers: the server stamps each with a fresh id
// and the time, which stamped (below) writes as ID and 0.
const (
	chatWant = `{"id":"chatcmpl-ID","object":"chat.completion","created":0,"model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from kserve-gen"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"total_tokens":6,"completion_tokens":3}}`
	// A chunk of a streamed chat: its choice's index, delta and finish
	// reason (none until the choice's last chunk).
	chunkWant = `{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"chat","choices":[{"index":%d,"delta":%s%s}]}`
)

// chunkOf is chunkWant for choice index with delta and, when not "", the
// finish reason.
func chunkOf(index int, delta, finish string) string {
	if finish != "" {
		finish = `,"finish_reason":"` + finish + `"`
	}
	return fmt.Sprintf(chunkWant, index, delta, finish)
}

// stamps are what the server fills in every answer: the id (one per
// request, shared by a stream's chunks) and "created".
var stamps = regexp.MustCompile(`"id":"(cmpl|chatcmpl|embd)-[0-9a-f]{32}"|"created":[0-9]+`)

// unset matches a field without a value (null, or an empty list), after
// the comma before it or, first in its object, with the comma after it.
var unset = regexp.MustCompile(`,"[a-z_]+":(null|\[\])|"[a-z_]+":(null|\[\]),?`)

// stamped is body with its id and created written as ID and 0, and the
// ids it had. Fields without a value are left out: the server writes
// every field vLLM writes, null or [] when the model leaves it unset
// (system_fingerprint, tool_calls, ...), and these tests are about what
// the model answers, not about the runtime's wire format.
func stamped(body string) (string, []string) {
	var ids []string
	out := stamps.ReplaceAllStringFunc(body, func(s string) string {
		if strings.HasPrefix(s, `"created"`) {
			return `"created":0`
		}
		ids = append(ids, s)
		prefix, _, _ := strings.Cut(s, "-")
		return prefix + `-ID"`
	})
	return unset.ReplaceAllString(out, ""), ids
}

// TestConformance runs the runtime's conformance kit against the model:
// health, readiness, KServe's error bodies, and the model on the OpenAI
// routes' model list. (It has no Predict, so v1 and v2 inference answer
// KServe's 500 "does not support inference", which the kit expects.)
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewChat("chat"))
}

// TestChat sends input.json the way the README's curl does.
func TestChat(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := runtimetest.Start(t, NewChat("chat"))
	resp := srv.Do(t, http.MethodPost, "/openai/v1/chat/completions", "application/json", body)
	if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != chatWant {
		t.Fatalf("POST input.json: got %d %s, want 200 %s", resp.Code, resp.Body, chatWant)
	}
}

// TestChatStream reads a streamed chat as OpenAI's clients do, event by
// event as the server sends them: the role, a chunk per token, the finish
// reason, then [DONE], all with one id.
func TestChatStream(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	events := stream(t, srv.URL+"/openai/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"Hello from kserve-gen"}],"stream":true}`)
	chunk := func(delta, finish string) string { return chunkOf(0, delta, finish) }
	want := []string{
		chunk(`{"role":"assistant","content":""}`, ""),
		chunk(`{"content":"Hello"}`, ""),
		chunk(`{"content":" from"}`, ""),
		chunk(`{"content":" kserve-gen"}`, ""),
		chunk(`{}`, "stop"),
		"[DONE]",
	}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
}

// stream posts body to url and reads the answer's server-sent events as
// they come, each with its id and created written as stamped writes them;
// it checks that the answer is an event stream and that every chunk has
// the stream's one id.
func stream(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("got %d %s, want 200 text/event-stream; charset=utf-8", resp.StatusCode, ct)
	}
	var events, ids []string
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if line == "" {
			continue // the blank line that ends an event
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data: event", line)
		}
		data, chunkIDs := stamped(data)
		events, ids = append(events, data), append(ids, chunkIDs...)
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("chunk ids %v, want one id for the whole stream", ids)
			break
		}
	}
	return events
}

// TestCompletion cuts a completion at max_tokens: finish reason "length".
func TestCompletion(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	resp := srv.PostJSON(t, "/openai/v1/completions", `{"model":"chat","prompt":"Hello from kserve-gen","max_tokens":2}`)
	want := `{"id":"cmpl-ID","object":"text_completion","created":0,"model":"chat","choices":[{"index":0,"text":"Hello from","finish_reason":"length"}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}`
	if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestChoices asks for n choices: n answers, indexed 0 to n-1 (for
// completions, n per prompt, numbered on across the prompts), the prompt
// counted once in the usage and every choice's tokens.
func TestChoices(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	tests := []struct {
		name, path, body, want string
	}{
		{"chat", "/openai/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"Hello from kserve-gen"}],"n":2,"max_tokens":2}`,
			`{"id":"chatcmpl-ID","object":"chat.completion","created":0,"model":"chat","choices":[` +
				`{"index":0,"message":{"role":"assistant","content":"Hello from"},"finish_reason":"length"},` +
				`{"index":1,"message":{"role":"assistant","content":"Hello from"},"finish_reason":"length"}],` +
				`"usage":{"prompt_tokens":3,"total_tokens":7,"completion_tokens":4}}`},
		{"completions of two prompts", "/openai/v1/completions", `{"model":"chat","prompt":["Hello from","kserve-gen"],"n":2}`,
			`{"id":"cmpl-ID","object":"text_completion","created":0,"model":"chat","choices":[` +
				`{"index":0,"text":"Hello from","finish_reason":"stop"},` +
				`{"index":1,"text":"Hello from","finish_reason":"stop"},` +
				`{"index":2,"text":"kserve-gen","finish_reason":"stop"},` +
				`{"index":3,"text":"kserve-gen","finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":3,"total_tokens":9,"completion_tokens":6}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, tt.path, tt.body)
			if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != tt.want {
				t.Errorf("got %d %s, want 200 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}

// TestChoicesStream streams two choices: each chunk names its choice by
// index, as OpenAI's clients read them: the role of each, then the tokens
// in turn, each choice's finish reason, and the usage of both.
func TestChoicesStream(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	events := stream(t, srv.URL+"/openai/v1/chat/completions",
		`{"model":"chat","messages":[{"role":"user","content":"Hello from kserve-gen"}],"n":2,"max_tokens":2,"stream":true,"stream_options":{"include_usage":true}}`)
	want := []string{
		chunkOf(0, `{"role":"assistant","content":""}`, ""),
		chunkOf(1, `{"role":"assistant","content":""}`, ""),
		chunkOf(0, `{"content":"Hello"}`, ""),
		chunkOf(1, `{"content":"Hello"}`, ""),
		chunkOf(0, `{"content":" from"}`, ""),
		chunkOf(1, `{"content":" from"}`, ""),
		chunkOf(0, `{}`, "length"),
		chunkOf(1, `{}`, "length"),
		`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"chat","usage":{"prompt_tokens":3,"total_tokens":7,"completion_tokens":4}}`,
		"[DONE]",
	}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
}

// embeddingWant is the answer for "Hello from kserve-gen": e 4 times;
// l, o and r twice; f, g, h, k, m, n, s and v once (length 6).
var embeddingWant = []float32{0, 0, 0, 0, 4. / 6, 1. / 6, 1. / 6, 1. / 6, 0, 0, 1. / 6, 2. / 6, 1. / 6, 1. / 6, 2. / 6, 0, 0, 2. / 6, 1. / 6, 0, 0, 1. / 6, 0, 0, 0, 0}

// TestEmbeddings embeds a text as the README's curl does, as numbers and
// as OpenAI's clients ask for it by default, base64: the little-endian
// float32s of the same vector.
func TestEmbeddings(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	answer := func(embedding string) string {
		return `{"id":"embd-ID","object":"list","created":0,"model":"chat","data":[{"index":0,"object":"embedding","embedding":` + embedding +
			`}],"usage":{"prompt_tokens":3,"total_tokens":3,"completion_tokens":0}}`
	}
	raw := make([]byte, 4*len(embeddingWant))
	for i, f := range embeddingWant {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	tests := []struct {
		name, body, want string
	}{
		{"float", `{"model":"chat","input":"Hello from kserve-gen"}`,
			answer(`[0.0,0.0,0.0,0.0,0.6666666865348816,0.1666666716337204,0.1666666716337204,0.1666666716337204,0.0,0.0,0.1666666716337204,0.3333333432674408,0.1666666716337204,0.1666666716337204,0.3333333432674408,0.0,0.0,0.3333333432674408,0.1666666716337204,0.0,0.0,0.1666666716337204,0.0,0.0,0.0,0.0]`)},
		{"base64", `{"model":"chat","input":"Hello from kserve-gen","encoding_format":"base64"}`,
			answer(`"` + base64.StdEncoding.EncodeToString(raw) + `"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, "/openai/v1/embeddings", tt.body)
			if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != tt.want {
				t.Errorf("got %d %s, want 200 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}

// TestModels lists the model as OpenAI's clients.models.list() reads it.
func TestModels(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	resp := srv.Get(t, "/openai/v1/models")
	want := `{"object":"list","data":[{"id":"chat","object":"model","created":0,"owned_by":""}]}`
	if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestBadRequests checks that a prompt the model refuses gets a 400 in
// OpenAI's error envelope, which OpenAI's clients raise as
// BadRequestError; streamed, too, as the refusal comes before any chunk.
func TestBadRequests(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	long := strings.Repeat("word ", 65)
	tests := []struct {
		name, path, body, want string
	}{
		{"over the context window", "/openai/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"` + long + `"}]}`,
			`{"error":{"code":"400","message":"This model's maximum context length is 64 tokens. However, you requested 65 tokens in the messages.","param":"messages","type":"BadRequestError"}}`},
		{"over the context window, streamed", "/openai/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"` + long + `"}],"stream":true}`,
			`{"error":{"code":"400","message":"This model's maximum context length is 64 tokens. However, you requested 65 tokens in the messages.","param":"messages","type":"BadRequestError"}}`},
		{"token ids", "/openai/v1/completions", `{"model":"chat","prompt":[1,2,3]}`,
			`{"error":{"code":"400","message":"this model takes text prompts, not token ids","param":"prompt","type":"BadRequestError"}}`},
		{"no choices", "/openai/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"Hello"}],"n":0}`,
			`{"error":{"code":"400","message":"n must be at least 1, got 0.","param":"n","type":"BadRequestError"}}`},
		{"no choices, streamed", "/openai/v1/completions", `{"model":"chat","prompt":"Hello","n":-1,"stream":true}`,
			`{"error":{"code":"400","message":"n must be at least 1, got -1.","param":"n","type":"BadRequestError"}}`},
		{"too many choices", "/openai/v1/completions", `{"model":"chat","prompt":"Hello","n":129}`,
			`{"error":{"code":"400","message":"n must be at most 128, got 129.","param":"n","type":"BadRequestError"}}`},
		{"embedding over the context window", "/openai/v1/embeddings", `{"model":"chat","input":["Hello","` + long + `"]}`,
			`{"error":{"code":"400","message":"This model's maximum context length is 64 tokens. However, you requested 65 tokens in the input for embedding generation. Please reduce the length of the input.","param":"input","type":"BadRequestError"}}`},
		{"embedding dimensions", "/openai/v1/embeddings", `{"model":"chat","input":"Hello","dimensions":8}`,
			`{"error":{"code":"400","message":"Model \"chat\" does not support matryoshka representation, changing output dimensions will lead to poor results.","param":"dimensions","type":"BadRequestError"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, tt.path, tt.body)
			if resp.Code != http.StatusBadRequest || resp.Body != tt.want {
				t.Errorf("got %d %s, want 400 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}

// TestInvalidBodies checks bodies the server refuses before the model sees
// them, with FastAPI's 422 as KServe answers one: an embeddings request
// without its input, and one whose encoding_format is neither float nor
// base64.
func TestInvalidBodies(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	tests := []struct {
		name, body, want string
	}{
		{"no input", `{"model":"chat"}`, `{"detail":[{"type":"missing","loc":["body","input"],"msg":"Field required","input":{"model":"chat"}}]}`},
		{"encoding_format", `{"model":"chat","input":"Hello","encoding_format":"hex"}`, `{"detail":[{"type":"literal_error","loc":["body","encoding_format"],"msg":"Input should be 'float' or 'base64'","input":"hex","ctx":{"expected":"'float' or 'base64'"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.PostJSON(t, "/openai/v1/embeddings", tt.body)
			if resp.Code != http.StatusUnprocessableEntity || resp.Body != tt.want {
				t.Errorf("got %d %s, want 422 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}
