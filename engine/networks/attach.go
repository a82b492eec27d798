package networks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/netstack"
)

// endpoint is a running container's interface on a network.
type endpoint struct {
	rec store.Endpoint
	net *store.Network
	cfg *network.EndpointSettings // what the user asked for
}

// target is a network a container is to be attached to.
type target struct {
	net *store.Network
	cfg *network.EndpointSettings
}

var _ containers.Networker = (*Service)(nil)

// CheckCreate validates the networks and published ports of a new
// container.
func (s *Service) CheckCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) error {
	if _, err := forwardsFor(&container.Config{}, hc); err != nil {
		return err
	}
	mode := hc.NetworkMode
	if !mode.IsHost() && !mode.IsNone() && !mode.IsContainer() {
		if err := s.checkBypass(cfg, hc); err != nil {
			return err
		}
	}
	if mode.IsContainer() {
		if err := checkContainerMode(cfg, hc); err != nil {
			return err
		}
	}
	if mode.IsHost() || mode.IsNone() || mode.IsContainer() {
		if nc != nil && len(nc.EndpointsConfig) > 1 {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container cannot be connected to multiple networks with one of the networks in %s mode", mode.NetworkName()))
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := s.targets(hc, nc)
	if errdefs.IsNotFound(err) {
		// As dockerd: a network that is missing now may exist at start,
		// which is where it is looked up. (A 404 here would also make the
		// CLI try to pull the image.)
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.net.Driver != DriverBridge {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container cannot be connected to network %s with other networks", t.net.Name))
		}
		if ip := wantIP(t.cfg); ip.IsValid() {
			if t.net.Name == network.NetworkBridge {
				return errdefs.ErrInvalidArgument.WithMessage("user specified IP address is supported on user defined networks only")
			}
			if !t.net.UserSubnet {
				return errdefs.ErrInvalidArgument.WithMessage("user specified IP address is supported only when connecting to networks with user configured subnets")
			}
			if !t.net.Subnet.Contains(ip) {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("no configured subnet or ip-range contain the IP address %s", ip))
			}
		}
		if t.cfg != nil && len(t.cfg.Aliases) > 0 && t.net.Name == "bridge" {
			return errdefs.ErrInvalidArgument.WithMessage("network-scoped alias is supported only for containers in user defined networks")
		}
	}
	return nil
}

// targets lists the networks of a container in attach order: its network
// mode's first, then the others of its endpoint configuration by name.
// s.mu is held.
func (s *Service) targets(hc *container.HostConfig, nc *network.NetworkingConfig) ([]target, error) {
	var cfgs map[string]*network.EndpointSettings
	if nc != nil {
		cfgs = nc.EndpointsConfig
	}
	primary := string(hc.NetworkMode)
	if primary == "" || primary == network.NetworkDefault {
		primary = network.NetworkBridge
	}
	n, err := s.find(primary)
	if err != nil {
		return nil, err
	}
	out := []target{{net: n}}
	for _, k := range []string{string(hc.NetworkMode), primary, n.Name, n.ID, network.NetworkDefault} {
		if c := cfgs[k]; c != nil && out[0].cfg == nil {
			out[0].cfg = c
		}
	}
	names := make([]string, 0, len(cfgs))
	for k := range cfgs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		o, err := s.find(k)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(t target) bool { return t.net.ID == o.ID }) {
			continue
		}
		out = append(out, target{net: o, cfg: cfgs[k]})
	}
	return out, nil
}

func wantIP(cfg *network.EndpointSettings) netip.Addr {
	if cfg == nil || cfg.IPAMConfig == nil {
		return netip.Addr{}
	}
	return cfg.IPAMConfig.IPv4Address
}

