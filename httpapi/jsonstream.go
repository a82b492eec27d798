package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/jsonstream"
)

// jsonStream writes a 200 response of JSON values, one per line, flushing
// after each so the client sees progress as it happens. It is used for the
// progress streams (load, import) and for events.
type jsonStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *json.Encoder
	started bool
}

// newJSONStream prepares a stream with the given Content-Type; nothing is
// written until start or the first message.
func newJSONStream(w http.ResponseWriter, contentType string) *jsonStream {
	w.Header().Set("Content-Type", contentType)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonStream{w: w, rc: http.NewResponseController(w), enc: enc}
}

// start sends the status line and headers now, so a client waiting for a
// stream that may stay quiet (events) knows the request was accepted.
func (s *jsonStream) start() error {
	if s.started {
		return nil
	}
	s.started = true
	s.w.WriteHeader(http.StatusOK)
	return s.rc.Flush()
}

// send writes one value and flushes it.
func (s *jsonStream) send(v any) error {
	if err := s.start(); err != nil {
		return err
	}
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	return s.rc.Flush()
}

// progressError is how an error is reported once a progress stream has
// started: the errorDetail the CLI renders, plus the legacy "error" string
// older clients read.
type progressError struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

// sendError writes err into the stream in the progress format.
func (s *jsonStream) sendError(err error) error {
	return s.send(progressError{
		Message:      jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}},
		ErrorMessage: err.Error(),
	})
}
