package containers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/roostd/roost/engine/store"
)

// ctr is a container in memory: its durable record plus what only lives
// while roostd runs (the task, its streams, waiters, a pending restart).
type ctr struct {
	id      string
	streams *streams // attach fan-out; outlives runs, like dockerd's StreamConfig

	mu  sync.Mutex // guards everything below
	rec *store.Container
	run *run // the current task, from start until its exit is recorded
	// lastRun is the most recent run, kept after exit so that `logs -f`
	// can wait for its output to drain.
	lastRun           *run
	removing, removed bool
	// taskGone, when set, is closed once the last run's task is deleted:
	// an --rm container is removed from the API before that (see monitor),
	// and its containerd container can go only after.
	taskGone          <-chan struct{}
	manuallyRestarted bool
	// exitOnNext is dockerd's ExitOnNext: the user stopped or killed the
	// container, so its next exit must not trigger the restart policy.
	exitOnNext    bool
	backoff       time.Duration // restart delay, dockerd's restart manager
	restartCancel chan struct{} // closed to cancel a pending restart
	waiters       []waiter
}

// waiter is a pending Wait.
type waiter struct {
	removedOnly bool
	ch          chan container.WaitResponse
}

func newCtr(rec *store.Container) *ctr {
	return &ctr{id: rec.ID, rec: rec, streams: newStreams()}
}

// state returns the dockerd state name (ContainerState) of the container.
func (c *ctr) state() container.ContainerState {
	st := &c.rec.State
	switch {
	case st.Running && st.Paused:
		return container.StatePaused
	case st.Running && st.Restarting:
		return container.StateRestarting
	case st.Running:
		return container.StateRunning
	case c.removing:
		return container.StateRemoving
	case st.Dead:
		return container.StateDead
	case st.StartedAt.IsZero():
		return container.StateCreated
	}
	return container.StateExited
}

// setRunning records a started task.
func (c *ctr) setRunning(pid int, at time.Time) {
	st := &c.rec.State
	st.Running, st.Paused, st.Restarting, st.OOMKilled = true, false, false, false
	st.Pid, st.ExitCode, st.Error = pid, 0, ""
	st.StartedAt = at.UTC()
}

// setStopped records an exit and wakes the waiters for it.
func (c *ctr) setStopped(code int, at time.Time) {
	st := &c.rec.State
	st.Running, st.Paused, st.Restarting, st.Pid = false, false, false, 0
	st.ExitCode = code
	st.FinishedAt = at.UTC()
	if st.Health != nil {
		// As dockerd: a stopped container is not healthy.
		st.Health.Status = container.Unhealthy
	}
	c.notify(false)
}

// setRestarting records an exit that a restart will follow. dockerd counts
// a restarting container as running, so rm and stop treat it as such.
func (c *ctr) setRestarting(code int, at time.Time) {
	st := &c.rec.State
	st.Running, st.Restarting, st.Paused, st.Pid = true, true, false, 0
	st.ExitCode = code
	st.FinishedAt = at.UTC()
	c.notify(false)
}

// setRemoved wakes every waiter: the container is gone.
func (c *ctr) setRemoved() {
	c.removed = true
	c.notify(true)
}

// notify answers the waiters that an exit (or, with removed, the removal)
// satisfies.
func (c *ctr) notify(removed bool) {
	resp := c.waitResponse()
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.removedOnly && !removed {
			kept = append(kept, w)
			continue
		}
		w.ch <- resp // buffered, one send per waiter
	}
	c.waiters = kept
}

// save writes the record to the store. A failure is logged, not returned:
// the in-memory state is the truth while roostd runs, as in dockerd, and
// the next save catches up.
func (s *Service) save(ctx context.Context, c *ctr) {
	if err := s.store.Update(context.WithoutCancel(ctx), c.rec); err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Error("saving container state")
	}
}

// publish sends a container event with dockerd's attributes: the name,
// the image as given, the labels, and extra.
func (s *Service) publish(c *ctr, action events.Action, extra map[string]string) {
	attrs := map[string]string{}
	if c.rec.Config != nil {
		for k, v := range c.rec.Config.Labels {
			attrs[k] = v
		}
	}
	attrs["name"] = c.rec.Name
	attrs["image"] = c.rec.Image
	for k, v := range extra {
		attrs[k] = v
	}
	s.opts.Events.Publish(events.ContainerEventType, action, events.Actor{ID: c.id, Attributes: attrs})
}

func trimSlash(name string) string { return strings.TrimPrefix(name, "/") }
