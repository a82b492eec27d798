package rootless

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// CheckStatus is how a prerequisite stands.
type CheckStatus int

// The states of a prerequisite. Missing is what makes `roostd check` fail.
const (
	CheckOK CheckStatus = iota
	CheckWarn
	CheckMissing
)

func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "ok"
	case CheckWarn:
		return "WARN"
	}
	return "MISSING"
}

// Check is one prerequisite's state, with the exact command that fixes it.
type Check struct {
	Status CheckStatus
	What   string
	Fix    string
}

func (c Check) String() string {
	s := fmt.Sprintf("%-7s  %s", c.Status, c.What)
	if c.Fix != "" && c.Status != CheckOK {
		s += "  fix: " + c.Fix
	}
	return s
}

// MinSubIDs is the smallest subordinate ID range images are built for:
// their files may belong to any ID up to 65535.
const MinSubIDs = 65536

// Host is what the checks read of the machine, so that tests can give them
// a made-up one.
type Host struct {
	User     string // login name
	UID      int
	BinDir   string // where roostd and its pinned binaries are
	DataDir  string // the data root
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	Stat     func(string) (fs.FileInfo, error)
	LookPath func(string) (string, error)
	// Getxattr reads an extended attribute (security.capability).
	Getxattr func(path, name string) ([]byte, error)
	// Access tells whether the user may read and write a device.
	Access func(path string) error
	// FSType is the statfs magic of the filesystem holding path.
	FSType func(path string) (int64, error)
	// Getsubids runs getsubids(1) with args; nil where there is none.
	Getsubids func(args ...string) ([]byte, error)
}

// LocalHost is this machine, as the current user.
func LocalHost(binDir, dataDir string) Host {
	name := os.Getenv("USER")
	if name == "" {
		name = strconv.Itoa(os.Getuid())
	}
	return Host{
		User:     name,
		UID:      os.Getuid(),
		BinDir:   binDir,
		DataDir:  dataDir,
		Getenv:   os.Getenv,
		ReadFile: os.ReadFile,
		Stat:     os.Stat,
		LookPath: exec.LookPath,
		Getxattr: func(path, name string) ([]byte, error) {
			buf := make([]byte, 64)
			n, err := unix.Getxattr(path, name, buf)
			if err != nil {
				return nil, err
			}
			return buf[:n], nil
		},
		Access: func(path string) error { return unix.Access(path, unix.R_OK|unix.W_OK) },
		FSType: func(path string) (int64, error) {
			var st unix.Statfs_t
			err := unix.Statfs(path, &st)
			return int64(st.Type), err
		},
		Getsubids: func(args ...string) ([]byte, error) {
			return exec.Command("getsubids", args...).Output()
		},
	}
}

// PinnedBinaries are built by make next to roostd, from the versions pinned
// in go.mod.
var PinnedBinaries = []string{"roost-keeper", "containerd", "containerd-shim-runc-v2", "runc", "containerd-fuse-overlayfs-grpc", "cni-bridge", "cni-static", "bypass4netns", "bypass4netnsd"}

// Preflight checks every prerequisite of a rootless engine on h, one Check
// each, in the order a user would fix them.
func Preflight(h Host) []Check {
	var cs []Check
	cs = append(cs, checkUserNS(h)...)
	for _, b := range []string{"newuidmap", "newgidmap"} {
		cs = append(cs, checkIDMapper(h, b))
	}
	cs = append(cs, checkSubIDs(h, "/etc/subuid"), checkSubIDs(h, "/etc/subgid"))
	cs = append(cs, checkDevice(h, "/dev/net/tun", CheckMissing, "slirp4netns needs it",
		"sudo mkdir -p /dev/net && sudo mknod -m 0666 /dev/net/tun c 10 200"))
	cs = append(cs, checkDevice(h, "/dev/fuse", CheckWarn, "only the fuse-overlayfs fallback needs it",
		"sudo modprobe fuse && sudo chmod 0666 /dev/fuse"))
	cs = append(cs,
		checkCommand(h, "slirp4netns", CheckMissing, "user-mode network for the containers", "sudo apt-get install slirp4netns"),
		checkCommand(h, "fuse-overlayfs", CheckWarn, "the snapshotter where the kernel refuses overlayfs in a user namespace", "sudo apt-get install fuse-overlayfs"),
		checkCommand(h, "nsenter", CheckMissing, "roostd joins its namespace with it", "sudo apt-get install util-linux"),
	)
	cs = append(cs, checkRuntimeDir(h), checkDataFS(h), checkCgroup(h))
	if c, ok := checkLinger(h); ok {
		cs = append(cs, c)
	}
	for _, b := range PinnedBinaries {
		cs = append(cs, checkPinned(h, b))
	}
	return cs
}

