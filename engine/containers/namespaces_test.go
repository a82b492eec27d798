package containers

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/store"
)

func TestNSDonor(t *testing.T) {
	mk := func(id, name string, running bool, ipc container.IpcMode) *ctr {
		return newCtr(&store.Container{ID: id, Name: name, HostConfig: &container.HostConfig{IpcMode: ipc},
			State: store.State{Running: running, Pid: 42}})
	}
	ids := map[string]string{"shared": strings.Repeat("a", 64), "private": strings.Repeat("b", 64), "stopped": strings.Repeat("c", 64), "self": strings.Repeat("d", 64)}
	s := &Service{byID: map[string]*ctr{}, names: map[string]string{}}
	for name, c := range map[string]*ctr{
		"shared":  mk(ids["shared"], "shared", true, "shareable"),
		"private": mk(ids["private"], "private", true, "private"),
		"stopped": mk(ids["stopped"], "stopped", false, "shareable"),
		"self":    mk(ids["self"], "self", true, "shareable"),
	} {
		s.byID[c.id], s.names[name] = c, c.id
	}
	cases := []struct {
		ref     string
		ipc     bool
		wantPid int
		is      func(error) bool
		wantErr string
	}{
		{ref: "shared", ipc: true, wantPid: 42},
		{ref: "private", ipc: false, wantPid: 42},
		{ref: "private", ipc: true, is: errdefs.IsInvalidArgument, wantErr: "container private: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"},
		{ref: "stopped", is: errdefs.IsConflict, wantErr: "container stopped is not running"},
		{ref: "nope", is: errdefs.IsInvalidArgument, wantErr: "No such container: nope"},
		{ref: "self", is: errdefs.IsInvalidArgument, wantErr: "container self cannot join its own namespace"},
	}
	for _, tc := range cases {
		pid, err := s.nsDonor(ids["self"], tc.ref, tc.ipc)
		if tc.is == nil {
			if err != nil || pid != tc.wantPid {
				t.Errorf("%s: got %d, %v", tc.ref, pid, err)
			}
			continue
		}
		if !tc.is(err) || err.Error() != tc.wantErr {
			t.Errorf("%s (ipc %v): got %v, want %q", tc.ref, tc.ipc, err, tc.wantErr)
		}
	}
}
