package rootless

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// The snapshotters roost runs containerd with; docker info shows the name
// as the Storage Driver.
const (
	snapshotterOverlay = "overlayfs"
	// SnapshotterFuse needs a proxy plugin beside containerd.
	SnapshotterFuse   = "fuse-overlayfs"
	snapshotterNative = "native"
)

// snapshotters are the storage-driver values, in engine/config's order
// (config.StorageDrivers, which a test compares). rootless is a leaf: the
// keeper links it, and engine/config would bring its JSON and units code
// into both of the keeper's long-lived processes.
var snapshotters = []string{snapshotterOverlay, SnapshotterFuse, snapshotterNative}

// storageDriverEnv carries the storage-driver setting (flag or daemon.json)
// from the API process to nsinit. nsinit cannot parse the flags itself:
// RootlessKit's child starts it as the bare binary, without the user's
// arguments, while the environment goes through the keeper, RootlessKit's
// parent and its child unchanged.
const storageDriverEnv = "_ROOST_STORAGE_DRIVER"

// FuseOverlayfsPluginBin is containerd's proxy snapshotter for
// fuse-overlayfs, built next to roostd.
const FuseOverlayfsPluginBin = "containerd-fuse-overlayfs-grpc"

// PassStorageDriver is called by the API process before it starts or joins
// the keeper. A keeper that already runs keeps the snapshotter it started
// with, so a different request is only reported. Otherwise the request is
// handed down to nsinit, after the checks that can be made outside the
// namespace, so a missing package or device fails here with its fix rather
// than in the keeper's log.
func PassStorageDriver(requested string, p Paths) error {
	if p.KeeperRunning() != 0 {
		running, err := os.ReadFile(p.SnapshotterFile())
		if err == nil && requested != "" && string(running) != requested {
			log.L.Warnf("storage-driver is %s, but the running namespace uses %s; "+
				"to change it, stop roostd fully (SIGTERM, without --live-restore) and start it again", requested, running)
		}
		return nil
	}
	if requested == SnapshotterFuse {
		if err := fuseOverlayfsInstalled(); err != nil {
			return fmt.Errorf("storage-driver fuse-overlayfs: %w", err)
		}
	}
	return os.Setenv(storageDriverEnv, requested)
}

// storageProbes tell whether a snapshotter can work here: each returns nil,
// or why not with the fix. They are functions so that the choice can be
// tested without a user namespace.
type storageProbes struct {
	overlay func() error
	fuse    func() error
}

// pickSnapshotter decides the snapshotter for the storage-driver setting
// requested. With no setting it takes the best that works: the kernel's
// overlayfs, then fuse-overlayfs, then native, which copies every layer. A
// setting that cannot work is an error, never silently replaced. note says
// why a fallback was taken ("" when none was).
func pickSnapshotter(requested string, probe storageProbes) (name, note string, err error) {
	switch requested {
	case "":
		overlayErr := probe.overlay()
		if overlayErr == nil {
			return snapshotterOverlay, "", nil
		}
		fuseErr := probe.fuse()
		if fuseErr == nil {
			return SnapshotterFuse, fmt.Sprintf("overlayfs is not usable in the user namespace here (%v); using fuse-overlayfs", overlayErr), nil
		}
		return snapshotterNative, fmt.Sprintf("neither overlayfs nor fuse-overlayfs is usable here; using the native snapshotter, "+
			"which copies every image layer (slow, and uses more disk). overlayfs: %v. fuse-overlayfs: %v", overlayErr, fuseErr), nil
	case snapshotterOverlay:
		if err := probe.overlay(); err != nil {
			return "", "", fmt.Errorf("storage-driver overlayfs: overlayfs is not usable in the user namespace here (%v); "+
				"use storage-driver fuse-overlayfs or native, or leave it unset to pick one", err)
		}
		return snapshotterOverlay, "", nil
	case SnapshotterFuse:
		if err := probe.fuse(); err != nil {
			return "", "", fmt.Errorf("storage-driver fuse-overlayfs: %w", err)
		}
		return SnapshotterFuse, "", nil
	case snapshotterNative:
		return snapshotterNative, "", nil
	}
	return "", "", fmt.Errorf("invalid storage-driver %q: use %s, or leave it unset to pick one", requested, strings.Join(snapshotters, ", "))
}

