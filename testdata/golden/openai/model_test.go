package main

import (
	"bufio"
	"fmt"
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
	chatWant = `{"id":"chatcmpl-ID","object":"chat.completion","created":0,"model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from kserve-gen"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"total_tokens":6,"completion_tokens":3}}`
	// A chunk of a streamed chat, its choice's delta and finish reason.
	chunkWant = `{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"chat","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]}`
)

// stamps are what the server fills in every answer: the id (one per
// request, shared by a stream's chunks) and "created".
var stamps = regexp.MustCompile(`"id":"(cmpl|chatcmpl)-[0-9a-f]{32}"|"created":[0-9]+`)

// stamped is body with its id and created written as ID and 0, and the
// ids it had.
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
	return out, ids
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
	resp, err := http.Post(srv.URL+"/openai/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"chat","messages":[{"role":"user","content":"Hello from kserve-gen"}],"stream":true}`))
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
	chunk := func(delta, finish string) string { return fmt.Sprintf(chunkWant, delta, finish) }
	want := []string{
		chunk(`{"role":"assistant","content":""}`, "null"),
		chunk(`{"content":"Hello"}`, "null"),
		chunk(`{"content":" from"}`, "null"),
		chunk(`{"content":" kserve-gen"}`, "null"),
		chunk(`{}`, `"stop"`),
		"[DONE]",
	}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("chunk ids %v, want one id for the whole stream", ids)
			break
		}
	}
}

// TestCompletion cuts a completion at max_tokens: finish reason "length".
func TestCompletion(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	resp := srv.PostJSON(t, "/openai/v1/completions", `{"model":"chat","prompt":"Hello from kserve-gen","max_tokens":2}`)
	want := `{"id":"cmpl-ID","object":"text_completion","created":0,"model":"chat","choices":[{"index":0,"text":"Hello from","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}`
	if got, _ := stamped(resp.Body); resp.Code != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestModels lists the model as OpenAI's clients.models.list() reads it.
func TestModels(t *testing.T) {
	srv := runtimetest.Start(t, NewChat("chat"))
	resp := srv.Get(t, "/openai/v1/models")
	want := `{"object":"list","data":[{"id":"chat","object":"model","created":0,"owned_by":"","root":null,"parent":null,"max_model_len":null,"permission":[]}]}`
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
