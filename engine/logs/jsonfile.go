package logs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/log"
)

// logPerm is the mode of a new log file, as dockerd creates them.
const logPerm = 0o640

// JSONFile is dockerd's json-file log driver: one JSON object per line
// ({"log":…,"stream":…,"time":…}), rotated at MaxSize into MaxFiles files.
type JSONFile struct {
	path string
	opts JSONFileOptions
	sh   *shared // rotation lock and change notification, shared with readers

	mu     sync.Mutex // serialises writes, rotation and Close
	f      *os.File
	size   int64
	buf    bytes.Buffer
	closed bool
}

// JSONFileOptions are the driver's log-opts.
type JSONFileOptions struct {
	MaxSize  int64 // bytes; <= 0: no rotation
	MaxFiles int   // >= 1
}

// normalized returns o with MaxFiles at least 1.
func (o JSONFileOptions) normalized() JSONFileOptions {
	if o.MaxFiles < 1 {
		o.MaxFiles = 1
	}
	return o
}

// OpenJSONFile opens (appending) the log at path. Open each path once and
// share the JSONFile between the stdout and stderr copiers: rotation
// relies on one writer knowing the file's size.
func OpenJSONFile(path string, opts JSONFileOptions) (*JSONFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logPerm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &JSONFile{
		path: path,
		opts: opts.normalized(),
		sh:   acquire(path),
		f:    f,
		size: fi.Size(),
	}, nil
}

// Write appends one message. Safe for concurrent use. A zero m.Time is
// stamped with the current time.
func (f *JSONFile) Write(m *Message) error {
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("write %s: %w", f.path, os.ErrClosed)
	}
	f.buf.Reset()
	if err := appendEntry(&f.buf, m.Line, m.Stream, t); err != nil {
		return err
	}
	b := f.buf.Bytes()
	// Rotate before a write that would take the file past MaxSize, so
	// files stay within it unless one entry alone is larger. (dockerd
	// rotates once the file has reached max-size, so its files overshoot
	// by up to one entry; readers cannot tell the difference.)
	if f.opts.MaxSize > 0 && f.size > 0 && f.size+int64(len(b)) > f.opts.MaxSize {
		if err := f.rotate(); err != nil {
			return fmt.Errorf("rotate %s: %w", f.path, err)
		}
	}
	n, err := f.f.Write(b)
	f.size += int64(n)
	f.sh.notify()
	return err
}

// Close closes the file. Later writes fail; Close is idempotent.
func (f *JSONFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.f.Close()
	f.sh.notify()
	f.sh.release()
	return err
}

// rotate shifts path.N-2 → path.N-1 … path → path.1 (dropping the oldest)
// and starts a new empty path. With MaxFiles 1 the current file is simply
// removed. Readers holding the old file keep reading it through their
// descriptor; the rotation lock keeps them from opening a half-rotated set.
// f.mu is held.
func (f *JSONFile) rotate() error {
	// The file is already closed if the previous rotation failed to
	// create the new one; this attempt retries it.
	if err := f.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	f.sh.fsop.Lock()
	defer f.sh.fsop.Unlock()
	if err := shiftRotated(f.path, f.opts.MaxFiles); err != nil {
		// Keep logging into a fresh file rather than stop: as dockerd, we
		// lose old lines rather than new ones.
		log.L.WithError(err).WithField("file", f.path).Warn("log rotation failed, truncating the log")
	}
	nf, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, logPerm)
	if err != nil {
		return err
	}
	f.f, f.size = nf, 0
	return nil
}

// shiftRotated makes room for the current file as path.1.
func shiftRotated(path string, maxFiles int) error {
	if maxFiles < 2 {
		return ignoreNotExist(os.Remove(path))
	}
	if err := ignoreNotExist(os.Remove(rotatedName(path, maxFiles-1))); err != nil {
		return err
	}
	for i := maxFiles - 1; i > 1; i-- {
		if err := ignoreNotExist(os.Rename(rotatedName(path, i-1), rotatedName(path, i))); err != nil {
			return err
		}
	}
	return ignoreNotExist(os.Rename(path, rotatedName(path, 1)))
}

// rotatedName is dockerd's name of the i-th rotated file: path.i.
func rotatedName(path string, i int) string {
	return fmt.Sprintf("%s.%d", path, i)
}

func ignoreNotExist(err error) error {
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
