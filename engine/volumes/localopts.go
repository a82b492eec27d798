package volumes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/docker/go-units"
	"github.com/moby/sys/mountinfo"
)

// requiredOpts says which options of the local driver need which others,
// as dockerd's local driver does.
var requiredOpts = map[string][]string{
	"device": {"type"},
	"type":   {"device"},
	"o":      {"device", "type"},
}

// checkLocalOpts refuses what dockerd's local driver refuses: unknown
// keys, a type without a device (and so on), and a size, since quotas
// need an XFS project quota roost cannot set up rootless.
func checkLocalOpts(opts map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		switch k {
		case "type", "device", "o":
		case "size":
			size, err := units.RAMInBytes(opts[k])
			if err != nil {
				return err
			}
			if size > 0 {
				return errors.New("quota size requested but no quota support")
			}
		default:
			return fmt.Errorf("invalid option: %q", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(requiredOpts)) {
		if _, ok := opts[k]; !ok {
			continue
		}
		for _, need := range requiredOpts[k] {
			if _, ok := opts[need]; !ok {
				return fmt.Errorf("missing required option: %q", need)
			}
		}
	}
	return nil
}

// needsMount tells whether a local volume is a filesystem mounted on its
// data directory (type/device/o) rather than the directory itself.
func needsMount(opts map[string]string) bool {
	return opts["type"] != "" || opts["device"] != ""
}

// activeMount counts the containers using a volume that is mounted on
// its data directory: one with local mount options, or a plugin's.
type activeMount struct {
	driver string
	users  map[string]bool
}

// Mount makes the volume name ready for the container ref and returns the
// host path to bind into it, its data directory. A volume with mount
// options is mounted there by its first user, as by dockerd's local
// driver: in roost's user namespace, which may mount tmpfs and bind
// directories the user can read, and whose mounts the containers see. A
// plugin's volume is asked for by every user, as dockerd does, and the
// path the plugin answers is bound there by the first.
func (s *Service) Mount(ctx context.Context, name, ref string) (string, error) {
	rec, err := s.store.Get(ctx, name)
	if err != nil {
		return "", err
	}
	dir := s.dataDir(name)
	plugin := rec.Driver != LocalDriver
	if !plugin && !needsMount(rec.Options) {
		return dir, nil
	}
	s.mntMu.Lock()
	defer s.mntMu.Unlock()
	a := s.active[name]
	if a == nil {
		a = &activeMount{driver: rec.Driver, users: map[string]bool{}}
	}
	if a.users[ref] {
		return dir, nil
	}
	var src string
	if plugin {
		if src, err = s.pluginMount(ctx, rec, ref); err != nil {
			return "", errdefs.ErrUnknown.WithMessage(err.Error())
		}
	}
	if len(a.users) == 0 {
		// Still mounted by a roostd that was killed and re-attached to
		// the namespace: use it as it is.
		if mounted, _ := mountinfo.Mounted(dir); !mounted {
			err := mountLocal(rec.Options, dir)
			if plugin {
				err = bindPluginPath(src, dir)
			}
			if err != nil {
				if plugin {
					if uerr := s.pluginUnmount(ctx, rec.Driver, name, ref); uerr != nil {
						log.G(ctx).WithError(uerr).WithField("volume", name).Warn("unmounting a plugin volume")
					}
				}
				return "", errdefs.ErrUnknown.WithMessage(err.Error())
			}
		}
	}
	a.users[ref] = true
	s.active[name] = a
	return dir, nil
}

// Unmount releases the volume name for the container ref; the last user
// unmounts its data directory, and a plugin hears of every user.
func (s *Service) Unmount(ctx context.Context, name, ref string) error {
	s.mntMu.Lock()
	defer s.mntMu.Unlock()
	a := s.active[name]
	if a == nil || !a.users[ref] {
		return nil
	}
	delete(a.users, ref)
	var err error
	if len(a.users) == 0 {
		delete(s.active, name)
		err = unmountLocal(s.dataDir(name))
	}
	if a.driver != LocalDriver {
		if perr := s.pluginUnmount(ctx, a.driver, name, ref); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// unmountIdle unmounts the data directory of a volume about to be
// removed. It refuses to go on while the directory is still mounted:
// removing the data of a bind would delete the user's files.
func (s *Service) unmountIdle(ctx context.Context, name string) error {
	s.mntMu.Lock()
	defer s.mntMu.Unlock()
	if a := s.active[name]; a != nil && len(a.users) > 0 {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("remove %s: volume has active mounts", name))
	}
	delete(s.active, name)
	if err := unmountLocal(s.dataDir(name)); err != nil {
		log.G(ctx).WithError(err).WithField("volume", name).Warn("unmounting a volume")
	}
	if mounted, err := mountinfo.Mounted(s.dataDir(name)); err == nil && mounted {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("remove %s: volume is still mounted", name))
	}
	return nil
}

func mountLocal(opts map[string]string, dir string) error {
	m := mount.Mount{Type: opts["type"], Source: opts["device"]}
	if o := opts["o"]; o != "" {
		m.Options = strings.Split(o, ",")
	}
	if err := m.Mount(dir); err != nil {
		return fmt.Errorf("failed to mount local volume: %w", err)
	}
	return nil
}

// bindPluginPath binds the directory a plugin answered onto the volume's
// data directory, which the container's spec names.
func bindPluginPath(src, dir string) error {
	m := mount.Mount{Type: "bind", Source: src, Options: []string{"rbind"}}
	if err := m.Mount(dir); err != nil {
		return fmt.Errorf("binding the plugin's mountpoint %s: %w", src, err)
	}
	return nil
}

func unmountLocal(dir string) error {
	mounted, err := mountinfo.Mounted(dir)
	if err != nil || !mounted {
		return err
	}
	return mount.UnmountAll(dir, 0)
}
