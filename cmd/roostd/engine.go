package main

import (
	"context"
	"net/http"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/rootless"
)

// engine is every service of the API process, joined.
type engine struct {
	Handler http.Handler
	closers []func(ctx context.Context, liveRestore bool)
}

// Close stops the services in reverse order of start.
func (e *engine) Close(ctx context.Context, liveRestore bool) {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i](ctx, liveRestore)
	}
}

func buildEngine(ctx context.Context, cfg *config.Config, p rootless.Paths) (*engine, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) })
	return &engine{Handler: mux}, nil
}
