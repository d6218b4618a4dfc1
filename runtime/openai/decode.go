package openai

import "github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"

// UnmarshalJSON keeps the body's undeclared fields in Extra.
func (r *CompletionRequest) UnmarshalJSON(b []byte) error {
	type plain CompletionRequest
	return pydantic.DecodeWithExtra(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON keeps the body's undeclared fields in Extra.
func (r *ChatCompletionRequest) UnmarshalJSON(b []byte) error {
	type plain ChatCompletionRequest
	return pydantic.DecodeWithExtra(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON keeps the body's undeclared fields in Extra.
func (r *EmbeddingRequest) UnmarshalJSON(b []byte) error {
	type plain EmbeddingRequest
	return pydantic.DecodeWithExtra(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON keeps the body's undeclared fields in Extra.
func (r *RerankRequest) UnmarshalJSON(b []byte) error {
	type plain RerankRequest
	return pydantic.DecodeWithExtra(b, (*plain)(r), &r.Extra)
}
