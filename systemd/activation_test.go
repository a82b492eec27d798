package systemd

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenFDs(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		pid, fds string
		want     []int
	}{
		{self, "2", []int{3, 4}},
		{self, "0", nil},
		{self, "", nil},
		{"1", "2", nil}, // passed to another process: not ours
		{"", "1", nil},
	} {
		t.Setenv("LISTEN_PID", tc.pid)
		t.Setenv("LISTEN_FDS", tc.fds)
		if got := ListenFDs(); !slices.Equal(got, tc.want) {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s: got %v, want %v", tc.pid, tc.fds, got, tc.want)
		}
		if Activated() != (len(tc.want) > 0) {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s: Activated() = %v", tc.pid, tc.fds, Activated())
		}
	}
}

func TestListenersWithoutActivation(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	if _, err := Listeners("fd://"); err == nil {
		t.Fatal("fd:// without activation: no error")
	}
}

func TestSetCloseOnExec(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd := int(r.Fd())
	for _, on := range []bool{false, true} {
		if err := SetCloseOnExec([]int{fd}, on); err != nil {
			t.Fatal(err)
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := flags&unix.FD_CLOEXEC != 0; got != on {
			t.Errorf("SetCloseOnExec(%v): FD_CLOEXEC is %v", on, got)
		}
	}
}
