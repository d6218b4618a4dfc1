package model_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kserve-gen/kserve-gen/runtime/model"
)

func TestLogger(t *testing.T) {
	assert.Same(t, slog.Default(), model.Logger(context.Background()), "no logger in the context: slog.Default()")
	l := slog.New(slog.DiscardHandler)
	ctx := model.ContextWithLogger(context.Background(), l)
	assert.Same(t, l, model.Logger(ctx))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	assert.Same(t, l, model.Logger(child), "derived contexts keep it")
	assert.Same(t, slog.Default(), model.Logger(model.ContextWithLogger(ctx, nil)), "a nil logger is none")
}
