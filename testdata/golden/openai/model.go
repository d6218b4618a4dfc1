package main

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strings"
	"sync/atomic"

	"github.com/kserve-gen/kserve-gen/runtime/openai"
)

// Chat is the chat model: an OpenAI-compatible chat, completions
// and embeddings model. The server serves it on KServe's OpenAI routes
// under /openai/v1 (POST /chat/completions and /completions, answered at
// once or streamed with "stream": true, POST /embeddings, and GET
// /models), so OpenAI's clients talk to it as they talk to vLLM or KServe's
// Hugging Face runtime. It needs no Predict.
//
// The "model" here is a stand-in so the project runs end to end: its
// tokens are words, it answers with the user's own words, a token at a
// time (in each of the request's n choices), and it embeds a text as the
// share of each letter in it. Your engine's calls go where the comments
// say ENGINE: Load (start it, load the weights), tokenize (the tokenizer),
// chatPrompt (the chat template), generate (the decode loop) and embed
// (the encoder); the rest — prompts from requests, the context window,
// tokens into answers and stream chunks, choices, finish reasons, usage —
// stays as it is. A model that only generates, or only embeds, drops the
// other methods, their lines in the var block below and their tests; the
// server then answers those routes "does not support".
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
	_ openai.Embedder           = (*Chat)(nil)
)

// maxChoices is the most choices (a request's "n") the stand-in makes for
// one request, so that one request cannot make it allocate without bound.
// ENGINE: your engine's own limit.
const maxChoices = 128

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

// tokenize turns a text into the model's tokens.
//
// ENGINE: your tokenizer. The stand-in's tokens are the text's words.
func (m *Chat) tokenize(text string) []string {
	return strings.Fields(text)
}

// encode turns a prompt into the model's tokens, refusing one longer than
// the context window with the 400 vLLM answers (field names the request
// field the prompt came from).
func (m *Chat) encode(prompt, field string) ([]string, error) {
	tokens := m.tokenize(prompt)
	if len(tokens) > m.contextLength {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: field,
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the %s.", m.contextLength, len(tokens), field)}
	}
	return tokens, nil
}

// choices is how many choices a request asks for ("n", 1 when not sent),
// refusing a number below 1 with the 400 vLLM answers (SamplingParams'
// check) and one over maxChoices.
func choices(n *int) (int, error) {
	switch {
	case n == nil:
		return 1, nil
	case *n < 1:
		return 0, &openai.Error{Code: 400, Type: "BadRequestError", Param: "n", Message: fmt.Sprintf("n must be at least 1, got %d.", *n)}
	case *n > maxChoices:
		return 0, &openai.Error{Code: 400, Type: "BadRequestError", Param: "n", Message: fmt.Sprintf("n must be at most %d, got %d.", maxChoices, *n)}
	}
	return *n, nil
}

// piece is what generate hands on as it generates: the text of a token of
// choice index, or, with finish set, the end of that choice and why
// ("stop": the answer's end; "length": max_tokens reached).
type piece struct {
	index  int
	text   string
	finish string
}

