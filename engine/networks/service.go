// Package networks is the network half of the engine: Docker's networks
// (the predefined bridge, host and none, and user-defined bridges) with
// dockerd's create, inspect, list, remove, prune, connect and disconnect
// semantics, the addresses of containers on them, their published ports
// and the DNS names they answer to. The mechanics (CNI, RootlessKit's port
// driver, the DNS server) are in netstack.
package networks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/netstack"
)

// Drivers of the predefined networks.
const (
	DriverBridge = "bridge"
	DriverHost   = "host"
	DriverNull   = "null"
)

// defaultBridge is the Linux bridge of the predefined "bridge" network.
const defaultBridge = "docker0"

// Publisher receives the network events; engine/events.Bus satisfies it.
type Publisher interface {
	Publish(typ events.Type, action events.Action, actor events.Actor)
}

// Bridges is what the service needs of netstack.Bridges.
type Bridges interface {
	Add(ctx context.Context, n netstack.BridgeNet, ep netstack.Endpoint) error
	Del(ctx context.Context, n netstack.BridgeNet, ep netstack.Endpoint) error
	Remove(n netstack.BridgeNet) error
}

// Ports is what the service needs of netstack.Ports.
type Ports interface {
	Add(ctx context.Context, f netstack.Forward) (int, error)
	Remove(ctx context.Context, id int) error
	List(ctx context.Context) (map[int]netstack.Forward, error)
}

// Containers is what connect and disconnect need of the containers
// service, which satisfies it (set with SetContainers: it is built later).
type Containers interface {
	// NetworkTarget resolves a container reference for connect and
	// disconnect: its ID, name, and the path of its network namespace
	// when it runs ("" otherwise).
	NetworkTarget(ctx context.Context, ref string) (id, name, netNS string, err error)
	// SetEndpointConfig records (cfg != nil) or forgets the container's
	// configuration for a network, used at its next start.
	SetEndpointConfig(ctx context.Context, id, network string, cfg *network.EndpointSettings) error
}

// Options configure a Service.
type Options struct {
	Store   *store.Store
	Events  Publisher
	Bridges Bridges
	Ports   Ports  // nil: publishing ports is refused
	NetNS   string // the namespace the bridges live in
	// Upstream are the host's resolvers ("ip:53") the DNS servers forward
	// to.
	Upstream []string
	// Masquerade installs the outbound rule of a network; nil does
	// nothing (tests).
	Masquerade   func(subnet, bridge string) error
	Unmasquerade func(subnet, bridge string) error
	// Bypass runs bypass4netns; nil: containers cannot ask for it.
	Bypass Bypasser
	// BypassDefault gives bypass4netns to every container that does not
	// refuse it with its label (daemon.json's bypass4netns).
	BypassDefault bool
	// ServeDNS starts a network's DNS server; nil starts none (tests).
	ServeDNS func(addr netip.Addr, lookup netstack.LookupFunc) (interface{ Close() }, error)
}

// Service manages networks and the containers' endpoints on them.
type Service struct {
	opts  Options
	store *store.Networks

	mu          sync.Mutex
	nets        map[string]*store.Network // by ID
	eps         map[string][]*endpoint    // by container ID
	masqueraded map[string]bool           // network IDs whose rule is in place
	dns         map[string]interface{ Close() }
	ports       map[string]*published // by container ID
	containers  Containers
	// cniDels are the CNI DELs still running in the background, by
	// container ID (unplugLater); cniDelsWG counts them for Close.
	cniDels   map[string]chan struct{}
	cniDelsWG sync.WaitGroup
}

