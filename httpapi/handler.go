package httpapi

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// handlerFunc is the shape of every API handler: it writes a success
// response itself and returns an error for anything else, which adapt turns
// into the status and {"message": ...} body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns a handlerFunc into an http.HandlerFunc: it checks the API
// version and the query string, recovers panics into 500s and writes the
// returned error.
func adapt(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.G(r.Context()).WithField("stack", string(debug.Stack())).Errorf("panic in handler for %s %s: %v", r.Method, r.URL.Path, p)
			writeError(rw, r, errdefs.ErrInternal.WithMessage(fmt.Sprint(p)))
		}()

		err := checkVersion(r.Context())
		if err == nil {
			// dockerd rejects a malformed query string (ParseForm); the
			// handlers then read r.URL.Query() without checking again.
			if _, qerr := url.ParseQuery(r.URL.RawQuery); qerr != nil {
				err = invalidParameter{qerr}
			}
		}
		if err == nil {
			err = h(rw, r)
		}
		if err != nil {
			writeError(rw, r, err)
		}
	}
}

// responseWriter records whether a response was started or the connection
// hijacked, so that an error returned afterwards is logged instead of
// written into the middle of a stream. It passes Flush and Hijack through,
// so http.ResponseController works on it.
type responseWriter struct {
	http.ResponseWriter
	started  bool
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

// FlushError flushes the underlying writer (used by http.ResponseController).
func (w *responseWriter) FlushError() error {
	w.started = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes over the connection (used by http.ResponseController).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
