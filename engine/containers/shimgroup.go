package containers

import (
	"context"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// shimGroupAnnotation makes containerd's runc shim serve every container
// that carries the same value from one daemon. Each engine's containerd
// socket is part of the shim socket's name, so one value serves all.
const (
	shimGroupAnnotation = "io.containerd.runc.v2.group"
	shimGroup           = "roost"
)

// withShimGroup puts the container in the engine's shim group, which
// saves a shim start (two Go processes) on every container start after
// the first and one daemon per running container (architecture.md). A
// group the user gave with --annotation stands, as under dockerd, whose
// containerd honours it too: it is how a container gets a shim apart from
// the others. It is written into the spec only; the container's
// HostConfig.Annotations stay what the user gave.
func withShimGroup(user map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if _, ok := user[shimGroupAnnotation]; ok {
			return nil
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[shimGroupAnnotation] = shimGroup
		return nil
	}
}
