package main

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The official OpenAI Go SDK, pointed at http://host/openai/v1 as users
// point OpenAI's clients at a KServe model, talks to each route the echo
// serves: the strongest check that the wire shapes are OpenAI's.

func sdkClient(t *testing.T) oai.Client {
	t.Helper()
	srv := runtimetest.StartModels(t, []runtime.Model{&Echo{name: "echo"}, &broken{}})
	return oai.NewClient(option.WithBaseURL(srv.URL+"/openai/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

func TestSDK_Chat(t *testing.T) {
	client := sdkClient(t)
	ctx := context.Background()
	params := oai.ChatCompletionNewParams{
		Model:    "echo",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be brief"), oai.UserMessage("hello  world")},
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, "chat.completion", string(resp.Object))
	assert.Equal(t, "echo", resp.Model)
	assert.Regexp(t, `^chatcmpl-[0-9a-f]{32}$`, resp.ID)
	require.Len(t, resp.Choices, 1)
	assert.Equal(t, "hello world", resp.Choices[0].Message.Content)
	assert.Equal(t, "assistant", string(resp.Choices[0].Message.Role))
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, oai.CompletionUsage{PromptTokens: 2, CompletionTokens: 2, TotalTokens: 4}, trimUsage(resp.Usage))

	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc oai.ChatCompletionAccumulator
	var deltas []string
	ids := map[string]bool{}
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		ids[c.ID] = true
		assert.Equal(t, "chat.completion.chunk", string(c.Object))
		if len(c.Choices) > 0 {
			deltas = append(deltas, c.Choices[0].Delta.Content)
		}
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, []string{"", "hello", " world", ""}, deltas)
	assert.Len(t, ids, 1, "every chunk of a stream carries the same id")
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, "hello world", acc.Choices[0].Message.Content)
	assert.Equal(t, "stop", acc.Choices[0].FinishReason)
	assert.Equal(t, int64(4), acc.Usage.TotalTokens, "the usage chunk include_usage asked for")

	// max_tokens cuts the answer, as an LLM server does.
	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{}
	params.MaxCompletionTokens = oai.Int(1)
	resp, err = client.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, "hello", resp.Choices[0].Message.Content)
	assert.Equal(t, "length", resp.Choices[0].FinishReason)
}

// trimUsage keeps the counts the echo sets (the SDK's zero-valued details
// structs compare unequal to literal ones only by their JSON metadata).
func trimUsage(u oai.CompletionUsage) oai.CompletionUsage {
	return oai.CompletionUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

func TestSDK_Completions(t *testing.T) {
	client := sdkClient(t)
	ctx := context.Background()
	params := oai.CompletionNewParams{Model: "echo", Prompt: oai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"say this", "and that"}}}
	resp, err := client.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, "text_completion", string(resp.Object))
	assert.Regexp(t, `^cmpl-[0-9a-f]{32}$`, resp.ID)
	require.Len(t, resp.Choices, 2)
	assert.Equal(t, "say this", resp.Choices[0].Text)
	assert.Equal(t, int64(1), resp.Choices[1].Index)
	assert.Equal(t, "and that", resp.Choices[1].Text)
	assert.Equal(t, int64(8), resp.Usage.TotalTokens)

	params.Prompt = oai.CompletionNewParamsPromptUnion{OfString: oai.String("say this")}
	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	stream := client.Completions.NewStreaming(ctx, params)
	var text []string
	var usage int64
	for stream.Next() {
		c := stream.Current()
		for _, ch := range c.Choices {
			text = append(text, ch.Text)
		}
		usage += c.Usage.TotalTokens
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, []string{"say ", "this "}, text)
	assert.Equal(t, int64(4), usage, "the last chunk's usage, as include_usage asked")
}

func TestSDK_Embeddings(t *testing.T) {
	client := sdkClient(t)
	for _, format := range []oai.EmbeddingNewParamsEncodingFormat{oai.EmbeddingNewParamsEncodingFormatFloat, oai.EmbeddingNewParamsEncodingFormatBase64} {
		resp, err := client.Embeddings.New(context.Background(), oai.EmbeddingNewParams{
			Model: "echo", Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"ab", "Abba!"}}, EncodingFormat: format,
		})
		require.NoError(t, err, format)
		assert.Equal(t, "list", string(resp.Object))
		require.Len(t, resp.Data, 2)
		want := make([]float64, 26)
		want[0], want[1] = 0.5, 0.5
		// The SDK decodes base64 vectors itself: both formats read alike.
		assert.Equal(t, want, resp.Data[0].Embedding, format)
		assert.Equal(t, want, resp.Data[1].Embedding, format)
		assert.Equal(t, int64(1), resp.Data[1].Index)
		assert.Equal(t, int64(2), resp.Usage.TotalTokens)
	}
}

func TestSDK_ModelsAndErrors(t *testing.T) {
	client := sdkClient(t)
	ctx := context.Background()
	page, err := client.Models.List(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		assert.Equal(t, "model", string(m.Object))
	}
	assert.Equal(t, []string{"echo", "broken"}, ids, "in the order the server registered them")

	// A prompt over the context window: the model's OpenAI error, status
	// and all, as the SDK's typed error.
	long := make([]byte, 0, 2*(contextWords+1))
	for range contextWords + 1 {
		long = append(long, "a "...)
	}
	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(string(long))},
	})
	var apiErr *oai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Equal(t, "This model's maximum context length is 64 tokens. However, you requested 65 tokens in the messages.", apiErr.Message)
	assert.Equal(t, "BadRequestError", apiErr.Type)
	assert.Equal(t, "messages", apiErr.Param)

	// A model unknown to the server: KServe's 404.
	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
	})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "Model with name gpt-4o does not exist.", apiErr.Message)
	assert.Equal(t, "NotFoundError", apiErr.Type)

	// A body the server refuses (FastAPI's 422) is a typed error too.
	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: "echo"})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusUnprocessableEntity, apiErr.StatusCode)

	// An error after the first chunk reaches the SDK's stream as an error.
	stream := client.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{
		Model: "broken", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
	})
	n := 0
	for stream.Next() {
		n++
	}
	assert.Equal(t, 1, n)
	require.Error(t, stream.Err())
	assert.Contains(t, stream.Err().Error(), "engine died")
}

// broken streams one chunk, then fails, as an engine that dies mid-answer.
type broken struct{}

func (*broken) Name() string               { return "broken" }
func (*broken) Load(context.Context) error { return nil }
func (*broken) Ready() bool                { return true }
func (*broken) ChatCompleteStream(context.Context, *openai.ChatCompletionRequest) iter.Seq2[*openai.ChatCompletionChunk, error] {
	return func(yield func(*openai.ChatCompletionChunk, error) bool) {
		partial := "partial"
		if yield(&openai.ChatCompletionChunk{Choices: []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: &partial}}}}, nil) {
			yield(nil, errors.New("engine died"))
		}
	}
}
