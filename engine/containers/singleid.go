package containers

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// singleGID tells whether the engine's user namespace maps one group only
// (a user without subordinate IDs): then no gid but 0 exists inside.
func singleGID() bool {
	b, err := os.ReadFile("/proc/self/gid_map")
	if err != nil {
		return false
	}
	return len(bytes.Split(bytes.TrimSpace(b), []byte("\n"))) == 1
}

// withoutTTYGroup drops gid=5 (the tty group) from /dev/pts' options: in a
// namespace that maps one group only that gid does not exist, and the
// kernel refuses the mount.
func withoutTTYGroup(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	for i, m := range s.Mounts {
		if m.Destination == "/dev/pts" {
			s.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "gid=") })
		}
	}
	return nil
}
