package buildsvc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// adopt takes over a buildkitd that a previous roostd started and that
// outlived it (roostd killed with SIGKILL): its cache stays warm and no
// second buildkitd fights over the root. It is not our child, so its exit
// is watched through a pidfd; once it has gone, the next build starts a
// supervised one.
func (d *Daemon) adopt(ctx context.Context, pid int) error {
	if !isBuildkitd(pid) {
		return fmt.Errorf("pid %d is not buildkitd", pid)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	}()
	d.gone = gone
	d.stop = func(ctx context.Context) {
		defer unix.Close(fd)
		_ = unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0)
		select {
		case <-gone:
		case <-time.After(stopTimeout):
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			<-gone
		}
		_ = os.Remove(d.cfg.pidFile())
	}
	log.G(ctx).Infof("taking over the running buildkitd (pid %d)", pid)
	return nil
}

// adoptedGone tells whether an adopted buildkitd has exited. Callers hold
// d.mu.
func (d *Daemon) adoptedGone() bool {
	if d.gone == nil {
		return false
	}
	select {
	case <-d.gone:
		d.gone = nil
		log.L.Warn("the buildkitd roostd had reused exited; starting a new one")
		return true
	default:
		return false
	}
}

// isBuildkitd checks that pid runs a buildkitd, so that a stale pid file
// whose pid was reused never makes us signal a stranger.
func isBuildkitd(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	return filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == "buildkitd"
}
