package containers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/volume"
)

// VolumeMounter is what containers need from the volume service
// (engine/volumes.Service satisfies it).
type VolumeMounter interface {
	// Create makes the named volume, or returns the existing one: dockerd
	// creates the volumes of -v name:/path implicitly.
	Create(ctx context.Context, name, driver string, driverOpts, labels map[string]string) (*volume.Volume, error)
	// CreateAnonymous makes a new anonymous volume of driver ("" for
	// local) and returns its name.
	CreateAnonymous(ctx context.Context, driver string, driverOpts map[string]string) (string, error)
	// Mountpoint is the host directory of the volume's data (no I/O).
	Mountpoint(name string) string
	// Driver is the volume's driver, "local" when it is unknown.
	Driver(name string) string
	IsAnonymous(ctx context.Context, name string) (bool, error)
	Remove(ctx context.Context, name string, force bool) error
	// Mount readies the volume for the container ref before its task is
	// made (a volume with mount options is mounted by its first user).
	Mount(ctx context.Context, name, ref string) (string, error)
	// Unmount releases what Mount took once the container has stopped.
	Unmount(ctx context.Context, name, ref string) error
}

// errNoVolumes refuses volumes when the engine has no volume service.
var errNoVolumes = errdefs.ErrNotImplemented.WithMessage("volumes are not supported by this engine")

// volumePath is nil without a volume service.
func (s *Service) volumePath() volumePath {
	if s.opts.Volumes == nil {
		return nil
	}
	return s.opts.Volumes
}

// resolveVolumes gives every volume of a new container a name and makes
// sure it exists: named ones of -v and --mount are created if missing,
// anonymous ones (--mount without source, -v /path and the image's VOLUME
// entries, both in cfg.Volumes) are created and recorded as type=volume
// entries of hc.Mounts so that the container keeps them, as are the
// mounts inherited with --volumes-from. It returns the
// anonymous volumes it made, for the caller to remove on failure.
func (s *Service) resolveVolumes(ctx context.Context, cfg *container.Config, hc *container.HostConfig) (anon []string, retErr error) {
	if err := s.expandVolumesFrom(hc); err != nil {
		return nil, err
	}
	ms, err := parseMounts(hc)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	needs := false
	for _, m := range ms {
		taken[m.target] = true
		needs = needs || m.typ == mount.TypeVolume
	}
	if s.opts.Volumes == nil {
		if needs {
			return nil, errNoVolumes
		}
		// Without a volume service the image's VOLUME entries stay plain
		// directories of the rootfs, as before.
		return nil, nil
	}
	vs := s.opts.Volumes
	defer func() {
		if retErr != nil {
			s.removeVolumes(ctx, anon)
			anon = nil
		}
	}()
	for _, m := range ms {
		if m.typ == mount.TypeVolume && m.source != "" {
			if _, err := vs.Create(ctx, m.source, m.driver, m.driverOpts, nil); err != nil {
				return anon, err
			}
		}
	}
	for i := range hc.Mounts {
		m := &hc.Mounts[i]
		if m.Type != mount.TypeVolume {
			continue
		}
		if m.Source == "" {
			var driver string
			var opts map[string]string
			if d := m.VolumeOptions; d != nil && d.DriverConfig != nil {
				driver, opts = d.DriverConfig.Name, d.DriverConfig.Options
			}
			name, err := vs.CreateAnonymous(ctx, driver, opts)
			if err != nil {
				return anon, err
			}
			anon = append(anon, name)
			m.Source = name
		}
	}
	for _, target := range sortedKeys(cfg.Volumes) {
		t := path.Clean(target)
		if !path.IsAbs(t) || taken[t] {
			continue
		}
		taken[t] = true
		// -v /path and the image's VOLUME use --volume-driver, as dockerd.
		name, err := vs.CreateAnonymous(ctx, hc.VolumeDriver, nil)
		if err != nil {
			return anon, err
		}
		anon = append(anon, name)
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: t})
	}
	return anon, nil
}

// removeVolumes removes volumes, logging failures: the container they
// belonged to is gone, so nothing can be reported.
func (s *Service) removeVolumes(ctx context.Context, names []string) {
	for _, n := range names {
		if err := s.opts.Volumes.Remove(ctx, n, true); err != nil {
			log.G(ctx).WithError(err).WithField("volume", n).Warn("removing an anonymous volume")
		}
	}
}

