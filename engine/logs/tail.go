package logs

import (
	"bytes"
	"os"
)

// tailStart finds where the last n complete lines of f[0:size) begin. It
// returns that offset and how many lines (at most n) follow it; a partial
// line at the end is not counted. It reads the file backwards, so the cost
// is that of the lines returned, not of the file.
func tailStart(f *os.File, size int64, n int) (start int64, lines int, err error) {
	buf := make([]byte, readChunk)
	newlines := 0 // the (n+1)-th newline from the end ends the line before the tail
	for end := size; end > 0; {
		off := max(end-int64(len(buf)), 0)
		chunk := buf[:end-off]
		if _, err := f.ReadAt(chunk, off); err != nil {
			return 0, 0, err
		}
		for {
			i := bytes.LastIndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			newlines++
			if newlines == n+1 {
				return off + int64(i) + 1, n, nil
			}
			chunk = chunk[:i]
		}
		end = off
	}
	return 0, newlines, nil
}
