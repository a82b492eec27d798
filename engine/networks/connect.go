package networks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/engine/store"
)

// restoreDNS starts the DNS servers of the networks that have containers
// (after a restart of roostd).
func (s *Service) restoreDNS() {
	seen := map[string]bool{}
	for _, eps := range s.eps {
		for _, ep := range eps {
			if seen[ep.net.ID] {
				continue
			}
			seen[ep.net.ID] = true
			if err := s.ensureNetwork(ep.net); err != nil {
				log.L.WithError(err).Warn("restoring a network")
			}
		}
	}
}

// Connect attaches a container to a network: at once when it runs, at
// its next start otherwise.
func (s *Service) Connect(ctx context.Context, netRef, ctrRef string, cfg *network.EndpointSettings) error {
	n, cs, id, name, netNS, err := s.connectTarget(ctx, netRef, ctrRef)
	if err != nil {
		return err
	}
	if ip := wantIP(cfg); ip.IsValid() && !n.UserSubnet {
		return errdefs.ErrInvalidArgument.WithMessage("user specified IP address is supported only when connecting to networks with user configured subnets")
	}
	s.mu.Lock()
	eps := s.eps[id]
	if slices.ContainsFunc(eps, func(ep *endpoint) bool { return ep.net.ID == n.ID }) {
		s.mu.Unlock()
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("endpoint with name %s already exists in network %s", strings.TrimPrefix(name, "/"), n.Name))
	}
	if netNS == "" {
		s.mu.Unlock()
		return cs.SetEndpointConfig(ctx, id, n.Name, orEmptyEndpoint(cfg))
	}
	ep, err := s.reserve(containers.NetworkRequest{ID: id, Name: name, NetNS: netNS, Config: hostnameConfig(eps, id)},
		target{net: n, cfg: cfg}, nextIfName(eps))
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.plug(ctx, ep); err != nil {
		s.mu.Lock()
		s.eps[id] = slices.DeleteFunc(s.eps[id], func(e *endpoint) bool { return e == ep })
		s.mu.Unlock()
		return err
	}
	return cs.SetEndpointConfig(ctx, id, n.Name, orEmptyEndpoint(cfg))
}

// Disconnect detaches a container from a network.
func (s *Service) Disconnect(ctx context.Context, netRef, ctrRef string, force bool) error {
	n, cs, id, name, netNS, err := s.connectTarget(ctx, netRef, ctrRef)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var ep *endpoint
	for _, e := range s.eps[id] {
		if e.net.ID == n.ID {
			ep = e
		}
	}
	if ep != nil {
		s.eps[id] = slices.DeleteFunc(s.eps[id], func(e *endpoint) bool { return e == ep })
		if len(s.eps[id]) == 0 {
			delete(s.eps, id)
		}
	}
	s.mu.Unlock()
	if ep == nil && netNS != "" && !force {
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("container %s is not connected to network %s", strings.TrimPrefix(name, "/"), n.Name))
	}
	if ep != nil {
		if err := s.unplug(ctx, ep); err != nil {
			log.G(ctx).WithError(err).Warn("disconnecting a container")
		}
	}
	return cs.SetEndpointConfig(ctx, id, n.Name, nil)
}

// connectTarget resolves the network and the container of a connect or
// disconnect: only bridge networks take part, and the container's netNS
// is "" unless it runs.
func (s *Service) connectTarget(ctx context.Context, netRef, ctrRef string) (n *store.Network, cs Containers, id, name, netNS string, err error) {
	s.mu.Lock()
	n, err = s.find(netRef)
	cs = s.containers
	s.mu.Unlock()
	switch {
	case err != nil:
		return nil, nil, "", "", "", err
	case cs == nil:
		return nil, nil, "", "", "", errdefs.ErrNotImplemented.WithMessage("connecting containers to networks is not available")
	case n.Driver != DriverBridge:
		return nil, nil, "", "", "", errdefs.ErrPermissionDenied.WithMessage("container cannot be disconnected from host network or connected to host network")
	}
	id, name, netNS, err = cs.NetworkTarget(ctx, ctrRef)
	return n, cs, id, name, netNS, err
}

func orEmptyEndpoint(cfg *network.EndpointSettings) *network.EndpointSettings {
	if cfg == nil {
		return &network.EndpointSettings{}
	}
	return cfg
}

// nextIfName is the first free ethN of a container.
func nextIfName(eps []*endpoint) string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if !slices.ContainsFunc(eps, func(ep *endpoint) bool { return ep.rec.IfName == name }) {
			return name
		}
	}
}
