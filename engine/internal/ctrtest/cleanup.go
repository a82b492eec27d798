package ctrtest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/roostd/roost/internal/testenv"
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
	for _, pid := range testenv.PIDs() {
		args := strings.Split(strings.TrimRight(string(testenv.Args(pid)), "\x00"), "\x00")
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
		for _, pid := range testenv.PIDs() {
			if testenv.ParentPID(pid) == sh.pid {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(sh.pid, syscall.SIGKILL)
		for _, p := range []string{filepath.Join(address, sh.namespace, sh.id), filepath.Join(address, sh.namespace, sh.id, "debug")} {
			_ = os.Remove(fmt.Sprintf("/run/containerd/s/%x", sha256.Sum256([]byte(p))))
		}
	}
}
