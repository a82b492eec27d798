package containers

import (
	"context"
	"fmt"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
)

// Remove deletes a container: its task (killed first with force), its
// containerd container and snapshot, its files and its record; with
// removeVolumes its anonymous volumes too (named ones never).
func (s *Service) Remove(ctx context.Context, ref string, force, removeVolumes bool) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.removing {
		c.mu.Unlock()
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("removal of container %s is already in progress", ref))
	}
	c.mu.Unlock()
	if err := s.remove(ctx, c, force); err != nil {
		return fmt.Errorf("cannot remove container %q: %w", ref, err)
	}
	if removeVolumes && !c.rec.HostConfig.AutoRemove {
		s.removeVolumes(s.bgCtx(ctx), s.anonymousVolumes(s.bgCtx(ctx), c.rec.HostConfig))
	}
	return nil
}

// remove is Remove once the container is found; --rm uses it too.
func (s *Service) remove(reqCtx context.Context, c *ctr, force bool) error {
	ctx := s.bgCtx(reqCtx)
	c.mu.Lock()
	if c.removed || c.removing {
		c.mu.Unlock()
		return nil
	}
	if st := &c.rec.State; st.Running && !force {
		c.mu.Unlock()
		if st.Paused {
			return errdefs.ErrConflict.WithMessage("container is paused and must be unpaused first")
		}
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container is %s: stop the container before removing or force remove", c.state()))
	}
	c.removing = true
	c.cancelRestart()
	r := c.run
	if r != nil {
		if err := s.killLocked(ctx, c, syscall.SIGKILL); err != nil {
			log.G(ctx).WithError(err).WithField("container", c.id).Warn("killing a container being removed")
		}
	}
	c.mu.Unlock()

	if r != nil && !waitClosed(r.exited, killWaitTimeout) {
		// The monitor is stuck; take the task down directly.
		if _, err := r.task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			c.mu.Lock()
			c.removing = false
			c.mu.Unlock()
			return fmt.Errorf("could not kill container: %w", err)
		}
	}

	if err := s.finishRemove(ctx, c); err != nil {
		return err
	}
	if c.rec.HostConfig.AutoRemove {
		// --rm removes the anonymous volumes, as dockerd does. Not under
		// c.mu: the volume service asks every container for its mounts.
		s.removeVolumes(ctx, s.anonymousVolumes(ctx, c.rec.HostConfig))
	}
	return nil
}

// finishRemove deletes the record of a container whose task is gone or
// going (taskGone), then its runtime: the containerd container, its
// snapshot and files. Nothing the API shows depends on those, so they go
// in the background (Shutdown waits for them; a roostd that dies first
// leaves a containerd container without a record, which Restore removes).
func (s *Service) finishRemove(ctx context.Context, c *ctr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rec.State.Dead = true
	if err := s.store.Delete(ctx, c.id); err != nil && !errdefs.IsNotFound(err) {
		c.removing = false
		return fmt.Errorf("unable to remove the container's record: %w", err)
	}
	s.reapRuntime(context.WithoutCancel(ctx), c.id, c.taskGone)
	s.mu.Lock()
	delete(s.byID, c.id)
	if s.names[c.rec.Name] == c.id {
		delete(s.names, c.rec.Name)
	}
	s.mu.Unlock()
	c.setRemoved()
	// Sessions attached to a container that never ran would wait forever.
	c.streams.endOutput()
	s.publish(c, events.ActionDestroy, nil)
	return nil
}