// anonymousVolumes returns the anonymous volumes hc mounts.
func (s *Service) anonymousVolumes(ctx context.Context, hc *container.HostConfig) []string {
	if s.opts.Volumes == nil {
		return nil
	}
	ms, _ := parseMounts(hc)
	var out []string
	for _, m := range ms {
		if m.typ != mount.TypeVolume || m.source == "" {
			continue
		}
		if ok, err := s.opts.Volumes.IsAnonymous(ctx, m.source); err == nil && ok {
			out = append(out, m.source)
		}
	}
	return out
}

// VolumeInUse returns the IDs of the containers, running or not, that
// mount the volume name (for `docker volume rm` and prune).
func (s *Service) VolumeInUse(ctx context.Context, name string) ([]string, error) {
	var ids []string
	for _, c := range s.all() {
		c.mu.Lock()
		if !c.removed {
			ms, _ := parseMounts(c.rec.HostConfig)
			for _, m := range ms {
				if m.typ == mount.TypeVolume && m.source == name {
					ids = append(ids, c.id)
					break
				}
			}
		}
		c.mu.Unlock()
	}
	return ids, nil
}

func sortedKeys(m map[string]struct{}) []string {
	return slices.Sorted(maps.Keys(m))
}

// mountVolumes readies c's volumes before its task is made; on error
// what it mounted is released.
func (s *Service) mountVolumes(ctx context.Context, c *ctr) error {
	if s.opts.Volumes == nil {
		return nil
	}
	ms, _ := parseMounts(c.rec.HostConfig)
	for _, m := range ms {
		if m.typ != mount.TypeVolume {
			continue
		}
		dir, err := s.opts.Volumes.Mount(ctx, m.source, c.id)
		if err == nil && m.subpath != "" {
			err = checkSubpathOnDisk(dir, m.subpath)
		}
		if err != nil {
			s.unmountVolumes(ctx, c)
			return fmt.Errorf("error while mounting volume '%s': %w", s.opts.Volumes.Mountpoint(m.source), err)
		}
	}
	return nil
}

// checkSubpathOnDisk makes sure the subpath exists in the volume and,
// symlinks followed, stays inside it: runc would otherwise follow a link
// the volume's content planted out of it.
func checkSubpathOnDisk(dir, subpath string) error {
	p := filepath.Join(dir, subpath)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot access path %s: %w", p, err)
	}
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(base, real); err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("path %s escapes base path %s", subpath, dir)
	}
	return nil
}

// unmountVolumes releases c's volumes once its task is gone; failures are
// logged, as the container has stopped whatever happens.
func (s *Service) unmountVolumes(ctx context.Context, c *ctr) {
	if s.opts.Volumes == nil {
		return
	}
	ms, _ := parseMounts(c.rec.HostConfig)
	for _, m := range ms {
		if m.typ != mount.TypeVolume {
			continue
		}
		if err := s.opts.Volumes.Unmount(ctx, m.source, c.id); err != nil {
			log.G(ctx).WithError(err).WithField("volume", m.source).Warn("unmounting a volume")
		}
	}
}

// publishVolumeEvents sends a volume `mount` (before the container's
// start event) or `unmount` (after its die event) for each of c's
// volumes, with dockerd's attributes. At unmount it also releases the
// volumes, since it is called wherever a task has ended.
func (s *Service) publishVolumeEvents(c *ctr, action events.Action) {
	if s.opts.Volumes == nil {
		return
	}
	if action == events.ActionUnmount {
		s.unmountVolumes(s.bgCtx(context.Background()), c)
	}
	ms, _ := parseMounts(c.rec.HostConfig)
	for _, m := range ms {
		if m.typ != mount.TypeVolume {
			continue
		}
		attrs := map[string]string{"container": c.id, "driver": s.opts.Volumes.Driver(m.source)}
		if action == events.ActionMount {
			attrs["destination"] = m.target
			attrs["read/write"] = strconv.FormatBool(m.rw)
			attrs["propagation"] = string(m.propagation)
		}
		s.opts.Events.Publish(events.VolumeEventType, action, events.Actor{ID: m.source, Attributes: attrs})
	}
}