// Failed tells whether a required prerequisite is missing.
func Failed(cs []Check) bool {
	for _, c := range cs {
		if c.Status == CheckMissing {
			return true
		}
	}
	return false
}

func readInt(h Host, path string) (int, bool) {
	b, err := h.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, err == nil
}

func checkUserNS(h Host) []Check {
	var cs []Check
	// Debian's and Ubuntu's older kernels have a switch of their own.
	if n, ok := readInt(h, "/proc/sys/kernel/unprivileged_userns_clone"); ok && n == 0 {
		cs = append(cs, Check{CheckMissing, "user namespaces: kernel.unprivileged_userns_clone is 0",
			"sudo sysctl -w kernel.unprivileged_userns_clone=1  (and in /etc/sysctl.d/ to keep it)"})
	}
	if n, ok := readInt(h, "/proc/sys/user/max_user_namespaces"); ok && n == 0 {
		cs = append(cs, Check{CheckMissing, "user namespaces: user.max_user_namespaces is 0",
			"sudo sysctl -w user.max_user_namespaces=28633  (and in /etc/sysctl.d/ to keep it)"})
	}
	if n, ok := readInt(h, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); ok && n == 1 {
		cs = append(cs, Check{CheckWarn, "user namespaces: AppArmor restricts them for unconfined programs (Ubuntu 24.04)",
			"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0  (or an AppArmor profile for roostd and roost-keeper)"})
	}
	if len(cs) == 0 {
		cs = append(cs, Check{Status: CheckOK, What: "user namespaces allowed for unprivileged users"})
	}
	return cs
}

// checkIDMapper checks newuidmap or newgidmap: they write the subordinate
// ranges into the namespace's maps, which takes root or CAP_SETUID/SETGID.
func checkIDMapper(h Host, name string) Check {
	path, err := h.LookPath(name)
	if err != nil {
		return Check{CheckMissing, name + " not found", "sudo apt-get install uidmap"}
	}
	fi, err := h.Stat(path)
	if err != nil {
		return Check{CheckMissing, fmt.Sprintf("%s: %v", path, err), "sudo apt-get install --reinstall uidmap"}
	}
	rootOwned := false
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		rootOwned = st.Uid == 0
	}
	if fi.Mode()&fs.ModeSetuid != 0 && rootOwned {
		return Check{Status: CheckOK, What: path + " is setuid root"}
	}
	if caps, err := h.Getxattr(path, "security.capability"); err == nil && len(caps) > 0 {
		return Check{Status: CheckOK, What: path + " has file capabilities"}
	}
	return Check{CheckMissing, path + " is neither setuid root nor given capabilities",
		fmt.Sprintf("sudo chown root %s && sudo chmod u+s %s", path, path)}
}

// checkSubIDs looks for the user's range in /etc/subuid or /etc/subgid.
func checkSubIDs(h Host, file string) Check {
	fix := fmt.Sprintf("sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s  (any free range of %d)", h.User, MinSubIDs)
	data, err := h.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Check{CheckMissing, fmt.Sprintf("%s: %v", file, err), fix}
	}
	total := subIDTotal(data, h.User, h.UID)
	if total == 0 && h.Getsubids != nil {
		// libsubid (LDAP, SSSD), which RootlessKit asks before the file.
		args := []string{h.User}
		if file == "/etc/subgid" {
			args = []string{"-g", h.User}
		}
		if out, err := h.Getsubids(args...); err == nil {
			if n := getsubidsTotal(out); n > 0 {
				total = n
				file = "getsubids " + strings.Join(args, " ")
			}
		}
	}
	switch {
	case total == 0:
		// roostd still runs: see SingleID.
		return Check{CheckWarn, fmt.Sprintf("%s has no range for %s: single-ID mode, only your own ID is mapped (root in containers, no other user); files of other owners in images are squashed to root", file, h.User), fix}
	case total < MinSubIDs:
		return Check{CheckWarn, fmt.Sprintf("%s gives %s %d IDs, fewer than the %d images may use", file, h.User, total, MinSubIDs), fix}
	}
	return Check{Status: CheckOK, What: fmt.Sprintf("%s gives %s %d IDs", file, h.User, total)}
}

