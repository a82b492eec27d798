package containers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// defaultDetachKeys is ctrl-p,ctrl-q.
var defaultDetachKeys = []byte{16, 17}

// parseDetachKeys reads dockerd's detach-keys format: comma-separated keys,
// each a single character or "ctrl-<c>" with c one of a-z @ [ \ ] ^ _.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return defaultDetachKeys, nil
	}
	var out []byte
	for _, key := range strings.Split(s, ",") {
		if len(key) == 1 {
			out = append(out, key[0])
			continue
		}
		c, ok := strings.CutPrefix(strings.ToLower(key), "ctrl-")
		if !ok || len(c) != 1 {
			return nil, fmt.Errorf("Unknown character: '%s'", key)
		}
		switch ch := c[0]; {
		case ch >= 'a' && ch <= 'z':
			out = append(out, ch-'a'+1)
		case ch == '@':
			out = append(out, 0)
		case ch >= '[' && ch <= '_': // [ \ ] ^ _
			out = append(out, ch-'['+27)
		default:
			return nil, fmt.Errorf("Unknown character: '%s'", key)
		}
	}
	return out, nil
}

// errDetached ends a session whose client typed the detach keys.
var errDetached = errors.New("detached from the container")

// escapeReader passes input through until the detach sequence appears;
// then it returns errDetached. A partial sequence is held back and passed
// on when the next byte does not continue it, as moby/term's EscapeProxy.
type escapeReader struct {
	r    io.Reader
	keys []byte
	held []byte // a prefix of keys typed so far
	out  []byte // bytes ready to return
}

func newEscapeReader(r io.Reader, keys []byte) *escapeReader {
	return &escapeReader{r: r, keys: keys}
}

func (e *escapeReader) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		buf := make([]byte, len(p))
		n, err := e.r.Read(buf)
		for _, b := range buf[:n] {
			if b == e.keys[len(e.held)] {
				e.held = append(e.held, b)
				if len(e.held) == len(e.keys) {
					return e.flush(p), errDetached
				}
				continue
			}
			e.out = append(e.out, e.held...)
			e.held = e.held[:0]
			if b == e.keys[0] {
				e.held = append(e.held, b)
				continue
			}
			e.out = append(e.out, b)
		}
		if err != nil {
			if err == io.EOF {
				e.out = append(e.out, e.held...)
				e.held = nil
				if len(e.out) == 0 {
					return 0, io.EOF
				}
				break
			}
			return e.flush(p), err
		}
	}
	return e.flush(p), nil
}

// flush moves what fits of the ready bytes into p.
func (e *escapeReader) flush(p []byte) int {
	n := copy(p, e.out)
	e.out = bytes.Clone(e.out[n:])
	return n
}
