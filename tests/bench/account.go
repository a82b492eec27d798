package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/roostd/roost/internal/testenv"
)

// defaultUserName is the unprivileged account the engines run as when the
// bench runs as root and neither -user nor $ROOST_BENCH_USER names another:
// the one the e2e harness uses, set up the same way. The lock (see
// lockAccount) keeps a bench off it while another bench holds it, but not
// an e2e run, so a bench beside one should pick its own account.
const defaultUserName = "roosttest"

// userEnv names the account when -user is not given.
const userEnv = "ROOST_BENCH_USER"

// account is who runs the engines: the dedicated user when the bench runs
// as root, else the caller.
type account struct {
	*testenv.Account
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
	ta, err := testenv.Dedicated(name)
	if err != nil {
		return nil, err
	}
	a := accountOf(ta)
	a.switched = true
	return a, nil
}

// accountOf is the bench's view of an account.
func accountOf(ta *testenv.Account) *account {
	return &account{Account: ta}
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
	ta, err := testenv.Lookup(u.Username)
	if err != nil {
		return nil, err
	}
	a := accountOf(ta)
	if a.RuntimeDir, err = callerRuntimeDir(a.UID); err != nil {
		return nil, err
	}
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

// owns tells whether p runs as the account or one of its subordinate uids.
func (a *account) owns(p proc) bool { return a.Owns(p.UID) }

// env is the whole environment of the account's processes: what a login
// session gives, with binDir first on PATH so that containerd and its shim
// run the pinned runc.
func (a *account) env(binDir string) []string {
	return append([]string{
		"HOME=" + a.Home,
		"USER=" + a.Name,
		"LOGNAME=" + a.Name,
		"XDG_RUNTIME_DIR=" + a.RuntimeDir,
		"PATH=" + binDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
	}, a.extraEnv...)
}

// command prepares name to run as the account, in its own process group.
func (a *account) command(ctx context.Context, binDir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = a.env(binDir)
	cmd.Dir = a.Home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if a.switched {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GID), Groups: a.Groups}
	}
	return cmd
}

// chown gives path to the account when the bench switches to it.
func (a *account) chown(path string) error {
	if !a.switched {
		return nil
	}
	return os.Lchown(path, a.UID, a.GID)
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
