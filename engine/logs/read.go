package logs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/containerd/log"
)

// ReadOptions select what Read returns.
type ReadOptions struct {
	Tail         int // < 0: all lines
	Since, Until time.Time
	Follow       bool
	// Stopped, when Follow is set, is closed when the writer is done (the
	// container stopped); Read then drains the file and closes the channel.
	Stopped <-chan struct{}
}

// logFile is one file of a log opened for reading, with its size when it
// was opened.
type logFile struct {
	f       *os.File
	fi      os.FileInfo
	size    int64
	current bool // opened as path, not as a rotated file
}

// Read streams the messages of the log at path (and its rotated files) in
// order. The channel closes at the end, when ctx ends, or, when following,
// after Stopped closes and the rest is drained.
//
// The filters are dockerd's: Tail picks the last lines first, then Since
// drops the entries before it (inclusive bound) and the first entry after
// Until (inclusive bound) ends the stream, following or not. Malformed
// lines are skipped. A log that does not exist yet reads as empty (and,
// when following, is waited for).
func Read(ctx context.Context, path string, opts JSONFileOptions, ro ReadOptions) (<-chan *Message, error) {
	opts = opts.normalized()
	sh := acquire(path)
	// Open every file now, under the rotation lock, so the history is the
	// log as of this call and following starts exactly where it ends.
	sh.fsop.RLock()
	files, err := openSet(path, opts.MaxFiles)
	sh.fsop.RUnlock()
	if err != nil {
		sh.release()
		return nil, err
	}
	r := &reader{
		path:  path,
		opts:  opts,
		ro:    ro,
		sh:    sh,
		since: ro.Since,
		out:   make(chan *Message, 64),
	}
	go r.run(ctx, files)
	return r.out, nil
}

// openSet opens path.(k-1) … path.1 (the ones that exist, oldest first)
// and then path itself, if it exists. The caller holds the rotation lock.
func openSet(path string, k int) ([]logFile, error) {
	var files []logFile
	for i := k - 1; i >= 0; i-- {
		name := path
		if i > 0 {
			name = rotatedName(path, i)
		}
		lf, err := openLog(name)
		lf.current = i == 0
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			closeAll(files)
			return nil, err
		}
		files = append(files, lf)
	}
	return files, nil
}

func openLog(name string) (logFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return logFile{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return logFile{}, err
	}
	return logFile{f: f, fi: fi, size: fi.Size()}, nil
}

func closeAll(files []logFile) {
	for _, lf := range files {
		lf.f.Close()
	}
}

// reader is one Read in progress.
type reader struct {
	path  string
	opts  JSONFileOptions
	ro    ReadOptions
	sh    *shared
	out   chan *Message
	since time.Time // cleared once an entry at or after it is seen

	cur   *lineReader // the current (newest) file, once history is read
	curFI os.FileInfo
}

func (r *reader) run(ctx context.Context, files []logFile) {
	defer close(r.out)
	defer r.sh.release()
	defer func() {
		if r.cur != nil {
			r.cur.f.Close()
		}
	}()
	if !r.history(ctx, files) || !r.ro.Follow {
		return
	}
	r.follow(ctx)
}

// history sends the selected lines of the files opened by Read and leaves
// r.cur at the end of the current file.
func (r *reader) history(ctx context.Context, files []logFile) bool {
	var current *logFile
	if n := len(files); n > 0 && files[n-1].current {
		current = &files[n-1]
	}
	defer func() {
		for i := range files {
			if &files[i] != current || r.cur == nil {
				files[i].f.Close()
			}
		}
	}()

	starts, first, err := r.startOffsets(files)
	if err != nil {
		log.G(ctx).WithError(err).WithField("file", r.path).Warn("cannot read log")
		return false
	}
	for i := first; i < len(files); i++ {
		lr := newLineReader(files[i].f, starts[i], files[i].size)
		if !r.sendLines(ctx, lr) {
			return false
		}
		if &files[i] == current {
			lr.limit = -1 // following goes on from here
			r.cur, r.curFI = lr, current.fi
		}
	}
	if current != nil && r.cur == nil {
		// Tail 0: nothing from history, follow from the end.
		r.cur = newLineReader(current.f, starts[len(files)-1], -1)
		r.curFI = current.fi
	}
	return true
}

// startOffsets returns, for each file, the offset its selected lines
// start at, and the first file with any. With Tail 0 that is none: first
// is len(files), and the current file's offset is past its last line.
func (r *reader) startOffsets(files []logFile) (starts []int64, first int, err error) {
	starts = make([]int64, len(files))
	if r.ro.Tail < 0 {
		return starts, 0, nil
	}
	n := r.ro.Tail
	for i := len(files) - 1; i >= 0; i-- {
		start, lines, err := tailStart(files[i].f, files[i].size, n)
		if err != nil {
			return nil, 0, err
		}
		starts[i], n = start, n-lines
		if n == 0 {
			if r.ro.Tail == 0 {
				return starts, len(files), nil
			}
			return starts, i, nil
		}
	}
	return starts, 0, nil
}

// sendLines sends the complete lines lr has now. It returns false when the
// reading is over (ctx done, Until passed or a read error).
func (r *reader) sendLines(ctx context.Context, lr *lineReader) bool {
	for {
		line, ok, err := lr.next()
		if err != nil {
			log.G(ctx).WithError(err).WithField("file", r.path).Warn("cannot read log")
			return false
		}
		if !ok {
			return true
		}
		if !r.send(ctx, line) {
			return false
		}
	}
}

// send decodes one line and sends it if the time filters select it.
func (r *reader) send(ctx context.Context, line []byte) bool {
	m, ok := decodeEntry(line)
	if !ok {
		return true
	}
	if !r.since.IsZero() {
		if m.Time.Before(r.since) {
			return true
		}
		// Entry times need not be monotonic (stdout and stderr race), so
		// as dockerd, filter only until the first entry at or past Since.
		r.since = time.Time{}
	}
	if !r.ro.Until.IsZero() && m.Time.After(r.ro.Until) {
		return false
	}
	select {
	case r.out <- m:
		return true
	case <-ctx.Done():
		return false
	}
}
