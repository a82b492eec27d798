package networks

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/netstack"
)

// BypassLabel asks for (true) or refuses (false) bypass4netns for one
// container; daemon.json's bypass4netns sets the default.
const BypassLabel = "io.roost.net.bypass4netns"

// Bypasser is what the service needs of netstack.Bypass.
type Bypasser interface {
	ListenerPath(id string) string
	Start(ctx context.Context, id string, ports []netstack.BypassPort, ignore []string) error
	Stop(ctx context.Context, id string) error
}

// checkBypass validates the label and records the daemon's default in it,
// so that the choice made at create holds at every start.
func (s *Service) checkBypass(cfg *container.Config, hc *container.HostConfig) error {
	v, set := cfg.Labels[BypassLabel]
	on := s.opts.BypassDefault
	if set {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid label %s=%q: use true or false", BypassLabel, v))
		}
		on = b
	}
	if !on {
		return nil
	}
	if s.opts.Bypass == nil {
		return errdefs.ErrNotImplemented.WithMessage("bypass4netns is not available to this engine (its binaries are not next to roostd: run make)")
	}
	for p, bs := range hc.PortBindings {
		for _, b := range bs {
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bypass4netns publishes %s on every host address: drop the host IP %s, or set the label %s=false", p, b.HostIP, BypassLabel))
			}
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels[BypassLabel] = "true"
	return nil
}

func bypassed(cfg *container.Config) bool {
	b, _ := strconv.ParseBool(cfg.Labels[BypassLabel])
	return b
}

// SeccompListener is the socket the container's socket calls are sent to
// when bypass4netns handles them.
func (s *Service) SeccompListener(id string, cfg *container.Config) string {
	if s.opts.Bypass == nil || !bypassed(cfg) {
		return ""
	}
	return s.opts.Bypass.ListenerPath(id)
}

// Prepare starts the container's bypass4netns, with its published ports
// (host ports chosen now), before runc needs its seccomp listener.
func (s *Service) Prepare(ctx context.Context, req containers.NetworkRequest) error {
	if s.opts.Bypass == nil || !bypassed(req.Config) {
		return nil
	}
	reqs, err := forwardsFor(req.Config, req.HostConfig)
	if err != nil {
		return err
	}
	pub := &published{bypass: true, bindings: network.PortMap{}}
	var ports []netstack.BypassPort
	for _, r := range reqs {
		hostPort, err := pickHostPort(r)
		if err != nil {
			return errdefs.ErrUnknown.WithMessage(fmt.Sprintf("driver failed programming external connectivity on endpoint %s: %s", req.Name, err))
		}
		ports = append(ports, netstack.BypassPort{HostPort: hostPort, Port: r.port})
		p, _ := network.PortFrom(uint16(r.port), network.IPProtocol(r.proto))
		pub.bindings[p] = append(pub.bindings[p], bindingsFor(r.hostIP, hostPort)...)
	}
	ignore := []string{"127.0.0.0/8", slirpSubnet.String()}
	s.mu.Lock()
	for _, n := range s.nets {
		if n.Subnet.IsValid() {
			ignore = append(ignore, n.Subnet.String())
		}
	}
	s.ports[req.ID] = pub
	s.mu.Unlock()
	return s.opts.Bypass.Start(ctx, req.ID, ports, ignore)
}

// pickHostPort chooses the host port bypass4netns will bind: the one
// asked for if it is free, the first free one of a range, any free one.
func pickHostPort(r portReq) (int, error) {
	if r.hostLo == 0 {
		return freePort(r.proto, "")
	}
	for p := r.hostLo; p <= r.hostHi; p++ {
		if _, err := probePort(r.proto, net.JoinHostPort("", strconv.Itoa(p))); err == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("Bind for 0.0.0.0:%d failed: %w", r.hostLo, netstack.ErrPortAllocated)
}