// Attach connects a container whose task was just created to its
// networks and publishes its ports on the first one.
func (s *Service) Attach(ctx context.Context, req containers.NetworkRequest) (*containers.NetworkAttachment, error) {
	start := time.Now()
	fwds, err := forwardsFor(req.Config, req.HostConfig)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ts, err := s.targets(req.HostConfig, req.Networking)
	if err != nil {
		s.mu.Unlock()
		if errdefs.IsNotFound(err) && req.HostConfig.NetworkMode.IsUserDefined() {
			return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("could not find a network matching network mode %s: %s", req.HostConfig.NetworkMode.NetworkName(), err))
		}
		return nil, err
	}
	var eps []*endpoint
	for i, t := range ts {
		ep, err := s.reserve(req, t, fmt.Sprintf("eth%d", i))
		if err != nil {
			s.mu.Unlock()
			s.Detach(ctx, req.ID)
			return nil, err
		}
		eps = append(eps, ep)
	}
	s.mu.Unlock()

	for _, ep := range eps {
		if err := s.plug(ctx, ep); err != nil {
			s.Detach(ctx, req.ID)
			return nil, err
		}
	}
	s.mu.Lock()
	pub := s.ports[req.ID]
	s.mu.Unlock()
	if pub != nil && pub.bypass {
		// bypass4netns binds the published ports itself; keep them with
		// the endpoint for after a restart of roostd.
		eps[0].rec.Bypass, eps[0].rec.Ports = true, pub.bindings
		if err := s.store.PutEndpoint(ctx, &eps[0].rec); err != nil {
			s.Detach(ctx, req.ID)
			return nil, err
		}
	} else if len(fwds) > 0 {
		if err := s.publishPorts(ctx, req.ID, req.Name, eps[0], fwds); err != nil {
			s.Detach(ctx, req.ID)
			return nil, err
		}
	}
	log.G(ctx).WithField("container", req.ID).WithField("took", time.Since(start)).Debug("attached")
	att := &containers.NetworkAttachment{}
	for _, ep := range eps {
		att.Hosts = append(att.Hosts, ep.rec.Addr.String()+"\t"+req.Config.Hostname)
	}
	if eps[0].net.Name != "bridge" {
		att.Nameservers = []string{eps[0].net.Gateway.String()}
	}
	return att, nil
}

// reserve allocates the endpoint's address and records it. s.mu is held.
func (s *Service) reserve(req containers.NetworkRequest, t target, ifName string) (*endpoint, error) {
	addr, err := s.allocate(t.net, wantIP(t.cfg))
	if err != nil {
		return nil, err
	}
	ep := &endpoint{net: t.net, cfg: t.cfg, rec: store.Endpoint{
		ContainerID: req.ID, ContainerName: strings.TrimPrefix(req.Name, "/"), Hostname: req.Config.Hostname,
		EndpointID: newID(), NetworkID: t.net.ID, IfName: ifName, NetNS: req.NetNS, Addr: addr, MAC: macFor(addr).String(),
	}}
	if t.cfg != nil {
		ep.rec.Aliases = slices.Clone(t.cfg.Aliases)
	}
	if t.net.Name != "bridge" {
		ep.rec.DNSNames = append([]string{ep.rec.ContainerName}, ep.rec.Aliases...)
		ep.rec.DNSNames = append(ep.rec.DNSNames, req.ID[:12])
		if h := req.Config.Hostname; h != "" && h != req.ID[:12] && !slices.Contains(ep.rec.DNSNames, h) {
			ep.rec.DNSNames = append(ep.rec.DNSNames, h)
		}
	}
	s.eps[req.ID] = append(s.eps[req.ID], ep)
	return ep, nil
}

// plug creates the endpoint's interface, the network's outbound rule and
// DNS server on first use, records it and says so.
func (s *Service) plug(ctx context.Context, ep *endpoint) error {
	if err := s.ensureNetwork(ep.net); err != nil {
		return err
	}
	s.waitCNIDels(ep.rec.ContainerID)
	if err := s.opts.Bridges.Add(ctx, bridgeNet(ep.net), s.cniEndpoint(ep)); err != nil {
		return fmt.Errorf("connecting to network %s: %w", ep.net.Name, err)
	}
	if err := s.store.PutEndpoint(ctx, &ep.rec); err != nil {
		return err
	}
	s.publish(ep.net, events.ActionConnect, map[string]string{"container": ep.rec.ContainerID})
	return nil
}

