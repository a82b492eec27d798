package containers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// pruneFilters are the keys POST /containers/prune accepts.
var pruneFilters = map[string]bool{"label": true, "label!": true, "until": true}

// Prune removes every container that is not running (created, exited,
// dead), as dockerd's ContainersPrune, with its filters: until, label,
// label!. SpaceReclaimed is the size of the writable layers removed.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (*container.PruneReport, error) {
	f := filterSet(filters)
	if err := f.validate(pruneFilters); err != nil {
		return nil, err
	}
	until, err := pruneUntil(f, time.Now())
	if err != nil {
		return nil, err
	}
	rep := &container.PruneReport{ContainersDeleted: []string{}}
	for _, c := range s.all() {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		c.mu.Lock()
		skip := c.rec.State.Running || c.removing || c.removed ||
			(!until.IsZero() && !c.rec.Created.Before(until)) || !pruneLabels(f, c.rec.Config.Labels)
		c.mu.Unlock()
		if skip {
			continue
		}
		size := s.layerSize(ctx, c.id)
		if err := s.remove(ctx, c, false); err != nil {
			log.G(ctx).WithError(err).WithField("container", c.id).Warn("prune: removing a container")
			continue
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, c.id)
		rep.SpaceReclaimed += size
	}
	s.opts.Events.Publish(events.ContainerEventType, events.ActionPrune, events.Actor{
		Attributes: map[string]string{"reclaimed": strconv.FormatUint(rep.SpaceReclaimed, 10)},
	})
	return rep, nil
}

// pruneLabels is dockerd's matchLabels for prune: every label filter must
// match and, when label! is given, it must not.
func pruneLabels(f filterSet, labels map[string]string) bool {
	if !f.matchKVList("label", labels) {
		return false
	}
	return !f.contains("label!") || !f.matchKVList("label!", labels)
}

// pruneUntil reads the until filter (one value): a duration before now,
// Unix seconds or an RFC 3339 time.
func pruneUntil(f filterSet, now time.Time) (time.Time, error) {
	vals := f["until"]
	switch len(vals) {
	case 0:
		return time.Time{}, nil
	case 1:
	default:
		return time.Time{}, errdefs.ErrInvalidArgument.WithMessage("more than one until filter specified")
	}
	v := vals[0]
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	sec, frac, hasFrac := strings.Cut(v, ".")
	if n, err := strconv.ParseInt(sec, 10, 64); err == nil {
		var ns int64
		if hasFrac {
			if ns, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64); err != nil || ns < 0 {
				return time.Time{}, badUntil(v)
			}
		}
		return time.Unix(n, ns), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badUntil(v)
}

func badUntil(v string) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("failed to parse value as time or duration: %q", v))
}

// layerSize is the disk use of the container's writable snapshot; 0 when
// the snapshotter cannot tell.
func (s *Service) layerSize(ctx context.Context, id string) uint64 {
	u, err := s.client.SnapshotService(s.snapshotterName()).Usage(s.nsCtx(ctx), id)
	if err != nil || u.Size < 0 {
		return 0
	}
	return uint64(u.Size)
}
