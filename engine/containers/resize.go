package containers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/events"
)

// Resize sets the size of the container's TTY.
func (s *Service) Resize(ctx context.Context, ref string, height, width uint) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run == nil || !c.rec.State.Running {
		return errNotRunning(c.id)
	}
	if err := c.run.task.Resize(s.nsCtx(ctx), uint32(width), uint32(height)); err != nil {
		return fmt.Errorf("resize container %s: %s", c.id, err)
	}
	s.publish(c, events.ActionResize, map[string]string{
		"height": strconv.FormatUint(uint64(height), 10),
		"width":  strconv.FormatUint(uint64(width), 10),
	})
	return nil
}
