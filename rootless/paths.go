// Package rootless enters and keeps the user namespace roostd runs in: it
// resolves the per-user directories, starts the long-lived "keeper" (the
// RootlessKit parent with slirp4netns, and inside it the supervisor of
// containerd) and lets later roostd processes join that namespace.
package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// Paths are every per-user location roostd uses, worked out once at start.
type Paths struct {
	// RuntimeDir is $XDG_RUNTIME_DIR, or a private fallback when unset.
	RuntimeDir string
	// RuntimeDirFallback tells that RuntimeDir is the fallback, so start-up
	// can say so once.
	RuntimeDirFallback bool
	// StateDir holds sockets, pid files and FIFOs: gone at reboot.
	StateDir string
	// DataDir holds images, containers and the database: kept.
	DataDir string
	// DataDirMoved names the network filesystem (NFS, Lustre, …) the
	// default data directory is on, when DataDir was moved to node-local
	// /tmp because of it; start-up says so.
	DataDirMoved string
	// ConfigDir holds daemon.json.
	ConfigDir string
	// Socket is the Docker API socket.
	Socket string
}

// ResolvePaths works out Paths from the environment of user uid. dataRoot,
// when set, replaces the default data directory.
func ResolvePaths(dataRoot string) (Paths, error) {
	uid := os.Getuid()
	home, err := os.UserHomeDir()
	if err != nil {
		return Paths{}, fmt.Errorf("cannot find the home directory: %w", err)
	}
	var p Paths
	p.RuntimeDir = os.Getenv("XDG_RUNTIME_DIR")
	if p.RuntimeDir == "" {
		// su, sudo and many ssh or batch logins on HPC nodes have no
		// XDG_RUNTIME_DIR; a private directory in /tmp keeps the socket the
		// user's alone.
		p.RuntimeDir = filepath.Join(os.TempDir(), "roost-"+strconv.Itoa(uid))
		p.RuntimeDirFallback = true
		if err := ensurePrivateDir(p.RuntimeDir, uid); err != nil {
			return Paths{}, err
		}
	}
	p.StateDir = filepath.Join(p.RuntimeDir, "roost")
	p.Socket = filepath.Join(p.RuntimeDir, "docker.sock")

	dataHome := os.Getenv("XDG_DATA_HOME")
	if dataHome == "" {
		dataHome = filepath.Join(home, ".local", "share")
	}
	p.DataDir = filepath.Join(dataHome, "roost")
	if fs := networkFSOf(p.DataDir); fs != "" && dataRoot == "" {
		// Neither overlayfs nor a user namespace's IDs work on a network
		// filesystem (a home on NFS, as on HPC login nodes): the node's
		// own disk does.
		p.DataDir = filepath.Join(os.TempDir(), "roost-"+strconv.Itoa(uid)+"-data")
		p.DataDirMoved = fs
	}
	if dataRoot != "" {
		if !filepath.IsAbs(dataRoot) {
			return Paths{}, fmt.Errorf("--data-root must be an absolute path, not %q", dataRoot)
		}
		p.DataDir = dataRoot
	}
	configHome := os.Getenv("XDG_CONFIG_HOME")
	if configHome == "" {
		configHome = filepath.Join(home, ".config")
	}
	p.ConfigDir = filepath.Join(configHome, "roost")
	return p, nil
}

// statfsType reads the filesystem type of path; a variable for tests.
var statfsType = func(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

// networkFSOf names the network filesystem path (or its nearest existing
// parent) is on, "" for a local one.
func networkFSOf(path string) string {
	for dir := path; ; dir = filepath.Dir(dir) {
		t, err := statfsType(dir)
		if err == nil {
			return networkFS[t]
		}
		if dir == "/" || dir == "." {
			return ""
		}
	}
}

// Create makes the state and data directories, private to the user.
func (p Paths) Create() error {
	for _, d := range []string{p.StateDir, p.DataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// ensurePrivateDir creates dir with mode 0700 or checks that an existing one
// belongs to uid and is not open to others: a directory another user made
// first in /tmp must never hold our socket.
func ensurePrivateDir(dir string, uid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != uid {
		return fmt.Errorf("%s is not a directory owned by uid %d; remove it or set XDG_RUNTIME_DIR", dir, uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is open to other users (mode %v); run chmod 700 %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// ContainerdDir is the state directory of roost's own containerd (its
// socket and generated config); nothing is shared with a system containerd.
func (p Paths) ContainerdDir() string { return filepath.Join(p.StateDir, "containerd") }

// ContainerdSocket is where roost's containerd listens.
func (p Paths) ContainerdSocket() string { return filepath.Join(p.ContainerdDir(), "containerd.sock") }

// ContainerdRoot is where roost's containerd keeps content and snapshots.
func (p Paths) ContainerdRoot() string { return filepath.Join(p.DataDir, "containerd") }

// SnapshotterFile records the snapshotter nsinit chose, for the API process.
func (p Paths) SnapshotterFile() string { return filepath.Join(p.StateDir, "snapshotter") }

// Sibling finds a binary installed next to the running one (bin/), then on
// PATH.
func Sibling(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found next to %s or on PATH; run make", name, filepath.Base(os.Args[0]))
	}
	return p, nil
}
