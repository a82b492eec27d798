package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// groupAnnotation names the shim a container shares with others, as
// upstream's runc shim reads it (its manager also honours CRI's sandbox
// id, which roost never sets).
const groupAnnotation = "io.containerd.runc.v2.group"

// Start is the shim's `start` command. A container without a group gets
// upstream's Start: a daemon of its own. One in a group reserves the
// group's daemon if one serves (linger.go says why that closes the race
// with the daemon's exit) and otherwise lets upstream's Start make it.
func (m manager) Start(ctx context.Context, opts *bootapi.BootstrapParams) (*bootapi.BootstrapResult, error) {
	group, grouped, err := readGroup("config.json")
	if err != nil || !grouped {
		return m.Shim.Start(ctx, opts)
	}
	dir := opts.GetSocketDir()
	if dir == "" {
		dir = filepath.Join(defaults.DefaultStateDir, "s")
	}
	addr, err := shim.CreateSocketAddress(ctx, dir, opts.GetContainerdGrpcAddress(), group, false)
	if err != nil {
		return nil, err
	}
	unlock, err := lockGroup(socketPath(addr) + ".lock")
	if err != nil {
		return nil, err
	}
	// Held until upstream's Start has bound a new daemon's socket, so a
	// second start command of the group cannot find that socket before
	// this one has decided whether to use it.
	defer unlock()
	switch err := reserve(ctx, addr, opts.GetInstanceID()); {
	case err == nil:
		return &bootapi.BootstrapResult{Version: 3, Protocol: "ttrpc", Address: addr}, nil
	case !noDaemon(err):
		return nil, fmt.Errorf("reserve the group's shim %s: %w", group, err)
	}
	return m.Shim.Start(ctx, opts)
}

// reserve asks the daemon listening at addr to wait for container id's
// Create.
func reserve(ctx context.Context, addr, id string) error {
	conn, err := net.DialTimeout("unix", socketPath(addr), reserveTimeout)
	if err != nil {
		return err
	}
	c := ttrpc.NewClient(conn)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, reserveTimeout)
	defer cancel()
	var resp emptypb.Empty
	if err := c.Call(ctx, groupService, reserveMethod, wrapperspb.String(id), &resp); err != nil {
		return errgrpc.ToNative(err)
	}
	return nil
}

// noDaemon reports whether a reservation failed because no daemon serves
// the group: no socket, a socket nobody listens on (a daemon killed with
// SIGKILL leaves it), or a daemon that has decided to exit and has
// already removed its socket. Upstream's Start then makes a new one; any
// other failure is the create's.
func noDaemon(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) ||
		errdefs.IsUnavailable(err) || errors.Is(err, ttrpc.ErrClosed)
}

// socketPath is the file of a unix:// shim address.
func socketPath(addr string) string {
	return strings.TrimPrefix(addr, "unix://")
}

// lockGroup takes the lock start commands of a group share.
func lockGroup(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// readGroup returns a bundle's group annotation and whether it has one.
// An empty value is a group too, as upstream's Start reads it.
func readGroup(configJSON string) (group string, ok bool, err error) {
	b, err := os.ReadFile(configJSON)
	if err != nil {
		return "", false, err
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", false, err
	}
	group, ok = spec.Annotations[groupAnnotation]
	return group, ok, nil
}
