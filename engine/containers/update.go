package containers

import (
	"context"
	"fmt"
	"reflect"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// Update applies POST /containers/{id}/update, as dockerd's
// ContainerUpdate. The restart policy is applied and saved. Resource
// limits are enforced through cgroups, which a rootless roost does not
// have: asking for one is an error that says so, never a silent no-op.
func (s *Service) Update(ctx context.Context, ref string, req *container.UpdateConfig) (*container.UpdateResponse, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	if req == nil {
		req = &container.UpdateConfig{}
	}
	if names := setResources(req.Resources); len(names) > 0 {
		if s.opts.Rootless {
			return nil, cannotUpdate(c.id, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
				"resource limits (%s) cannot be updated: cgroups are not delegated to this rootless engine, so it cannot enforce them", joinNames(names))))
		}
		return nil, cannotUpdate(c.id, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf(
			"updating resource limits (%s) is not supported by roost", joinNames(names))))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removing || c.removed || c.rec.State.Dead {
		return nil, cannotUpdate(c.id, errdefs.ErrConflict.WithMessage(`container is marked for removal and cannot be "update"`))
	}
	if req.RestartPolicy.Name != "" {
		if c.rec.HostConfig.AutoRemove && !req.RestartPolicy.IsNone() {
			return nil, cannotUpdate(c.id, errdefs.ErrInvalidArgument.WithMessage("Restart policy cannot be updated because AutoRemove is enabled for the container"))
		}
		if err := container.ValidateRestartPolicy(req.RestartPolicy); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
		old := c.rec.HostConfig.RestartPolicy
		c.rec.HostConfig.RestartPolicy = req.RestartPolicy
		if err := s.store.Update(s.bgCtx(ctx), c.rec); err != nil {
			c.rec.HostConfig.RestartPolicy = old
			return nil, cannotUpdate(c.id, err)
		}
	}
	s.publish(c, events.ActionUpdate, nil)
	return &container.UpdateResponse{Warnings: []string{}}, nil
}

// cannotUpdate is dockerd's errCannotUpdate: the class of err is kept.
func cannotUpdate(id string, err error) error {
	return fmt.Errorf("Cannot update container %s: %w", id, err)
}

// setResources names the fields of r that are set (non-zero, non-empty).
func setResources(r container.Resources) []string {
	var names []string
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice, reflect.Map:
			if f.Len() == 0 {
				continue
			}
		case reflect.Pointer:
			if f.IsNil() {
				continue
			}
		default:
			if f.IsZero() {
				continue
			}
		}
		names = append(names, v.Type().Field(i).Name)
	}
	return names
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
