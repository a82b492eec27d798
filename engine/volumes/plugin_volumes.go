package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/volume"

	"github.com/roostd/roost/engine/store"
)

// pluginFailed forgets p when err says its socket failed, so that a
// restarted plugin is found again; a plugin's own error keeps it.
func (s *Service) pluginFailed(p *plugin, err error) {
	var te *transportError
	if errors.As(err, &te) {
		s.forgetPlugin(p)
	}
}

// pluginDetails fills v with what its plugin says (Mountpoint, Status,
// CreatedAt), as dockerd's inspect of a plugin volume does.
func (s *Service) pluginDetails(ctx context.Context, v *volume.Volume) error {
	p, err := s.findPlugin(ctx, v.Driver)
	if err != nil {
		return err
	}
	pv, err := p.get(ctx, v.Name)
	if err != nil {
		s.pluginFailed(p, err)
		if errdefs.IsNotFound(err) {
			return err
		}
		return errdefs.ErrUnknown.WithMessage(fmt.Sprintf("get %s: %v", v.Name, err))
	}
	v.Mountpoint = pv.Mountpoint
	v.Status = pv.Status
	if pv.CreatedAt != "" {
		v.CreatedAt = pv.CreatedAt
	}
	return nil
}

// pluginRemove asks the plugin to delete the volume's data.
func (s *Service) pluginRemove(ctx context.Context, rec *store.Volume, force bool) error {
	p, err := s.findPlugin(ctx, rec.Driver)
	if err == nil {
		if err = p.remove(ctx, rec.Name); err != nil {
			s.pluginFailed(p, err)
		}
	}
	if err == nil {
		return nil
	}
	if force {
		log.G(ctx).WithError(err).WithField("volume", rec.Name).Warn("the volume plugin failed to remove the volume; forgetting it anyway")
		return nil
	}
	return errdefs.ErrUnknown.WithMessage(fmt.Sprintf("remove %s: %v", rec.Name, err))
}

// pluginMount asks the plugin for the volume's path for the container ref.
func (s *Service) pluginMount(ctx context.Context, rec *store.Volume, ref string) (string, error) {
	p, err := s.findPlugin(ctx, rec.Driver)
	if err != nil {
		return "", err
	}
	path, err := p.mount(ctx, rec.Name, ref)
	if err != nil {
		s.pluginFailed(p, err)
		return "", err
	}
	return path, nil
}

// pluginUnmount tells the plugin that the container ref is done with it.
func (s *Service) pluginUnmount(ctx context.Context, driver, name, ref string) error {
	p, err := s.findPlugin(ctx, driver)
	if err != nil {
		return err
	}
	if err := p.unmount(ctx, name, ref); err != nil {
		s.pluginFailed(p, err)
		return err
	}
	return nil
}

// pluginNames returns the plugins found in the plugin directories and
// those that recs use.
func (s *Service) pluginNames(recs []*store.Volume) []string {
	var names []string
	for _, r := range recs {
		if r.Driver != LocalDriver {
			names = append(names, r.Driver)
		}
	}
	for _, d := range []string{s.opts.PluginSockDir, s.opts.PluginSpecDir} {
		if d == "" {
			continue
		}
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() {
				n += ".sock" // <name>/<name>.sock or .spec: looked up by name
			}
			if ext := filepath.Ext(n); ext == ".sock" || ext == ".spec" || ext == ".json" {
				names = append(names, strings.TrimSuffix(n, ext))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// pluginVolumes asks the plugins for their volumes. It returns records
// (not stored) of those roost has none of (made by the plugin itself, or
// by another engine), so that `docker volume ls` shows them as dockerd
// does, and the mountpoints the plugins give for all of theirs. A plugin
// that fails is logged and skipped: one broken plugin must not break the
// list.
func (s *Service) pluginVolumes(ctx context.Context, recs []*store.Volume) (extra []*store.Volume, mountpoints map[string]string) {
	known := map[string]bool{}
	for _, r := range recs {
		known[r.Name] = true
	}
	mountpoints = map[string]string{}
	for _, name := range s.pluginNames(recs) {
		p, err := s.findPlugin(ctx, name)
		if err != nil {
			log.G(ctx).WithError(err).WithField("plugin", name).Debug("listing the volumes of a plugin")
			continue
		}
		vs, err := p.list(ctx)
		if err != nil {
			s.pluginFailed(p, err)
			log.G(ctx).WithError(err).WithField("plugin", name).Warn("listing the volumes of a plugin")
			continue
		}
		for _, v := range vs {
			if v.Name == "" {
				continue
			}
			mountpoints[v.Name] = v.Mountpoint
			if known[v.Name] {
				continue
			}
			known[v.Name] = true
			created, _ := time.Parse(time.RFC3339, v.CreatedAt)
			extra = append(extra, &store.Volume{Name: v.Name, Driver: name, Created: created})
		}
	}
	return extra, mountpoints
}
