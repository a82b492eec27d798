package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"
	cfs "github.com/containerd/continuity/fs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	mounttypes "github.com/moby/moby/api/types/mount"
	"golang.org/x/sys/unix"
)

// copyUp fills the empty volumes of a new container with what its image
// has at their mount paths, as dockerd does on first mount (unless
// nocopy). The container's snapshot is mounted for a moment in roostd's
// namespace: no task runs yet, so the overlay is mounted only here.
// Failures are logged, not returned: the container still works, with an
// empty volume.
func (s *Service) copyUp(ctx context.Context, id string, hc *container.HostConfig) {
	vp := s.volumePath()
	if vp == nil {
		return
	}
	ms, _ := parseMounts(hc)
	var todo []parsedMount
	for _, m := range ms {
		if m.typ == mounttypes.TypeVolume && !m.nocopy && m.subpath == "" && m.source != "" && emptyDir(vp.Mountpoint(m.source)) {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return
	}
	if err := s.copyUpFrom(ctx, id, todo, vp); err != nil {
		log.G(ctx).WithError(err).WithField("container", id).Warn("copying image content into a new volume")
	}
}

func (s *Service) copyUpFrom(ctx context.Context, id string, todo []parsedMount, vp volumePath) error {
	snap, err := s.snapshotMounts(s.nsCtx(ctx), id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.archiveDir(), 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(s.archiveDir(), "copyup-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := mount.All(snap, dir); err != nil {
		return fmt.Errorf("mounting the container's filesystem: %w", err)
	}
	defer func() {
		if err := mount.UnmountAll(dir, unix.MNT_DETACH); err != nil {
			log.G(ctx).WithError(err).WithField("dir", dir).Error("unmounting a container filesystem")
		}
	}()
	// The image's paths are resolved inside its root: a symlink must not
	// lead the copy to the host's files.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range todo {
		f, err := root.Open(strings.TrimPrefix(m.target, "/"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.target, err)
		}
		err = copyDirFrom(f, vp.Mountpoint(m.source))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", m.target, err)
		}
	}
	return nil
}

// copyDirFrom copies the directory f into dst (a file is left alone).
func copyDirFrom(f *os.File, dst string) error {
	st, err := f.Stat()
	if err != nil || !st.IsDir() {
		return err
	}
	// The descriptor's /proc path keeps the lookup that os.Root checked.
	return cfs.CopyDir(dst, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), cfs.WithAllowXAttrErrors())
}

// emptyDir tells whether dir exists and has no entries.
func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}
