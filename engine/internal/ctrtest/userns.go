package ctrtest

import (
	"context"
	"os"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// identityMap is /proc/self/uid_map in the initial user namespace.
const identityMap = "0 0 4294967295"

// Rootless reports whether the test runs in a user namespace other than the
// initial one: as root of the namespace hack/userns.sh makes for a user
// who is not root. runc there cannot use cgroups (they are not delegated),
// so the tests must build their specs the way the engine's Rootless mode
// does.
func Rootless() bool { return rootless() }

var rootless = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		// No /proc: nothing a container test could use anyway; assume
		// the common case.
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != identityMap
})

// SpecOpts returns the OCI spec options every test container needs where
// the test runs: none as the real root; in a user namespace an empty
// cgroupsPath and no linux.resources, because runc there fails on any
// cgroup setting (ctr's default path /<namespace>/<id> included).
func SpecOpts() []oci.SpecOpts {
	if !Rootless() {
		return nil
	}
	return []oci.SpecOpts{oci.WithCgroup(""), withoutResources}
}

// withoutResources drops linux.resources, as the engine does in its
// Rootless mode.
func withoutResources(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux != nil {
		s.Linux.Resources = nil
	}
	return nil
}
