package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/rootless-containers/rootlesskit/v3/pkg/api/client"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
)

// Ports publishes container ports on the host through RootlessKit's port
// driver, whose parent process listens on the host and connects, inside
// the namespace, to the container's address.
type Ports struct {
	pm port.Manager
}

// NewPorts talks to the RootlessKit API socket at apiSock.
func NewPorts(apiSock string) (*Ports, error) {
	c, err := client.New(apiSock)
	if err != nil {
		return nil, err
	}
	return &Ports{pm: c.PortManager()}, nil
}

// Forward is one published port.
type Forward struct {
	Proto    string // tcp or udp
	HostIP   string // "" is every address
	HostPort int
	ChildIP  string // the container's address inside the namespace
	Port     int    // the container's port
}

func (f Forward) spec() port.Spec {
	return port.Spec{Proto: f.Proto, ParentIP: f.HostIP, ParentPort: f.HostPort, ChildIP: f.ChildIP, ChildPort: f.Port}
}

// Add publishes f and returns the driver's ID for it. A host port in use
// is dockerd's "port is already allocated"; a privileged port names the
// sysctl that allows it.
func (p *Ports) Add(ctx context.Context, f Forward) (int, error) {
	st, err := p.pm.AddPort(ctx, f.spec())
	if err != nil {
		return 0, portError(f, err)
	}
	return st.ID, nil
}

// Remove stops publishing the port with the driver's id.
func (p *Ports) Remove(ctx context.Context, id int) error {
	return p.pm.RemovePort(ctx, id)
}

// List returns every published port by driver ID.
func (p *Ports) List(ctx context.Context) (map[int]Forward, error) {
	sts, err := p.pm.ListPorts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int]Forward, len(sts))
	for _, st := range sts {
		s := st.Spec
		out[st.ID] = Forward{Proto: s.Proto, HostIP: s.ParentIP, HostPort: s.ParentPort, ChildIP: s.ChildIP, Port: s.ChildPort}
	}
	return out, nil
}

// ErrPortAllocated marks a host port someone else holds.
var ErrPortAllocated = errors.New("port is already allocated")

func portError(f Forward, err error) error {
	hostIP := f.HostIP
	if hostIP == "" {
		hostIP = "0.0.0.0"
	}
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EADDRINUSE), strings.Contains(msg, "address already in use"), strings.Contains(msg, "conflict with ID"):
		return fmt.Errorf("Bind for %s failed: %w", net.JoinHostPort(hostIP, fmt.Sprint(f.HostPort)), ErrPortAllocated)
	case errors.Is(err, syscall.EACCES), strings.Contains(msg, "permission denied"):
		return fmt.Errorf("cannot expose privileged port %d: a rootless engine may only publish ports from net.ipv4.ip_unprivileged_port_start on (see `sysctl net.ipv4.ip_unprivileged_port_start`; as root: sysctl -w net.ipv4.ip_unprivileged_port_start=%d), or choose a port >= 1024", f.HostPort, f.HostPort)
	case strings.Contains(msg, "cannot assign requested address"):
		return fmt.Errorf("listen %s %s: the host has no such address", f.Proto, net.JoinHostPort(hostIP, fmt.Sprint(f.HostPort)))
	}
	return err
}
