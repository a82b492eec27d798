package httpapi

import (
	"encoding/binary"
	"io"
	"sync"
)

// Stream bytes of the multiplexed ("stdcopy") stream format.
const (
	streamStdout byte = 1
	streamStderr byte = 2
)

// frameHeaderLen is the size of a stdcopy frame header: the stream byte,
// three zero bytes and the payload length as a big-endian uint32.
const frameHeaderLen = 8

// muxWriter writes each Write as one stdcopy frame to a shared output. The
// moby module only exports the reading side (api/pkg/stdcopy.StdCopy), so
// the writer lives here; it is part of the wire format.
type muxWriter struct {
	out    *lockedWriter
	stream byte
}

// newMuxWriters returns the stdout and stderr frame writers of one stream.
func newMuxWriters(w io.Writer) (stdout, stderr io.Writer) {
	out := &lockedWriter{w: w}
	return &muxWriter{out: out, stream: streamStdout}, &muxWriter{out: out, stream: streamStderr}
}

// Write sends p as one frame, so frames of stdout and stderr never
// interleave. Writes over maxFrame (far beyond any real pipe read) are
// split, as the length field is 32 bits. An empty p writes nothing.
func (m *muxWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxFrame)]
		buf := make([]byte, frameHeaderLen+len(chunk))
		buf[0] = m.stream
		binary.BigEndian.PutUint32(buf[4:frameHeaderLen], uint32(len(chunk)))
		copy(buf[frameHeaderLen:], chunk)
		if _, err := m.out.Write(buf); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// maxFrame is the largest payload muxWriter puts in one frame.
const maxFrame = 1 << 30

// lockedWriter serialises writes from several goroutines (the container's
// stdout and stderr copiers) onto one connection.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
