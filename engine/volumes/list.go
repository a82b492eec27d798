package volumes

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"

	"github.com/roostd/roost/engine/internal/filtermatch"
)

// List returns the volumes matching filters (name: substring, label:
// key or key=value, dangling: unused, driver).
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]*volume.Volume, error) {
	for k := range filters {
		switch k {
		case "name", "label", "dangling", "driver":
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	var dangling *bool
	for _, v := range filters["dangling"] {
		var b bool
		switch strings.ToLower(v) {
		case "true", "1":
			b = true
		case "false", "0":
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'dangling=%s'", v))
		}
		dangling = &b
	}
	recs, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	// The volumes plugins list without roost's record go through the
	// same filters (they are never in use).
	extra, mountpoints := s.pluginVolumes(ctx, recs)
	recs = append(recs, extra...)
	out := []*volume.Volume{}
	for _, rec := range recs {
		if !filtermatch.Any(filters["name"], func(n string) bool { return strings.Contains(rec.Name, n) }) ||
			!filtermatch.Any(filters["driver"], func(d string) bool { return d == rec.Driver }) ||
			!filtermatch.Labels(filters["label"], rec.Labels) {
			continue
		}
		if dangling != nil {
			users, err := s.users(ctx, rec.Name)
			if err != nil {
				return nil, err
			}
			if (len(users) == 0) != *dangling {
				continue
			}
		}
		v := s.toAPI(rec)
		if mp := mountpoints[rec.Name]; mp != "" && rec.Driver != LocalDriver {
			v.Mountpoint = mp
		}
		out = append(out, v)
	}
	return out, nil
}

// Prune removes the unused volumes: only anonymous ones unless the filter
// all=true is given (dockerd ≥ 23), narrowed by label filters.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (*volume.PruneReport, error) {
	all := false
	for k, vs := range filters {
		switch k {
		case "label", "label!":
		case "all":
			for _, v := range vs {
				switch strings.ToLower(v) {
				case "true", "1":
					all = true
				case "false", "0":
				default:
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'all=%s': invalid value", v))
				}
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	rep := &volume.PruneReport{VolumesDeleted: []string{}}
	for _, rec := range recs {
		if (!all && !rec.Anonymous) || !filtermatch.Labels(filters["label"], rec.Labels) ||
			(len(filters["label!"]) > 0 && filtermatch.Labels(filters["label!"], rec.Labels)) {
			continue
		}
		if users, err := s.users(ctx, rec.Name); err != nil || len(users) > 0 {
			continue
		}
		size := dirSize(filepath.Join(s.opts.Root, rec.Name))
		if err := s.removeLocked(ctx, rec, false); err != nil {
			return nil, err
		}
		rep.VolumesDeleted = append(rep.VolumesDeleted, rec.Name)
		rep.SpaceReclaimed += uint64(size)
	}
	return rep, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
