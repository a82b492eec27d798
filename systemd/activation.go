package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"golang.org/x/sys/unix"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Activated tells whether the service manager passed this process
// listening sockets (LISTEN_FDS, with LISTEN_PID naming this process).
func Activated() bool { return len(ListenFDs()) > 0 }

// ListenFDs are the descriptors passed by socket activation, without taking
// them: the environment is left as it is, so that the process can still
// hand them on through an exec that keeps its pid (nsenter).
func ListenFDs() []int {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
	}
	fds := make([]int, n)
	for i := range fds {
		fds[i] = listenFDsStart + i
	}
	return fds
}

// SetCloseOnExec marks the activated descriptors close-on-exec (on) or
// inheritable (off). They must not leak into children started with
// os/exec, which passes every descriptor without the flag, but must survive
// the exec of nsenter that moves this process into its namespace.
func SetCloseOnExec(fds []int, on bool) error {
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			return fmt.Errorf("socket activation: descriptor %d: %w", fd, err)
		}
		if on {
			flags |= unix.FD_CLOEXEC
		} else {
			flags &^= unix.FD_CLOEXEC
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags); err != nil {
			return fmt.Errorf("socket activation: descriptor %d: %w", fd, err)
		}
	}
	return nil
}

// Listeners takes the sockets passed by the service manager for host, which
// is "fd://" (all of them) or "fd://<name>" (those named so by the socket
// unit's FileDescriptorName=, or the unit's name by default). It unsets
// LISTEN_FDS and friends, as sd_listen_fds does, so that it can be called
// once only.
func Listeners(host string) ([]net.Listener, error) {
	name, ok := strings.CutPrefix(host, "fd://")
	if !ok {
		return nil, fmt.Errorf("not a socket activation listener: %q", host)
	}
	if len(ListenFDs()) == 0 {
		return nil, fmt.Errorf("%s: no sockets were passed by socket activation (LISTEN_FDS is unset or LISTEN_PID is not this process)", host)
	}
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, err
	}
	var ls []net.Listener
	for n, l := range named {
		if name == "" || n == name {
			ls = append(ls, l...)
		} else {
			for _, x := range l {
				x.Close()
			}
		}
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("%s: socket activation passed no listening socket of that name", host)
	}
	return ls, nil
}
