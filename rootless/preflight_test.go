package rootless

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeFile is a file of the made-up host.
type fakeFile struct {
	mode fs.FileMode
	uid  uint32
	data string
	caps bool // has security.capability
}

func (f fakeFile) Name() string       { return "" }
func (f fakeFile) Size() int64        { return int64(len(f.data)) }
func (f fakeFile) Mode() fs.FileMode  { return f.mode }
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.mode.IsDir() }
func (f fakeFile) Sys() any           { return &syscall.Stat_t{Uid: f.uid} }

const (
	nfsMagic  = 0x6969
	ext4Magic = 0xEF53
	uid       = 1000
)

// goodHost is a machine where everything is in place.
func goodHost() (Host, map[string]fakeFile, map[string]string) {
	files := map[string]fakeFile{
		"/proc/sys/user/max_user_namespaces": {data: "63000\n"},
		"/usr/bin/newuidmap":                 {mode: 0o755 | fs.ModeSetuid},
		"/usr/bin/newgidmap":                 {mode: 0o755 | fs.ModeSetuid},
		"/etc/subuid":                        {data: "other:100000:65536\nalice:165536:65536\n"},
		"/etc/subgid":                        {data: "alice:165536:65536\n"},
		"/dev/net/tun":                       {mode: fs.ModeDevice | 0o666},
		"/dev/fuse":                          {mode: fs.ModeDevice | 0o666},
		"/run/user/1000":                     {mode: fs.ModeDir | 0o700, uid: uid},
		"/home/alice":                        {mode: fs.ModeDir | 0o755, uid: uid},
		"/sys/fs/cgroup/cgroup.controllers":  {data: "cpu memory pids"},
		"/proc/self/cgroup":                  {data: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n"},
		"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service":                    {mode: fs.ModeDir | 0o755, uid: uid},
		"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers": {data: "cpu io memory pids"},
		"/run/systemd/system":                           {mode: fs.ModeDir | 0o755},
		"/var/lib/systemd/linger/alice":                 {},
		"/usr/bin/slirp4netns":                          {mode: 0o755},
		"/usr/bin/fuse-overlayfs":                       {mode: 0o755},
		"/usr/bin/nsenter":                              {mode: 0o755},
		"/opt/roost/bin/roost-keeper":                   {mode: 0o755},
		"/opt/roost/bin/containerd":                     {mode: 0o755},
		"/opt/roost/bin/runc":                           {mode: 0o755},
		"/opt/roost/bin/containerd-shim-runc-v2":        {mode: 0o755},
		"/opt/roost/bin/containerd-fuse-overlayfs-grpc": {mode: 0o755},
		"/opt/roost/bin/cni-bridge":                     {mode: 0o755},
		"/opt/roost/bin/cni-static":                     {mode: 0o755},
		"/opt/roost/bin/bypass4netns":                   {mode: 0o755},
		"/opt/roost/bin/bypass4netnsd":                  {mode: 0o755},
	}
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	h := Host{
		User: "alice", UID: uid, BinDir: "/opt/roost/bin", DataDir: "/home/alice/.local/share/roost",
		Getenv: func(k string) string { return env[k] },
		ReadFile: func(p string) ([]byte, error) {
			f, ok := files[p]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return []byte(f.data), nil
		},
		Stat: func(p string) (fs.FileInfo, error) {
			f, ok := files[p]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return f, nil
		},
		LookPath: func(name string) (string, error) {
			if _, ok := files["/usr/bin/"+name]; ok {
				return "/usr/bin/" + name, nil
			}
			return "", errors.New("not found")
		},
		Getxattr: func(p, _ string) ([]byte, error) {
			if files[p].caps {
				return []byte{1, 0, 0, 2}, nil
			}
			return nil, syscall.ENODATA
		},
		Access: func(p string) error {
			if files[p].mode.Perm()&0o006 != 0o006 {
				return syscall.EACCES
			}
			return nil
		},
	}
	// The data root does not exist yet: its type is read from the nearest
	// existing parent, the home directory; env["_fstype"] makes it NFS.
	h.FSType = func(p string) (int64, error) {
		if p == "/home/alice" && env["_fstype"] == "nfs" {
			return nfsMagic, nil
		}
		return ext4Magic, nil
	}
	return h, files, env
}

func TestPreflight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *Host, files map[string]fakeFile, env map[string]string)
		// want is a line that must be in the output; failed is the verdict.
		want   string
		failed bool
	}{
		{name: "all good", want: "ok       user namespaces allowed"},
		{name: "userns sysctl off", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/proc/sys/kernel/unprivileged_userns_clone"] = fakeFile{data: "0\n"}
		}, want: "fix: sudo sysctl -w kernel.unprivileged_userns_clone=1", failed: true},
		{name: "max user namespaces 0", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/proc/sys/user/max_user_namespaces"] = fakeFile{data: "0"}
		}, want: "MISSING  user namespaces: user.max_user_namespaces is 0", failed: true},
		{name: "newuidmap missing", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/usr/bin/newuidmap")
		}, want: "MISSING  newuidmap not found  fix: sudo apt-get install uidmap", failed: true},
		{name: "newgidmap not setuid", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/usr/bin/newgidmap"] = fakeFile{mode: 0o755}
		}, want: "fix: sudo chown root /usr/bin/newgidmap && sudo chmod u+s /usr/bin/newgidmap", failed: true},
		{name: "newuidmap with capabilities", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/usr/bin/newuidmap"] = fakeFile{mode: 0o755, caps: true}
		}, want: "ok       /usr/bin/newuidmap has file capabilities"},
		{name: "no subuid range", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/etc/subuid"] = fakeFile{data: "other:100000:65536\n"}
		}, want: "WARN     /etc/subuid has no range for alice: single-ID mode, only your own ID is mapped (root in containers, no other user); files of other owners in images are squashed to root  fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice"},
		{name: "no subgid file", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/etc/subgid")
		}, want: "WARN     /etc/subgid has no range for alice: single-ID mode"},
		{name: "subuid from getsubids (LDAP)", change: func(h *Host, f map[string]fakeFile, _ map[string]string) {
			f["/etc/subuid"] = fakeFile{data: "other:100000:65536\n"}
			h.Getsubids = func(args ...string) ([]byte, error) { return []byte("0: alice 500000 65536\n"), nil }
		}, want: "ok       getsubids alice gives alice 65536 IDs"},
		{name: "subuid by uid, small", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/etc/subuid"] = fakeFile{data: "1000:100000:1000\n"}
		}, want: "WARN     /etc/subuid gives alice 1000 IDs, fewer than the 65536"},
		{name: "tun missing", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/dev/net/tun")
		}, want: "fix: sudo mkdir -p /dev/net && sudo mknod -m 0666 /dev/net/tun c 10 200", failed: true},
		{name: "tun closed", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/dev/net/tun"] = fakeFile{mode: fs.ModeDevice | 0o600}
		}, want: "fix: sudo chmod 0666 /dev/net/tun", failed: true},
		{name: "fuse closed is a warning", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/dev/fuse"] = fakeFile{mode: fs.ModeDevice | 0o600}
		}, want: "WARN     /dev/fuse is not usable by alice"},
		{name: "no slirp4netns", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/usr/bin/slirp4netns")
		}, want: "fix: sudo apt-get install slirp4netns", failed: true},
		{name: "no fuse-overlayfs is a warning", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/usr/bin/fuse-overlayfs")
		}, want: "WARN     fuse-overlayfs not found"},
		{name: "no nsenter", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/usr/bin/nsenter")
		}, want: "fix: sudo apt-get install util-linux", failed: true},
		{name: "no runtime dir", change: func(_ *Host, _ map[string]fakeFile, e map[string]string) {
			delete(e, "XDG_RUNTIME_DIR")
		}, want: "WARN     XDG_RUNTIME_DIR is not set: roostd uses the private directory"},
		{name: "runtime dir open", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/run/user/1000"] = fakeFile{mode: fs.ModeDir | 0o755, uid: uid}
		}, want: "fix: chmod 700 /run/user/1000"},
		{name: "data root on NFS", change: func(_ *Host, _ map[string]fakeFile, e map[string]string) {
			e["_fstype"] = "nfs"
		}, want: "is on NFS: overlayfs does not work there"},
		{name: "cgroup v1", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/sys/fs/cgroup/cgroup.controllers")
		}, want: "WARN     cgroup v2 is not mounted"},
		{name: "cgroup not delegated", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service"] = fakeFile{mode: fs.ModeDir | 0o755}
		}, want: "WARN     cgroup v2 is not delegated to alice"},
		{name: "cgroup without memory", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			f["/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers"] = fakeFile{data: "pids"}
		}, want: "without the cpu, memory controllers"},
		{name: "no lingering", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/var/lib/systemd/linger/alice")
		}, want: "fix: loginctl enable-linger alice"},
		{name: "pinned binary missing", change: func(_ *Host, f map[string]fakeFile, _ map[string]string) {
			delete(f, "/opt/roost/bin/runc")
		}, want: "MISSING  /opt/roost/bin/runc is missing", failed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, files, env := goodHost()
			if tc.change != nil {
				tc.change(&h, files, env)
			}
			cs := Preflight(h)
			var lines []string
			for _, c := range cs {
				lines = append(lines, c.String())
			}
			out := strings.Join(lines, "\n")
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			if Failed(cs) != tc.failed {
				t.Errorf("Failed = %v, want %v:\n%s", Failed(cs), tc.failed, out)
			}
		})
	}
}

// Without systemd as init there is no lingering to report.
func TestPreflightNoSystemd(t *testing.T) {
	h, files, _ := goodHost()
	delete(files, "/run/systemd/system")
	delete(files, "/var/lib/systemd/linger/alice")
	for _, c := range Preflight(h) {
		if strings.Contains(c.What, "lingering") {
			t.Errorf("reported %q without systemd", c)
		}
	}
}
