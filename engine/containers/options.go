package containers

import (
	"context"
	"io"
	"time"
)

// ListOptions are the query parameters of GET /containers/json.
type ListOptions struct {
	All     bool
	Limit   int // <= 0: no limit
	Size    bool
	Filters map[string][]string
}

// StopOptions carries ?signal= and ?t= of stop and restart.
type StopOptions struct {
	Signal  string
	Timeout *int // seconds; nil: the container's StopTimeout or 10
}

// AttachOptions are the query parameters of POST /containers/{id}/attach.
type AttachOptions struct {
	Stream, Logs          bool
	Stdin, Stdout, Stderr bool
	DetachKeys            string // "" means the default ctrl-p,ctrl-q
}

// Attachment is a checked attach request. the API hijacks the connection only
// after the engine returned one, then calls Run, which copies until the
// container's streams end, the client detaches or ctx is done.
type Attachment interface {
	TTY() bool
	Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error
}

// LogsOptions are the query parameters of GET /containers/{id}/logs.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool
	Tail           int // < 0: all
	Since, Until   time.Time
}