func checkDevice(h Host, dev string, severity CheckStatus, why, createFix string) Check {
	if _, err := h.Stat(dev); err != nil {
		return Check{severity, fmt.Sprintf("%s does not exist (%s)", dev, why), createFix}
	}
	if err := h.Access(dev); err != nil {
		return Check{severity, fmt.Sprintf("%s is not usable by %s: %v (%s)", dev, h.User, err, why), "sudo chmod 0666 " + dev}
	}
	return Check{Status: CheckOK, What: dev + " usable"}
}

func checkCommand(h Host, name string, severity CheckStatus, why, fix string) Check {
	if p, err := h.LookPath(name); err == nil {
		return Check{Status: CheckOK, What: name + " at " + p}
	}
	return Check{severity, fmt.Sprintf("%s not found on PATH (%s)", name, why), fix}
}

func checkRuntimeDir(h Host) Check {
	dir := h.Getenv("XDG_RUNTIME_DIR")
	fallback := filepath.Join(os.TempDir(), "roost-"+strconv.Itoa(h.UID))
	fix := fmt.Sprintf("log in through a PAM session (systemd-logind creates /run/user/%d), or export XDG_RUNTIME_DIR to a private 0700 directory", h.UID)
	if dir == "" {
		return Check{CheckWarn, "XDG_RUNTIME_DIR is not set: roostd uses the private directory " + fallback +
			" and the socket is " + filepath.Join(fallback, "docker.sock"), fix}
	}
	fi, err := h.Stat(dir)
	if err != nil {
		return Check{CheckWarn, fmt.Sprintf("XDG_RUNTIME_DIR %s: %v", dir, err), fix}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != h.UID {
		return Check{CheckWarn, fmt.Sprintf("XDG_RUNTIME_DIR %s belongs to uid %d, not %s", dir, st.Uid, h.User), fix}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Check{CheckWarn, fmt.Sprintf("XDG_RUNTIME_DIR %s is open to other users (mode %v)", dir, fi.Mode().Perm()), "chmod 700 " + dir}
	}
	return Check{Status: CheckOK, What: "XDG_RUNTIME_DIR " + dir + " is private"}
}

// Filesystem magics (statfs f_type) of network and cluster filesystems,
// where neither overlayfs nor the IDs of a user namespace work.
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0x0BD00BD0: "Lustre",
	0x47504653: "GPFS",
	0xFF534D42: "CIFS",
	0x65735546: "FUSE",
	0x00C36400: "CephFS",
	0x013111A8: "IBRIX",
	0x5346414F: "AFS",
	0x6B414653: "AFS",
}

// checkDataFS looks at the filesystem the data root is (or will be) on.
func checkDataFS(h Host) Check {
	dir := h.DataDir
	// The data root may not exist yet: look at the nearest parent that does.
	for {
		if _, err := h.Stat(dir); err == nil || dir == "/" || dir == "." {
			break
		}
		dir = filepath.Dir(dir)
	}
	t, err := h.FSType(dir)
	if err != nil {
		return Check{CheckWarn, fmt.Sprintf("data root %s: %v", h.DataDir, err), ""}
	}
	if name, ok := networkFS[t]; ok {
		local := filepath.Join(os.TempDir(), "roost-"+strconv.Itoa(h.UID), "data")
		return Check{CheckWarn, fmt.Sprintf("data root %s is on %s: overlayfs does not work there (fuse-overlayfs or native would be used, slowly)", h.DataDir, name),
			fmt.Sprintf(`roostd --data-root %s  (or "data-root" in daemon.json; any node-local disk)`, local)}
	}
	return Check{Status: CheckOK, What: fmt.Sprintf("data root %s is on a local filesystem", h.DataDir)}
}

