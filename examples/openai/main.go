// Command openai serves a model on KServe's OpenAI-compatible routes
// (package runtime/openai): a deterministic echo "LLM" that answers a chat
// or a completion with the user's own words, streamed one word per chunk,
// and embeds texts as a small bag-of-letters vector. It shows the shape of
// a Go model behind /openai/v1 without a real model's weights: put an
// engine's calls where the echo is.
//
//	go run . --model_name=echo --http_port=8080
//	curl localhost:8080/openai/v1/chat/completions -H 'Content-Type: application/json' \
//	  -d '{"model":"echo","messages":[{"role":"user","content":"hello there"}],"stream":true}'
//
// OpenAI's clients take http://localhost:8080/openai/v1 as their base URL
// (main_test.go drives it with the official Go SDK).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
)

// contextWords is the echo's "context window": a prompt of more words is
// refused as an LLM server refuses one over its context length.
const contextWords = 64

// Echo answers with the last user message (or the prompt), word by word.
type Echo struct{ name string }

// The interfaces the server finds by method set, checked at compile time.
var (
	_ openai.ChatCompleter      = (*Echo)(nil)
	_ openai.ChatStreamer       = (*Echo)(nil)
	_ openai.Completer          = (*Echo)(nil)
	_ openai.CompletionStreamer = (*Echo)(nil)
	_ openai.Embedder           = (*Echo)(nil)
)

// Name is the model name clients put in a request's "model".
func (m *Echo) Name() string { return m.name }

// Load has no weights to load.
func (m *Echo) Load(context.Context) error { return nil }

// Ready is always true once loaded.
func (m *Echo) Ready() bool { return true }

// answer is the words the echo answers prompt with, cut to maxTokens
// (finish reason "length") or whole ("stop"); a prompt over the context
// window is an OpenAI 400 naming the field, as vLLM answers one.
func answer(prompt string, field string, maxTokens *int) (words []string, finish string, err error) {
	words = strings.Fields(prompt)
	if len(words) > contextWords {
		return nil, "", &openai.Error{Code: 400, Type: "BadRequestError", Param: field,
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the %s.", contextWords, len(words), field)}
	}
	if maxTokens != nil && *maxTokens < len(words) {
		return words[:max(*maxTokens, 0)], "length", nil
	}
	return words, "stop", nil
}

// lastUser is the text of the chat's last user message.
func lastUser(msgs []openai.ChatMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content.String()
		}
	}
	return ""
}

func usage(prompt, completion int) openai.Usage {
	return openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

func includeUsage(o *openai.StreamOptions) bool {
	return o != nil && o.IncludeUsage != nil && *o.IncludeUsage
}

// ChatComplete answers a chat at once.
func (m *Echo) ChatComplete(_ context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	prompt := lastUser(req.Messages)
	words, finish, err := answer(prompt, "messages", cmp(req.MaxCompletionTokens, req.MaxTokens))
	if err != nil {
		return nil, err
	}
	return &openai.ChatCompletion{
		Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: strings.Join(words, " ")}}, FinishReason: &finish}},
		Usage:   usage(len(strings.Fields(prompt)), len(words)),
	}, nil
}

// ChatCompleteStream streams the answer: the role first, then a word per
// chunk, then the finish reason, and the usage when the client asks for
// it (stream_options.include_usage), as vLLM streams a chat. The server
// fills each chunk's id, object, created and model.
func (m *Echo) ChatCompleteStream(ctx context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		prompt := lastUser(req.Messages)
		words, finish, err := answer(prompt, "messages", cmp(req.MaxCompletionTokens, req.MaxTokens))
		if err != nil {
			yield(nil, err) // before any chunk: the client gets a plain 400
			return
		}
		empty := ""
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Role: "assistant", Content: &empty}}}}, nil) {
			return
		}
		for i, w := range words {
			if ctx.Err() != nil {
				return // the client went away: stop generating
			}
			text := w
			if i > 0 {
				text = " " + w
			}
			if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: &text}}}}, nil) {
				return
			}
		}
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{FinishReason: &finish}}}, nil) {
			return
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(strings.Fields(prompt)), len(words))
			yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{}, Usage: &u}, nil)
		}
	}
}

// Complete answers a completion at once: the prompt's words, each prompt
// of a batch its own choice.
func (m *Echo) Complete(_ context.Context, req *openai.CompletionRequest) (*openai.Completion, error) {
	if req.Prompt.Tokens != nil {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "prompt", Message: "this model takes text prompts, not token ids"}
	}
	out := &openai.Completion{}
	for i, p := range req.Prompt.Texts {
		words, finish, err := answer(p, "prompt", req.MaxTokens)
		if err != nil {
			return nil, err
		}
		out.Choices = append(out.Choices, openai.CompletionChoice{Index: i, Text: strings.Join(words, " "), FinishReason: &finish})
		out.Usage.PromptTokens += len(strings.Fields(p))
		out.Usage.CompletionTokens += len(words)
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
	return out, nil
}

// CompleteStream streams a one-prompt completion, a word per chunk.
func (m *Echo) CompleteStream(ctx context.Context, req *openai.CompletionRequest) iter.Seq2[*openai.CompletionChunk, error] {
	return func(yield func(*openai.CompletionChunk, error) bool) {
		if len(req.Prompt.Texts) != 1 {
			yield(nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "prompt", Message: "streaming takes one text prompt"})
			return
		}
		prompt := req.Prompt.Texts[0]
		words, finish, err := answer(prompt, "prompt", req.MaxTokens)
		if err != nil {
			yield(nil, err)
			return
		}
		for i, w := range words {
			if ctx.Err() != nil {
				return
			}
			c := &openai.CompletionChunk{Choices: []openai.CompletionChoice{{Text: w + " "}}}
			if i == len(words)-1 {
				c.Choices[0].FinishReason = &finish
			}
			if !yield(c, nil) {
				return
			}
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(strings.Fields(prompt)), len(words))
			yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{}, Usage: &u}, nil)
		}
	}
}

// Embed maps each text to 26 numbers, the share of each letter a–z among
// its letters: texts with the same letters embed alike. The server sends
// them as floats or base64, as the request's encoding_format asks.
func (m *Echo) Embed(_ context.Context, req *openai.EmbeddingRequest) (*openai.Embedding, error) {
	if req.Input.Tokens != nil {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "input", Message: "this model takes texts, not token ids"}
	}
	out := &openai.Embedding{}
	for i, s := range req.Input.Texts {
		v := make([]float32, 26)
		n := 0
		for _, r := range strings.ToLower(s) {
			if r >= 'a' && r <= 'z' {
				v[r-'a']++
				n++
			}
		}
		for j := range v {
			if n > 0 {
				v[j] /= float32(n)
			}
		}
		out.Data = append(out.Data, openai.EmbeddingData{Index: i, Embedding: v})
		out.Usage.PromptTokens += len(strings.Fields(s))
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	return out, nil
}

// cmp is the first of its arguments that is set.
func cmp(ps ...*int) *int {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func main() {
	p := config.NewParser("echo")
	cfg, err := p.ParseLookup(os.Args[1:], os.LookupEnv) // LookupEnv: KSERVE_OPENAI_ROUTE_PREFIX="" serves the routes at /v1/..., as in KServe
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // Parse printed the usage and the error, as argparse does
	}
	ctx, stop := runtime.SignalContext()
	defer stop()
	if err := runtime.NewServer(*cfg).Run(ctx, &Echo{name: cfg.ModelName}); err != nil {
		fmt.Fprintln(os.Stderr, err) // once: the runtime logs none of the errors it returns
		os.Exit(1)
	}
}
