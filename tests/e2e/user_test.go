package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// testUserName is the unprivileged account that runs roostd. CI runs as
// root, and a rootless engine must be tested from a user that is not.
const testUserName = "roosttest"

// subIDCount is the size of the subordinate ID range the user gets when
// useradd did not already add one.
const subIDCount = 65536

// testUser is the unprivileged account the daemon runs as.
type testUser struct {
	name       string
	uid, gid   int
	groups     []uint32
	home       string
	runtimeDir string // XDG_RUNTIME_DIR: /run/user/<uid>
	// subStart and subCount are the user's /etc/subuid range: container
	// processes that are not root inside the container run with these uids.
	subStart, subCount int
}

// setUpUser creates the account if it is missing and makes the host ready
// for a rootless engine: subordinate IDs, a runtime dir and device modes.
// It keeps whatever already exists, so running it again is harmless.
func setUpUser(name string) (*testUser, error) {
	if _, err := user.Lookup(name); err != nil {
		if !errors.As(err, new(user.UnknownUserError)) {
			return nil, err
		}
		if out, err := exec.Command(sbin("useradd"), "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := lookupUser(name)
	if err != nil {
		return nil, err
	}
	if err := ensureDir(u.home, 0o755, u.uid, u.gid); err != nil {
		return nil, err
	}
	if u.subStart, u.subCount, err = ensureSubIDs("/etc/subuid", u); err != nil {
		return nil, err
	}
	if _, _, err := ensureSubIDs("/etc/subgid", u); err != nil {
		return nil, err
	}
	if err := ensureDir("/run/user", 0o755, 0, 0); err != nil {
		return nil, err
	}
	if err := ensureDir(u.runtimeDir, 0o700, u.uid, u.gid); err != nil {
		return nil, err
	}
	return u, openDevices()
}

// lookupUser reads an existing account from the user database.
func lookupUser(name string) (*testUser, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	u := &testUser{name: name, home: pw.HomeDir}
	if u.uid, err = strconv.Atoi(pw.Uid); err != nil {
		return nil, err
	}
	if u.gid, err = strconv.Atoi(pw.Gid); err != nil {
		return nil, err
	}
	gids, err := pw.GroupIds()
	if err != nil {
		return nil, err
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, err
		}
		u.groups = append(u.groups, uint32(n))
	}
	u.runtimeDir = fmt.Sprintf("/run/user/%d", u.uid)
	return u, nil
}

// sbin finds an administration command even when root's PATH lacks /usr/sbin.
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}

// ensureDir creates dir if needed and gives it the mode and owner a
// daemon expects; XDG_RUNTIME_DIR in particular must be 0700 and the user's.
func ensureDir(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}

// ensureSubIDs returns the user's range in file (/etc/subuid or
// /etc/subgid), appending one after every existing range if there is none.
func ensureSubIDs(file string, u *testUser) (start, count int, err error) {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, err
	}
	next := 100000
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.Atoi(f[1])
		c, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		if f[0] == u.name || f[0] == strconv.Itoa(u.uid) {
			return s, c, nil
		}
		next = max(next, s+c)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, 0, err
	}
	line := fmt.Sprintf("%s:%d:%d\n", u.name, next, subIDCount)
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return 0, 0, err
	}
	return next, subIDCount, f.Close()
}

// openDevices makes /dev/net/tun and /dev/fuse usable by every user:
// slirp4netns and fuse-overlayfs open them as the unprivileged user, and a
// fresh machine has them at 0600.
func openDevices() error {
	const tun = "/dev/net/tun"
	if _, err := os.Stat(tun); os.IsNotExist(err) {
		if err := os.MkdirAll("/dev/net", 0o755); err != nil {
			return err
		}
		if err := unix.Mknod(tun, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
			return fmt.Errorf("mknod %s: %w", tun, err)
		}
	}
	if err := os.Chmod(tun, 0o666); err != nil {
		return err
	}
	// Native overlayfs is the default; without /dev/fuse only the
	// fuse-overlayfs fallback is lost, which roostd reports itself.
	if err := os.Chmod("/dev/fuse", 0o666); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// removeState deletes what a daemon run leaves in the user's runtime and
// data dirs, so that the next run starts from nothing. The account stays.
func (u *testUser) removeState() error {
	dirs := []string{u.runtimeDir, filepath.Join(u.home, ".local/share/roost")}
	if err := unmountUnder(dirs...); err != nil {
		return err
	}
	entries, err := os.ReadDir(u.runtimeDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(u.runtimeDir, e.Name())))
	}
	errs = append(errs, os.RemoveAll(dirs[1]))
	return errors.Join(errs...)
}

// unmountUnder detaches any mount in the host's namespace below dirs, so
// that removing the state never walks into a mounted filesystem. roostd
// mounts inside its own namespace, so normally there is none.
func unmountUnder(dirs ...string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, d := range dirs {
			if f[4] == d || strings.HasPrefix(f[4], d+"/") {
				mounts = append(mounts, f[4])
			}
		}
	}
	// Deepest first, so that a parent is never detached before its children.
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i], unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", mounts[i], err)
		}
	}
	return nil
}

// canExec reports whether the user may execute path; a repository checked
// out under a private directory (root's home, say) is out of its reach.
func (u *testUser) canExec(path string) bool {
	cmd := exec.Command("/usr/bin/test", "-x", path)
	cmd.SysProcAttr = u.sysProcAttr()
	return cmd.Run() == nil
}
