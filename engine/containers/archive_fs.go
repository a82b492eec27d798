package containers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/sys/user"
)

// The path rules and the tar work of docker cp, done under a root
// directory. In roostd the root is "/" of a private, chrooted view of the
// container (archive_view.go), so the kernel itself keeps every lookup
// inside the container even while a running container swaps paths under
// us. The same functions run on plain directories in the tests, where
// securejoin's scoped resolution and go-archive's os.Root based extraction
// are what keep them inside root: two layers, each enough on its own.

// absContainerPath makes p absolute in the container, keeping a trailing
// "/" or "/." as the client gave it: for docker cp, "dir/." means the
// content of dir rather than dir itself.
func absContainerPath(p string) string {
	return archive.PreserveTrailingDotOrSeparator(filepath.Join("/", p), p)
}

// resolveInRoot resolves the container path p under root the way the
// container would see it: every symlink, absolute or relative, is followed
// inside root, ".." stops at root, and the last element is followed too.
// Missing elements are kept as given. The result is always root or below
// it (the fuzz test checks this).
func resolveInRoot(root, p string) (string, error) {
	return securejoin.SecureJoin(root, p)
}

// containerRel turns a path under root back into the container's absolute
// path.
func containerRel(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + rel
}

// lookupPath resolves every element of the container path p but the last,
// which is kept as it is: a symlink there is the link itself, as dockerd's
// stat and archive see it. A trailing "/" or "/." makes the last element
// the directory it names.
func lookupPath(root, p string) (string, error) {
	abs := absContainerPath(p)
	dir, base := filepath.Split(abs)
	rdir, err := resolveInRoot(root, dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(rdir, base), nil
}

// statPath is HEAD /containers/{id}/archive: the path's own metadata and,
// for a symlink, the path it leads to in the container.
func statPath(root, p string) (*container.PathStat, error) {
	full, err := lookupPath(root, p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	abs := absContainerPath(p)
	var target string
	if fi.Mode()&os.ModeSymlink != 0 {
		resolved, err := resolveInRoot(root, abs)
		if err != nil {
			return nil, err
		}
		target = containerRel(root, resolved)
	}
	return &container.PathStat{
		Name:       filepath.Base(abs),
		Size:       fi.Size(),
		Mode:       fi.Mode(),
		Mtime:      fi.ModTime(),
		LinkTarget: target,
	}, nil
}

// newPathTarballer prepares the tar of GET /containers/{id}/archive with
// dockerd's naming: a directory's entries start with its name ("etc/…"),
// or with "./" for "dir/."; a file or symlink is one entry named after the
// requested path's last element. The caller runs Do where root is valid
// and reads Reader.
func newPathTarballer(root, p string) (*archive.Tarballer, *container.PathStat, error) {
	stat, err := statPath(root, p)
	if err != nil {
		return nil, nil, err
	}
	abs := absContainerPath(p)
	sourceDir, sourceBase := abs, "."
	if !stat.Mode.IsDir() {
		sourceDir, sourceBase = filepath.Split(abs)
	}
	src, err := resolveInRoot(root, sourceDir)
	if err != nil {
		return nil, nil, err
	}
	tb, err := archive.NewTarballer(src, archive.TarResourceRebaseOpts(sourceBase, filepath.Base(abs)))
	if err != nil {
		return nil, nil, err
	}
	return tb, stat, nil
}

// extractTarget resolves the directory PUT /containers/{id}/archive
// extracts into: every element is followed, the last one too, so a
// symlink to a directory is a valid target. It returns the path under
// root and the container's path of it.
func extractTarget(root, p string) (dest, ctrPath string, err error) {
	dest, err = resolveInRoot(root, filepath.Join("/", p))
	if err != nil {
		return "", "", err
	}
	errNotDir := errdefs.ErrInvalidArgument.WithMessage("extraction point is not a directory")
	fi, err := os.Lstat(dest)
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return "", "", errNotDir // a file on the way: /etc/passwd/x
	case err != nil:
		return "", "", err
	case !fi.IsDir():
		return "", "", errNotDir
	}
	return dest, containerRel(root, dest), nil
}

// extractOptions are go-archive's options for a copy into a container, as
// dockerd sets them. Device nodes in the archive are skipped: in a user
// namespace they cannot be made, and roost never makes them anyway.
func extractOptions(allowOverwriteDirWithFile bool, owner *archive.ChownOpts) *archive.TarOptions {
	return &archive.TarOptions{
		NoOverwriteDirNonDir: !allowOverwriteDirWithFile,
		ChownOpts:            owner,
		InUserNS:             true,
	}
}

// extractTar unpacks the uncompressed tar r into dest (from extractTarget).
// go-archive refuses entries that would land outside dest ("..", links
// out of it) and strips a leading "/" from names; its errors about the
// archive itself are the client's fault.
func extractTar(r io.Reader, dest string, opts *archive.TarOptions) error {
	if err := archive.UntarUncompressed(r, dest, opts); err != nil {
		return classifyExtractError(err)
	}
	return nil
}

// classifyExtractError makes a bad archive an InvalidArgument (400); dockerd
// answers 500 for these (and 404 for a hardlink to a missing file), but
// they are the client's input, not our fault. Filesystem trouble (no
// space, read-only) stays an internal error.
func classifyExtractError(err error) error {
	msg := err.Error()
	switch {
	case isNotFound(err), errors.Is(err, syscall.ELOOP):
		// The target directory exists: what is missing (a hardlink's
		// target) or loops is named by the archive.
		return errdefs.ErrInvalidArgument.WithMessage("invalid archive: " + msg)
	case errors.Is(err, io.ErrUnexpectedEOF),
		strings.HasPrefix(msg, "archive/tar:"),
		strings.Contains(msg, "invalid entry name"),
		strings.Contains(msg, "invalid hardlink target"),
		strings.Contains(msg, "invalid whiteout"),
		strings.Contains(msg, "escapes"),
		strings.Contains(msg, "path escapes from parent"),
		strings.Contains(msg, "cannot overwrite"),
		strings.Contains(msg, "unhandled tar header type"):
		return errdefs.ErrInvalidArgument.WithMessage("invalid archive: " + msg)
	}
	return err
}

// containerOwner is the uid and gid that copyUIDGID gives the extracted
// files: the container's user (Config.User) looked up in the container's
// /etc/passwd and /etc/group, as dockerd does. nil means "keep the
// archive's ownership" (no user configured).
func containerOwner(root, userSpec string) (*archive.ChownOpts, error) {
	if userSpec == "" {
		return nil, nil
	}
	passwd, err := resolveInRoot(root, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	group, err := resolveInRoot(root, "/etc/group")
	if err != nil {
		return nil, err
	}
	u, err := user.GetExecUserPath(userSpec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unable to resolve the container's user %q: %v", userSpec, err))
	}
	return &archive.ChownOpts{UID: u.Uid, GID: u.Gid}, nil
}

// isNotFound tells the errors that mean "no such file in the container";
// ENOTDIR (a file used as a directory) counts too.
func isNotFound(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
