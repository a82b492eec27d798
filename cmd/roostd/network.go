package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/events"
	"github.com/roostd/roost/engine/networks"
	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/httpapi"
	"github.com/roostd/roost/netstack"
	"github.com/roostd/roost/rootless"
)

// slirpResolver is slirp4netns' DNS forwarder inside the namespace, which
// asks the host's resolvers (loopback ones included) on our behalf.
const slirpResolver = "10.0.2.3:53"

// slirpInterface is slirp4netns' interface in the namespace.
const slirpInterface = "tap0"

// buildNetworks wires the network service to the keeper's namespace: the
// CNI plugins next to roostd, RootlessKit's port driver, iptables and the
// DNS servers inside the detached network namespace.
func buildNetworks(ctx context.Context, cfg *config.Config, st *store.Store, bus *events.Bus, p rootless.Paths) (*networks.Service, *netstack.Bypass, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	pluginDir := filepath.Dir(self)
	if _, err := os.Stat(filepath.Join(pluginDir, netstack.BridgePlugin)); err != nil {
		return nil, nil, fmt.Errorf("the CNI plugins are not next to %s (%v): run make", self, err)
	}
	netNS := p.NetNSPath()
	ports, err := netstack.NewPorts(p.PortDriverSocket())
	if err != nil {
		return nil, nil, err
	}
	if p.PortDriver() == rootless.PortDriverSlirp4netns {
		if err := netstack.ProxyARP(netNS, slirpInterface); err != nil {
			return nil, nil, fmt.Errorf("slirp4netns port driver: %w", err)
		}
	}
	// bypass4netnsd starts with the first container that asks for it.
	var bypass *netstack.Bypass
	var bypasser networks.Bypasser
	if _, err := os.Stat(filepath.Join(pluginDir, netstack.BypassDaemonBinary)); err == nil {
		bypass = netstack.NewBypass(pluginDir, filepath.Join(p.StateDir, "bypass4netns"))
		bypasser = bypass
	}
	upstream := []string{slirpResolver}
	nets, err := networks.New(ctx, networks.Options{
		Store:   st,
		Events:  bus,
		Bridges: netstack.NewBridges(netNS, []string{pluginDir}, filepath.Join(p.StateDir, "cni")),
		Ports:   ports,
		NetNS:   netNS,
		Masquerade: func(subnet, bridge string) error {
			return netstack.Masquerade(netNS, subnet, bridge)
		},
		Unmasquerade: func(subnet, bridge string) error {
			return netstack.Unmasquerade(netNS, subnet, bridge)
		},
		ServeDNS: func(addr netip.Addr, lookup netstack.LookupFunc) (interface{ Close() }, error) {
			return netstack.ServeDNS(netNS, addr, lookup, upstream)
		},
		Bypass:        bypasser,
		BypassDefault: cfg.Bypass4netns,
	})
	return nets, bypass, err
}

var _ httpapi.NetworksBackend = (*networks.Service)(nil)

// networkLabels say in docker info how containers are networked, which
// dockerd's info has no field for.
func networkLabels(outbound, portDriver string, bypassAvailable, bypassDefault bool) []string {
	bypass := "unavailable"
	switch {
	case bypassAvailable && bypassDefault:
		bypass = "default"
	case bypassAvailable:
		bypass = "opt-in (label " + networks.BypassLabel + "=true)"
	}
	return []string{
		"io.roost.network.outbound=" + outbound,
		"io.roost.network.port-driver=" + portDriverLabel(portDriver),
		"io.roost.network.bypass4netns=" + bypass,
	}
}

func portDriverLabel(d string) string {
	if d == rootless.PortDriverBuiltin {
		return d + " (RootlessKit, client source address kept)"
	}
	return d
}
