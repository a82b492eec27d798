package containers

import (
	"context"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
)

// outputDrainTimeout bounds the wait for a dead task's output before its
// FIFOs are closed (dockerd waits 2 s for its streams).
const outputDrainTimeout = 2 * time.Second

// unknownExitCode is recorded when the exit status of a task is lost.
const unknownExitCode = 255

// killedExitCode is the status of a task killed with SIGKILL.
const killedExitCode = 128 + 9

// monitor waits for the run's task to exit, records the exit and applies
// the restart policy or --rm.
func (s *Service) monitor(c *ctr, r *run, exitC <-chan client.ExitStatus) {
	defer s.wg.Done()
	ctx := s.nsCtx(context.Background())
	code, at, ok := s.waitExit(ctx, c.id, r, exitC)
	if !ok {
		return // shutting down with live-restore: the task keeps running
	}
	s.killExecs(r)
	select {
	case <-r.outputDone:
	case <-time.After(outputDrainTimeout):
		log.G(ctx).WithField("container", c.id).Warn("output not drained after the task exited")
	}
	// The network's teardown does not need the task (its process and so
	// its network namespace are gone already), and both wait on other
	// processes (runc delete, CNI plugins): overlapping them takes a few
	// milliseconds off every exit, which docker run --rm waits for.
	netDone := make(chan error, 1)
	go func() { netDone <- r.netCleanup() }()
	// deleteTask deletes the exited task; it returns the exit containerd
	// recorded, which wins over the one the wait saw.
	deleteTask := func() (client.ExitStatus, bool) {
		es, err := r.task.Delete(ctx)
		if err != nil || es == nil {
			if !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).WithField("container", c.id).Warn("deleting the exited task")
				r.io.Cancel()
				r.io.Close()
			}
			return client.ExitStatus{}, false
		}
		return *es, true
	}
	// An --rm container's exit is final: once its output is drained and
	// its network (published ports included) is released, nothing the API
	// shows waits for the task, so the exit is recorded and the container
	// removed (its wait answers, its name is free) while the task and then
	// the containerd container are deleted in the background. The task
	// delete (the shim's and runc's clean-up) is most of an exit's time. A
	// roostd that dies meanwhile leaves a containerd container without a
	// record, which Restore's sweep removes.
	c.mu.Lock()
	final := c.rec.HostConfig.AutoRemove && !c.manuallyRestarted && !c.removing && !s.shuttingDown.Load()
	c.mu.Unlock()
	if final {
		gone := make(chan struct{})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer close(gone)
			deleteTask()
		}()
		c.mu.Lock()
		c.taskGone = gone
		c.mu.Unlock()
	} else if es, ok := deleteTask(); ok {
		code, at = int(es.ExitCode()), es.ExitTime()
	}
	if err := <-netDone; err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("network cleanup")
	}
	c.streams.clearStdin()

	c.mu.Lock()
	s.handleExit(ctx, c, code, at)
	c.mu.Unlock()
	close(r.exited)
}

// waitExit waits for the task's exit status. When containerd goes away
// (it is restarted by the supervisor) the wait is resumed; a task that is
// gone meanwhile counts as exited with an unknown status.
//
// ok is false when roostd is shutting down with live-restore: the task is
// left running for the next roostd to restore.
func (s *Service) waitExit(ctx context.Context, id string, r *run, exitC <-chan client.ExitStatus) (code int, at time.Time, ok bool) {
	delay := 100 * time.Millisecond
	for {
		var st client.ExitStatus
		select {
		case st = <-exitC:
		case <-s.detached:
			return 0, time.Time{}, false
		}
		if st.Error() == nil {
			return int(st.ExitCode()), st.ExitTime(), true
		}
		if errdefs.IsNotFound(errgrpc.ToNative(st.Error())) {
			// The client's Wait reports every error through the channel,
			// as a gRPC status. A task that containerd no longer knows
			// had its shim die: containerd's cleanup then killed the
			// container and reported it as killed (dockerd shows the
			// same). Waiting again would never end.
			return killedExitCode, time.Now(), true
		}
		log.G(ctx).WithError(st.Error()).WithField("container", id).Debug("waiting for the task, retrying")
		select {
		case <-time.After(delay):
		case <-s.detached:
			return 0, time.Time{}, false
		}
		if delay < 2*time.Second {
			delay *= 2
		}
		ch, err := r.task.Wait(ctx)
		if err != nil {
			if errdefs.IsNotFound(err) {
				return unknownExitCode, time.Now(), true
			}
			ch = closedExit(err)
		}
		exitC = ch
	}
}

func closedExit(err error) <-chan client.ExitStatus {
	ch := make(chan client.ExitStatus, 1)
	ch <- *client.NewExitStatus(client.UnknownExitStatus, time.Time{}, err)
	return ch
}

// handleExit records an exit: die event, then a restart (after the
// policy's backoff) or --rm. c.mu is held.
func (s *Service) handleExit(ctx context.Context, c *ctr, code int, at time.Time) {
	if at.IsZero() {
		at = time.Now()
	}
	c.run = nil
	ran := at.Sub(c.rec.State.StartedAt)
	restart, delay := shouldRestart(c.rec.HostConfig.RestartPolicy, exitFacts{
		exitCode:        code,
		restartCount:    c.rec.RestartCount,
		cancelled:       c.exitOnNext || c.removing || s.shuttingDown.Load(),
		manuallyStopped: c.rec.ManuallyStopped,
		ran:             ran,
	}, &c.backoff)
	attrs := map[string]string{"exitCode": strconv.Itoa(code), "execDuration": strconv.Itoa(int(ran.Seconds()))}
	if restart {
		c.rec.RestartCount++
		c.setRestarting(code, at)
		s.save(ctx, c)
		s.publish(c, events.ActionDie, attrs)
		s.publishVolumeEvents(c, events.ActionUnmount)
		cancel := make(chan struct{})
		c.restartCancel = cancel
		s.wg.Add(1)
		go s.restartAfter(c, delay, cancel)
		return
	}
	c.setStopped(code, at)
	s.save(ctx, c)
	s.publish(c, events.ActionDie, attrs)
	s.publishVolumeEvents(c, events.ActionUnmount)
	if c.rec.HostConfig.AutoRemove && !c.manuallyRestarted && !c.removing {
		go func() {
			if err := s.remove(ctx, c, true); err != nil {
				log.G(ctx).WithError(err).WithField("container", c.id).Warn("removing an --rm container")
			}
		}()
	}
}

// restartAfter restarts the container after delay unless cancel closes.
func (s *Service) restartAfter(c *ctr, delay time.Duration, cancel chan struct{}) {
	defer s.wg.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-cancel:
		return // whoever cancelled updated the state
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.restartCancel != cancel || c.removing {
		return
	}
	c.restartCancel = nil
	ctx := s.nsCtx(context.Background())
	if err := s.startLocked(ctx, c); err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("restart policy: start failed")
	}
}

// cancelRestart cancels a pending restart: the container is then simply
// stopped, with the exit it had. c.mu is held.
func (c *ctr) cancelRestart() bool {
	if c.restartCancel == nil {
		return false
	}
	close(c.restartCancel)
	c.restartCancel = nil
	c.setStopped(c.rec.State.ExitCode, c.rec.State.FinishedAt)
	return true
}
