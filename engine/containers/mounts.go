package containers

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// parsedMount is one user mount: -v host:ctr[:opts], --mount or --tmpfs.
type parsedMount struct {
	typ         mount.Type
	source      string
	target      string
	rw          bool
	propagation mount.Propagation
	mode        string   // as given after the second colon of -v
	options     []string // tmpfs options
	nocopy      bool     // a volume not filled from the image (volume-nocopy)
	// driver and driverOpts create a missing named volume: --mount's
	// volume-driver and volume-opt, or --volume-driver for -v.
	driver     string
	driverOpts map[string]string
	subpath    string // of the volume to mount instead of its root (volume-subpath)
	// chown is podman's :U: the source is given to the container's user
	// before each start (mounts_chown.go).
	chown bool
}

// parseMounts reads Binds, Mounts and Tmpfs. A volume's source is its
// name; anonymous volumes have been given one at create (see
// resolveVolumes), and without a volume service Create refuses volumes.
func parseMounts(hc *container.HostConfig) ([]parsedMount, error) {
	var out []parsedMount
	for _, b := range hc.Binds {
		m, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if m.typ == mount.TypeVolume {
			m.driver = hc.VolumeDriver
		}
		out = append(out, m)
	}
	for _, mt := range hc.Mounts {
		if err := checkTarget(mt.Target); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type %q: %v", mt.Type, err))
		}
		m := parsedMount{typ: mt.Type, source: mt.Source, target: path.Clean(mt.Target), rw: !mt.ReadOnly, propagation: mount.PropagationRPrivate}
		switch mt.Type {
		case mount.TypeBind:
			if !path.IsAbs(mt.Source) {
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", mt.Source))
			}
			if mt.BindOptions != nil && mt.BindOptions.Propagation != "" {
				m.propagation = mt.BindOptions.Propagation
			}
		case mount.TypeVolume:
			// An empty source is an anonymous volume not named yet.
			m.propagation = ""
			if o := mt.VolumeOptions; o != nil {
				if err := checkSubpath(mt.Source, o.Subpath); err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type \"volume\": %v", err))
				}
				m.nocopy, m.subpath = o.NoCopy, o.Subpath
				if o.DriverConfig != nil {
					m.driver, m.driverOpts = o.DriverConfig.Name, o.DriverConfig.Options
				}
			}
		case mount.TypeTmpfs:
			opts, err := tmpfsMountOptions(mt)
			if err != nil {
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type \"tmpfs\": %v", err))
			}
			m.options = opts
		default:
			return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("mounts of type %q are not supported yet", mt.Type))
		}
		out = append(out, m)
	}
	targets := make([]string, 0, len(hc.Tmpfs))
	for t := range hc.Tmpfs {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		if err := checkTarget(t); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
		m := parsedMount{typ: mount.TypeTmpfs, target: path.Clean(t), rw: true}
		if o := hc.Tmpfs[t]; o != "" {
			m.options = strings.Split(o, ",")
		}
		out = append(out, m)
	}
	seen := map[string]bool{}
	for _, m := range out {
		if seen[m.target] {
			return nil, errdefs.ErrInvalidArgument.WithMessage("Duplicate mount point: " + m.target)
		}
		seen[m.target] = true
	}
	return out, nil
}

// parseBind reads "src:dst[:opts]" with an absolute src.
func parseBind(b string) (parsedMount, error) {
	parts := strings.Split(b, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return parsedMount{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s'", b))
	}
	if err := checkTarget(parts[1]); err != nil {
		typ := mount.TypeBind
		if !path.IsAbs(parts[0]) {
			typ = mount.TypeVolume
		}
		return parsedMount{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s': invalid mount config for type %q: %v", b, typ, err))
	}
	m := parsedMount{typ: mount.TypeBind, source: path.Clean(parts[0]), target: path.Clean(parts[1]), rw: true, propagation: mount.PropagationRPrivate}
	if !path.IsAbs(parts[0]) {
		// A name: the volume service checks it.
		m.typ, m.source, m.propagation = mount.TypeVolume, parts[0], ""
	}
	if len(parts) == 3 {
		m.mode = parts[2]
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.rw = false
			case "rw":
			case "nocopy":
				m.nocopy = true
			case "z", "Z":
			case "U":
				m.chown = true
			case string(mount.PropagationPrivate), string(mount.PropagationRPrivate), string(mount.PropagationShared),
				string(mount.PropagationRShared), string(mount.PropagationSlave), string(mount.PropagationRSlave):
				m.propagation = mount.Propagation(o)
			default:
				return parsedMount{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mode: %s", o))
			}
		}
	}
	return m, nil
}

// volumePath tells where a volume's data is on the host and which driver
// it has (engine/volumes.Service satisfies it).
type volumePath interface {
	Mountpoint(name string) string
	Driver(name string) string
}

// userMounts returns the OCI mounts of the user's mounts; volumes are
// binds of their data directory.
func userMounts(hc *container.HostConfig, vp volumePath) ([]specs.Mount, error) {
	ms, err := parseMounts(hc)
	if err != nil {
		return nil, err
	}
	out := make([]specs.Mount, 0, len(ms))
	for _, m := range ms {
		switch m.typ {
		case mount.TypeBind:
			opts := []string{"rbind", string(m.propagation)}
			if !m.rw {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.target, Type: "bind", Source: m.source, Options: opts})
		case mount.TypeVolume:
			if vp == nil {
				return nil, errNoVolumes
			}
			opts := []string{"rbind", string(mount.PropagationRPrivate)}
			if !m.rw {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.target, Type: "bind", Source: m.volumeSource(vp), Options: opts})
		case mount.TypeTmpfs:
			// Later options win in runc, so the user's exec beats noexec.
			opts := append([]string{"noexec", "nosuid", "nodev"}, m.options...)
			out = append(out, specs.Mount{Destination: m.target, Type: "tmpfs", Source: "tmpfs", Options: opts})
		}
	}
	return out, nil
}

