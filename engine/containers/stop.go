package containers

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/sys/signal"
)

// Stop timeouts, as dockerd's.
const (
	defaultStopTimeout = 10 // seconds, when neither ?t nor StopTimeout is set
	killWaitTimeout    = 10 * time.Second
)

// Stop sends the stop signal, waits up to the timeout, then kills.
func (s *Service) Stop(ctx context.Context, ref string, opts StopOptions) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	running := c.rec.State.Running
	c.mu.Unlock()
	if !running {
		return errdefs.ErrNotModified.WithMessage("container is already stopped")
	}
	if err := s.stop(ctx, c, opts); err != nil {
		if errdefs.IsInvalidArgument(err) {
			return err
		}
		return fmt.Errorf("cannot stop container: %s: %w", ref, err)
	}
	return nil
}

// stop is dockerd's containerStop: signal, wait, SIGKILL, then the stop
// event. It is not cancelled by the client going away.
func (s *Service) stop(reqCtx context.Context, c *ctr, opts StopOptions) error {
	ctx := s.bgCtx(reqCtx)
	c.mu.Lock()
	sig, err := stopSignal(c, opts.Signal)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	timeout := defaultStopTimeout
	if t := c.rec.Config.StopTimeout; t != nil {
		timeout = *t
	}
	if opts.Timeout != nil {
		timeout = *opts.Timeout
	}
	if !c.rec.State.Running {
		c.mu.Unlock()
		return nil
	}
	if c.cancelRestart() {
		c.rec.ManuallyStopped = !s.shuttingDown.Load()
		s.save(ctx, c)
		c.mu.Unlock()
		s.publish(c, events.ActionStop, nil)
		return nil
	}
	r := c.run
	if r == nil {
		c.mu.Unlock()
		return errNotRunning(c.id)
	}
	killErr := s.killLocked(ctx, c, sig)
	c.mu.Unlock()

	wait := time.Duration(timeout) * time.Second
	if killErr != nil {
		// dockerd still waits a little: the process may be exiting.
		wait = 2 * time.Second
	}
	if timeout < 0 && killErr == nil {
		<-r.exited
	} else if !waitClosed(r.exited, wait) {
		log.G(ctx).WithField("container", c.id).Infof("Container failed to exit within %s of signal %d - using the force", wait, sig)
		c.mu.Lock()
		if c.run == r {
			killErr = s.killLocked(ctx, c, syscall.SIGKILL)
		}
		c.mu.Unlock()
		if !waitClosed(r.exited, killWaitTimeout) {
			if killErr != nil {
				return killErr
			}
			return fmt.Errorf("container %s did not exit %s after SIGKILL", c.id, killWaitTimeout)
		}
	}
	s.publish(c, events.ActionStop, nil)
	return nil
}

// Kill sends a signal (SIGKILL by default: then it waits for the exit).
// httpapi adds dockerd's "cannot kill container: ref: " prefix.
func (s *Service) Kill(ctx context.Context, ref string, sigName string) error {
	sig := syscall.SIGKILL
	if sigName != "" {
		var err error
		if sig, err = signal.ParseSignal(sigName); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
	}
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	ctx = s.bgCtx(ctx)
	c.mu.Lock()
	if !c.rec.State.Running {
		c.mu.Unlock()
		return errNotRunning(c.id)
	}
	if c.rec.State.Restarting {
		// dockerd: telling the restart loop to stop is enough.
		c.cancelRestart()
		c.rec.ManuallyStopped = true
		s.save(ctx, c)
		c.mu.Unlock()
		return nil
	}
	r := c.run
	err = s.killLocked(ctx, c, sig)
	c.mu.Unlock()
	if err != nil || sig != syscall.SIGKILL {
		return err
	}
	if !waitClosed(r.exited, killWaitTimeout) {
		return fmt.Errorf("container %s did not exit %s after SIGKILL", c.id, killWaitTimeout)
	}
	return nil
}

// killLocked signals the running task, with dockerd's bookkeeping: the
// user's stop or kill suppresses the restart policy for this exit and
// marks the container as manually stopped. c.mu is held.
func (s *Service) killLocked(ctx context.Context, c *ctr, sig syscall.Signal) error {
	if c.run == nil {
		return errNotRunning(c.id)
	}
	stopSig, _ := signal.ParseSignal(c.rec.Config.StopSignal)
	if c.rec.Config.StopSignal == "" || sig == syscall.SIGKILL || sig == stopSig {
		c.exitOnNext = true
	}
	if !s.shuttingDown.Load() && !c.rec.ManuallyStopped {
		c.rec.ManuallyStopped = true
		s.save(ctx, c)
	}
	if err := c.run.task.Kill(ctx, sig); err != nil {
		if errdefs.IsNotFound(err) {
			return nil // already gone; the monitor records the exit
		}
		return fmt.Errorf("Cannot kill container %s: %w", c.id, err)
	}
	if c.exitOnNext {
		s.thawForExit(ctx, c)
	}
	s.publish(c, events.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
	return nil
}

// Restart stops the container if it runs, then starts it.
func (s *Service) Restart(ctx context.Context, ref string, opts StopOptions) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.rec.State.Running {
		// An --rm container is not removed by this exit.
		c.manuallyRestarted = true
	}
	c.mu.Unlock()
	if err := s.stop(ctx, c, opts); err != nil {
		return fmt.Errorf("Cannot restart container %s: %w", ref, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removing || c.removed {
		return fmt.Errorf("Cannot restart container %s: %w", ref, errdefs.ErrConflict.WithMessage("container is marked for removal and cannot be started"))
	}
	if !c.rec.State.Running {
		c.rec.RestartCount = 0
		c.backoff = 0
		c.rec.ManuallyStopped = false
		if err := s.startLocked(ctx, c); err != nil {
			return fmt.Errorf("Cannot restart container %s: %w", ref, err)
		}
	}
	s.publish(c, events.ActionRestart, nil)
	return nil
}

// stopSignal is the signal of a stop: the request's, else the container's
// StopSignal, else SIGTERM.
func stopSignal(c *ctr, requested string) (syscall.Signal, error) {
	name := requested
	if name == "" {
		name = c.rec.Config.StopSignal
	}
	if name == "" {
		return syscall.SIGTERM, nil
	}
	sig, err := signal.ParseSignal(name)
	if err != nil {
		return 0, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	return sig, nil
}

// errNotRunning is dockerd's error for a container that must run.
func errNotRunning(id string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", id))
}

// waitClosed waits for ch to close, up to d.
func waitClosed(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
