package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A shareable container's /dev/shm is a tmpfs of the engine's own mount
// namespace (where runc runs too), bound into it and into the containers
// that join its IPC namespace, as dockerd's ShmPath: a mount made inside
// one container's mount namespace could not be bound into another's.

func (s *Service) shmPath(id string) string {
	return filepath.Join(s.stateDir(id), "shm")
}

// withSharedShm binds the tmpfs at path as /dev/shm.
func withSharedShm(path string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		setShmMount(s, path)
		return nil
	}
}

func setShmMount(s *oci.Spec, path string) {
	m := specs.Mount{Destination: "/dev/shm", Type: "bind", Source: path, Options: []string{"rbind", "nosuid", "nodev", "noexec"}}
	for i := range s.Mounts {
		if s.Mounts[i].Destination == "/dev/shm" {
			s.Mounts[i] = m
			return
		}
	}
	s.Mounts = append(s.Mounts, m)
}

// ensureShm mounts the shareable container's tmpfs unless it already is
// (a restart keeps it, and with it what the joiners see).
func (s *Service) ensureShm(id string, size int64) error {
	p := s.shmPath(id)
	if err := os.MkdirAll(p, 0o700); err != nil {
		return err
	}
	if mounted, err := isMountPoint(p); err != nil || mounted {
		return err
	}
	if size <= 0 {
		size = defaultShmSize
	}
	if err := unix.Mount("shm", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, fmt.Sprintf("mode=1777,size=%d", size)); err != nil {
		return fmt.Errorf("mounting the shareable /dev/shm: %w", err)
	}
	return nil
}

// releaseShm unmounts the tmpfs of a removed container; nothing to do for
// others.
func (s *Service) releaseShm(id string) error {
	err := unix.Unmount(s.shmPath(id), unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// isMountPoint tells a mounted directory from a plain one by its device.
func isMountPoint(p string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(p), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}
