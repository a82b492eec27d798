package system

import (
	"os"
	"path/filepath"
	"strings"
)

// Cgroups is what the engine can do with cgroups on this host.
type Cgroups struct {
	Driver   string // "none", "cgroupfs" or "systemd", as docker info shows it
	Version  string // "1" or "2"
	Limits   bool   // resource limits are applied
	Warnings []string
}

// DetectCgroups works out the cgroup situation for a rootless engine. On a
// v1 or hybrid host nothing is delegated to users, and on v2 only what the
// user's systemd slice was given; runc in a user namespace fails when asked
// for a cgroup it cannot create, so roost runs rootless containers with no
// cgroup at all and says so.
func DetectCgroups(rootless bool) Cgroups {
	v2 := fileExists("/sys/fs/cgroup/cgroup.controllers")
	c := Cgroups{Driver: "cgroupfs", Version: "1", Limits: true}
	if v2 {
		c.Version = "2"
	}
	if !rootless {
		return c
	}
	c.Driver, c.Limits = "none", false
	switch {
	case v2 && delegatedV2():
		c.Warnings = append(c.Warnings, "WARNING: cgroup v2 is delegated to this user, but roost does not use it yet: containers run without cgroup limits; --memory, --cpus, --pids-limit and other resource limits are discarded with a warning")
	case v2:
		c.Warnings = append(c.Warnings, "WARNING: cgroup v2 controllers are not delegated to this user: containers run without cgroup limits; --memory, --cpus, --pids-limit and other resource limits are discarded with a warning")
	default:
		c.Warnings = append(c.Warnings, "WARNING: this host uses cgroup v1 (or hybrid), which cannot be delegated to an unprivileged user: containers run without cgroup limits; --memory, --cpus, --pids-limit and other resource limits are discarded with a warning")
	}
	c.Warnings = append(c.Warnings, "WARNING: container stats are measured from /proc: docker stats shows the CPU time, resident memory, I/O and network of each container's processes rather than cgroup accounting, and the memory limit shown is the host's memory")
	return c
}

// delegatedV2 tells whether the cgroup this process runs in lets it manage
// the memory, cpu and pids controllers (systemd's Delegate=yes).
func delegatedV2() bool {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return false
	}
	rel := strings.TrimSpace(strings.TrimPrefix(string(b), "0::"))
	dir := filepath.Join("/sys/fs/cgroup", rel)
	ctrl, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	for _, want := range []string{"memory", "pids"} {
		if !strings.Contains(" "+string(ctrl)+" ", " "+want+" ") {
			return false
		}
	}
	return writable(filepath.Join(dir, "cgroup.subtree_control"))
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func writable(p string) bool {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
