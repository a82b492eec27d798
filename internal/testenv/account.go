package testenv

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

// SubIDCount is the size of the subordinate ID range an account gets when
// it has none.
const SubIDCount = 65536

// firstSubID is where the first range of a machine without any starts, as
// useradd's SUB_UID_MIN.
const firstSubID = 100000

// Account is a user of the machine as a rootless engine sees it.
type Account struct {
	Name       string
	UID, GID   int
	Groups     []uint32
	Home       string
	RuntimeDir string // XDG_RUNTIME_DIR: /run/user/<uid>
	// SubStart and SubCount are the /etc/subuid range: container processes
	// that are not root inside a container run with these uids. Both are 0
	// when the account has none.
	SubStart, SubCount int
}

// Lookup reads an existing account from the user database, with its
// /etc/subuid range if it has one.
func Lookup(name string) (*Account, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	a := &Account{Name: name, Home: pw.HomeDir}
	if a.UID, err = strconv.Atoi(pw.Uid); err != nil {
		return nil, err
	}
	if a.GID, err = strconv.Atoi(pw.Gid); err != nil {
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
		a.Groups = append(a.Groups, uint32(n))
	}
	a.RuntimeDir = fmt.Sprintf("/run/user/%d", a.UID)
	a.SubStart, a.SubCount, _, err = a.FindSubIDs("/etc/subuid")
	return a, err
}

// Dedicated creates the account if it is missing (as root) and makes the
// machine ready for a rootless engine of it: home, subordinate IDs,
// /run/user/<uid> and the devices slirp4netns and fuse-overlayfs open. It
// keeps whatever already exists, so running it again changes nothing.
func Dedicated(name string) (*Account, error) {
	if _, err := user.Lookup(name); err != nil {
		if !errors.As(err, new(user.UnknownUserError)) {
			return nil, err
		}
		if out, err := exec.Command(Sbin("useradd"), "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	a, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if a.UID == 0 {
		return nil, fmt.Errorf("%s is root: a rootless engine must run as an unprivileged user", name)
	}
	if err := EnsureDir(a.Home, 0o755, a.UID, a.GID); err != nil {
		return nil, err
	}
	if a.SubStart, a.SubCount, err = a.ensureSubIDs("/etc/subuid"); err != nil {
		return nil, err
	}
	if _, _, err := a.ensureSubIDs("/etc/subgid"); err != nil {
		return nil, err
	}
	if err := EnsureDir("/run/user", 0o755, 0, 0); err != nil {
		return nil, err
	}
	if err := EnsureDir(a.RuntimeDir, 0o700, a.UID, a.GID); err != nil {
		return nil, err
	}
	return a, OpenDevices()
}

// FindSubIDs returns the account's first range in file (/etc/subuid or
// /etc/subgid), if it has one.
func (a *Account) FindSubIDs(file string) (start, count int, found bool, err error) {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, false, err
	}
	for _, r := range subIDRanges(data) {
		if r.owner == a.Name || r.owner == strconv.Itoa(a.UID) {
			return r.start, r.count, true, nil
		}
	}
	return 0, 0, false, nil
}

// ensureSubIDs returns the account's range in file, appending one after
// every existing range when it has none.
func (a *Account) ensureSubIDs(file string) (start, count int, err error) {
	start, count, found, err := a.FindSubIDs(file)
	if err != nil || found {
		return start, count, err
	}
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, err
	}
	next := firstSubID
	for _, r := range subIDRanges(data) {
		next = max(next, r.start+r.count)
	}
	line := fmt.Sprintf("%s:%d:%d\n", a.Name, next, SubIDCount)
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		line = "\n" + line
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, 0, err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return 0, 0, err
	}
	return next, SubIDCount, f.Close()
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

// Owns tells whether uid is the account's or one of its subordinate uids.
func (a *Account) Owns(uid int) bool {
	return uid == a.UID || (a.SubCount > 0 && uid >= a.SubStart && uid < a.SubStart+a.SubCount)
}

// OpenDevices makes /dev/net/tun and /dev/fuse usable by every user:
// slirp4netns and fuse-overlayfs open them as the unprivileged user, and a
// fresh machine has them at 0600 (root only).
func OpenDevices() error {
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

// EnsureDir creates dir if needed and gives it the mode and owner a
// daemon expects; XDG_RUNTIME_DIR in particular must be 0700 and the
// user's.
func EnsureDir(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}

// Sbin finds an administration command even when root's PATH lacks
// /usr/sbin.
func Sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}

// DockerCLI finds the docker CLI the tests and the bench drive: the
// current one in /usr/local/bin first (Debian's docker.io may be older),
// then PATH.
func DockerCLI() (string, error) {
	const preferred = "/usr/local/bin/docker"
	if _, err := os.Stat(preferred); err == nil {
		return preferred, nil
	}
	if p, err := exec.LookPath("docker"); err == nil {
		return filepath.Abs(p)
	}
	return "", errors.New("no docker CLI in /usr/local/bin or on PATH: apt-get install docker.io provides one")
}
