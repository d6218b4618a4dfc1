package main

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"

	"github.com/kserve-gen/kserve-gen/runtime/openai"
)

// Chat is the chat model: an OpenAI-compatible chat and completions
// model. The server serves it on KServe's OpenAI routes under /openai/v1
// (POST /chat/completions and /completions, answered at once or streamed
// with "stream": true, and GET /models), so OpenAI's clients talk to it as
// they talk to vLLM or KServe's Hugging Face runtime. It needs no Predict.
//
// The "model" here is a stand-in so the project runs end to end: its
// tokens are words, and it answers with the user's own words, a token at a
// time. Your engine's calls go where the comments say ENGINE: Load (start
// it, load the weights), encode (the tokenizer and the context window) and
// generate (the decode loop); the rest — prompts from requests, tokens
// into answers and stream chunks, finish reasons, usage — stays as it is.
// For an embedding model, implement openai.Embedder (POST /embeddings)
// instead or as well.
type Chat struct {
	name  string
	ready atomic.Bool
	// contextLength is the most tokens a prompt may have (an engine's
	// max_model_len), set by Load.
	contextLength int
}

// NewChat returns the model, to be loaded by the server.
func NewChat(name string) *Chat {
	return &Chat{name: name}
}

// The server finds the APIs a model serves by its method set; these lines
// make a misspelt or mistyped method (ChatCompletion, another parameter
// list) a compile error instead of a route that answers "does not support".
var (
	_ openai.ChatCompleter      = (*Chat)(nil)
	_ openai.ChatStreamer       = (*Chat)(nil)
	_ openai.Completer          = (*Chat)(nil)
	_ openai.CompletionStreamer = (*Chat)(nil)
)

// Name is the model name clients put in a request's "model".
func (m *Chat) Name() string { return m.name }

// Ready reports whether Load has finished; readiness probes ask it.
func (m *Chat) Ready() bool { return m.ready.Load() }

// Load loads the model before the server reports ready.
//
// ENGINE: load the weights and start your engine here. For weights from
// --model_dir or $STORAGE_URI (downloaded when remote), have main.go make
// the server first, srv := runtime.NewServer(*cfg), call
// srv.ResolveModelDir(ctx) for the folder, pass it to NewChat, then
// srv.Run(ctx, model).
func (m *Chat) Load(ctx context.Context) error {
	m.contextLength = 64
	m.ready.Store(true)
	return nil
}

// encode turns a prompt into the model's tokens, refusing one longer than
// the context window with the 400 vLLM answers (field names the request
// field the prompt came from).
//
// ENGINE: your tokenizer. The stand-in's tokens are the prompt's words.
func (m *Chat) encode(prompt, field string) ([]string, error) {
	tokens := strings.Fields(prompt)
	if len(tokens) > m.contextLength {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: field,
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the %s.", m.contextLength, len(tokens), field)}
	}
	return tokens, nil
}

// generate produces the answer to prompt a token at a time, handing each
// token's text to emit, and stops at the answer's end (finish reason
// "stop"), after maxTokens tokens ("length"; nil: no limit), or when emit
// returns false (the client has gone) or ctx ends. It returns the finish
// reason and how many tokens it generated.
//
// ENGINE: your decode loop: sample a token, hand its text to emit, repeat
// until an end-of-sequence or stop token. The stand-in echoes the prompt.
func (m *Chat) generate(ctx context.Context, prompt []string, maxTokens *int, emit func(text string) bool) (finish string, n int) {
	for i, token := range prompt {
		if maxTokens != nil && i >= *maxTokens {
			return "length", i
		}
		if ctx.Err() != nil {
			return "", i
		}
		if i > 0 {
			token = " " + token // a word-piece tokenizer's tokens carry their spaces
		}
		if !emit(token) {
			return "", i
		}
	}
	return "stop", len(prompt)
}

// chatPrompt is the prompt a chat's messages make.
//
// ENGINE: apply your model's chat template to every message (roles and
// all). The stand-in answers the last user message alone.
func chatPrompt(messages []openai.ChatMessage) string {
	for i := len(messages) - 1; i >= 0; i-- {
		if messages[i].Role == "user" {
			return messages[i].Content.String() // the text, sent as a string or as parts
		}
	}
	return ""
}

