package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/containerd/errdefs"
)

func TestStatusFromError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{errdefs.ErrNotFound.WithMessage("No such container: x"), 404},
		{fmt.Errorf("wrapped: %w", errdefs.ErrNotFound), 404},
		{errdefs.ErrInvalidArgument, 400},
		{invalidParameter{errors.New("bad")}, 400},
		{errdefs.ErrConflict, 409},
		{errdefs.ErrAlreadyExists, 409},
		{errdefs.ErrAborted, 409},
		{errdefs.ErrFailedPrecondition, 400},
		{errdefs.ErrOutOfRange, 400},
		{errdefs.ErrNotModified, 304},
		{errdefs.ErrUnauthenticated, 401},
		{errdefs.ErrPermissionDenied, 403},
		{errdefs.ErrResourceExhausted, 429},
		{errdefs.ErrNotImplemented, 501},
		{errdefs.ErrUnavailable, 503},
		{errdefs.ErrInternal, 500},
		{errdefs.ErrDataLoss, 500},
		{context.Canceled, 500},
		{context.DeadlineExceeded, 500},
		{errors.New("unclassified"), 500},
		// The outermost class wins, as in dockerd.
		{errdefs.ErrInvalidArgument.WithMessage(errdefs.ErrNotFound.Error()), 400},
		{fmt.Errorf("%w", invalidParameter{fmt.Errorf("inner: %w", errdefs.ErrNotFound)}), 400},
		{versionError{version: "1.1", min: "1.24"}, 400},
	} {
		if got := statusFromError(tc.err); got != tc.want {
			t.Errorf("statusFromError(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestNotModifiedHasNoBody(t *testing.T) {
	f := newFixture()
	f.ctr.err = errdefs.ErrNotModified.WithMessage("container already started")
	rec := f.do("POST", "/containers/web/start", "")
	wantStatus(t, rec, 304, "")
	if rec.Body.Len() != 0 {
		t.Errorf("304 with body %q", rec.Body.String())
	}
}

func TestUnclassifiedErrorIs500(t *testing.T) {
	f := newFixture()
	f.sys.err = errors.New("disk on fire")
	wantStatus(t, f.do("GET", "/info", ""), 500, "disk on fire")
}

func TestWrongMethodIs404(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("PUT", "/containers/json", ""), 404, "page not found")
	wantStatus(t, f.do("DELETE", "/_ping", ""), 404, "page not found")
	wantStatus(t, f.do("GET", "/containers/web/start", ""), 404, "page not found")
}

func TestPanicBecomes500(t *testing.T) {
	h := adapt(func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/", nil))
	wantStatus(t, rec, 500, "boom")
}

func TestErrorAfterStreamStartIsNotWritten(t *testing.T) {
	h := adapt(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		return errors.New("late")
	})
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "partial" {
		t.Errorf("got %d %q", rec.Code, rec.Body.String())
	}
}

func TestMalformedQueryIs400(t *testing.T) {
	f := newFixture()
	rec := f.do("GET", "/containers/json?all=%zz", "")
	if rec.Code != 400 {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
}
