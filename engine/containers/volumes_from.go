package containers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// expandVolumesFrom adds to hc.Mounts the bind and volume mounts of the
// containers named by hc.VolumesFrom, as dockerd does at create: each
// keeps its source, propagation and read-only flag, and becomes read-only
// when the spec says :ro. The container's own mounts win over inherited
// ones at the same destination, and an earlier --volumes-from over a
// later one. The mounts are resolved once, so the container keeps them
// when the other container is removed, as under dockerd.
func (s *Service) expandVolumesFrom(hc *container.HostConfig) error {
	if len(hc.VolumesFrom) == 0 {
		return nil
	}
	own, err := parseMounts(hc)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, m := range own {
		taken[m.target] = true
	}
	var added []mount.Mount
	for _, spec := range hc.VolumesFrom {
		ref, rw, err := parseVolumesFrom(spec)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
		c, err := s.get(ref)
		if err != nil {
			return err
		}
		c.mu.Lock()
		theirs, err := parseMounts(c.rec.HostConfig)
		c.mu.Unlock()
		if err != nil {
			return err
		}
		for _, m := range theirs {
			if taken[m.target] || (m.typ != mount.TypeBind && m.typ != mount.TypeVolume) {
				continue
			}
			taken[m.target] = true
			added = append(added, inheritedMount(m, rw))
		}
	}
	hc.Mounts = append(hc.Mounts, added...)
	return nil
}

// inheritedMount is m as a --mount entry of the container that inherits
// it; a shared volume is never filled again from the new image.
func inheritedMount(m parsedMount, rw bool) mount.Mount {
	out := mount.Mount{Type: m.typ, Source: m.source, Target: m.target, ReadOnly: !(m.rw && rw)}
	if m.typ == mount.TypeBind {
		out.BindOptions = &mount.BindOptions{Propagation: m.propagation}
	} else {
		out.VolumeOptions = &mount.VolumeOptions{NoCopy: true, Subpath: m.subpath}
	}
	return out
}

// parseVolumesFrom splits "container[:mode]" and tells whether the mounts
// stay writable. Like dockerd it takes rw/ro, z/Z and the consistency
// words, at most one of each, but neither propagation nor copy modes.
func parseVolumesFrom(spec string) (ref string, rw bool, err error) {
	if spec == "" {
		return "", false, errors.New("volumes-from specification cannot be an empty string")
	}
	ref, mode, _ := strings.Cut(spec, ":")
	if mode == "" {
		return ref, true, nil
	}
	rw = true
	seen := map[string]bool{}
	for _, o := range strings.Split(mode, ",") {
		var class string
		switch o {
		case "rw", "ro":
			class, rw = "rw", rw && o == "rw"
		case "z", "Z":
			class = "label"
		case "consistent", "cached", "delegated":
			class = "consistency"
		default:
			return "", false, fmt.Errorf("invalid mode: %s", mode)
		}
		if seen[class] {
			return "", false, fmt.Errorf("invalid mode: %s", mode)
		}
		seen[class] = true
	}
	return ref, rw, nil
}
