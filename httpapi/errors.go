package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/containerd/log"
)

// errPageNotFound answers unknown routes, with dockerd's body.
var errPageNotFound = errdefs.ErrNotFound.WithMessage("page not found")

// invalidParameter classifies an error as InvalidArgument (400) and keeps
// its message.
type invalidParameter struct{ error }

func (invalidParameter) InvalidParameter() {}

func (e invalidParameter) Unwrap() error { return e.error }

// notImplemented is the 501 for API features roost does not have yet.
func notImplemented(msg string) error {
	return errdefs.ErrNotImplemented.WithMessage(msg)
}

// statusFromError picks the HTTP status for an error's errdefs class, the
// outermost class winning. It follows dockerd's httpstatus.FromError where
// that differs from errhttp.ToHTTP: AlreadyExists and Aborted are 409,
// FailedPrecondition and OutOfRange are 400, and unclassified errors
// (including context errors) are 500.
func statusFromError(err error) int {
	rerr := errdefs.Resolve(err)
	switch {
	case errdefs.IsAlreadyExists(rerr), errdefs.IsAborted(rerr):
		return http.StatusConflict
	case errdefs.IsFailedPrecondition(rerr), errdefs.IsOutOfRange(rerr):
		return http.StatusBadRequest
	case errdefs.IsDataLoss(rerr), errdefs.IsDeadlineExceeded(rerr), errdefs.IsCanceled(rerr):
		return http.StatusInternalServerError
	}
	return errhttp.ToHTTP(rerr)
}

// writeError writes err as {"message": ...} with its status; 304 gets no
// body. When the response has already started (a stream) or the client is
// gone, it only logs. Only 5xx are logged at error level.
func writeError(w *responseWriter, r *http.Request, err error) {
	ctx := r.Context()
	status := statusFromError(err)
	l := log.G(ctx).WithError(err).WithField("status", status)
	switch {
	case w.hijacked || w.started:
		l.Errorf("Handler for %s %s failed after the response started", r.Method, r.URL.Path)
		return
	case ctx.Err() != nil:
		l.Debugf("Handler for %s %s: client went away", r.Method, r.URL.Path)
		return
	case status >= 500:
		l.Errorf("Handler for %s %s returned error", r.Method, r.URL.Path)
	default:
		l.Debugf("Handler for %s %s returned error", r.Method, r.URL.Path)
	}
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	_ = writeJSON(w, status, struct {
		Message string `json:"message"`
	}{err.Error()})
}

// pageNotFound is the 404 for unknown routes and wrong methods.
func pageNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(&responseWriter{ResponseWriter: w}, r, errPageNotFound)
}

// writeJSON writes v as the JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
