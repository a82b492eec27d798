package containers

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// fakeStdin records what the container would read.
type fakeStdin struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
}

func (f *fakeStdin) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *fakeStdin) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeStdin) state() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String(), f.closed
}

func TestStreamsFanOut(t *testing.T) {
	st := newStreams()
	both := &session{stdout: true, stderr: true, out: newOutQueue()}
	outOnly := &session{stdout: true, out: newOutQueue()}
	st.attach(both)
	st.attach(outOnly)
	st.write("stdout", []byte("a"))
	st.write("stderr", []byte("b"))
	st.write("stdout", []byte("c"))
	st.endOutput()

	read := func(ss *session) (out string) {
		for {
			chunks, ok := ss.out.pop()
			if !ok {
				return out
			}
			for _, c := range chunks {
				if c.stderr {
					out += "E"
				}
				out += string(c.data)
			}
		}
	}
	if got := read(both); got != "aEbc" {
		t.Errorf("both: %q", got)
	}
	if got := read(outOnly); got != "ac" {
		t.Errorf("stdout only: %q", got)
	}
	// A session attached after the run ended waits for the next one.
	late := &session{stdout: true, out: newOutQueue()}
	st.attach(late)
	st.write("stdout", []byte("next run"))
	st.detach(late)
	if _, ok := late.out.pop(); ok {
		t.Error("a detached session still has output")
	}
}

func TestStreamsStdinBeforeStart(t *testing.T) {
	st := newStreams()
	ss := &session{out: newOutQueue()}
	st.attach(ss)

	// docker run -i: the client's input arrives before the task exists.
	done := make(chan error, 1)
	go func() {
		_, err := stdinWriter{st: st, ss: ss}.Write([]byte("hello\n"))
		if err == nil {
			st.endStdin(ss)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("wrote without a task: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	in := &fakeStdin{}
	st.setStdin(in, func() { in.Close() })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, closed := in.state(); got != "hello\n" || !closed {
		t.Fatalf("stdin %q, closed %v", got, closed)
	}

	// An input that ended before the start closes the next stdin at once.
	st.clearStdin()
	st.endStdin(ss)
	in2 := &fakeStdin{}
	st.setStdin(in2, func() { in2.Close() })
	if _, closed := in2.state(); !closed {
		t.Fatal("stdin not closed at start")
	}

	// Unless the session left before.
	st.clearStdin()
	st.endStdin(ss)
	st.detach(ss)
	in3 := &fakeStdin{}
	st.setStdin(in3, func() { in3.Close() })
	if _, closed := in3.state(); closed {
		t.Fatal("a departed session closed the next stdin")
	}

	// A writer blocked for a task gives up when its session ends.
	ss2 := &session{out: newOutQueue()}
	st.attach(ss2)
	st.clearStdin()
	go func() { _, err := stdinWriter{st: st, ss: ss2}.Write([]byte("x")); done <- err }()
	time.Sleep(20 * time.Millisecond)
	st.endOutput()
	if err := <-done; err != errSessionEnded {
		t.Fatalf("blocked writer: %v", err)
	}
}

func TestOutQueueBounded(t *testing.T) {
	q := newOutQueue()
	big := make([]byte, maxQueued)
	q.push(false, big)
	q.push(false, []byte("z"))
	q.push(false, []byte("dropped before a reader came"))
	if chunks, _ := q.pop(); len(chunks) != 2 {
		t.Fatalf("before a reader: %d chunks", len(chunks))
	}
	q.push(false, big)
	q.push(false, []byte("x")) // size is at the bound, not past it
	pushed := make(chan struct{})
	go func() { q.push(false, []byte("y")); close(pushed) }()
	select {
	case <-pushed:
		t.Fatal("push past the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	if chunks, ok := q.pop(); !ok || len(chunks) != 2 {
		t.Fatalf("pop: %d chunks", len(chunks))
	}
	<-pushed
	q.abandon()
	q.push(false, []byte("dropped"))
	if _, ok := q.pop(); ok {
		t.Fatal("abandoned queue still delivers")
	}
}
