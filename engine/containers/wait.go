package containers

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// Wait returns a channel that yields one response when condition is met:
// not-running (at once if the container does not run), next-exit, or
// removed. When ctx ends first it yields StatusCode -1 and ctx's error.
func (s *Service) Wait(ctx context.Context, ref string, condition container.WaitCondition) (<-chan container.WaitResponse, error) {
	switch condition {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid condition: %q", condition))
	}
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	out := make(chan container.WaitResponse, 1)
	c.mu.Lock()
	if (condition == container.WaitConditionRemoved && c.removed) ||
		((condition == "" || condition == container.WaitConditionNotRunning) && !c.rec.State.Running) {
		out <- c.waitResponse()
		c.mu.Unlock()
		return out, nil
	}
	w := waiter{removedOnly: condition == container.WaitConditionRemoved, ch: make(chan container.WaitResponse, 1)}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()

	go func() {
		select {
		case resp := <-w.ch:
			out <- resp
		case <-ctx.Done():
			c.mu.Lock()
			for i, x := range c.waiters {
				if x.ch == w.ch {
					c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
					break
				}
			}
			c.mu.Unlock()
			out <- container.WaitResponse{StatusCode: -1, Error: &container.WaitExitError{Message: ctx.Err().Error()}}
		}
	}()
	return out, nil
}

// waitResponse is the answer for the current state. c.mu is held.
func (c *ctr) waitResponse() container.WaitResponse {
	resp := container.WaitResponse{StatusCode: int64(c.rec.State.ExitCode)}
	if msg := c.rec.State.Error; msg != "" {
		resp.Error = &container.WaitExitError{Message: msg}
	}
	return resp
}
