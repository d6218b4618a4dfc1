package openai_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official OpenAI Go SDK, pointed at http://host/openai/v1 as users
// point OpenAI's clients at a KServe model, talks to each route.

func sdkClient(base string) oai.Client {
	return oai.NewClient(option.WithBaseURL(base+"/openai/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

func TestSDK_Chat(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}})
	client := sdkClient(srv.URL)
	ctx := context.Background()
	params := oai.ChatCompletionNewParams{
		Model:    "echo",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be brief"), oai.UserMessage("hello world")},
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, "chat.completion", string(resp.Object))
	assert.Equal(t, "echo", resp.Model)
	assert.True(t, strings.HasPrefix(resp.ID, "chatcmpl-"), resp.ID)
	require.Len(t, resp.Choices, 1)
	assert.Equal(t, "hello world", resp.Choices[0].Message.Content)
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, int64(4), resp.Usage.TotalTokens)

	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc oai.ChatCompletionAccumulator
	var deltas []string
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		assert.Equal(t, "chat.completion.chunk", string(c.Object))
		deltas = append(deltas, c.Choices[0].Delta.Content)
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, []string{"", "hello ", "world ", ""}, deltas)
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, "hello world ", acc.Choices[0].Message.Content)
	assert.Equal(t, "stop", acc.Choices[0].FinishReason)
}

func TestSDK_Completions(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}})
	client := sdkClient(srv.URL)
	ctx := context.Background()
	params := oai.CompletionNewParams{Model: "echo", Prompt: oai.CompletionNewParamsPromptUnion{OfString: oai.String("say this")}}
	resp, err := client.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, "text_completion", string(resp.Object))
	require.Len(t, resp.Choices, 1)
	assert.Equal(t, "say this", resp.Choices[0].Text)

	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	stream := client.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	var usage int64
	for stream.Next() {
		c := stream.Current()
		for _, ch := range c.Choices {
			text.WriteString(ch.Text)
		}
		usage += c.Usage.TotalTokens
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "say this ", text.String())
	assert.Equal(t, int64(4), usage, "the last chunk's usage, as include_usage asked")
}

func TestSDK_Embeddings(t *testing.T) {
	srv := start(t, nil, &embedder{base: base{name: "emb"}})
	client := sdkClient(srv.URL)
	resp, err := client.Embeddings.New(context.Background(), oai.EmbeddingNewParams{
		Model: "emb", Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"ab", "c"}},
	})
	require.NoError(t, err)
	require.Len(t, resp.Data, 2)
	assert.Equal(t, []float64{2, 24.25}, resp.Data[0].Embedding)
	assert.Equal(t, []float64{1, 24.75}, resp.Data[1].Embedding)
	assert.Equal(t, "list", string(resp.Object))
}

func TestSDK_ModelsAndErrors(t *testing.T) {
	srv := start(t, nil, &echo{base: base{name: "echo"}}, &failing{base: base{name: "fail"}})
	client := sdkClient(srv.URL)
	ctx := context.Background()
	page, err := client.Models.List(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	assert.Equal(t, []string{"echo", "fail"}, ids)

	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "fail", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("openai")},
	})
	var apiErr *oai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	assert.Equal(t, "too many tokens", apiErr.Message)
	assert.Equal(t, "RateLimitError", apiErr.Type)
	assert.Equal(t, "max_tokens", apiErr.Param)

	// An error after the first chunk reaches the SDK's stream as an error.
	stream := client.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{
		Model: "fail", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("late")},
	})
	n := 0
	for stream.Next() {
		n++
	}
	assert.Equal(t, 1, n)
	require.Error(t, stream.Err())
	assert.Contains(t, stream.Err().Error(), "engine died")
}
