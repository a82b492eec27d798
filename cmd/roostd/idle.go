package main

import (
	"context"
	"net/http"
	"net/http/httptest"
)

// ping asks the API itself for /_ping, in-process: the watchdog's proof
// that requests are still served. It goes around the idle tracker, so the
// watchdog never keeps an idle roostd up.
func ping(ctx context.Context, h http.Handler) bool {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/_ping", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}
