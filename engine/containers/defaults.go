package containers

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// defaultShmSize is dockerd's default size of /dev/shm, 64 MiB.
const defaultShmSize = 64 << 20

// defaultRuntime is the only OCI runtime roost runs.
const defaultRuntime = "runc"

// checkRuntime refuses a runtime other than runc, in dockerd's words.
func checkRuntime(hc *container.HostConfig) error {
	if hc.Runtime != "" && hc.Runtime != defaultRuntime {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unknown or invalid runtime name: %s", hc.Runtime))
	}
	if !hc.CgroupnsMode.Valid() {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid cgroup namespace mode: %v", hc.CgroupnsMode))
	}
	return nil
}

// fillHostConfigDefaults records what dockerd's create fills in, so that
// inspect shows the same: a private IPC namespace, a 64 MiB /dev/shm, the
// runtime, the cgroup namespace mode of the host's cgroup version, and,
// unless privileged, the masked and read-only paths (which the spec then
// takes from here, so that API clients may set their own).
func (s *Service) fillHostConfigDefaults(ctx context.Context, id string, hc *container.HostConfig) error {
	if hc.IpcMode == "" {
		hc.IpcMode = container.IPCModePrivate
		if s.opts.DefaultIpcMode != "" {
			hc.IpcMode = s.opts.DefaultIpcMode
		}
	}
	if hc.ShmSize == 0 {
		hc.ShmSize = defaultShmSize
		if s.opts.DefaultShmSize > 0 {
			hc.ShmSize = s.opts.DefaultShmSize
		}
	}
	if hc.Runtime == "" {
		hc.Runtime = defaultRuntime
	}
	// 0 and negative pids limits mean none, as dockerd's create handler
	// reads them; without cgroups dockerd drops what it cannot apply
	// (after the warning checkCreate gives), so inspect shows null.
	if hc.PidsLimit != nil && (*hc.PidsLimit <= 0 || s.opts.Rootless) {
		hc.PidsLimit = nil
	}
	if s.opts.Rootless {
		hc.OomKillDisable, hc.MemorySwappiness = nil, nil
	}
	if hc.CgroupnsMode == "" {
		// containerd's default spec has a cgroup namespace on v2 only.
		hc.CgroupnsMode = container.CgroupnsModeHost
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			hc.CgroupnsMode = container.CgroupnsModePrivate
		}
	}
	if hc.Privileged || (hc.MaskedPaths != nil && hc.ReadonlyPaths != nil) {
		return nil
	}
	def, err := oci.GenerateSpec(namespaces.WithNamespace(ctx, s.opts.Namespace), nil, &containers.Container{ID: id})
	if err != nil {
		return err
	}
	if hc.MaskedPaths == nil {
		hc.MaskedPaths = def.Linux.MaskedPaths
	}
	if hc.ReadonlyPaths == nil {
		hc.ReadonlyPaths = def.Linux.ReadonlyPaths
	}
	return nil
}

// withHostConfigPaths sets the masked and read-only paths the HostConfig
// gives (an empty list is none, as systempaths=unconfined sends; nil keeps
// the default spec's), and none for a privileged container, as dockerd.
func withHostConfigPaths(hc *container.HostConfig) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if hc.MaskedPaths != nil {
			s.Linux.MaskedPaths = hc.MaskedPaths
		}
		if hc.ReadonlyPaths != nil {
			s.Linux.ReadonlyPaths = hc.ReadonlyPaths
		}
		if hc.Privileged {
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		}
		return nil
	}
}
