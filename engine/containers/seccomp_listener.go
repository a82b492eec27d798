package containers

import (
	"context"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	b4noci "github.com/rootless-containers/bypass4netns/pkg/oci"
)

// withSeccompListener sends the notifications of the socket calls
// bypass4netns handles to its socket, on top of the container's profile
// (or of an allow-all one).
func withSeccompListener(path string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Seccomp == nil {
			s.Linux.Seccomp = b4noci.GetDefaultSeccompProfile(path)
			return nil
		}
		sc, err := b4noci.TranslateSeccompProfile(*s.Linux.Seccomp, path)
		if err != nil {
			return err
		}
		s.Linux.Seccomp = sc
		return nil
	}
}