// ensureNetwork installs what a bridge needs beyond its first container:
// the masquerade rule and the DNS server.
func (s *Service) ensureNetwork(n *store.Network) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !n.Internal && !s.masqueraded[n.ID] && s.opts.Masquerade != nil {
		if err := s.opts.Masquerade(n.Subnet.String(), n.Bridge); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
		s.masqueraded[n.ID] = true
	}
	if n.Name != "bridge" && s.dns[n.ID] == nil && s.opts.ServeDNS != nil {
		d, err := s.opts.ServeDNS(n.Gateway, s.lookupFunc(n.ID))
		if err != nil {
			return fmt.Errorf("starting the DNS server of network %s: %w", n.Name, err)
		}
		s.dns[n.ID] = d
	}
	return nil
}

// lookupFunc answers the names of the containers on network id.
func (s *Service) lookupFunc(id string) netstack.LookupFunc {
	return func(name string) ([]netip.Addr, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []netip.Addr
		for _, ep := range s.endpointsOn(id) {
			if slices.ContainsFunc(ep.rec.DNSNames, func(n string) bool { return strings.EqualFold(n, name) }) {
				out = append(out, ep.rec.Addr)
			}
		}
		return out, len(out) > 0
	}
}

func (s *Service) cniEndpoint(ep *endpoint) netstack.Endpoint {
	netNS := ep.rec.NetNS
	if netNS != "" {
		if _, err := os.Stat(netNS); err != nil {
			netNS = "" // gone with the task: CNI DEL needs no namespace
		}
	}
	return netstack.Endpoint{ContainerID: ep.rec.ContainerID, NetNS: netNS, IfName: ep.rec.IfName, Addr: ep.rec.Addr, MAC: macFor(ep.rec.Addr)}
}

func bridgeNet(n *store.Network) netstack.BridgeNet {
	return netstack.BridgeNet{Name: n.Name, Bridge: n.Bridge, Subnet: n.Subnet, Gateway: n.Gateway, Internal: n.Internal}
}

// Detach removes a container's ports and endpoints.
func (s *Service) Detach(ctx context.Context, id string) error {
	start := time.Now()
	defer func() { log.G(ctx).WithField("container", id).WithField("took", time.Since(start)).Debug("detached") }()
	var errs []error
	errs = append(errs, s.unpublishPorts(ctx, id))
	s.mu.Lock()
	eps := s.eps[id]
	delete(s.eps, id)
	s.mu.Unlock()
	for _, ep := range eps {
		errs = append(errs, s.unplug(ctx, ep))
	}
	return errors.Join(errs...)
}

// unplug removes the endpoint's interface and record and says so. Where
// the container's network namespace is gone (its task exited), so is the
// interface, taken down with the namespace by the kernel: what CNI's DEL
// has left to do is bookkeeping (the static IPAM's no-op, libcni's result
// cache), so it runs in the background (unplugLater) instead of in every
// exit's path, about 5 ms of two plugin starts that docker run --rm and
// docker stop would wait for. While the namespace lives (a disconnect of a
// running container), the interface goes first, before its address is
// free for another container.
func (s *Service) unplug(ctx context.Context, ep *endpoint) error {
	cniEP := s.cniEndpoint(ep)
	var err error
	if cniEP.NetNS != "" {
		err = s.opts.Bridges.Del(ctx, bridgeNet(ep.net), cniEP)
	}
	if derr := s.store.DeleteEndpoint(ctx, ep.rec.ContainerID, ep.net.ID); derr != nil {
		err = errors.Join(err, derr)
	}
	if cniEP.NetNS == "" {
		s.unplugLater(ctx, ep.net, cniEP)
	}
	s.publish(ep.net, events.ActionDisconnect, map[string]string{"container": ep.rec.ContainerID})
	return err
}

