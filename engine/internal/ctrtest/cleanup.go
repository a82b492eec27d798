package ctrtest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// shim is a shim process started by a test daemon.
type shim struct {
	pid       int
	namespace string
	id        string
}

// shims finds the shims started by the daemon listening on address: they
// carry "-address <address>" on their command line.
func shims(address string) []shim {
	var out []shim
	for _, pid := range pids() {
		args := cmdline(pid)
		var sh shim
		found := false
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-address":
				found = args[i+1] == address
			case "-namespace":
				sh.namespace = args[i+1]
			case "-id":
				sh.id = args[i+1]
			}
		}
		if found {
			sh.pid = pid
			out = append(out, sh)
		}
	}
	return out
}

// killShims kills the daemon's shims with their containers (a container's
// init is a child of its shim; the rest of a container dies with its pid
// namespace) and removes the shims' sockets, which live in the fixed
// /run/containerd/s whatever the daemon's state directory.
func killShims(address string) {
	for _, sh := range shims(address) {
		for _, pid := range pids() {
			if parentPID(pid) == sh.pid {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(sh.pid, syscall.SIGKILL)
		for _, p := range []string{filepath.Join(address, sh.namespace, sh.id), filepath.Join(address, sh.namespace, sh.id, "debug")} {
			_ = os.Remove(fmt.Sprintf("/run/containerd/s/%x", sha256.Sum256([]byte(p))))
		}
	}
}

func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) []string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// parentPID reads the PPid of pid from /proc/<pid>/stat (the field after
// the parenthesized command name, which may itself contain spaces).
func parentPID(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountPoint(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
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