// checkCgroup tells whether containers can get resource limits: cgroup v2
// with the user's cgroup delegated to it (systemd's Delegate=).
func checkCgroup(h Host) Check {
	fix := `sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\nDelegate=cpu cpuset io memory pids\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload  (then log in again)`
	if _, err := h.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		return Check{CheckWarn, "cgroup v2 is not mounted on /sys/fs/cgroup: containers run without resource limits",
			"boot with systemd.unified_cgroup_hierarchy=1"}
	}
	data, err := h.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Check{CheckWarn, "cannot read /proc/self/cgroup: " + err.Error(), ""}
	}
	var own string
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			own = p
		}
	}
	// The user's delegated subtree is the nearest ancestor it owns.
	for dir := filepath.Join("/sys/fs/cgroup", own); strings.HasPrefix(dir, "/sys/fs/cgroup/"); dir = filepath.Dir(dir) {
		fi, err := h.Stat(dir)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != h.UID {
			continue
		}
		ctl, _ := h.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		have := strings.Fields(string(ctl))
		var missing []string
		for _, c := range []string{"cpu", "memory", "pids"} {
			if !contains(have, c) {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			return Check{CheckWarn, fmt.Sprintf("cgroup %s is delegated without the %s controllers: those limits are not available", dir, strings.Join(missing, ", ")), fix}
		}
		return Check{Status: CheckOK, What: "cgroup v2 delegated: " + dir}
	}
	return Check{CheckWarn, "cgroup v2 is not delegated to " + h.User + ": containers run without resource limits", fix}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkLinger reports lingering where systemd is the init: without it the
// user manager, and the engine with it, stop at logout. ok is false on a
// machine without systemd.
func checkLinger(h Host) (c Check, ok bool) {
	if _, err := h.Stat("/run/systemd/system"); err != nil {
		return Check{}, false
	}
	if _, err := h.Stat(filepath.Join("/var/lib/systemd/linger", h.User)); err != nil {
		return Check{CheckWarn, "lingering is off for " + h.User + ": the engine stops at logout and does not start at boot",
			"loginctl enable-linger " + h.User}, true
	}
	return Check{Status: CheckOK, What: "lingering is on for " + h.User}, true
}

func checkPinned(h Host, name string) Check {
	path := filepath.Join(h.BinDir, name)
	fi, err := h.Stat(path)
	if err != nil || fi.Mode()&0o111 == 0 || !fi.Mode().IsRegular() {
		return Check{CheckMissing, path + " is missing (built from the versions pinned in go.mod)", "make  (in the roost checkout)"}
	}
	return Check{Status: CheckOK, What: path}
}

// overlayProbe mounts an overlay in a new user and mount namespace, in a
// scratch directory under $1 that it removes again.
const overlayProbe = `d=$(mktemp -d "$1/.roost-overlay-check.XXXXXX") || exit 2
mkdir "$d/l" "$d/u" "$d/w" "$d/m" &&
mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m"
r=$?
umount "$d/m" 2>/dev/null
rm -rf "$d"
exit $r`

// CheckOverlayInUserNS tries what nsinit decides at start: whether the
// kernel mounts overlayfs in a user namespace on the data root's
// filesystem. It needs unshare(1); without it the decision is left to
// start-up.
func CheckOverlayInUserNS(dataDir string) Check {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return Check{Status: CheckOK, What: "overlayfs in a user namespace: decided at start (unshare(1) is not here to try it)"}
	}
	base := dataDir
	for {
		if fi, err := os.Stat(base); (err == nil && fi.IsDir()) || base == "/" {
			break
		}
		base = filepath.Dir(base)
	}
	if unix.Access(base, unix.W_OK) != nil {
		base = os.TempDir()
	}
	out, err := exec.Command(unshare, "--user", "--map-root-user", "--mount", "sh", "-c", overlayProbe, "sh", base).CombinedOutput()
	if err != nil {
		return Check{CheckWarn, fmt.Sprintf("overlayfs in a user namespace on %s failed (%s): fuse-overlayfs or native is used instead",
			base, strings.TrimSpace(string(out))), "a kernel of 5.11 or later, or a node-local data root (roostd --data-root)"}
	}
	return Check{Status: CheckOK, What: "overlayfs mounts in a user namespace on " + base}
}
