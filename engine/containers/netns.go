package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A bridged container's network namespace is made by roostd before its
// task, bound at a path of its state directory that the spec names (as
// dockerd's sandbox key and CRI's pod network namespace), instead of by
// runc. The networks can then be connected while runc creates the task:
// the CNI plugins and runc create no longer wait for each other. The
// namespace is unmounted after the task exits, so every start gets a
// fresh one, as with a namespace runc makes.

func (s *Service) netNSPath(id string) string {
	return filepath.Join(s.stateDir(id), "netns")
}

// withNetNSPath makes the spec join the namespace at path instead of
// asking runc for a new one.
func withNetNSPath(path string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		setNamespacePath(s, specs.NetworkNamespace, path)
		return nil
	}
}

// ownNetNS tells whether the spec of the containerd container names the
// container's own bound namespace: containers created before roostd made
// them keep the namespace runc makes. It reads the record LoadContainer
// fetched, without asking containerd again. A spec that names the
// namespace under another state directory (the runtime directory moved
// since the container was created) is pointed at this one.
func (s *Service) ownNetNS(ctx context.Context, cc client.Container) (bool, error) {
	info, err := cc.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil || info.Spec == nil {
		return false, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(info.Spec.GetValue(), &spec); err != nil || spec.Linux == nil {
		return false, nil
	}
	want := s.netNSPath(cc.ID())
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace {
			continue
		}
		switch {
		case ns.Path == want:
			return true, nil
		case strings.HasSuffix(ns.Path, "/containers/"+cc.ID()+"/netns"):
			setNamespacePath(&spec, specs.NetworkNamespace, want)
			err := cc.Update(ctx, func(ctx context.Context, c *client.Client, cr *containers.Container) error {
				return client.WithSpec(&spec)(ctx, c, cr)
			})
			return err == nil, err
		}
		return false, nil
	}
	return false, nil
}

// newNetNS makes a fresh network namespace with loopback up and binds it
// at the container's path. A namespace left bound there (roostd killed
// while the container was stopped) is dropped first.
func (s *Service) newNetNS(id string) (string, error) {
	p := s.netNSPath(id)
	if err := s.releaseNetNS(id); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return "", fmt.Errorf("creating the network namespace's mount point: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	// The thread that enters the new namespace never leaves it: its
	// goroutine keeps it locked, so the runtime ends the thread when the
	// goroutine returns and no other goroutine ever runs in that namespace.
	go func() {
		runtime.LockOSThread()
		errc <- bindNewNetNS(p)
	}()
	if err := <-errc; err != nil {
		_ = os.Remove(p)
		return "", err
	}
	return p, nil
}

// bindNewNetNS runs on a locked thread that it leaves in the new namespace.
func bindNewNetNS(p string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("creating the container's network namespace: %w", err)
	}
	self := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
	if err := unix.Mount(self, p, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding the container's network namespace: %w", err)
	}
	return loopbackUp()
}

// loopbackUp sets lo up in the calling thread's network namespace, which
// runc does only in the namespaces it creates itself.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("setting up loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("setting up loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("setting up loopback: %w", err)
	}
	return nil
}

// releaseNetNS unbinds the container's namespace (the kernel frees it, and
// the container's ends of its veth pairs, once no process is left in it)
// and removes the mount point, so that the networks' teardown sees no
// namespace to enter, as after a task whose namespace runc made.
func (s *Service) releaseNetNS(id string) error {
	p := s.netNSPath(id)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("releasing the container's network namespace: %w", err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("releasing the container's network namespace: %w", err)
	}
	return nil
}