// New loads the networks, creating the predefined ones on first use, and
// the endpoints of containers that were running when roostd stopped.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil || opts.Bridges == nil {
		return nil, errors.New("networks: a store and bridges are required")
	}
	s := &Service{
		opts: opts, store: opts.Store.Networks(),
		nets: map[string]*store.Network{}, eps: map[string][]*endpoint{},
		masqueraded: map[string]bool{}, dns: map[string]interface{ Close() }{}, ports: map[string]*published{},
		cniDels: map[string]chan struct{}{},
	}
	nets, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		s.nets[n.ID] = n
	}
	for _, p := range predefined() {
		if s.byName(p.Name) != nil {
			continue
		}
		if err := s.store.Create(ctx, p); err != nil {
			return nil, err
		}
		s.nets[p.ID] = p
	}
	eps, err := s.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	for _, rec := range eps {
		if n := s.nets[rec.NetworkID]; n != nil {
			s.eps[rec.ContainerID] = append(s.eps[rec.ContainerID], &endpoint{rec: *rec, net: n})
		}
	}
	for _, eps := range s.eps {
		slices.SortFunc(eps, func(a, b *endpoint) int { return strings.Compare(a.rec.IfName, b.rec.IfName) })
	}
	if err := s.restorePorts(ctx); err != nil {
		log.G(ctx).WithError(err).Warn("listing the published ports of the port driver")
	}
	s.restoreDNS()
	return s, nil
}

// SetContainers sets the containers service connect and disconnect use.
func (s *Service) SetContainers(c Containers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.containers = c
}

// Close waits for the CNI DELs under way and stops the DNS servers;
// endpoints and published ports stay, for the containers that outlive
// roostd.
func (s *Service) Close() {
	s.cniDelsWG.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range s.dns {
		d.Close()
		delete(s.dns, id)
	}
}

func predefined() []*store.Network {
	now := time.Now().UTC()
	return []*store.Network{
		{ID: newID(), Name: "bridge", Driver: DriverBridge, Created: now, Bridge: defaultBridge,
			Subnet: netip.MustParsePrefix("172.17.0.0/16"), Gateway: netip.MustParseAddr("172.17.0.1"),
			Options: map[string]string{
				"com.docker.network.bridge.default_bridge":       "true",
				"com.docker.network.bridge.enable_icc":           "true",
				"com.docker.network.bridge.enable_ip_masquerade": "true",
				"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
				"com.docker.network.bridge.name":                 defaultBridge,
				"com.docker.network.driver.mtu":                  fmt.Sprint(netstack.BridgeMTU),
			}},
		{ID: newID(), Name: "host", Driver: DriverHost, Created: now},
		{ID: newID(), Name: "none", Driver: DriverNull, Created: now},
	}
}

// isPredefined tells the networks dockerd refuses to remove.
func isPredefined(n *store.Network) bool {
	return n.Name == "bridge" || n.Name == "host" || n.Name == "none"
}

func (s *Service) byName(name string) *store.Network {
	for _, n := range s.nets {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// find resolves a network reference as dockerd does: full ID, exact
// name, then a unique ID prefix. s.mu is held.
func (s *Service) find(ref string) (*store.Network, error) {
	if ref == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("network name cannot be empty")
	}
	if ref == "default" {
		ref = "bridge"
	}
	if n := s.nets[ref]; n != nil {
		return n, nil
	}
	if n := s.byName(ref); n != nil {
		return n, nil
	}
	var found []*store.Network
	for id, n := range s.nets {
		if strings.HasPrefix(id, ref) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", ref))
	}
	return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("network %s is ambiguous (%d matches found on name)", ref, len(found)))
}

func (s *Service) publish(n *store.Network, action events.Action, attrs map[string]string) {
	if s.opts.Events == nil {
		return
	}
	a := map[string]string{"name": n.Name, "type": n.Driver}
	for k, v := range attrs {
		a[k] = v
	}
	s.opts.Events.Publish(events.NetworkEventType, action, events.Actor{ID: n.ID, Attributes: a})
}

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func (s *Service) logErr(ctx context.Context, what string, err error) {
	if err != nil {
		log.G(ctx).WithError(err).Warn(what)
	}
}
