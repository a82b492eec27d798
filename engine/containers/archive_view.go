package containers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/containerd/log"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// A view (fsView) is where docker cp, export and diff touch a container's
// files: a goroutine locked to an OS thread that has its own mount
// namespace, whose root is pivoted to the container's root filesystem
// (plus its bind mounts) and whose old root is detached. Inside it every
// path the kernel resolves, "..", absolute symlinks, symlinks a running
// container swaps in while we work, stays inside the container: nothing
// of the host is mounted there. This is dockerd's openContainerFS, built
// with open_tree(2)/move_mount(2) so that the mounts of a running
// container are taken from the container's own mount namespace.
//
// The thread's namespace and root cannot be undone, so the goroutine never
// unlocks its thread: the Go runtime ends the thread when the goroutine
// returns, and the namespace with its mounts goes with it.

func init() {
	// Keep main on the startup thread, as moby's unshare package does: a
	// view must never be built on that thread, because /proc/self shows
	// the startup thread's mount namespace and root to the whole process,
	// and the runtime parks it instead of ending it when a locked
	// goroutine returns (go doc -u -src runtime.mexit).
	runtime.LockOSThread()
}

// viewLayout is the shape of a view's root.
type viewLayout int

const (
	// layoutRoot: "/" is the container's root filesystem with the mounts
	// of the tree attached at their targets (cp and export).
	layoutRoot viewLayout = iota
	// layoutDiff: "/" is a small tmpfs holding the container's root
	// filesystem at /new and its image's at /old (diff).
	layoutDiff
)

// viewMount is a detached mount tree (open_tree with OPEN_TREE_CLONE) to
// attach in the view at target, a path in the container.
type viewMount struct {
	target string
	fd     int
	dir    bool // the source is a directory: a missing target is made as one
}

// viewTrees are the trees a view is built from. The file descriptors are
// the view's: it closes them once they are attached.
type viewTrees struct {
	root   int // the container's root filesystem
	parent int // layoutDiff: the image's root filesystem, or -1 (empty)
	mounts []viewMount
}

func (t *viewTrees) close() {
	for _, fd := range append([]int{t.root, t.parent}, mountFDs(t.mounts)...) {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func mountFDs(ms []viewMount) []int {
	fds := make([]int, 0, len(ms))
	for _, m := range ms {
		fds = append(fds, m.fd)
	}
	return fds
}

// viewSpec says how to build a view.
type viewSpec struct {
	// attachDir is an empty directory of roostd's mount namespace on which
	// the view is assembled before it becomes the root. Views can share
	// one: each assembles it in its own namespace.
	attachDir string
	// inHost fills in the trees that come from roostd's namespace.
	inHost func(*viewTrees) error
	// ctrNS, when set, is the mount namespace of the container's running
	// task, in which inCtr fills in the trees the container itself has.
	ctrNS  *os.File
	inCtr  func(*viewTrees) error
	layout viewLayout
}

// fsView runs functions inside a view; see the comment at the top.
type fsView struct {
	todo      chan func()
	done      chan struct{}
	closeOnce sync.Once
}

// openView builds a view on a new thread and returns once it is ready.
func openView(spec viewSpec) (*fsView, error) {
	v := &fsView{todo: make(chan func()), done: make(chan struct{})}
	started := make(chan error, 1)
	go v.serve(spec, started)
	if err := <-started; err != nil {
		<-v.done
		return nil, err
	}
	return v, nil
}

func (v *fsView) serve(spec viewSpec, started chan<- error) {
	defer close(v.done)
	runtime.LockOSThread() // never unlocked: see the top of the file
	own, err := enterView(spec)
	if err != nil {
		started <- err
		return
	}
	defer leaveView(own)
	started <- nil
	for fn := range v.todo {
		fn()
	}
}

// leaveView puts the thread back in roostd's mount namespace (own). The
// view's namespace has no other member, so it is torn down before setns
// returns: the container's filesystems are released when Close returns,
// not whenever the runtime gets round to ending the thread. That matters
// to a `docker start` right after a `docker cp` into a stopped container,
// which must not find the snapshot still mounted here.
func leaveView(own *os.File) {
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNS); err != nil {
		log.L.WithError(err).Warn("leaving a container filesystem view; it goes when its thread ends")
	}
	own.Close()
}

// run calls fn inside the view and waits for it. Goroutines that fn starts
// do not see the view.
func (v *fsView) run(fn func() error) error {
	res := make(chan error, 1)
	v.todo <- func() { res <- fn() }
	return <-res
}

// start calls fn inside the view without waiting for it; Close waits.
func (v *fsView) start(fn func()) {
	v.todo <- fn
}

// Close waits for the functions running in the view, then ends its thread
// (and so its mount namespace).
func (v *fsView) Close() {
	v.closeOnce.Do(func() { close(v.todo) })
	<-v.done
}

// enterView turns the calling, locked thread into the view. It returns
// roostd's mount namespace, for leaveView.
func enterView(spec viewSpec) (own *os.File, retErr error) {
	if unix.Gettid() == unix.Getpid() {
		return nil, errors.New("container filesystem view: refusing to change the startup thread's namespace")
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("container filesystem view: unshare: %w", err)
	}
	own, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("container filesystem view: %w", err)
	}
	defer func() {
		if retErr != nil {
			own.Close()
		}
	}()
	trees, err := collectTrees(spec, own)
	if err != nil {
		return nil, err
	}
	defer trees.close()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("container filesystem view: unshare: %w", err)
	}
	defer func() {
		if retErr != nil {
			// Tear the half-built namespace down now (see leaveView).
			_ = unix.Setns(int(own.Fd()), unix.CLONE_NEWNS)
		}
	}()
	// Private: nothing we attach propagates back to roostd's namespace
	// (its mounts are private anyway), and pivot_root requires it.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("container filesystem view: %w", err)
	}
	if err := assemble(spec.attachDir, spec.layout, trees); err != nil {
		return nil, fmt.Errorf("container filesystem view: %w", err)
	}
	if err := pivotInto(spec.attachDir); err != nil {
		return nil, fmt.Errorf("container filesystem view: %w", err)
	}
	return own, nil
}

