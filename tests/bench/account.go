package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// defaultUserName is the unprivileged account the engines run as when the
// bench runs as root and neither -user nor $ROOST_BENCH_USER names another:
// the one the e2e harness uses, set up the same way. The lock (see
// lockAccount) keeps a bench off it while another bench holds it, but not
// an e2e run, so a bench beside one should pick its own account.
const defaultUserName = "roosttest"

// userEnv names the account when -user is not given.
const userEnv = "ROOST_BENCH_USER"

// subIDCount is the size of the subordinate ID range the user gets when it
// has none yet.
const subIDCount = 65536

// account is who runs the engines: the dedicated user when the bench runs
// as root, else the caller.
type account struct {
	name       string
	uid, gid   int
	groups     []uint32
	home       string
	runtimeDir string // XDG_RUNTIME_DIR
	// subStart and subCount are the /etc/subuid range; 0 when there is none.
	subStart, subCount int
	// switched is true when the bench runs as root and starts the engines'
	// processes with this account's credentials.
	switched bool
	// extraEnv is added to the engines' environment: as the caller, the
	// data and config dirs point into the bench's temporary dir so that the
	// caller's own images and daemon.json are left alone.
	extraEnv []string
}

// dedicatedAccount creates or reuses the bench user and makes the host
// ready for a rootless engine: subordinate IDs, /run/user/<uid> and device
// modes. Running it again changes nothing.
func dedicatedAccount(name string) (*account, error) {
	if _, err := user.Lookup(name); err != nil {
		if !errors.As(err, new(user.UnknownUserError)) {
			return nil, err
		}
		if out, err := exec.Command(sbin("useradd"), "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	a, err := lookupAccount(name)
	if err != nil {
		return nil, err
	}
	// The engines are measured rootless; a daemon run as root here would
	// also be dockerd on the system's paths.
	if a.uid == 0 {
		return nil, fmt.Errorf("%s is root: the engines must run as an unprivileged user", name)
	}
	a.switched = true
	a.runtimeDir = fmt.Sprintf("/run/user/%d", a.uid)
	if err := ensureDir(a.home, 0o755, a.uid, a.gid); err != nil {
		return nil, err
	}
	if a.subStart, a.subCount, err = ensureSubIDs("/etc/subuid", a); err != nil {
		return nil, err
	}
	if _, _, err := ensureSubIDs("/etc/subgid", a); err != nil {
		return nil, err
	}
	if err := ensureDir("/run/user", 0o755, 0, 0); err != nil {
		return nil, err
	}
	if err := ensureDir(a.runtimeDir, 0o700, a.uid, a.gid); err != nil {
		return nil, err
	}
	return a, openDevices()
}

// lockAccount takes an exclusive lock named after the account, so that two
// runs never share it; the lock holds until the returned file is closed
// or the process exits. Other tools that run roostd as the same account
// can take the same lock.
func lockAccount(name string) (*os.File, error) {
	path := filepath.Join("/run/lock", "roost-"+name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another run holds %s and uses the account %s", path, name)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// callerAccount is the user running the bench, with its own runtime dir;
// the data and config dirs live under tmp.
func callerAccount(tmp string) (*account, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	a, err := lookupAccount(u.Username)
	if err != nil {
		return nil, err
	}
	if a.runtimeDir, err = callerRuntimeDir(a.uid); err != nil {
		return nil, err
	}
	a.subStart, a.subCount, _ = findSubIDs("/etc/subuid", a)
	a.extraEnv = []string{
		"XDG_DATA_HOME=" + filepath.Join(tmp, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(tmp, "config"),
	}
	return a, nil
}

// callerRuntimeDir is $XDG_RUNTIME_DIR, else /run/user/<uid> when it is
// the caller's, else the private /tmp/roost-<uid> roostd itself falls back to.
func callerRuntimeDir(uid int) (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return d, nil
	}
	candidates := []string{fmt.Sprintf("/run/user/%d", uid), filepath.Join(os.TempDir(), "roost-"+strconv.Itoa(uid))}
	for i, d := range candidates {
		if i > 0 {
			_ = os.Mkdir(d, 0o700)
		}
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if fi.IsDir() && ok && int(st.Uid) == uid && fi.Mode().Perm()&0o077 == 0 {
			return d, nil
		}
	}
	return "", fmt.Errorf("XDG_RUNTIME_DIR is not set, and neither %s nor %s is a private (0700) directory of yours: set XDG_RUNTIME_DIR", candidates[0], candidates[1])
}

// lookupAccount reads an account from the user database.
func lookupAccount(name string) (*account, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	a := &account{name: name, home: pw.HomeDir}
	if a.uid, err = strconv.Atoi(pw.Uid); err != nil {
		return nil, err
	}
	if a.gid, err = strconv.Atoi(pw.Gid); err != nil {
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
		a.groups = append(a.groups, uint32(n))
	}
	return a, nil
}

// owns tells whether p runs as the account or one of its subordinate uids.
func (a *account) owns(p proc) bool {
	return p.uid == a.uid || (a.subCount > 0 && p.uid >= a.subStart && p.uid < a.subStart+a.subCount)
}

// env is the whole environment of the account's processes: what a login
// session gives, with binDir first on PATH so that containerd and its shim
// run the pinned runc.
func (a *account) env(binDir string) []string {
	return append([]string{
		"HOME=" + a.home,
		"USER=" + a.name,
		"LOGNAME=" + a.name,
		"XDG_RUNTIME_DIR=" + a.runtimeDir,
		"PATH=" + binDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
	}, a.extraEnv...)
}

// command prepares name to run as the account, in its own process group.
func (a *account) command(ctx context.Context, binDir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = a.env(binDir)
	cmd.Dir = a.home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if a.switched {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}
	}
	return cmd
}

// chown gives path to the account when the bench switches to it.
func (a *account) chown(path string) error {
	if !a.switched {
		return nil
	}
	return os.Lchown(path, a.uid, a.gid)
}

// mkdirAll creates dir with mode, and gives every dir it creates to the
// account.
func (a *account) mkdirAll(dir string, mode os.FileMode) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := a.mkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, mode); err != nil && !os.IsExist(err) {
		return err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	return a.chown(dir)
}

// sbin finds an administration command even when root's PATH lacks /usr/sbin.
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}

// ensureDir creates dir if needed and gives it the mode and owner a daemon
// expects; XDG_RUNTIME_DIR in particular must be 0700 and the user's.
func ensureDir(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}

// findSubIDs returns the account's range in file (/etc/subuid or
// /etc/subgid), and the first ID after every range in the file.
func findSubIDs(file string, a *account) (start, count, next int) {
	next = 100000
	data, _ := os.ReadFile(file)
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
		if f[0] == a.name || f[0] == strconv.Itoa(a.uid) {
			return s, c, next
		}
		next = max(next, s+c)
	}
	return 0, 0, next
}

// ensureSubIDs returns the account's range in file, appending one after
// every existing range when it has none.
func ensureSubIDs(file string, a *account) (start, count int, err error) {
	start, count, next := findSubIDs(file, a)
	if count > 0 {
		return start, count, nil
	}
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, err
	}
	line := fmt.Sprintf("%s:%d:%d\n", a.name, next, subIDCount)
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
	return next, subIDCount, f.Close()
}

// openDevices makes /dev/net/tun and /dev/fuse usable by every user:
// slirp4netns and fuse-overlayfs open them as the unprivileged user.
func openDevices() error {
	const tun = "/dev/net/tun"
	if _, err := os.Stat(tun); os.IsNotExist(err) {
		if err := os.MkdirAll("/dev/net", 0o755); err != nil {
			return err
		}
		// c 10 200 is the tun device.
		if err := syscall.Mknod(tun, syscall.S_IFCHR|0o666, 10<<8|200); err != nil {
			return fmt.Errorf("mknod %s: %w", tun, err)
		}
	}
	if err := os.Chmod(tun, 0o666); err != nil {
		return err
	}
	if err := os.Chmod("/dev/fuse", 0o666); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
