package containers

import (
	"context"
	"sync"
)

// maxReapers bounds the runtime deletions in flight: removing a thousand
// containers through the API (each answered at once) must not become a
// thousand concurrent calls to containerd and as many goroutines, whose
// memory roostd would keep long after.
const maxReapers = 4

// reaper deletes the runtimes of removed containers (the containerd
// container, its snapshot, its files) in the background, in the order they
// were removed, a few at a time.
type reaper struct {
	mu      sync.Mutex
	queue   []reapJob
	workers int
}

type reapJob struct {
	id string
	// gone, when set, is closed once the container's task is deleted; the
	// containerd container can go only after.
	gone <-chan struct{}
}

// reapRuntime queues the deletion of a removed container's runtime.
// Shutdown waits for the queue (s.wg).
func (s *Service) reapRuntime(ctx context.Context, id string, gone <-chan struct{}) {
	r := &s.reaper
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue = append(r.queue, reapJob{id: id, gone: gone})
	if r.workers < maxReapers {
		r.workers++
		s.wg.Add(1)
		go s.reap(ctx)
	}
}

// reap works through the queue until it is empty.
func (s *Service) reap(ctx context.Context) {
	defer s.wg.Done()
	r := &s.reaper
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.workers--
			r.mu.Unlock()
			return
		}
		job := r.queue[0]
		r.queue[0] = reapJob{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if job.gone != nil {
			<-job.gone
		}
		s.deleteRuntime(ctx, job.id)
	}
}
