package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	mounttypes "github.com/moby/moby/api/types/mount"
	"golang.org/x/sys/unix"
)

// Where a view of a container comes from. A running container's root
// filesystem and mounts are cloned from its task's own mount namespace:
// the live filesystem, without mounting the overlay a second time. A
// stopped one's snapshot is mounted for a moment in roostd's namespace,
// cloned, and unmounted again; its bind mounts are cloned from their
// sources. Either way the view holds the only extra reference, and it
// goes away with the view's thread.

// archiveDir holds the views' attach point and the short-lived snapshot
// mounts.
func (s *Service) archiveDir() string {
	return filepath.Join(s.opts.StateDir, "archive")
}

// mountSpec is one mount of a container's view.
type mountSpec struct {
	target string
	source string // stopped: the host path to clone
	ro     bool
	tmpfs  bool // only a running container's tmpfs has content to show
}

// openContainerView builds a view of c's filesystem; ns is the mount
// namespace of its running task (from lockView), or nil. layoutRoot with
// mounts is what docker cp sees (the root filesystem with the bind
// mounts, tmpfs of a running container and the /etc files roost binds);
// without mounts it is the root filesystem alone (export); layoutDiff
// puts the image's filesystem beside it (diff). c.mu is held (lockView).
func (s *Service) openContainerView(ctx context.Context, c *ctr, ns *os.File, layout viewLayout, withMounts bool) (*fsView, error) {
	if ns != nil {
		defer ns.Close()
	}
	if c.removing || c.removed {
		return nil, errdefs.ErrConflict.WithMessage("container is marked for removal")
	}
	ctx = s.nsCtx(ctx)
	attach := filepath.Join(s.archiveDir(), "view")
	if err := os.MkdirAll(attach, 0o700); err != nil {
		return nil, err
	}
	var mounts []mountSpec
	if layout == layoutRoot && withMounts {
		mounts = s.viewMounts(c)
	}
	spec := viewSpec{attachDir: attach, layout: layout, ctrNS: ns}
	var inHost []func(*viewTrees) error
	cleanup := func() {}
	if layout == layoutDiff {
		parent, done, err := s.parentMounts(ctx, c.id)
		if err != nil {
			return nil, err
		}
		cleanup = done
		if parent != nil {
			inHost = append(inHost, func(t *viewTrees) (err error) {
				t.parent, err = s.cloneMounted(parent, true)
				return err
			})
		}
	}
	if ns != nil {
		spec.inCtr = func(t *viewTrees) error { return cloneFromTask(t, mounts) }
	} else {
		snap, err := s.snapshotMounts(ctx, c.id)
		if err != nil {
			cleanup()
			return nil, err
		}
		inHost = append(inHost, func(t *viewTrees) (err error) {
			if t.root, err = s.cloneMounted(snap, false); err != nil {
				return err
			}
			return cloneFromHost(t, mounts)
		})
	}
	spec.inHost = func(t *viewTrees) error {
		for _, step := range inHost {
			if err := step(t); err != nil {
				return err
			}
		}
		return nil
	}
	v, err := openView(spec)
	if err != nil {
		cleanup()
		return nil, err
	}
	// The image's view snapshot (diff) goes once the view has.
	go func() {
		<-v.done
		cleanup()
	}()
	return v, nil
}

// lockView locks c for making a view and opens the mount namespace of its
// running task, if it has one (nil otherwise). A task whose process is
// gone but whose exit is not recorded yet may still have its root
// filesystem mounted by the shim: mounting the snapshot beside it would
// mount the same overlay twice, so lockView waits, unlocked, for the exit
// to be recorded (bounded: monitor gives the output outputDrainTimeout).
// c.mu is held on return; a non-nil namespace is the caller's to close.
func lockView(c *ctr) *os.File {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		r := c.run
		if r == nil || c.rec.State.Pid <= 0 {
			return nil
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", c.rec.State.Pid))
		if err == nil || attempt > 0 {
			return f
		}
		c.mu.Unlock()
		select {
		case <-r.exited:
		case <-time.After(outputDrainTimeout + time.Second):
		}
	}
}

// viewMounts lists c's mounts as a view attaches them, parents first: the
// /etc files roost binds, the user's binds, and tmpfs mounts.
func (s *Service) viewMounts(c *ctr) []mountSpec {
	var out []mountSpec
	user, _ := parseMounts(c.rec.HostConfig)
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.target] = true
		switch m.typ {
		case mounttypes.TypeBind:
			out = append(out, mountSpec{target: m.target, source: m.source, ro: !m.rw})
		case mounttypes.TypeVolume:
			if vp := s.volumePath(); vp != nil {
				out = append(out, mountSpec{target: m.target, source: m.volumeSource(vp), ro: !m.rw})
			}
		case mounttypes.TypeTmpfs:
			out = append(out, mountSpec{target: m.target, tmpfs: true, ro: !m.rw})
		}
	}
	f := s.etcFiles(c.id)
	for target, source := range map[string]string{"/etc/hostname": f.Hostname, "/etc/hosts": f.Hosts, "/etc/resolv.conf": f.ResolvConf} {
		if _, err := os.Stat(source); err == nil && !taken[target] {
			out = append(out, mountSpec{target: target, source: source})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].target < out[j].target })
	return out
}

