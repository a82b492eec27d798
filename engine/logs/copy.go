package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxLineSize is where a long line is cut into several entries, as dockerd
// does (its copier buffers 16 KiB); readers join them back naturally since
// only the last piece ends with a newline.
const maxLineSize = 16 * 1024

// Writer is a log driver's sink: json-file (JSONFile) or journald.
type Writer interface {
	Write(m *Message) error
	Close() error
}

// CopyLines reads r until EOF and writes each line (a partial last line
// too) to f as stream, stamped with the time it was read.
//
// It keeps reading when a write fails, so a container never blocks on a
// full pipe because its log cannot be written (disk full, file closed);
// the first write error is returned at EOF. A read error is returned at
// once.
func CopyLines(f Writer, stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLineSize)
	var werr error
	write := func(line []byte) {
		err := f.Write(&Message{Stream: stream, Line: line, Time: time.Now()})
		if err != nil && werr == nil {
			werr = fmt.Errorf("write %s log: %w", stream, err)
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			write(line)
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return werr
		default:
			return err
		}
	}
}
