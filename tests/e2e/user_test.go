package e2e

import (
	"bufio"
	"bytes"
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

// testUserName is the unprivileged account that runs roostd when the
// tests run as root. CI runs as root, and a rootless engine must be tested
// from a user that is not. A user who is not root runs roostd as itself
// instead (setUpSelf).
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
	if u.uid != os.Getuid() {
		return nil, fmt.Errorf("the user database gives %s uid %d, but this process runs as uid %d", cur.Username, u.uid, os.Getuid())
	}
	u.self = true
	u.userNS = map[[2]uint64]bool{}
	u.home = filepath.Join(tmp, "home")
	u.runtimeDir = filepath.Join(tmp, "run")
	for _, d := range []string{u.home, u.runtimeDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	u.marks = []string{u.runtimeDir + "/"}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		start, count, found, err := findSubIDs(f, u)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%s has no range in %s, which a rootless engine needs: fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s   (any free range of %d)", u.name, f, u.name, subIDCount)
		}
		if f == "/etc/subuid" {
			u.subStart, u.subCount = start, count
		}
	}
	return u, checkDevices()
}

// checkDevices is openDevices for a user who cannot change them: it says
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
	start, count, found, err := findSubIDs(file, u)
	if err != nil || found {
		return start, count, err
	}
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, err
	}
	next := 100000
	for _, r := range subIDRanges(data) {
		next = max(next, r.start+r.count)
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

// findSubIDs returns the user's first range in file (/etc/subuid or
// /etc/subgid), if it has one.
func findSubIDs(file string, u *testUser) (start, count int, found bool, err error) {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, false, err
	}
	for _, r := range subIDRanges(data) {
		if r.owner == u.name || r.owner == strconv.Itoa(u.uid) {
			return r.start, r.count, true, nil
		}
	}
	return 0, 0, false, nil
}

// subIDRange is one line of /etc/subuid or /etc/subgid.
type subIDRange struct {
	owner        string
	start, count int
}

// subIDRanges parses /etc/subuid or /etc/subgid, skipping malformed lines.
func subIDRanges(data []byte) []subIDRange {
	var out []subIDRange
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
		out = append(out, subIDRange{owner: f[0], start: s, count: c})
	}
	return out
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
		errs = append(errs, removeTree(filepath.Join(u.runtimeDir, e.Name())))
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