// cloneFromTask clones the root filesystem and the mounts as the task
// sees them; it runs inside the task's mount namespace. The root is
// cloned alone: /proc, /sys and /dev of the container are not part of a
// view, as in dockerd.
func cloneFromTask(t *viewTrees, mounts []mountSpec) error {
	var err error
	if t.root, err = cloneTree("/", false); err != nil {
		return err
	}
	for _, m := range mounts {
		fd, err := cloneTree(m.target, true)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return err
		}
		t.mounts = append(t.mounts, viewMount{target: m.target, fd: fd, dir: st.Mode&unix.S_IFMT == unix.S_IFDIR})
	}
	return nil
}

// cloneFromHost clones the bind mounts of a stopped container from their
// sources, read-only where the container has them so. A stopped
// container's tmpfs has nothing in it, so it is left out.
func cloneFromHost(t *viewTrees, mounts []mountSpec) error {
	for _, m := range mounts {
		if m.tmpfs {
			continue
		}
		fi, err := os.Stat(m.source)
		if err != nil {
			return fmt.Errorf("bind mount source: %w", err)
		}
		fd, err := cloneTree(m.source, true)
		if err != nil {
			return err
		}
		t.mounts = append(t.mounts, viewMount{target: m.target, fd: fd, dir: fi.IsDir()})
		if m.ro {
			if err := makeReadOnly(fd); err != nil {
				return fmt.Errorf("making %s read-only: %w", m.target, err)
			}
		}
	}
	return nil
}

// cloneMounted mounts ms on a new directory of roostd's namespace, clones
// the result into a detached tree and unmounts it again at once: the
// clone, which only the view attaches, keeps the filesystem alive.
func (s *Service) cloneMounted(ms []mount.Mount, readOnly bool) (int, error) {
	dir, err := os.MkdirTemp(s.archiveDir(), "mnt-")
	if err != nil {
		return -1, err
	}
	defer os.Remove(dir)
	if err := mount.All(ms, dir); err != nil {
		return -1, fmt.Errorf("mounting the container's filesystem: %w", err)
	}
	fd, cerr := cloneTree(dir, true)
	if err := mount.UnmountAll(dir, 0); err != nil {
		log.L.WithError(err).WithField("dir", dir).Warn("unmounting a container filesystem; detaching it")
		if err := mount.UnmountAll(dir, unix.MNT_DETACH); err != nil {
			log.L.WithError(err).WithField("dir", dir).Error("detaching a container filesystem")
		}
	}
	if cerr != nil {
		return -1, cerr
	}
	if readOnly {
		if err := makeReadOnly(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// snapshotMounts returns the mounts of the container's snapshot.
func (s *Service) snapshotMounts(ctx context.Context, id string) ([]mount.Mount, error) {
	cc, err := s.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading containerd container: %s", err)
	}
	info, err := cc.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading containerd container: %s", err)
	}
	ms, err := s.client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return nil, fmt.Errorf("the container's snapshot: %s", err)
	}
	return ms, nil
}

// parentMounts makes a read-only view snapshot of the image under the
// container's snapshot and returns its mounts (nil for an empty image)
// and a function that removes it.
func (s *Service) parentMounts(ctx context.Context, id string) ([]mount.Mount, func(), error) {
	cc, err := s.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("loading containerd container: %s", err)
	}
	info, err := cc.Info(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading containerd container: %s", err)
	}
	sn := s.client.SnapshotService(info.Snapshotter)
	st, err := sn.Stat(ctx, info.SnapshotKey)
	if err != nil {
		return nil, nil, fmt.Errorf("the container's snapshot: %s", err)
	}
	if st.Parent == "" {
		return nil, func() {}, nil
	}
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	key := id + "-diff-" + hex.EncodeToString(buf)
	ms, err := sn.View(ctx, key, st.Parent)
	if err != nil {
		return nil, nil, fmt.Errorf("a view of the container's image: %s", err)
	}
	done := func() {
		if err := sn.Remove(context.WithoutCancel(ctx), key); err != nil {
			log.G(ctx).WithError(err).WithField("container", id).Warn("removing the image view of a diff")
		}
	}
	return ms, done, nil
}

func closeNS(ns *os.File) {
	if ns != nil {
		ns.Close()
	}
}
