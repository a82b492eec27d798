package logs

import (
	"bytes"
	"errors"
	"io"
	"os"
)

const (
	readChunk = 32 * 1024
	// maxEntrySize bounds one line of a log file. Written entries are at
	// most 16 KiB of log escaped (×6 at worst) plus a few fields; anything
	// longer is corruption and is skipped.
	maxEntrySize = 1 << 20
)

// lineReader returns the complete (newline-terminated) lines of a file
// from an offset, and can be resumed after EOF when the file grows. It
// reads with ReadAt, so it never depends on the descriptor's offset.
type lineReader struct {
	f     *os.File
	pos   int64  // file offset of buf[0]
	buf   []byte // read, not yet returned
	start int    // buf[start:] is not yet returned
	limit int64  // read nothing at or past this offset; < 0: no limit
	skip  bool   // discarding an overlong line up to its newline
}

func newLineReader(f *os.File, off, limit int64) *lineReader {
	return &lineReader{f: f, pos: off, limit: limit, buf: make([]byte, 0, readChunk)}
}

// next returns the next complete line without its newline; the slice is
// valid until the following call. ok is false when no complete line is
// available yet (EOF or the limit), err is a read error.
func (r *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(r.buf[r.start:], '\n'); i >= 0 {
			line = r.buf[r.start : r.start+i]
			r.start += i + 1
			if r.skip {
				r.skip = false
				continue
			}
			return line, true, nil
		}
		n, err := r.fill()
		if n == 0 || err != nil {
			return nil, false, err
		}
	}
}

// fill reads more of the file into buf and returns how many bytes it got.
func (r *lineReader) fill() (int, error) {
	// Move the unreturned bytes to the front to make room.
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:])
		r.buf = r.buf[:n]
		r.pos += int64(r.start)
		r.start = 0
	}
	if len(r.buf) >= maxEntrySize {
		// Corrupt: drop what we have and the rest of this line.
		r.pos += int64(len(r.buf))
		r.buf = r.buf[:0]
		r.skip = true
	}
	if len(r.buf) == cap(r.buf) {
		r.buf = append(r.buf, make([]byte, cap(r.buf))...)[:len(r.buf)]
	}
	off := r.pos + int64(len(r.buf))
	space := r.buf[len(r.buf):cap(r.buf)]
	if r.limit >= 0 {
		if off >= r.limit {
			return 0, nil
		}
		if rest := r.limit - off; rest < int64(len(space)) {
			space = space[:rest]
		}
	}
	n, err := r.f.ReadAt(space, off)
	r.buf = r.buf[:len(r.buf)+n]
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
