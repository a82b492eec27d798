package containers

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// errNoFreezer explains why a rootless roost cannot pause: runc freezes a
// container through its cgroup, and roost runs rootless containers
// without cgroups because the user's systemd does not delegate them.
func errNoFreezer(id string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf(
		"cannot pause container %s: pausing needs the cgroup freezer, and this rootless engine runs containers without cgroups (cgroups are not delegated to it)", id))
}

// Pause freezes the container's processes (dockerd's containerPause).
func (s *Service) Pause(ctx context.Context, ref string) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.rec.State
	switch {
	case !st.Running:
		return errNotRunning(c.id)
	case st.Paused:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is already paused", c.id))
	case st.Restarting || c.run == nil:
		return errRestarting(c.id)
	case s.opts.Rootless:
		return errNoFreezer(c.id)
	}
	ctx = s.bgCtx(ctx)
	if err := c.run.task.Pause(ctx); err != nil {
		return fmt.Errorf("cannot pause container %s: %w", c.id, err)
	}
	st.Paused = true
	if st.Health != nil {
		// As dockerd, which stops monitoring a paused container.
		st.Health.Status = container.Unhealthy
	}
	s.save(ctx, c)
	s.publish(c, events.ActionPause, nil)
	return nil
}

// Unpause thaws a paused container (dockerd's containerUnpause).
func (s *Service) Unpause(ctx context.Context, ref string) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.rec.State
	if !st.Paused || c.run == nil {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not paused", c.id))
	}
	ctx = s.bgCtx(ctx)
	if err := c.run.task.Resume(ctx); err != nil {
		return fmt.Errorf("cannot unpause container %s: %w", c.id, err)
	}
	st.Paused = false
	s.save(ctx, c)
	s.publish(c, events.ActionUnPause, nil)
	return nil
}

// errRestarting is dockerd's errContainerIsRestarting.
func errRestarting(id string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is restarting, wait until the container is running", id))
}

// thawForExit resumes a paused container that was just sent its stop
// signal or SIGKILL: frozen processes only act on the signal once thawed
// (dockerd does the same). c.mu is held.
func (s *Service) thawForExit(ctx context.Context, c *ctr) {
	if !c.rec.State.Paused || c.run == nil {
		return
	}
	if err := c.run.task.Resume(ctx); err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("cannot unpause a container being stopped")
		return
	}
	c.rec.State.Paused = false
	s.publish(c, events.ActionUnPause, nil)
}
