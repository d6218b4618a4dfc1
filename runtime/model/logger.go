package model

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// ContextWithLogger returns ctx carrying l, the logger model code should use
// (the server puts its configured "kserve" logger in the contexts of Load,
// Unload and every request).
func ContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger ctx carries, or slog.Default() when it carries
// none. Under the server it is the "kserve" logger, so a model's lines
// follow --log_config_file and KSERVE_LOGLEVEL like the server's own.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
