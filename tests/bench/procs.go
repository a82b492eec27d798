package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process found in /proc.
type proc struct {
	pid     int
	uid     int
	state   string
	session int
	userNS  string // "user:[4026531837]"
	rssKB   int64  // VmRSS
	cmdline string
	comm    string // the thread name, which a process may set itself
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d uid %d state %s: %s", p.pid, p.uid, p.state, p.cmdline)
}

// readProc reads what the bench needs to know about pid.
func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return proc{}, false
	}
	p := proc{pid: pid, uid: -1}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "State":
			p.state = f[0]
		case "Uid":
			p.uid, _ = strconv.Atoi(f[0])
		case "VmRSS":
			p.rssKB, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	// The session is the fourth field after the command name, which may
	// itself hold spaces and parentheses.
	if stat, err := os.ReadFile(dir + "/stat"); err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 3 {
				p.session, _ = strconv.Atoi(f[3])
			}
		}
	}
	p.userNS, _ = os.Readlink(dir + "/ns/user")
	cmdline, _ := os.ReadFile(dir + "/cmdline")
	p.cmdline = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	comm, _ := os.ReadFile(dir + "/comm")
	p.comm = strings.TrimSpace(string(comm))
	return p, true
}

// allProcs lists the live processes for which keep is true. Zombies are
// left out: they have exited, and whether they are reaped depends on the
// machine's init, not on the engine.
func allProcs(keep func(proc) bool) []proc {
	entries, _ := os.ReadDir("/proc")
	var procs []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.state != "Z" && keep(p) {
			procs = append(procs, p)
		}
	}
	return procs
}

// pssKB reads the proportional set size of pid, which shares each page
// between the processes that map it. A process that is not dumpable hides
// it from an unprivileged caller.
func pssKB(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Pss" {
			if f := strings.Fields(v); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no Pss line in /proc/%d/smaps_rollup", pid)
}

// killAll waits up to linger for list() to come back empty, then kills
// what is left with SIGKILL and returns it.
func killAll(list func() []proc, linger time.Duration) []proc {
	deadline := time.Now().Add(linger)
	for {
		left := list()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procList formats procs one per line for a report.
func procList(procs []proc) string {
	lines := make([]string, len(procs))
	for i, p := range procs {
		lines[i] = "  " + p.String()
	}
	return strings.Join(lines, "\n")
}
