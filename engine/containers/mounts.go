package containers

import (
	"fmt"
	"path"
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
		out = append(out, m)
	}
	for _, mt := range hc.Mounts {
		if !path.IsAbs(mt.Target) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type %q: invalid mount path: '%s' mount path must be absolute", mt.Type, mt.Target))
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
			m.nocopy = mt.VolumeOptions != nil && mt.VolumeOptions.NoCopy
		case mount.TypeTmpfs:
			m.source = ""
			if o := mt.TmpfsOptions; o != nil {
				if o.SizeBytes > 0 {
					m.options = append(m.options, fmt.Sprintf("size=%d", o.SizeBytes))
				}
				if o.Mode != 0 {
					m.options = append(m.options, fmt.Sprintf("mode=%o", o.Mode))
				}
			}
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
	if !path.IsAbs(parts[1]) {
		return parsedMount{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s': invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", b, parts[1]))
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

// volumePath returns the host directory of a volume's data.
type volumePath func(name string) string

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
			out = append(out, specs.Mount{Destination: m.target, Type: "bind", Source: vp(m.source), Options: opts})
		case mount.TypeTmpfs:
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
				mp.Source = vp(m.source)
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