// generate produces n answers to prompt (the request's choices) a token at
// a time, handing emit each token's text, and each choice's end, as they
// come. A choice ends at its answer's end or after maxTokens tokens (nil:
// no limit). It returns how many tokens it generated, all choices
// together, and false when it stopped before the end because emit
// returned false (the client has gone) or ctx ended.
//
// ENGINE: your decode loop: sample n sequences from the prompt (an engine
// samples them together: vLLM's SamplingParams n), handing each token's
// text to emit with its sequence's index, and a piece with finish when a
// sequence reaches an end-of-sequence or stop token. The stand-in echoes
// the prompt in every choice, a token of each in turn, as an engine's
// steps interleave them.
func (m *Chat) generate(ctx context.Context, prompt []string, n int, maxTokens *int, emit func(piece) bool) (tokens int, done bool) {
	length, finish := len(prompt), "stop"
	if maxTokens != nil && *maxTokens < length {
		length, finish = max(*maxTokens, 0), "length"
	}
	for t := range length {
		if ctx.Err() != nil {
			return tokens, false
		}
		text := prompt[t]
		if t > 0 {
			text = " " + text // a word-piece tokenizer's tokens carry their spaces
		}
		for i := range n {
			if !emit(piece{index: i, text: text}) {
				return tokens, false
			}
			tokens++
		}
	}
	for i := range n {
		if !emit(piece{index: i, finish: finish}) {
			return tokens, false
		}
	}
	return tokens, true
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

// ChatComplete answers POST /openai/v1/chat/completions: n choices
// (index 0 to n-1). The server fills the answer's id, object, created and
// model.
func (m *Chat) ChatComplete(ctx context.Context, req *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	prompt, err := m.encode(chatPrompt(req.Messages), "messages")
	if err != nil {
		return nil, err
	}
	n, err := choices(req.N)
	if err != nil {
		return nil, err
	}
	texts := make([]strings.Builder, n)
	out := &openai.ChatCompletion{Choices: make([]openai.ChatChoice, n)}
	tokens, done := m.generate(ctx, prompt, n, firstSet(req.MaxCompletionTokens, req.MaxTokens), func(p piece) bool {
		if p.finish != "" {
			out.Choices[p.index].FinishReason = &p.finish
		} else {
			texts[p.index].WriteString(p.text)
		}
		return true
	})
	if !done {
		return nil, ctx.Err()
	}
	for i := range out.Choices {
		out.Choices[i].Index = i
		out.Choices[i].Message = openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: texts[i].String()}}
	}
	// The prompt is counted once, however many choices it makes (vLLM).
	out.Usage = usage(len(prompt), tokens)
	return out, nil
}

// ChatCompleteStream answers POST /openai/v1/chat/completions with
// "stream": true, as vLLM streams a chat: a chunk with the role for each
// choice, a chunk per token, one per choice with its finish reason (each
// chunk's choice index says whose it is), then the usage when the client
// asks for it (stream_options.include_usage). The server writes each chunk
// as a server-sent event as it comes, then data: [DONE].
func (m *Chat) ChatCompleteStream(ctx context.Context, req *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		prompt, err := m.encode(chatPrompt(req.Messages), "messages")
		var n int
		if err == nil {
			n, err = choices(req.N)
		}
		if err != nil {
			yield(nil, err) // before the first chunk: the client gets a plain 400
			return
		}
		empty := ""
		for i := range n {
			if !yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Index: i, Delta: openai.ChatDelta{Role: "assistant", Content: &empty}}}}, nil) {
				return
			}
		}
		tokens, done := m.generate(ctx, prompt, n, firstSet(req.MaxCompletionTokens, req.MaxTokens), func(p piece) bool {
			c := openai.ChatChunkChoice{Index: p.index}
			if p.finish != "" {
				c.FinishReason = &p.finish
			} else {
				c.Delta.Content = &p.text
			}
			return yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{c}}, nil)
		})
		if !done {
			return // the client has gone
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(prompt), tokens)
			yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{}, Usage: &u}, nil)
		}
	}
}

// Complete answers POST /openai/v1/completions: n choices for each prompt
// of the request, the first prompt's first (index 0 to n-1), then the
// next prompt's (n to 2n-1), and so on, as vLLM numbers them.
func (m *Chat) Complete(ctx context.Context, req *openai.CompletionRequest) (*openai.Completion, error) {
	if req.Prompt.Tokens != nil {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "prompt", Message: "this model takes text prompts, not token ids"}
	}
	prompts := make([][]string, len(req.Prompt.Texts))
	for i, p := range req.Prompt.Texts {
		var err error
		if prompts[i], err = m.encode(p, "prompt"); err != nil {
			return nil, err
		}
	}
	n, err := choices(req.N)
	if err != nil {
		return nil, err
	}
	out := &openai.Completion{Choices: make([]openai.CompletionChoice, 0, len(prompts)*n)}
	for _, prompt := range prompts {
		texts := make([]strings.Builder, n)
		finishes := make([]string, n)
		tokens, done := m.generate(ctx, prompt, n, req.MaxTokens, func(p piece) bool {
			if p.finish != "" {
				finishes[p.index] = p.finish
			} else {
				texts[p.index].WriteString(p.text)
			}
			return true
		})
		if !done {
			return nil, ctx.Err()
		}
		for i := range n {
			out.Choices = append(out.Choices, openai.CompletionChoice{Index: len(out.Choices), Text: texts[i].String(), FinishReason: &finishes[i]})
		}
		out.Usage.PromptTokens += len(prompt)
		out.Usage.CompletionTokens += tokens
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
	return out, nil
}

