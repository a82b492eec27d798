package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"

	"github.com/roostd/roost/internal/testenv"

	"golang.org/x/sys/unix"
)

// testUserName is the unprivileged account that runs roostd when the
// tests run as root. CI runs as root, and a rootless engine must be tested
// from a user that is not. A user who is not root runs roostd as itself
// instead (setUpSelf).
const testUserName = "roosttest"

// testUser is the unprivileged account the daemon runs as.
type testUser struct {
	*testenv.Account
	// self is set when the tests run as this user rather than as root: the
	// user is not roostd's alone then, so home and runtimeDir are private
	// temporary dirs, and only the processes the run started are checked
	// (owns) rather than every process of the user.
	self bool
	// marks are the run's private dirs (runtimeDir, the copied bin/): a
	// process of the user whose command line names one is the run's (self
	// only).
	marks []string
	// userNS are the user namespaces roostd made (device and inode of
	// /proc/<pid>/ns/user), noted while it runs: containers run in them
	// with nothing of the run in their environment (self only).
	userNS map[[2]uint64]bool
}

// setUpUser creates the account if it is missing and makes the host ready
// for a rootless engine: subordinate IDs, a runtime dir and device modes.
// It keeps whatever already exists, so running it again is harmless.
func setUpUser(name string) (*testUser, error) {
	a, err := testenv.Dedicated(name)
	if err != nil {
		return nil, err
	}
	return userOf(a), nil
}

// lookupUser reads an existing account from the user database.
func lookupUser(name string) (*testUser, error) {
	a, err := testenv.Lookup(name)
	if err != nil {
		return nil, err
	}
	return userOf(a), nil
}

// userOf is the test user of an account.
func userOf(a *testenv.Account) *testUser {
	return &testUser{Account: a}
}

// setUpSelf prepares a run as the current user, which is not root: roostd
// gets a private home and XDG_RUNTIME_DIR in tmp, so that nothing of the
// user's own engine (which may be running) is read, touched or stopped.
// What only root can fix is checked, and the error says how to fix it.
func setUpSelf(tmp string) (*testUser, error) {
	cur, err := user.Current()
	if err != nil {
		return nil, err
	}
	u, err := lookupUser(cur.Username)
	if err != nil {
		return nil, err
	}
	if u.UID != os.Getuid() {
		return nil, fmt.Errorf("the user database gives %s uid %d, but this process runs as uid %d", cur.Username, u.UID, os.Getuid())
	}
	u.self = true
	u.userNS = map[[2]uint64]bool{}
	u.Home = filepath.Join(tmp, "home")
	u.RuntimeDir = filepath.Join(tmp, "run")
	for _, d := range []string{u.Home, u.RuntimeDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	u.marks = []string{u.RuntimeDir + "/"}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		start, count, found, err := u.FindSubIDs(f)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%s has no range in %s, which a rootless engine needs: fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s   (any free range of %d)", u.Name, f, u.Name, testenv.SubIDCount)
		}
		if f == "/etc/subuid" {
			u.SubStart, u.SubCount = start, count
		}
	}
	return u, checkDevices()
}

// checkDevices is testenv.OpenDevices for a user who cannot change them: it says
// what root has to do (hack/deps.sh says the same).
func checkDevices() error {
	const tun, fuse = "/dev/net/tun", "/dev/fuse"
	if _, err := os.Stat(tun); os.IsNotExist(err) {
		return fmt.Errorf("%s is missing; slirp4netns needs it: fix: sudo mkdir -p /dev/net && sudo mknod -m 0666 %s c 10 200", tun, tun)
	}
	devs := []string{tun}
	if _, err := os.Stat(fuse); err == nil {
		// Only the fuse-overlayfs fallback needs it, as in openDevices.
		devs = append(devs, fuse)
	}
	for _, dev := range devs {
		if err := unix.Access(dev, unix.R_OK|unix.W_OK); err != nil {
			return fmt.Errorf("%s is not usable by uid %d (%v): fix: sudo chmod 0666 %s", dev, os.Getuid(), err, dev)
		}
	}
	return nil
}

// removeState deletes what a daemon run leaves in the user's runtime and
// data dirs, so that the next run starts from nothing. The account stays.
func (u *testUser) removeState() error {
	dirs := []string{u.RuntimeDir, filepath.Join(u.Home, ".local/share/roost")}
	if err := testenv.UnmountUnder(dirs...); err != nil {
		return err
	}
	entries, err := os.ReadDir(u.RuntimeDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, removeTree(filepath.Join(u.RuntimeDir, e.Name())))
	}
	errs = append(errs, removeTree(dirs[1]))
	return errors.Join(errs...)
}

// removeTree removes path and everything below it. A user who is not root
// cannot remove what containers wrote as its subordinate uids (an image's
// files, a container's writable layer): that is removed as root of a user
// namespace mapping them, as `podman unshare rm` would.
func removeTree(path string) error {
	err := os.RemoveAll(path)
	if err == nil || os.Geteuid() == 0 {
		return err
	}
	out, err2 := exec.Command("unshare", "--user", "--map-root-user", "--map-auto", "rm", "-rf", "--", path).CombinedOutput()
	if err2 != nil {
		return fmt.Errorf("%v; then unshare rm -rf: %v: %s", err, err2, bytes.TrimSpace(out))
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
