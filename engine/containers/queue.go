package containers

import "sync"

// maxQueued bounds what waits for a slow attach client. Past it the
// container's output blocks (as under dockerd) until the client reads.
const maxQueued = 1 << 20

// chunk is a piece of output of one stream.
type chunk struct {
	stderr bool
	data   []byte
}

// outQueue carries output from the pumps to one attach client without
// letting the client's pace touch the log or the other clients, up to
// maxQueued.
type outQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks []chunk
	size   int
	closed bool // no more output: the reader drains, then ends
	gone   bool // the reader left: output is dropped
	// reading is set once a reader consumes the queue. Before that a
	// full queue drops output rather than block the container for a
	// client whose connection never got going.
	reading bool
}

func newOutQueue() *outQueue {
	q := &outQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push queues a copy of p.
func (q *outQueue) push(stderr bool, p []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.size > maxQueued && q.reading && !q.gone && !q.closed {
		q.cond.Wait()
	}
	if q.gone || q.closed || q.size > maxQueued {
		return
	}
	q.chunks = append(q.chunks, chunk{stderr: stderr, data: append([]byte(nil), p...)})
	q.size += len(p)
	q.cond.Broadcast()
}

// pop takes everything queued, waiting for output; ok is false at the end.
func (q *outQueue) pop() (chunks []chunk, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reading = true
	for len(q.chunks) == 0 && !q.closed && !q.gone {
		q.cond.Wait()
	}
	if len(q.chunks) == 0 {
		return nil, false
	}
	chunks, q.chunks, q.size = q.chunks, nil, 0
	q.cond.Broadcast()
	return chunks, true
}

// close ends the output; what is queued is still delivered.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// abandon drops the queue: its reader is gone.
func (q *outQueue) abandon() {
	q.mu.Lock()
	q.gone = true
	q.chunks, q.size = nil, 0
	q.cond.Broadcast()
	q.mu.Unlock()
}
