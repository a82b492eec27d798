package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// unshareMain is the unshare(1) RootlessKit's child runs to make its
// detached network namespace: it execs /proc/self/exe with argv[0]
// "unshare" and the arguments "-n mount --bind /proc/self/ns/net <file>"
// (rootless-containers/rootlesskit#494: its own helper, not the host's,
// which AppArmor may forbid). RootlessKit's helper is a urfave/cli
// application; this one reads the only option it has by hand, so that the
// keeper does not link a CLI library (and text/template) for it. It
// returns the exit status: the command's, or 1 if it did not run.
func unshareMain(args []string) int {
	newNet, argv, err := parseUnshareArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unshare:", err)
		return 1
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if newNet {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	}
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// As a shell reports it: the caller only prints the status.
			return 128 + int(ws.Signal())
		}
		return exitErr.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "unshare:", err)
		return 1
	}
}

// parseUnshareArgs reads unshare's arguments (without argv[0]): options,
// of which only -n (--net: a new network namespace) exists, then the
// command and its arguments; "--" ends the options.
func parseUnshareArgs(args []string) (newNet bool, argv []string, err error) {
	for i, a := range args {
		switch {
		case a == "-n" || a == "--net":
			newNet = true
		case a == "--":
			argv = args[i+1:]
		case strings.HasPrefix(a, "-") && a != "-":
			return false, nil, fmt.Errorf("unknown option %q", a)
		default:
			argv = args[i:]
		}
		if argv != nil {
			break
		}
	}
	if len(argv) == 0 {
		return false, nil, errors.New("no command specified")
	}
	return newNet, argv, nil
}
