package containers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

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

// explainUnmappedUser replaces runc's error for a container whose user or
// group the engine's user namespace does not map ("unable to setup user:
// chown /dev/stdout: invalid argument"): an image whose USER is nobody in
// single-ID mode, or a --user above the subordinate range. It reads the
// spec only after a failed task create, so a start that works pays
// nothing.
func explainUnmappedUser(ctx context.Context, cc client.Container, err error) error {
	sp, serr := cc.Spec(ctx)
	if serr != nil || sp.Process == nil {
		return err
	}
	u := sp.Process.User
	maps := engineIDMaps()
	unmapped := !inRanges(maps.uids, u.UID)
	for _, g := range append([]uint32{u.GID}, u.AdditionalGids...) {
		unmapped = unmapped || !inRanges(maps.gids, g)
	}
	if !unmapped {
		return err
	}
	msg := fmt.Sprintf("failed to create task for container: the container's user %d:%d is not mapped in the engine's user namespace", u.UID, u.GID)
	if maps.single {
		msg += " (single-ID mode: without a range in /etc/subuid and /etc/subgid only root exists in containers; run it with --user 0:0, or have a range added: docs/hpc.md)"
	} else {
		msg += " (the IDs a container can use are those of your /etc/subuid and /etc/subgid ranges)"
	}
	return errors.New(msg)
}