// CompleteStream answers POST /openai/v1/completions with "stream": true
// for one text prompt: a chunk per token, then one per choice with its
// finish reason, each chunk's choice index saying whose it is.
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
		n, err := choices(req.N)
		if err != nil {
			yield(nil, err)
			return
		}
		tokens, done := m.generate(ctx, prompt, n, req.MaxTokens, func(p piece) bool {
			c := openai.CompletionChoice{Index: p.index, Text: p.text}
			if p.finish != "" {
				c.FinishReason = &p.finish
			}
			return yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{c}}, nil)
		})
		if !done {
			return // the client has gone
		}
		if includeUsage(req.StreamOptions) {
			u := usage(len(prompt), tokens)
			yield(&openai.CompletionChunk{Choices: []openai.CompletionChoice{}, Usage: &u}, nil)
		}
	}
}

// Embed answers POST /openai/v1/embeddings: a vector for each text of
// the request's input, in its order. The server sends the vectors as
// lists of numbers, or as base64 for "encoding_format": "base64".
func (m *Chat) Embed(ctx context.Context, req *openai.EmbeddingRequest) (*openai.Embedding, error) {
	if req.Dimensions != nil {
		// vLLM's answer for a model not trained to shorten its vectors
		// (PoolingParams' check). A matryoshka model honours dimensions
		// instead: embed keeps the vector's first *req.Dimensions numbers
		// and normalises them again.
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "dimensions",
			Message: fmt.Sprintf("Model %q does not support matryoshka representation, changing output dimensions will lead to poor results.", m.name)}
	}
	if req.Input.Tokens != nil {
		return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "input", Message: "this model takes texts, not token ids"}
	}
	out := &openai.Embedding{Data: make([]openai.EmbeddingData, len(req.Input.Texts))}
	for i, text := range req.Input.Texts {
		tokens := m.tokenize(text)
		if len(tokens) > m.contextLength {
			// vLLM's words for an input over the context window.
			return nil, &openai.Error{Code: 400, Type: "BadRequestError", Param: "input",
				Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the input for embedding generation. Please reduce the length of the input.", m.contextLength, len(tokens))}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out.Data[i] = openai.EmbeddingData{Index: i, Embedding: embed(text)}
		out.Usage.PromptTokens += len(tokens)
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	return out, nil
}

// embed is text's vector: 26 numbers, one per letter a–z, each the
// letter's count in text, the vector scaled to length 1 (as vLLM
// normalises an embedding, so that a dot product is the cosine
// similarity). Texts with the same letters in the same proportions embed
// alike; a text without letters is all zeros.
//
// ENGINE: your encoder: run the model on the text's tokens and pool its
// last hidden states into one vector (mean, or the first token's, as the
// model was trained), normalised.
func embed(text string) []float32 {
	counts := make([]float64, 26)
	for _, r := range strings.ToLower(text) {
		if r >= 'a' && r <= 'z' {
			counts[r-'a']++
		}
	}
	var sum float64
	for _, c := range counts {
		sum += c * c
	}
	v := make([]float32, len(counts))
	if sum == 0 {
		return v
	}
	norm := math.Sqrt(sum)
	for i, c := range counts {
		v[i] = float32(c / norm)
	}
	return v
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
