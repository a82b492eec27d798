package containers

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
)

// Rename gives a container a new name, as dockerd's ContainerRename: the
// new name is reserved first, the record is saved, then the old name is
// released; the rename event carries the old name (with its '/').
func (s *Service) Rename(ctx context.Context, ref, newName string) error {
	if ref == "" || newName == "" {
		return errdefs.ErrInvalidArgument.WithMessage("Neither old nor new names may be empty")
	}
	name, err := validateName(newName)
	if err != nil {
		return err
	}
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.rec.Name
	if old == name {
		return errdefs.ErrInvalidArgument.WithMessage("Renaming a container with the same name as its current name")
	}
	if c.removing || c.removed {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is marked for removal and cannot be renamed", c.id))
	}
	if _, err := s.reserveName(name, c.id); err != nil {
		return err
	}
	c.rec.Name = name
	if err := s.store.Update(s.bgCtx(ctx), c.rec); err != nil {
		c.rec.Name = old
		s.releaseName(name, c.id)
		if errdefs.IsConflict(err) {
			return err
		}
		return errors.Join(errors.New("failed to rename container"), err)
	}
	s.releaseName(old, c.id)
	s.publish(c, events.ActionRename, map[string]string{"oldName": "/" + old})
	return nil
}
