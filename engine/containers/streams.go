package containers

import (
	"errors"
	"io"
	"sync"
)

// streams is the attach side of a container's stdio. It outlives runs, as
// dockerd's StreamConfig: a client may attach before the container starts
// (`docker run -it` attaches, then starts) and its stdin waits for the task.
type streams struct {
	mu       sync.Mutex
	cond     *sync.Cond // signalled when stdin or a session changes
	sessions map[*session]struct{}
	stdin    io.WriteCloser // the current run's stdin FIFO; nil when there is none
	// closeStdin, when set, closes the container's stdin (the FIFO and the
	// shim's side); closing only our FIFO end would leave the shim's open.
	closeStdin func()
	// stdinEOF is the StdinOnce session whose input ended before the task
	// had a stdin: the next run's stdin is closed at once (unless that
	// session left first).
	stdinEOF *session
}

func newStreams() *streams {
	st := &streams{sessions: map[*session]struct{}{}}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// attach registers a session; output from now on is queued for it.
func (st *streams) attach(ss *session) {
	st.mu.Lock()
	st.sessions[ss] = struct{}{}
	st.mu.Unlock()
}

// detach unregisters a session and drops what is queued for it.
func (st *streams) detach(ss *session) {
	st.mu.Lock()
	delete(st.sessions, ss)
	ss.gone = true
	if st.stdinEOF == ss {
		st.stdinEOF = nil
	}
	st.cond.Broadcast()
	st.mu.Unlock()
	ss.out.abandon()
}

// write fans a chunk of stream ("stdout" or "stderr") out to the sessions
// that want it. It is the pumps' tee, so it must not fail.
func (st *streams) write(stream string, p []byte) {
	st.mu.Lock()
	targets := make([]*session, 0, len(st.sessions))
	for ss := range st.sessions {
		if (stream == "stdout" && ss.stdout) || (stream == "stderr" && ss.stderr) {
			targets = append(targets, ss)
		}
	}
	st.mu.Unlock()
	for _, ss := range targets {
		ss.out.push(stream == "stderr", p)
	}
}

// endOutput ends the sessions attached now: the run's output is over
// (the container exited). They drain what is queued, then end.
func (st *streams) endOutput() {
	st.mu.Lock()
	ended := st.sessions
	st.sessions = map[*session]struct{}{}
	for ss := range ended {
		ss.gone = true
	}
	st.cond.Broadcast()
	st.mu.Unlock()
	for ss := range ended {
		ss.out.close()
	}
}

// setStdin installs the stdin of a new run.
func (st *streams) setStdin(w io.WriteCloser, closeStdin func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stdinEOF != nil {
		st.stdinEOF = nil
		closeStdin()
		return
	}
	st.stdin, st.closeStdin = w, closeStdin
	st.cond.Broadcast()
}

// clearStdin forgets the stdin of a run that ended.
func (st *streams) clearStdin() {
	st.mu.Lock()
	st.stdin, st.closeStdin = nil, nil
	st.mu.Unlock()
}

var errSessionEnded = errors.New("attach session ended")

// writeStdin writes a client's input to the container's stdin, waiting
// for a run to have one.
func (st *streams) writeStdin(ss *session, p []byte) (int, error) {
	st.mu.Lock()
	for st.stdin == nil && !ss.gone {
		st.cond.Wait()
	}
	w := st.stdin
	gone := ss.gone
	st.mu.Unlock()
	if gone {
		return 0, errSessionEnded
	}
	return w.Write(p)
}

// endStdin closes the container's stdin for a StdinOnce client whose
// input ended; before the task exists it is closed as soon as it does.
func (st *streams) endStdin(ss *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closeStdin == nil {
		st.stdinEOF = ss
		return
	}
	st.closeStdin()
	st.stdin, st.closeStdin = nil, nil
}

// stdinWriter adapts writeStdin to io.Writer for one session.
type stdinWriter struct {
	st *streams
	ss *session
}

func (w stdinWriter) Write(p []byte) (int, error) { return w.st.writeStdin(w.ss, p) }

// fanout adapts streams.write to io.Writer for one stream.
type fanout struct {
	st     *streams
	stream string
}

func (f fanout) Write(p []byte) (int, error) {
	f.st.write(f.stream, p)
	return len(p), nil
}
