package openai_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
)

// Echo is a chat model that answers the last message with itself: a
// stand-in for an LLM. It implements runtime.Model, openai.ChatCompleter
// and openai.ChatStreamer, and no Predict.
type Echo struct{}

func (Echo) Name() string               { return "echo" }
func (Echo) Load(context.Context) error { return nil }
func (Echo) Ready() bool                { return true }

func (Echo) ChatComplete(_ context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	text := req.Messages[len(req.Messages)-1].Content.String()
	stop := "stop"
	return &openai.ChatCompletion{
		// The server fills an empty ID and Created; fixed here for the
		// example's output.
		ID: "chatcmpl-1", Created: 1700000000,
		Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: text}}, FinishReason: &stop}},
	}, nil
}

// ChatCompleteStream sends the message back one word per chunk.
func (Echo) ChatCompleteStream(_ context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		for w := range strings.FieldsSeq(req.Messages[len(req.Messages)-1].Content.String()) {
			chunk := &openai.ChatCompletionChunk{ID: "chatcmpl-2", Created: 1700000000,
				Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: &w}}}}
			if !yield(chunk, nil) {
				return // the client has gone
			}
		}
	}
}

// A model that implements the package's interfaces is served on KServe's
// OpenAI-compatible routes under /openai/v1, where OpenAI's clients
// (base URL http://host/openai/v1) reach it.
func Example() {
	cfg := config.Default()
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, Echo{}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		panic(err)
	}
	url := "http://" + ln.Addr().String() + "/openai/v1/chat/completions"

	for _, body := range []string{
		`{"model":"echo","messages":[{"role":"user","content":"hello there"}]}`,
		`{"model":"echo","messages":[{"role":"user","content":"hello there"}],"stream":true}`,
	} {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
		fmt.Print(string(b), "\n")
	}

	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// 200 application/json
	// {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"echo","choices":[{"index":0,"message":{"role":"assistant","content":"hello there","refusal":null,"annotations":null,"audio":null,"function_call":null,"tool_calls":[],"reasoning_content":null},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":0,"total_tokens":0,"completion_tokens":0,"prompt_tokens_details":null},"prompt_logprobs":null,"kv_transfer_params":null}
	// 200 text/event-stream; charset=utf-8
	// data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1700000000,"model":"echo","choices":[{"index":0,"delta":{"role":null,"content":"hello","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}
	//
	// data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1700000000,"model":"echo","choices":[{"index":0,"delta":{"role":null,"content":"there","reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}
	//
	// data: [DONE]
}