// mountPoints is Inspect's and List's view of the user's mounts; vp may
// be nil when only names and destinations matter.
func mountPoints(hc *container.HostConfig, vp volumePath) []container.MountPoint {
	ms, _ := parseMounts(hc)
	out := []container.MountPoint{}
	for _, m := range ms {
		mp := container.MountPoint{Type: m.typ, Source: m.source, Destination: m.target, Mode: m.mode, RW: m.rw, Propagation: m.propagation}
		if m.typ == mount.TypeVolume {
			mp.Name, mp.Driver, mp.Source = m.source, "local", ""
			if vp != nil {
				mp.Source, mp.Driver = vp.Mountpoint(m.source), vp.Driver(m.source)
			}
		}
		out = append(out, mp)
	}
	return out
}

// parentsFirst orders mounts by the depth of their destination, as
// dockerd does: a volume or bind on /etc must not hide the /etc/hosts,
// /etc/hostname and /etc/resolv.conf roost binds over it.
func parentsFirst(ms []specs.Mount) []specs.Mount {
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(path.Clean(ms[i].Destination), "/") < strings.Count(path.Clean(ms[j].Destination), "/")
	})
	return ms
}

// checkSubpath refuses what dockerd refuses in volume-subpath: any path
// that is not lexically inside the volume, and a subpath of an anonymous
// volume.
func checkSubpath(source, subpath string) error {
	switch {
	case subpath == "":
		return nil
	case source == "":
		return errors.New("must not set Subpath when using anonymous volumes")
	case !filepath.IsLocal(subpath):
		return errors.New("subpath must be a relative path within the volume")
	}
	return nil
}

// volumeSource is the host path a volume mount binds: the volume's data,
// or its subpath.
func (m parsedMount) volumeSource(vp volumePath) string {
	if m.subpath == "" {
		return vp.Mountpoint(m.source)
	}
	return filepath.Join(vp.Mountpoint(m.source), m.subpath)
}

// checkTarget refuses a relative mount destination or "/", in dockerd's
// words.
func checkTarget(target string) error {
	if target == "" {
		return errors.New("field Target must not be empty")
	}
	if path.Clean(target) == "/" {
		return errors.New("invalid specification: destination can't be '/'")
	}
	if !path.IsAbs(target) {
		return fmt.Errorf("invalid mount path: '%s' mount path must be absolute", target)
	}
	return nil
}

// tmpfsMountOptions checks a --mount type=tmpfs and returns its mount
// options: read-only, mode, size (in dockerd's k/m/g form) and the
// exec/noexec flags, the only free options dockerd accepts.
func tmpfsMountOptions(mt mount.Mount) ([]string, error) {
	switch {
	case mt.Source != "":
		return nil, errors.New("field Source must not be specified")
	case mt.BindOptions != nil:
		return nil, errors.New("field BindOptions must not be specified")
	case mt.VolumeOptions != nil:
		return nil, errors.New("field VolumeOptions must not be specified")
	}
	var opts []string
	if mt.ReadOnly {
		opts = append(opts, "ro")
	}
	o := mt.TmpfsOptions
	if o == nil {
		return opts, nil
	}
	if o.Mode != 0 {
		opts = append(opts, fmt.Sprintf("mode=%o", o.Mode))
	}
	if o.SizeBytes != 0 {
		opts = append(opts, "size="+sizeWithSuffix(o.SizeBytes))
	}
	for _, kv := range o.Options {
		if len(kv) < 1 || len(kv) > 2 {
			return nil, errors.New("invalid option array length")
		}
		if kv[0] != "exec" && kv[0] != "noexec" {
			return nil, errors.New("invalid option: " + kv[0])
		}
		opts = append(opts, strings.Join(kv, "="))
	}
	return opts, nil
}

// sizeWithSuffix writes n with the largest of g, m, k that divides it.
func sizeWithSuffix(n int64) string {
	for _, u := range []struct {
		suffix string
		div    int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n%u.div == 0 {
			return fmt.Sprintf("%d%s", n/u.div, u.suffix)
		}
	}
	return fmt.Sprintf("%d", n)
}