// ChatComplete answers POST /openai/v1/chat/completions. The server fills
// the answer's id, object, created and model.
func (m *Chat) ChatComplete(ctx context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	prompt, err := m.encode(chatPrompt(req.Messages), "messages")
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	finish, n := m.generate(ctx, prompt, firstSet(req.MaxCompletionTokens, req.MaxTokens), func(t string) bool {
		text.WriteString(t)
		return true
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &openai.ChatCompletion{
		Choices: []openai.ChatChoice{{
			Message:      openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: text.String()}},
			FinishReason: &finish,
		}},
		Usage: usage(len(prompt), n),
	}, nil
}

// ChatCompleteStream answers POST /openai/v1/chat/completions with
// "stream": true, as vLLM streams a chat: a chunk with the role, a chunk
// per token, one with the finish reason, then the usage when the client
// asks for it (stream_options.include_usage). The server writes each chunk
// as a server-sent event as it comes, then data: [DONE].
func (m *Chat) ChatCompleteStream(ctx context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		prompt, err := m.encode(chatPrompt(req.Messages), "messages")
		if err != nil {
			yield(nil, err) // before the first chunk: the client gets a plain 400
			return
		}
		empty := ""
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Role: "assistant", Content: &empty}}}}, nil) {
			return
		}
		finish, n := m.generate(ctx, prompt, firstSet(req.MaxCompletionTokens, req.MaxTokens), func(t string) bool {
			return yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: &t}}}}, nil)
		})
		if finish == "" {
			return // the client has gone
		}
		if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{FinishReason: &finish}}}, nil) {
			return
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(prompt), n)
			yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{}, Usage: &u}, nil)
		}
	}
}

// Complete answers POST /openai/v1/completions: each prompt of the
// request its own choice.
func (m *Chat) Complete(ctx context.Context, req *openai.CompletionRequest) (*openai.Completion, error) {
	if req.Prompt.Tokens != nil {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "prompt", Message: "this model takes text prompts, not token ids"}
	}
	out := &openai.Completion{}
	for i, p := range req.Prompt.Texts {
		prompt, err := m.encode(p, "prompt")
		if err != nil {
			return nil, err
		}
		var text strings.Builder
		finish, n := m.generate(ctx, prompt, req.MaxTokens, func(t string) bool {
			text.WriteString(t)
			return true
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out.Choices = append(out.Choices, openai.CompletionChoice{Index: i, Text: text.String(), FinishReason: &finish})
		out.Usage.PromptTokens += len(prompt)
		out.Usage.CompletionTokens += n
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
	return out, nil
}

// CompleteStream answers POST /openai/v1/completions with "stream": true
// for one text prompt: a chunk per token, the last with the finish reason.
func (m *Chat) CompleteStream(ctx context.Context, req *openai.CompletionRequest) iter.Seq2[*openai.CompletionChunk, error] {
	return func(yield func(*openai.CompletionChunk, error) bool) {
		if len(req.Prompt.Texts) != 1 {
			yield(nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "prompt", Message: "streaming takes one text prompt"})
			return
		}
		prompt, err := m.encode(req.Prompt.Texts[0], "prompt")
		if err != nil {
			yield(nil, err)
			return
		}
		finish, n := m.generate(ctx, prompt, req.MaxTokens, func(t string) bool {
			return yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{{Text: t}}}, nil)
		})
		if finish == "" {
			return // the client has gone
		}
		if !yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{{FinishReason: &finish}}}, nil) {
			return
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(prompt), n)
			yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{}, Usage: &u}, nil)
		}
	}
}

func usage(prompt, completion int) openai.Usage {
	return openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

func includeUsage(o *openai.StreamOptions) bool {
	return o != nil && o.IncludeUsage != nil && *o.IncludeUsage
}

// firstSet is the first of its arguments that is set: max_completion_tokens
// is OpenAI's newer name for a chat's max_tokens.
func firstSet(ps ...*int) *int {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}
