package networks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/netstack"
)

// randomPortTries bounds the search for a free host port: another program
// may take the one we found before the port driver listens on it.
const randomPortTries = 20

// portReq is one port to publish: a host port, a range to pick from, or
// 0 for any.
type portReq struct {
	proto          string
	hostIP         netip.Addr
	hostLo, hostHi int
	port           int
}

// published is what a container has published.
type published struct {
	ids      []int
	bindings network.PortMap
	bypass   bool // bypass4netns binds the ports, not the port driver
}

// forwardsFor reads the container's published ports: -p (PortBindings)
// and, with -P, every exposed port not published otherwise.
func forwardsFor(cfg *container.Config, hc *container.HostConfig) ([]portReq, error) {
	var out []portReq
	keys := make([]network.Port, 0, len(hc.PortBindings))
	for p := range hc.PortBindings {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b network.Port) int { return strings.Compare(a.String(), b.String()) })
	for _, p := range keys {
		bs := hc.PortBindings[p]
		if len(bs) == 0 {
			bs = []network.PortBinding{{}}
		}
		for _, b := range bs {
			r, err := portRequest(p, b)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	if hc.PublishAllPorts {
		exposed := make([]network.Port, 0, len(cfg.ExposedPorts))
		for p := range cfg.ExposedPorts {
			if _, ok := hc.PortBindings[p]; !ok {
				exposed = append(exposed, p)
			}
		}
		slices.SortFunc(exposed, func(a, b network.Port) int { return strings.Compare(a.String(), b.String()) })
		for _, p := range exposed {
			r, err := portRequest(p, network.PortBinding{})
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func portRequest(p network.Port, b network.PortBinding) (portReq, error) {
	r := portReq{proto: string(p.Proto()), port: int(p.Num()), hostIP: b.HostIP}
	switch r.proto {
	case "tcp", "udp":
	case "sctp":
		return r, errdefs.ErrNotImplemented.WithMessage("publishing SCTP ports is not supported by roost (RootlessKit's port driver forwards TCP and UDP)")
	default:
		return r, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid proto: %s", r.proto))
	}
	if r.port == 0 {
		return r, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port specification: %q", p.String()))
	}
	if r.hostIP.Is6() && !r.hostIP.Is4In6() && !r.hostIP.IsUnspecified() {
		return r, errdefs.ErrNotImplemented.WithMessage("publishing on an IPv6 host address is not supported by roost yet")
	}
	hp := b.HostPort
	if hp == "" {
		return r, nil
	}
	lo, hi, isRange := strings.Cut(hp, "-")
	var err error
	if r.hostLo, err = parsePort(lo); err != nil {
		return r, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port specification: %q", hp))
	}
	r.hostHi = r.hostLo
	if isRange {
		if r.hostHi, err = parsePort(hi); err != nil || r.hostHi < r.hostLo {
			return r, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port specification: %q", hp))
		}
	}
	return r, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// publishPorts forwards the container's ports to its address on ep.
func (s *Service) publishPorts(ctx context.Context, id, name string, ep *endpoint, reqs []portReq) error {
	if s.opts.Ports == nil {
		return errdefs.ErrNotImplemented.WithMessage("publishing ports needs RootlessKit's port driver")
	}
	pub := &published{bindings: network.PortMap{}}
	s.mu.Lock()
	s.ports[id] = pub
	s.mu.Unlock()
	for _, r := range reqs {
		hostPort, fid, err := s.forward(ctx, ep, r)
		if err != nil {
			return errdefs.ErrUnknown.WithMessage(fmt.Sprintf("driver failed programming external connectivity on endpoint %s (%s): %s",
				strings.TrimPrefix(name, "/"), ep.rec.EndpointID, err))
		}
		p, _ := network.PortFrom(uint16(r.port), network.IPProtocol(r.proto))
		s.mu.Lock()
		pub.ids = append(pub.ids, fid)
		pub.bindings[p] = append(pub.bindings[p], bindingsFor(r.hostIP, hostPort)...)
		s.mu.Unlock()
	}
	return nil
}

// forward publishes one port, choosing the host port when asked to.
func (s *Service) forward(ctx context.Context, ep *endpoint, r portReq) (hostPort, id int, err error) {
	f := netstack.Forward{Proto: r.proto, ChildIP: ep.rec.Addr.String(), Port: r.port}
	if r.hostIP.IsValid() && !r.hostIP.IsUnspecified() {
		f.HostIP = r.hostIP.String()
	}
	var candidates []int
	switch {
	case r.hostLo == 0:
		for range randomPortTries {
			p, err := freePort(r.proto, f.HostIP)
			if err != nil {
				return 0, 0, err
			}
			candidates = append(candidates, p)
		}
	default:
		for p := r.hostLo; p <= r.hostHi; p++ {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		f.HostPort = p
		id, err = s.opts.Ports.Add(ctx, f)
		if err == nil {
			return p, id, nil
		}
		if !errors.Is(err, netstack.ErrPortAllocated) || len(candidates) == 1 {
			return 0, 0, err
		}
	}
	return 0, 0, err
}

// freePort asks the kernel for a port nobody uses on the host.
func freePort(proto, hostIP string) (int, error) {
	return probePort(proto, net.JoinHostPort(hostIP, "0"))
}

// probePort listens on addr for a moment and returns the port it got: it
// fails when the port is taken.
func probePort(proto, addr string) (int, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// bindingsFor is what dockerd reports for a published port: both
// wildcard addresses when none was given (the driver listens on both).
func bindingsFor(hostIP netip.Addr, port int) []network.PortBinding {
	hp := strconv.Itoa(port)
	if !hostIP.IsValid() || hostIP.IsUnspecified() {
		return []network.PortBinding{
			{HostIP: netip.IPv4Unspecified(), HostPort: hp},
			{HostIP: netip.IPv6Unspecified(), HostPort: hp},
		}
	}
	return []network.PortBinding{{HostIP: hostIP, HostPort: hp}}
}

// unpublishPorts stops the container's forwards.
func (s *Service) unpublishPorts(ctx context.Context, id string) error {
	s.mu.Lock()
	pub := s.ports[id]
	delete(s.ports, id)
	s.mu.Unlock()
	if pub == nil {
		return nil
	}
	if pub.bypass && s.opts.Bypass != nil {
		return s.opts.Bypass.Stop(ctx, id)
	}
	var errs []error
	for _, fid := range pub.ids {
		errs = append(errs, s.opts.Ports.Remove(ctx, fid))
	}
	return errors.Join(errs...)
}

// portMap is the container's published ports. s.mu is held.
func (s *Service) portMap(id string) network.PortMap {
	out := network.PortMap{}
	if pub := s.ports[id]; pub != nil {
		for p, bs := range pub.bindings {
			out[p] = slices.Clone(bs)
		}
	}
	return out
}

// restorePorts takes back the forwards of containers that kept running
// while roostd was away (the port driver lives in the keeper) and drops
// those nobody owns any more.
func (s *Service) restorePorts(ctx context.Context) error {
	if s.opts.Ports == nil {
		return nil
	}
	for cid, eps := range s.eps {
		if len(eps) > 0 && eps[0].rec.Bypass {
			s.ports[cid] = &published{bypass: true, bindings: eps[0].rec.Ports}
		}
	}
	fwds, err := s.opts.Ports.List(ctx)
	if err != nil {
		return err
	}
	ids := make([]int, 0, len(fwds))
	for id := range fwds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, fid := range ids {
		f := fwds[fid]
		owner := ""
		for cid, eps := range s.eps {
			if len(eps) > 0 && eps[0].rec.Addr.String() == f.ChildIP {
				owner = cid
			}
		}
		if owner == "" {
			s.logErr(ctx, "removing an orphaned port forward", s.opts.Ports.Remove(ctx, fid))
			continue
		}
		pub := s.ports[owner]
		if pub == nil {
			pub = &published{bindings: network.PortMap{}}
			s.ports[owner] = pub
		}
		hostIP, _ := netip.ParseAddr(f.HostIP)
		p, _ := network.PortFrom(uint16(f.Port), network.IPProtocol(f.Proto))
		pub.ids = append(pub.ids, fid)
		pub.bindings[p] = append(pub.bindings[p], bindingsFor(hostIP, f.HostPort)...)
	}
	return nil
}
