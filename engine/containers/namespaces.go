package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// donorLockWait bounds the wait for the lock of a container whose
// namespaces another one joins: two containers starting while each joins
// the other must fail rather than deadlock.
const donorLockWait = 5 * time.Second

// checkNamespaceModes validates --ipc and --pid at create, with dockerd's
// messages. Whether a donor container runs is only known at start.
func checkNamespaceModes(hc *container.HostConfig) error {
	if !hc.IpcMode.Valid() || (hc.IpcMode.IsContainer() && hc.IpcMode.Container() == "") {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid IPC mode: %v", hc.IpcMode))
	}
	if !hc.PidMode.Valid() || (hc.PidMode.IsContainer() && hc.PidMode.Container() == "") {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid PID mode: %v", hc.PidMode))
	}
	return nil
}

// ipcSpecOpts applies the IPC modes known at create: none has no
// /dev/shm at all, private its own, shareable one others can join (see
// shm.go); joiners get theirs at start (prepareNamespaces).
func (s *Service) ipcSpecOpts(id string, hc *container.HostConfig) []oci.SpecOpts {
	switch {
	case hc.IpcMode.IsShareable():
		return []oci.SpecOpts{withSharedShm(s.shmPath(id))}
	case hc.IpcMode.IsHost():
		// The host's /dev/shm goes with its IPC namespace, as dockerd
		// binds it; a user namespace cannot mount the host's mqueue.
		return []oci.SpecOpts{oci.WithHostNamespace(specs.IPCNamespace), oci.WithoutMounts("/dev/mqueue"), withSharedShm("/dev/shm")}
	case hc.IpcMode.IsNone():
		return []oci.SpecOpts{oci.WithoutMounts("/dev/shm")}
	}
	return nil
}

// nsDonor returns the task pid of the container whose namespace
// container:<ref> names, refused as dockerd's getPIDContainer and
// getIPCContainer do: unknown is a bad parameter, not running a conflict,
// and an IPC donor must be shareable.
func (s *Service) nsDonor(self, ref string, ipc bool) (int, error) {
	d, err := s.get(ref)
	if err != nil {
		return 0, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if d.id == self {
		// Its lock is held by this start: say so rather than wait.
		return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container %s cannot join its own namespace", ref))
	}
	deadline := time.Now().Add(donorLockWait)
	for !d.mu.TryLock() {
		if time.Now().After(deadline) {
			return 0, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is busy, try again", ref))
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer d.mu.Unlock()
	st := d.rec.State
	switch {
	case !st.Running:
		return 0, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", ref))
	case st.Restarting:
		return 0, errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is restarting, wait until the container is running", ref))
	case ipc && !d.rec.HostConfig.IpcMode.IsShareable():
		return 0, errdefs.ErrInvalidArgument.WithMessage("container " + ref + ": non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
	}
	return st.Pid, nil
}

// prepareNamespaces mounts a shareable container's /dev/shm, and points
// the spec of a container with --pid or --ipc container:<ref> at the
// donor's current task before each start, as dockerd builds its spec at
// start: the donor may have restarted with another pid since create. The
// joined IPC namespace comes with the donor's /dev/shm.
func (s *Service) prepareNamespaces(ctx context.Context, cc client.Container, id string, hc *container.HostConfig) error {
	if hc.IpcMode.IsShareable() {
		if err := s.ensureShm(id, hc.ShmSize); err != nil {
			return err
		}
	}
	pidMode, ipcMode, netMode := hc.PidMode.IsContainer(), hc.IpcMode.IsContainer(), hc.NetworkMode.IsContainer()
	if !pidMode && !ipcMode && !netMode {
		return nil
	}
	spec, err := cc.Spec(ctx)
	if err != nil {
		return err
	}
	if netMode {
		if err := s.joinNetwork(id, hc.NetworkMode.ConnectedContainer(), spec); err != nil {
			return err
		}
	}
	if pidMode {
		pid, err := s.nsDonor(id, hc.PidMode.Container(), false)
		if err != nil {
			return err
		}
		setNamespacePath(spec, specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", pid))
	}
	if ipcMode {
		pid, err := s.nsDonor(id, hc.IpcMode.Container(), true)
		if err != nil {
			return err
		}
		setNamespacePath(spec, specs.IPCNamespace, fmt.Sprintf("/proc/%d/ns/ipc", pid))
		d, err := s.get(hc.IpcMode.Container())
		if err != nil {
			return err
		}
		setShmMount(spec, s.shmPath(d.id))
	}
	return cc.Update(ctx, func(ctx context.Context, c *client.Client, cr *containers.Container) error {
		return client.WithSpec(spec)(ctx, c, cr)
	})
}

// setNamespacePath makes the spec join the namespace at path.
func setNamespacePath(spec *oci.Spec, typ specs.LinuxNamespaceType, path string) {
	for i, ns := range spec.Linux.Namespaces {
		if ns.Type == typ {
			spec.Linux.Namespaces[i].Path = path
			return
		}
	}
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}
