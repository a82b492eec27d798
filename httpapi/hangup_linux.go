//go:build linux

package httpapi

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"syscall"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// watchHangup calls cancel when the peer of conn hangs up entirely. A
// half-close (the CLI's CloseWrite when its stdin ends) only makes the
// socket readable and does not count; POLLHUP is raised on a unix socket
// when the peer closes, and on TCP once the connection is reset. The
// returned stop ends the watch; it must be called before conn is closed.
func watchHangup(ctx context.Context, conn net.Conn, cancel func()) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	// The eventfd wakes the poll when the session ends first.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		log.G(ctx).WithError(err).Warn("attach: cannot watch for the client hanging up")
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{
				{Fd: int32(fd)}, // POLLHUP and POLLERR need no request
				{Fd: int32(efd), Events: unix.POLLIN},
			}
			for {
				_, err := unix.Poll(fds, -1)
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if err == nil && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
					cancel()
				}
				return
			}
		})
	}()
	return func() {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(efd, one[:])
		<-done
		_ = unix.Close(efd)
	}
}