// collectTrees fills in the trees: first those from roostd's namespace,
// then, inside the container's mount namespace when there is one, those
// of the running task; it comes back to roostd's namespace either way.
func collectTrees(spec viewSpec, own *os.File) (_ viewTrees, retErr error) {
	t := viewTrees{root: -1, parent: -1}
	defer func() {
		if retErr != nil {
			t.close()
		}
	}()
	if spec.inHost != nil {
		if err := spec.inHost(&t); err != nil {
			return t, err
		}
	}
	if spec.ctrNS != nil {
		if err := unix.Setns(int(spec.ctrNS.Fd()), unix.CLONE_NEWNS); err != nil {
			return t, fmt.Errorf("container filesystem view: entering the container's mount namespace: %w", err)
		}
		err := spec.inCtr(&t)
		if serr := unix.Setns(int(own.Fd()), unix.CLONE_NEWNS); serr != nil {
			// The thread stays in the container's namespace; it dies
			// with the goroutine, never running anything else.
			return t, fmt.Errorf("container filesystem view: leaving the container's mount namespace: %w", serr)
		}
		if err != nil {
			return t, err
		}
	}
	if t.root < 0 {
		return t, errors.New("container filesystem view: no root filesystem")
	}
	return t, nil
}

// assemble attaches the trees on dir, in the thread's private namespace.
func assemble(dir string, layout viewLayout, t viewTrees) error {
	switch layout {
	case layoutDiff:
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=64k"); err != nil {
			return fmt.Errorf("mounting the diff view's tmpfs: %w", err)
		}
		for _, sub := range []string{"new", "old"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
				return err
			}
		}
		if err := moveMount(t.root, filepath.Join(dir, "new")); err != nil {
			return err
		}
		if t.parent >= 0 {
			return moveMount(t.parent, filepath.Join(dir, "old"))
		}
		return nil
	default:
		if err := moveMount(t.root, dir); err != nil {
			return err
		}
		for _, m := range t.mounts {
			if err := attachInRoot(dir, m); err != nil {
				return fmt.Errorf("mount on %s: %w", m.target, err)
			}
		}
		return nil
	}
}

// moveMount attaches the detached tree fd on the directory path.
func moveMount(fd int, path string) error {
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount on %s: %w", path, err)
	}
	return nil
}

// attachInRoot attaches m at its target under root. The target is
// resolved inside root (RESOLVE_IN_ROOT semantics: the container's
// symlinks are followed as the container sees them) and pinned by a file
// descriptor that move_mount uses, so a path swapped meanwhile cannot
// redirect the mount. A missing target is created, as dockerd does.
func attachInRoot(root string, m viewMount) error {
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer rootDir.Close()
	target, err := mountTarget(rootDir, m.target, m.dir)
	if err != nil {
		return err
	}
	defer target.Close()
	return unix.MoveMount(m.fd, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// mountTarget opens (O_PATH) the mount target p under rootDir, creating it
// when it is missing: a directory, or an empty file for a file's bind.
func mountTarget(rootDir *os.File, p string, dir bool) (*os.File, error) {
	if dir {
		return pathrs.MkdirAllHandle(rootDir, p, 0o755)
	}
	f, err := pathrs.OpenatInRoot(rootDir, p)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	parent, err := pathrs.MkdirAllHandle(rootDir, filepath.Dir(p), 0o755)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(parent.Fd()), filepath.Base(p), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o755)
	parent.Close()
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: p, Err: err}
	}
	unix.Close(fd)
	return pathrs.OpenatInRoot(rootDir, p)
}

// pivotInto makes dir the root and detaches the old one, as runc does
// (pivot_root(".", ".")): nothing of roostd's filesystem stays reachable,
// and no other mount (another container's root, say) is held busy by
// this namespace.
func pivotInto(dir string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldRoot)
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return err
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return unix.Chdir("/")
}

// cloneTree clones the mount at path into a detached tree: recursive
// takes the mounts below it too.
func cloneTree(path string, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, flags)
	if err != nil {
		return -1, &os.PathError{Op: "open_tree", Path: path, Err: err}
	}
	return fd, nil
}

// makeReadOnly makes every mount of the detached tree fd read-only.
func makeReadOnly(fd int) error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	for {
		err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
