package testenv

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Proc is a process as /proc shows it.
type Proc struct {
	PID, PPID, Session int
	UID                int // the real uid
	State              string
	UserNS             string // "user:[4026531837]"
	RSSKB              int64  // VmRSS
	Cmdline            string // arguments joined by spaces
	Comm               string // the thread name, which a process may set itself
}

func (p Proc) String() string {
	return fmt.Sprintf("pid %d uid %d state %s: %s", p.PID, p.UID, p.State, p.Cmdline)
}

// ReadProc reads pid's entry; false if the process is gone.
func ReadProc(pid int) (Proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Proc{}, false
	}
	p := Proc{PID: pid, UID: -1}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "State":
			p.State = f[0]
		case "Uid":
			p.UID, _ = strconv.Atoi(f[0])
		case "PPid":
			p.PPID, _ = strconv.Atoi(f[0])
		case "VmRSS":
			p.RSSKB, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	// The session is the fourth field after the command name, which may
	// itself hold spaces and parentheses.
	if stat, err := os.ReadFile(dir + "/stat"); err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 3 {
				p.Session, _ = strconv.Atoi(f[3])
			}
		}
	}
	p.UserNS, _ = os.Readlink(dir + "/ns/user")
	p.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(Args(pid)), "\x00", " "))
	comm, _ := os.ReadFile(dir + "/comm")
	p.Comm = strings.TrimSpace(string(comm))
	return p, true
}

// Args is pid's raw command line, NUL-separated; nil if it is gone.
func Args(pid int) []byte {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return data
}

// PIDs lists every process.
func PIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Procs lists the live processes for which keep is true. Zombies are left
// out: they have exited, and whether they are reaped soon depends on the
// machine's init, not on the engine.
func Procs(keep func(Proc) bool) []Proc {
	var procs []Proc
	for _, pid := range PIDs() {
		if p, ok := ReadProc(pid); ok && p.State != "Z" && keep(p) {
			procs = append(procs, p)
		}
	}
	return procs
}

// ParentPID is pid's parent; 0 if the process is gone.
func ParentPID(pid int) int {
	p, _ := ReadProc(pid)
	return p.PPID
}

// UserNSOf identifies the user namespace pid runs in (device and inode).
func UserNSOf(pid int) ([2]uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/user", pid), &st); err != nil {
		return [2]uint64{}, false
	}
	return [2]uint64{st.Dev, st.Ino}, true
}

// WaitGone waits until pid no longer runs (or is a zombie).
func WaitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		p, ok := ReadProc(pid)
		if !ok || p.State == "Z" {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("pid " + strconv.Itoa(pid) + " still runs")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// KillAll waits up to linger for list() to come back empty, then kills
// what is left with SIGKILL and returns it.
func KillAll(list func() []Proc, linger time.Duration) []Proc {
	deadline := time.Now().Add(linger)
	for {
		left := list()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				_ = syscall.Kill(p.PID, syscall.SIGKILL)
			}
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// List formats procs one per line for a report.
func List(procs []Proc) string {
	lines := make([]string, len(procs))
	for i, p := range procs {
		lines[i] = "  " + p.String()
	}
	return strings.Join(lines, "\n")
}

// UnmountUnder lazily detaches every mount point at or below dirs in this
// process's mount namespace, deepest first, so that removing a tree never
// walks into a mounted filesystem.
func UnmountUnder(dirs ...string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountPoint(f[4])
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				points = append(points, p)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMountPoint undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPoint(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
