package logs

import (
	"context"
	"io"
	"time"
)

// JSONFile is dockerd's json-file log driver: one JSON object per line
// ({"log":…,"stream":…,"time":…}), rotated at MaxSize into MaxFiles files.
type JSONFile struct{}

// JSONFileOptions are the driver's log-opts.
type JSONFileOptions struct {
	MaxSize  int64 // bytes; <= 0: no rotation
	MaxFiles int   // >= 1
}

// OpenJSONFile opens (appending) the log at path.
func OpenJSONFile(path string, opts JSONFileOptions) (*JSONFile, error) { panic("TODO(helper C)") }

// Write appends one message. Safe for concurrent use.
func (f *JSONFile) Write(m *Message) error { panic("TODO(helper C)") }

// Close closes the file.
func (f *JSONFile) Close() error { panic("TODO(helper C)") }

// CopyLines reads r until EOF and writes each line (a partial last line
// too) to f as stream, stamped with the time it was read.
func CopyLines(f *JSONFile, stream string, r io.Reader) error { panic("TODO(helper C)") }

// ReadOptions select what Read returns.
type ReadOptions struct {
	Tail         int // < 0: all lines
	Since, Until time.Time
	Follow       bool
	// Stopped, when Follow is set, is closed when the writer is done (the
	// container stopped); Read then drains the file and closes the channel.
	Stopped <-chan struct{}
}

// Read streams the messages of the log at path (and its rotated files) in
// order. The channel closes at the end, when ctx ends, or, when following,
// after Stopped closes and the rest is drained.
func Read(ctx context.Context, path string, opts JSONFileOptions, ro ReadOptions) (<-chan *Message, error) {
	panic("TODO(helper C)")
}
