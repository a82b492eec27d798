package containers

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// chownTree lchowns src and everything under it to uid:gid. It never
// follows a symlink (the walk is confined to src by os.Root) and stays on
// src's filesystem: what is mounted inside the tree is left alone.
func chownTree(src string, uid, gid int) error {
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		// A bind of a single file.
		return lchownIfNeeded(fi, func() error { return os.Lchown(real, uid, gid) }, uid, gid)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return err
	}
	defer root.Close()
	err = chownIn(root, ".", fi.Sys().(*syscall.Stat_t).Dev, uid, gid)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// os.Root names paths relative to the root: say where on the host.
		pe.Path = filepath.Join(real, pe.Path)
	}
	return err
}

func chownIn(root *os.Root, name string, dev uint64, uid, gid int) error {
	fi, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed while we walked
	}
	if err != nil {
		return err
	}
	if fi.Sys().(*syscall.Stat_t).Dev != dev {
		return nil
	}
	if err := lchownIfNeeded(fi, func() error { return root.Lchown(name, uid, gid) }, uid, gid); err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := chownIn(root, path.Join(name, n), dev, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// lchownIfNeeded skips what already has the owner: a chown clears setuid
// bits and file capabilities, and a start should not touch what it need
// not.
func lchownIfNeeded(fi fs.FileInfo, lchown func() error, uid, gid int) error {
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	return lchown()
}