// unplugLater runs CNI's DEL of an endpoint whose namespace is gone in the
// background. The DELs of one container run in order, and a new ADD of
// that container waits for them (waitCNIDels): libcni keys its cache by
// network, container and interface, so a late DEL must not remove the
// entry of the next start's ADD.
func (s *Service) unplugLater(ctx context.Context, n *store.Network, ep netstack.Endpoint) {
	ctx = context.WithoutCancel(ctx)
	done := make(chan struct{})
	s.mu.Lock()
	prev := s.cniDels[ep.ContainerID]
	s.cniDels[ep.ContainerID] = done
	s.mu.Unlock()
	s.cniDelsWG.Add(1)
	go func() {
		defer s.cniDelsWG.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		s.logErr(ctx, "removing the interface of container "+ep.ContainerID+" from network "+n.Name, s.opts.Bridges.Del(ctx, bridgeNet(n), ep))
		s.mu.Lock()
		if s.cniDels[ep.ContainerID] == done {
			delete(s.cniDels, ep.ContainerID)
		}
		s.mu.Unlock()
	}()
}

// waitCNIDels waits for the background DELs of container id.
func (s *Service) waitCNIDels(id string) {
	s.mu.Lock()
	pending := s.cniDels[id]
	s.mu.Unlock()
	if pending != nil {
		<-pending
	}
}

// Settings returns the live network settings of an attached container.
func (s *Service) Settings(id string) *container.NetworkSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := s.eps[id]
	if len(eps) == 0 {
		return nil
	}
	out := &container.NetworkSettings{
		SandboxID: eps[0].rec.EndpointID, SandboxKey: eps[0].rec.NetNS,
		Ports:    s.portMap(id),
		Networks: map[string]*network.EndpointSettings{},
	}
	for _, ep := range eps {
		es := &network.EndpointSettings{}
		if ep.cfg != nil {
			es = ep.cfg.Copy()
		}
		es.NetworkID, es.EndpointID = ep.net.ID, ep.rec.EndpointID
		es.Gateway, es.IPAddress, es.IPPrefixLen = ep.net.Gateway, ep.rec.Addr, ep.net.Subnet.Bits()
		es.MacAddress = network.HardwareAddr(macFor(ep.rec.Addr))
		es.Aliases = slices.Clone(ep.rec.Aliases)
		es.DNSNames = slices.Clone(ep.rec.DNSNames)
		out.Networks[ep.net.Name] = es
	}
	return out
}

func prefixOf(a netip.Addr, subnet netip.Prefix) netip.Prefix {
	return netip.PrefixFrom(a, subnet.Bits())
}

// hostnameConfig carries the hostname of an attached container into a new
// endpoint's DNS names.
func hostnameConfig(eps []*endpoint, id string) *container.Config {
	cfg := &container.Config{Hostname: id[:12]}
	if len(eps) > 0 && eps[0].rec.Hostname != "" {
		cfg.Hostname = eps[0].rec.Hostname
	}
	return cfg
}

// checkContainerMode refuses what cannot go with --network container:, with
// dockerd's words: the container has the other's network stack.
func checkContainerMode(cfg *container.Config, hc *container.HostConfig) error {
	conflict := func(what string) error {
		return errdefs.ErrInvalidArgument.WithMessage("conflicting options: " + what)
	}
	switch {
	case hc.NetworkMode.ConnectedContainer() == "":
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid network mode: %s", hc.NetworkMode))
	case cfg.Hostname != "":
		return conflict("hostname and the network mode")
	case len(hc.DNS) > 0 || len(hc.DNSSearch) > 0 || len(hc.DNSOptions) > 0:
		return conflict("dns and the network mode")
	case len(hc.ExtraHosts) > 0:
		return conflict("custom host-to-IP mapping and the network mode")
	case len(hc.PortBindings) > 0 || hc.PublishAllPorts:
		return conflict("port publishing and the container type network mode")
	case len(cfg.ExposedPorts) > 0:
		return conflict("port exposing and the container type network mode")
	}
	return nil
}
