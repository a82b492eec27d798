package logs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// base is a fixed time for entries written with explicit times.
var base = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)

func openTest(t *testing.T, opts JSONFileOptions) (*JSONFile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c-json.log")
	f, err := OpenJSONFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// writeN writes lines "line <from>\n" … "line <to-1>\n", one second apart
// starting at base+from seconds.
func writeN(t *testing.T, f *JSONFile, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		m := &Message{Stream: "stdout", Line: []byte(fmt.Sprintf("line %d\n", i)), Time: base.Add(time.Duration(i) * time.Second)}
		if err := f.Write(m); err != nil {
			t.Error(err) // not Fatal: some tests write from another goroutine
			return
		}
	}
}

// collect reads ch until it closes; it fails the test after timeout.
func collect(t *testing.T, ch <-chan *Message, timeout time.Duration) []*Message {
	t.Helper()
	var got []*Message
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, m)
		case <-deadline:
			t.Fatalf("channel not closed after %v (%d messages)", timeout, len(got))
		}
	}
}

func readAll(t *testing.T, path string, opts JSONFileOptions, ro ReadOptions) []*Message {
	t.Helper()
	ch, err := Read(context.Background(), path, opts, ro)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, ch, 2*time.Second)
}

func lines(ms []*Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Line)
	}
	return out
}

// seq is what writeN(from, to) wrote.
func seq(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %d\n", i))
	}
	return out
}
