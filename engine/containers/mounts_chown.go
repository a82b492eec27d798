package containers

// Podman's :U option (-v src:dst:U): before each start the mount's source
// is given, recursively, to the container's user and group, so that a
// container that does not run as root can use a directory of yours.
// roostd is root of the user namespace, so a chown to a container ID lands
// on the host as the matching subordinate ID. An idmapped mount would leave
// the files alone, but the kernel allows one only to a process privileged
// over the user namespace that owns the filesystem (the host's, for a
// directory of the host), which a rootless engine never is.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// protectedDirs are host directories :U never gives away: chowning one to
// a subordinate ID would lock you (or the system) out of it. The home
// directory is added at run time.
var protectedDirs = []string{
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt",
	"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/tmp",
}

// idMaps are the engine's user namespace maps, read from /proc/self; a
// map that cannot be read maps everything (no user namespace).
type idMaps struct {
	uids, gids []idRange
	single     bool // one ID only: single-ID mode
}

// idRange is one line of a uid_map or gid_map: IDs start..start+n-1 of
// the namespace.
type idRange struct{ start, n uint64 }

// engineIDMaps are the maps of the engine's user namespace, read once:
// they are written before roostd joins it and never change.
var engineIDMaps = sync.OnceValue(readIDMaps)

// oneGroupLine tells whether gid_map has a single line, as in single-ID
// mode, where no gid but 0 exists inside.
func (m idMaps) oneGroupLine() bool { return len(m.gids) == 1 }

func readIDMaps() idMaps {
	uids, uerr := os.ReadFile("/proc/self/uid_map")
	gids, gerr := os.ReadFile("/proc/self/gid_map")
	if uerr != nil || gerr != nil {
		return idMaps{}
	}
	m := idMaps{uids: parseIDMap(uids), gids: parseIDMap(gids)}
	m.single = len(m.uids) == 1 && m.uids[0].n == 1
	return m
}

// parseIDMap reads "inside outside count" lines; malformed ones are
// skipped.
func parseIDMap(b []byte) []idRange {
	var out []idRange
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(f[0], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 33)
		if err1 == nil && err2 == nil {
			out = append(out, idRange{start, n})
		}
	}
	return out
}

func inRanges(rs []idRange, id uint32) bool {
	if rs == nil {
		return true
	}
	for _, r := range rs {
		if uint64(id) >= r.start && uint64(id) < r.start+r.n {
			return true
		}
	}
	return false
}

// chownGuard is what :U must leave alone besides protectedDirs: the home
// directory, and the engine's own directories (data and state), which
// it must neither give away nor reach through a parent.
type chownGuard struct {
	home       string
	engineDirs []string
}

func (s *Service) chownGuard() chownGuard {
	return chownGuard{home: os.Getenv("HOME"), engineDirs: []string{s.opts.DataDir, s.opts.StateDir}}
}

// chownSources returns the host paths of hc's :U mounts, and refuses
// (400, at create and again at start) a user the namespace does not map
// and a source :U must leave alone (chownGuard).
func chownSources(hc *container.HostConfig, vp volumePath, u specs.User, maps idMaps, g chownGuard) ([]string, error) {
	ms, err := parseMounts(hc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if !m.chown {
			continue
		}
		spec := m.source + ":" + m.target + ":" + m.mode
		if !inRanges(maps.uids, u.UID) || !inRanges(maps.gids, u.GID) {
			msg := fmt.Sprintf("invalid volume specification: '%s': cannot chown the source to the container's user %d:%d: the engine's user namespace does not map it", spec, u.UID, u.GID)
			if maps.single {
				msg += " (single-ID mode maps root only: give yourself a range in /etc/subuid and /etc/subgid)"
			}
			return nil, errdefs.ErrInvalidArgument.WithMessage(msg)
		}
		switch m.typ {
		case mount.TypeBind:
			if err := g.check(m.source); err != nil {
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s': %v", spec, err))
			}
			out = append(out, m.source)
		case mount.TypeVolume:
			if vp == nil {
				return nil, errNoVolumes
			}
			out = append(out, m.volumeSource(vp))
		}
	}
	return out, nil
}

// check refuses src, symlinks resolved, when it is one of protectedDirs
// or the home directory, or when it holds or lies inside the engine's
// directories.
func (g chownGuard) check(src string) error {
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		real = filepath.Clean(src)
	}
	for _, d := range append(slices.Clone(protectedDirs), g.home) {
		if d != "" && real == filepath.Clean(d) {
			return fmt.Errorf(":U will not chown %s, a system or home directory: bind a directory under it", real)
		}
	}
	for _, d := range g.engineDirs {
		if d == "" {
			continue
		}
		rd := d
		if r, err := filepath.EvalSymlinks(d); err == nil {
			rd = r
		}
		if inDir(real, rd) || inDir(rd, real) {
			// The names the user knows: inside roost's namespace /run is
			// a copy with another real path.
			return fmt.Errorf(":U will not chown %s: it holds or is part of the engine's own files in %s", filepath.Clean(src), d)
		}
	}
	return nil
}

// inDir tells whether p is dir or below it (lexically).
func inDir(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}

// hasChownMount tells whether hc has a :U mount, without I/O.
func hasChownMount(hc *container.HostConfig) bool {
	ms, _ := parseMounts(hc)
	for _, m := range ms {
		if m.chown {
			return true
		}
	}
	return false
}

// withChownCheck refuses, at create, the :U mounts that could not work,
// once oci.WithUser has resolved the container's user in its image.
func (s *Service) withChownCheck(hc *container.HostConfig) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		_, err := chownSources(hc, s.volumePath(), sp.Process.User, engineIDMaps(), s.chownGuard())
		if err != nil {
			return chownRefusal{err}
		}
		return nil
	}
}

// chownRefusal is withChownCheck's error, which createError passes on as
// it is.
type chownRefusal struct{ error }

func (e chownRefusal) Unwrap() error { return e.error }

// chownMounts gives the sources of c's :U mounts to its user (as resolved
// at create, in the spec) before its task is made.
func (s *Service) chownMounts(ctx context.Context, c *ctr, cc client.Container) error {
	hc := c.rec.HostConfig
	if !hasChownMount(hc) {
		return nil
	}
	sp, err := cc.Spec(ctx)
	if err != nil {
		return fmt.Errorf("reading the container's spec: %w", err)
	}
	u := sp.Process.User
	srcs, err := chownSources(hc, s.volumePath(), u, engineIDMaps(), s.chownGuard())
	if err != nil {
		return err
	}
	for _, src := range srcs {
		if err := chownTree(src, int(u.UID), int(u.GID)); err != nil {
			return fmt.Errorf("error while changing the owner of mount source '%s' (:U): %w", src, err)
		}
	}
	return nil
}
