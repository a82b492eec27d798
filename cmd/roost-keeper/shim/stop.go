package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/process"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/runc"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/shim"
	runcC "github.com/containerd/go-runc"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// manager is the upstream shim manager with a Start that shares a
// group's daemon (group.go) and a Stop that leaves runc alone when runc no
// longer knows the container.
type manager struct {
	shim.Shim
}

// Stop is the shim's `delete` command, run by containerd from the bundle
// directory (the working directory) once the shim is gone. Upstream forces
// `runc delete` first; when runc has no state directory for the container
// that command would find nothing, remove nothing and succeed, so it is
// skipped. Whenever the state is still there (the shim was killed, or the
// container is still running) the upstream Stop runs as it is.
func (s manager) Stop(ctx context.Context, id string) (shim.StopStatus, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return s.Shim.Stop(ctx, id)
	}
	bundle := filepath.Join(filepath.Dir(cwd), id)
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return s.Shim.Stop(ctx, id)
	}
	if gone, err := runcStateGone(bundle, ns, id); err != nil || !gone {
		return s.Shim.Stop(ctx, id)
	}
	return stopWithoutRunc(ctx, bundle), nil
}

// runcStateGone reports whether runc has no state directory for the
// container: <root>/<namespace>/<id>, root being the one in the bundle's
// runc options or the shim's default. An options file that cannot be read
// is an error, so the caller falls back to upstream's behaviour. A state
// directory without state.json (an aborted create) counts as present: runc
// delete removes it.
func runcStateGone(bundle, ns, id string) (bool, error) {
	opts, err := runc.ReadOptions(bundle)
	if err != nil {
		return false, err
	}
	root := process.RuncRoot
	if opts != nil && opts.Root != "" {
		root = opts.Root
	}
	_, err = os.Lstat(filepath.Join(root, ns, id))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	return false, err
}

// stopWithoutRunc is the rest of upstream's Stop: the rootfs is unmounted
// and the exit the shim recorded in the bundle is returned, or, without a
// record, a SIGKILL exit now with the init pid if it is known.
func stopWithoutRunc(ctx context.Context, bundle string) shim.StopStatus {
	now := time.Now()
	if err := mount.UnmountRecursive(filepath.Join(bundle, "rootfs"), 0); err != nil {
		log.G(ctx).WithError(err).Warn("failed to cleanup rootfs mount")
	}
	exit, err := runc.ReadExitStatus(bundle)
	if err == nil {
		return shim.StopStatus{ExitedAt: exit.Timestamp, ExitStatus: exit.Status, Pid: exit.Pid}
	}
	if !errors.Is(err, os.ErrNotExist) {
		log.G(ctx).WithError(err).Warn("failed to read recorded exit status")
	}
	pid, err := runcC.ReadPidFile(filepath.Join(bundle, process.InitPidFile))
	if err != nil {
		log.G(ctx).WithError(err).Warn("failed to read init pid file")
		pid = 0
	}
	return shim.StopStatus{ExitedAt: now, ExitStatus: 128 + int(unix.SIGKILL), Pid: pid}
}
