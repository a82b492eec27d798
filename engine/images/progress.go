package images

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	digest "github.com/opencontainers/go-digest"
)

// ProgressFunc receives the lines of a pull or push progress stream, in
// dockerd's format: a message (Status, with an ID such as the tag or none)
// or the state of one blob (ID its 12-digit short digest, and a Progress
// detail, empty or with the bytes done). The service never calls it from
// two goroutines at once.
type ProgressFunc func(jsonstream.Message)

// progressInterval is how often transfer progress is reported, as dockerd.
const progressInterval = 100 * time.Millisecond

// progressOut serializes calls to a ProgressFunc; a nil func drops
// everything.
type progressOut struct {
	mu sync.Mutex
	fn ProgressFunc
}

func (o *progressOut) send(m jsonstream.Message) {
	if o.fn == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fn(m)
}

// message sends a line without progress detail: "Digest: …", or a tag's
// "Pulling from library/busybox".
func (o *progressOut) message(id, status string) {
	o.send(jsonstream.Message{ID: id, Status: status})
}

// update sends the state of one blob, with an empty progress detail as
// dockerd writes one for every blob line.
func (o *progressOut) update(d digest.Digest, status string) {
	o.send(jsonstream.Message{ID: shortID(d), Status: status, Progress: &jsonstream.Progress{}})
}

// transfer sends the bytes done of a blob out of total.
func (o *progressOut) transfer(d digest.Digest, status string, current, total int64) {
	o.send(jsonstream.Message{ID: shortID(d), Status: status, Progress: &jsonstream.Progress{Current: current, Total: total}})
}

// seconds sends a step measured in seconds (extraction), as dockerd's
// containerd store does: reading a snapshot's size as it grows would cost
// more than the extraction.
func (o *progressOut) seconds(d digest.Digest, status string, n int64) {
	o.send(jsonstream.Message{ID: shortID(d), Status: status, Progress: &jsonstream.Progress{Current: n, Units: "s"}})
}

// aux sends out-of-band data, such as the result of a push.
func (o *progressOut) aux(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	raw := json.RawMessage(data)
	o.send(jsonstream.Message{Progress: &jsonstream.Progress{}, Aux: &raw})
}

// ticker calls fn every progressInterval until the returned stop is
// called; stop waits for a call in progress and then calls fn once more,
// so the last state is always reported.
func ticker(fn func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn()
			case <-quit:
				fn()
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}
