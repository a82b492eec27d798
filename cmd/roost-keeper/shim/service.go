package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"strings"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The reservation service a start command calls on a group's daemon
// (group.go). Its request is the container id.
const (
	groupService   = "roost.shim.v1.Group"
	reserveMethod  = "Reserve"
	reserveTimeout = 5 * time.Second
)

// registerTaskPlugin registers the shim's task service in place of
// upstream's plugin (task/plugin): the same service, with its shutdown
// deferred by a linger and the reservation service beside it.
func registerTaskPlugin() {
	registry.Register(&plugin.Registration{
		Type:     plugins.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugins.EventPlugin, plugins.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (any, error) {
			pp, err := ic.GetByID(plugins.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			ss, err := ic.GetByID(plugins.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			sd := ss.(shutdown.Service)
			// The container the daemon was started for (upstream's -id).
			own := ""
			if f := flag.Lookup("id"); f != nil {
				own = f.Value.String()
			}
			l := daemonLinger(ic.Context, sd, own, ic.Properties[plugins.PropertyGRPCAddress])
			svc, err := task.NewTaskService(ic.Context, pp.(shim.Publisher), lingeringShutdown{sd, l})
			if err != nil {
				return nil, err
			}
			return &groupTaskService{TTRPCTaskService: svc, l: l, log: newShimLog(own)}, nil
		},
	})
}

// daemonLinger builds the linger of the daemon started for container own.
// A daemon of a group waits lingerTime for another container; one started
// for a single container (no group annotation: a container of an older
// roostd) exits at once, as upstream's does, since nothing else would
// ever use its socket.
func daemonLinger(ctx context.Context, sd shutdown.Service, own, containerd string) *linger {
	wait := time.Duration(0)
	if g, ok, err := readGroup("config.json"); err == nil && ok && g != own {
		wait = lingerTime
	}
	// The listener containerd's start command handed over as fd 3.
	socket := ""
	if sa, err := unix.Getsockname(3); err == nil {
		if ua, ok := sa.(*unix.SockaddrUnix); ok && ua.Name != "" && ua.Name[0] != '@' {
			socket = ua.Name
		}
	}
	unlink := func() {
		if socket == "" {
			return
		}
		if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).Warn("cannot remove the shim's socket")
		}
	}
	return newLinger(own, wait, func() bool { return !listening(containerd) }, unlink, sd.Shutdown)
}

// listening reports whether a unix socket accepts connections.
func listening(path string) bool {
	path = strings.TrimPrefix(path, "unix://")
	if path == "" {
		return true
	}
	c, err := net.DialTimeout("unix", path, 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// lingeringShutdown is the shutdown service upstream's task service sees:
// its Shutdown, made when the last container was deleted, starts the
// linger; everything else is the daemon's own.
type lingeringShutdown struct {
	shutdown.Service
	l *linger
}

// Shutdown defers the daemon's exit to the linger.
func (s lingeringShutdown) Shutdown() { s.l.shutdown() }

// groupTaskService is upstream's task service with Create counted by the
// linger and the log following the containers (shimlog.go), and the
// reservation service.
type groupTaskService struct {
	taskAPI.TTRPCTaskService
	l   *linger
	log *shimLog
}

// RegisterTTRPC registers both services on the daemon's server.
func (s *groupTaskService) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTTRPCTaskService(server, s)
	server.RegisterService(groupService, &ttrpc.ServiceDesc{
		Methods: map[string]ttrpc.Method{
			reserveMethod: func(ctx context.Context, unmarshal func(any) error) (any, error) {
				var id wrapperspb.StringValue
				if err := unmarshal(&id); err != nil {
					return nil, err
				}
				if err := s.l.reserve(id.Value); err != nil {
					return nil, errgrpc.ToGRPC(err)
				}
				return &emptypb.Empty{}, nil
			},
		},
	})
	return nil
}

// Create creates the task while the linger knows a create is in flight.
func (s *groupTaskService) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	if err := s.l.beginCreate(r.ID); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	// Before upstream's Create, which may log about the container.
	s.log.created(r.ID, r.Bundle)
	resp, err := s.TTRPCTaskService.Create(ctx, r)
	s.l.endCreate(err == nil)
	if err != nil {
		s.log.deleted(r.ID)
	}
	return resp, err
}

// Delete deletes a process; the deletion of a container's init moves the
// log off its FIFO, which containerd is about to stop reading.
func (s *groupTaskService) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	resp, err := s.TTRPCTaskService.Delete(ctx, r)
	if err == nil && r.ExecID == "" {
		s.log.deleted(r.ID)
	}
	return resp, err
}