// ChooseSnapshotter is nsinit's choice, from the setting the API process
// passed down; it runs as root of the user namespace, where the probes
// can mount.
func ChooseSnapshotter(ctx context.Context, dataDir string) (string, error) {
	name, note, err := pickSnapshotter(os.Getenv(storageDriverEnv), storageProbes{
		overlay: func() error { return overlayMountable(dataDir) },
		fuse:    func() error { return fuseOverlayfsMountable(dataDir) },
	})
	switch {
	case err != nil:
		return "", err
	case name == snapshotterNative && note != "":
		log.G(ctx).Warn(note)
	case note != "":
		log.G(ctx).Info(note)
	}
	return name, nil
}

// overlayMountable mounts a throw-away overlay on the data filesystem. The
// kernel allows overlayfs in a user namespace from 5.11 on, but not on
// every filesystem (NFS and Lustre homes refuse it).
func overlayMountable(dataDir string) error {
	return withScratchDirs(dataDir, func(lower, upper, work, merged string) error {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
		if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
			return err
		}
		return unix.Unmount(merged, 0)
	})
}

// fuseOverlayfsMountable checks what fuse-overlayfs needs, then mounts a
// throw-away one the way containerd will: through the mount.fuse3 helper.
func fuseOverlayfsMountable(dataDir string) error {
	if err := fuseOverlayfsInstalled(); err != nil {
		return err
	}
	helper, err := lookPathSbin("mount.fuse3")
	if err != nil {
		return err
	}
	return withScratchDirs(dataDir, func(lower, upper, work, merged string) error {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
		cmd := exec.Command(helper, "overlay", merged, "-o", opts, "-t", "fuse-overlayfs")
		cmd.Env = WithSbinPath(os.Environ())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("fuse-overlayfs cannot mount here: %v: %s", err, strings.TrimSpace(string(out)))
		}
		// The fuse-overlayfs process exits once its mount is gone.
		return unix.Unmount(merged, 0)
	})
}

// fuseOverlayfsInstalled checks what can be checked outside the namespace:
// the binaries and the device, each with its fix.
func fuseOverlayfsInstalled() error {
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		return errors.New("fuse-overlayfs is not installed: fix: sudo apt-get install fuse-overlayfs")
	}
	if _, err := lookPathSbin("mount.fuse3"); err != nil {
		return err
	}
	if _, err := Sibling(FuseOverlayfsPluginBin); err != nil {
		return err
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("/dev/fuse does not exist: fix: sudo modprobe fuse")
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return errors.New("/dev/fuse is not usable by this user: fix: sudo chmod 0666 /dev/fuse")
	case err != nil:
		return fmt.Errorf("/dev/fuse cannot be opened: %w", err)
	}
	return f.Close()
}

// lookPathSbin finds a mount helper on PATH or in the sbin directories,
// which a normal user's PATH often lacks.
func lookPathSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: fix: sudo apt-get install fuse3", name)
}

// WithSbinPath appends the sbin directories to PATH: containerd and its
// shims run mount.fuse3 by name to mount fuse-overlayfs snapshots.
func WithSbinPath(env []string) []string {
	env = append([]string(nil), env...)
	for i, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range []string{"/usr/sbin", "/sbin"} {
				if !strings.Contains(":"+path+":", ":"+d+":") {
					path += ":" + d
				}
			}
			env[i] = "PATH=" + path
			return env
		}
	}
	return append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
}

// withScratchDirs runs f on fresh lower, upper, work and merged directories
// in the data directory, and removes them after.
func withScratchDirs(dataDir string, f func(lower, upper, work, merged string) error) error {
	dir, err := os.MkdirTemp(dataDir, "overlay-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var sub [4]string
	for i, n := range []string{"lower", "upper", "work", "merged"} {
		sub[i] = filepath.Join(dir, n)
		if err := os.Mkdir(sub[i], 0o700); err != nil {
			return err
		}
	}
	return f(sub[0], sub[1], sub[2], sub[3])
}
