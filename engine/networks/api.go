package networks

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/internal/filtermatch"
	"github.com/roostd/roost/engine/store"
)

// validName is dockerd's rule for names of networks (and containers).
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

const bridgeNameOption = "com.docker.network.bridge.name"

// Create makes a bridge network as dockerd does; only the bridge driver
// exists here.
func (s *Service) Create(ctx context.Context, req network.CreateRequest) (*network.CreateResponse, error) {
	if req.Name == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("network name cannot be empty")
	}
	if !validName.MatchString(req.Name) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid network name %q: must match %s", req.Name, validName))
	}
	switch req.Driver {
	case "", DriverBridge:
	case DriverHost, DriverNull:
		return nil, errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("only one instance of %q network is allowed", req.Driver))
	case "macvlan", "ipvlan", "overlay":
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("the %s network driver is not supported by roost (only bridge networks are)", req.Driver))
	default:
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("plugin %q not found", req.Driver))
	}
	if req.Scope != "" && req.Scope != "local" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("scope %q is not supported: roost has local networks only", req.Scope))
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return nil, errdefs.ErrNotImplemented.WithMessage("IPv6 networks are not supported by roost yet")
	}
	if req.EnableIPv4 != nil && !*req.EnableIPv4 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("IPv4 cannot be disabled on a bridge network")
	}
	if req.ConfigOnly || req.ConfigFrom != nil || req.Ingress {
		return nil, errdefs.ErrNotImplemented.WithMessage("config-only, config-from and ingress networks are not supported by roost")
	}
	n := &store.Network{
		ID: newID(), Name: req.Name, Driver: DriverBridge, Created: time.Now().UTC(),
		Internal: req.Internal, Attachable: req.Attachable,
		Labels: maps.Clone(req.Labels), Options: maps.Clone(req.Options),
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if n.Options == nil {
		n.Options = map[string]string{}
	}
	n.Bridge = "br-" + n.ID[:12]
	if b := n.Options[bridgeNameOption]; b != "" {
		if len(b) > 15 || strings.ContainsAny(b, "/ \t") {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid bridge name %q", b))
		}
		n.Bridge = b
	}
	if err := ipamConfig(req.IPAM, n); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName(req.Name) != nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("network with name %s already exists", req.Name))
	}
	for _, o := range s.nets {
		if o.Bridge != "" && o.Bridge == n.Bridge {
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("bridge name %s is already used by network %s", n.Bridge, o.Name))
		}
	}
	if n.Subnet.IsValid() {
		if s.overlaps(n.Subnet) {
			return nil, errPoolOverlap
		}
	} else {
		p, err := s.pickSubnet()
		if err != nil {
			return nil, err
		}
		n.Subnet, n.Gateway = p, p.Addr().Next()
	}
	if err := s.store.Create(ctx, n); err != nil {
		return nil, err
	}
	s.nets[n.ID] = n
	s.publish(n, events.ActionCreate, nil)
	return &network.CreateResponse{ID: n.ID}, nil
}

// ipamConfig takes the user's subnet, range and gateway into n.
func ipamConfig(ipam *network.IPAM, n *store.Network) error {
	if ipam == nil {
		return nil
	}
	if ipam.Driver != "" && ipam.Driver != "default" {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("plugin %q not found", ipam.Driver))
	}
	var v4 []network.IPAMConfig
	for _, c := range ipam.Config {
		if c.Subnet.IsValid() && c.Subnet.Addr().Is6() {
			return errdefs.ErrNotImplemented.WithMessage("IPv6 networks are not supported by roost yet")
		}
		v4 = append(v4, c)
	}
	if len(v4) > 1 {
		return errdefs.ErrNotImplemented.WithMessage("roost networks have one IPv4 subnet")
	}
	if len(v4) == 0 {
		return nil
	}
	c := v4[0]
	if !c.Subnet.IsValid() {
		if c.IPRange.IsValid() || c.Gateway.IsValid() {
			return errdefs.ErrInvalidArgument.WithMessage("ip-range and gateway need a subnet")
		}
		return nil
	}
	if c.Subnet.Bits() > 30 {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("subnet %s is too small for a network", c.Subnet))
	}
	n.Subnet, n.UserSubnet = c.Subnet.Masked(), true
	if c.Subnet != c.Subnet.Masked() {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid subnet %s : it should be %s", c.Subnet, c.Subnet.Masked()))
	}
	if c.IPRange.IsValid() {
		if !n.Subnet.Contains(c.IPRange.Addr()) || c.IPRange.Bits() < n.Subnet.Bits() {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid ip-range %s: it must be within the subnet %s", c.IPRange, n.Subnet))
		}
		n.IPRange = c.IPRange.Masked()
	}
	n.Gateway = n.Subnet.Addr().Next()
	if c.Gateway.IsValid() {
		if !n.Subnet.Contains(c.Gateway) || c.Gateway == n.Subnet.Addr() || c.Gateway == lastAddr(n.Subnet) {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid gateway %s: it must be an address of the subnet %s", c.Gateway, n.Subnet))
		}
		n.Gateway = c.Gateway
	}
	if len(c.AuxAddress) > 0 {
		return errdefs.ErrNotImplemented.WithMessage("auxiliary addresses are not supported by roost")
	}
	return nil
}

// Inspect returns the network ref with its containers.
func (s *Service) Inspect(ctx context.Context, ref string) (*network.Inspect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.find(ref)
	if err != nil {
		return nil, err
	}
	out := &network.Inspect{Network: s.apiNetwork(n), Containers: map[string]network.EndpointResource{}}
	for _, ep := range s.endpointsOn(n.ID) {
		out.Containers[ep.rec.ContainerID] = network.EndpointResource{
			Name: ep.rec.ContainerName, EndpointID: ep.rec.EndpointID,
			MacAddress:  network.HardwareAddr(macFor(ep.rec.Addr)),
			IPv4Address: prefixOf(ep.rec.Addr, n.Subnet),
		}
	}
	return out, nil
}

func (s *Service) apiNetwork(n *store.Network) network.Network {
	out := network.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv4: n.Driver == DriverBridge, Internal: n.Internal, Attachable: n.Attachable,
		IPAM:    network.IPAM{Driver: "default", Config: []network.IPAMConfig{}},
		Options: maps.Clone(n.Options), Labels: maps.Clone(n.Labels),
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n.Subnet.IsValid() {
		out.IPAM.Config = append(out.IPAM.Config, network.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.Gateway})
	}
	return out
}

// List returns the networks matching filters: driver, id, label, name,
// scope, type (custom or builtin) and dangling, as dockerd has them.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]network.Summary, error) {
	match, err := s.matcher(filters)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []network.Summary{}
	for _, n := range s.sorted() {
		if match(n) {
			out = append(out, network.Summary{Network: s.apiNetwork(n)})
		}
	}
	return out, nil
}

func (s *Service) sorted() []*store.Network {
	nets := slices.Collect(maps.Values(s.nets))
	slices.SortFunc(nets, func(a, b *store.Network) int { return strings.Compare(a.Name, b.Name) })
	return nets
}

// matcher compiles the list filters. The returned func runs with s.mu held.
func (s *Service) matcher(filters map[string][]string) (func(*store.Network) bool, error) {
	for k, vs := range filters {
		switch k {
		case "driver", "id", "label", "name", "scope":
		case "type":
			for _, v := range vs {
				if v != "custom" && v != "builtin" {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter: 'type'='%s'", v))
				}
			}
		case "dangling":
			for _, v := range vs {
				if _, ok := filtermatch.ParseBool(v); !ok {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'dangling=%s'", v))
				}
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	return func(n *store.Network) bool {
		typ := "custom"
		if isPredefined(n) {
			typ = "builtin"
		}
		return filtermatch.Any(filters["driver"], func(v string) bool { return v == n.Driver }) &&
			filtermatch.Any(filters["id"], func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
			filtermatch.Any(filters["name"], func(v string) bool { return strings.Contains(n.Name, v) }) &&
			filtermatch.Any(filters["scope"], func(v string) bool { return v == "local" }) &&
			filtermatch.Any(filters["type"], func(v string) bool { return v == typ }) &&
			filtermatch.Any(filters["dangling"], func(v string) bool {
				b, _ := filtermatch.ParseBool(v)
				return b == (!isPredefined(n) && !s.inUse(n))
			}) &&
			filtermatch.Labels(filters["label"], n.Labels)
	}, nil
}

// inUse tells whether a container is on n. s.mu is held.
func (s *Service) inUse(n *store.Network) bool {
	return len(s.endpointsOn(n.ID)) > 0
}

// endpointsOn lists the endpoints on the network with id. s.mu is held.
func (s *Service) endpointsOn(id string) []*endpoint {
	var out []*endpoint
	for _, eps := range s.eps {
		for _, ep := range eps {
			if ep.net.ID == id {
				out = append(out, ep)
			}
		}
	}
	return out
}

// Remove deletes a user-defined network no running container is on.
func (s *Service) Remove(ctx context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.find(ref)
	if err != nil {
		return err
	}
	return s.removeLocked(ctx, n)
}

func (s *Service) removeLocked(ctx context.Context, n *store.Network) error {
	if isPredefined(n) {
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("%s is a pre-defined network and cannot be removed", n.Name))
	}
	var users []string
	for _, ep := range s.endpointsOn(n.ID) {
		users = append(users, fmt.Sprintf("name:%q id:%q", ep.rec.ContainerName, ep.rec.ContainerID[:12]))
	}
	if len(users) > 0 {
		slices.Sort(users)
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("error while removing network: network %s has active endpoints (%s)", n.Name, strings.Join(users, ", ")))
	}
	if d := s.dns[n.ID]; d != nil {
		d.Close()
		delete(s.dns, n.ID)
	}
	if s.masqueraded[n.ID] && s.opts.Unmasquerade != nil {
		s.logErr(ctx, "removing the masquerade rule of network "+n.Name, s.opts.Unmasquerade(n.Subnet.String(), n.Bridge))
	}
	delete(s.masqueraded, n.ID)
	s.logErr(ctx, "removing the bridge of network "+n.Name, s.opts.Bridges.Remove(bridgeNet(n)))
	if err := s.store.Delete(ctx, n.ID); err != nil {
		return err
	}
	delete(s.nets, n.ID)
	s.publish(n, events.ActionDestroy, nil)
	return nil
}

// Prune removes the user-defined networks no container is on, narrowed
// by the until and label filters.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (*network.PruneReport, error) {
	var until time.Time
	for k, vs := range filters {
		switch k {
		case "label", "label!":
		case "until":
			for _, v := range vs {
				t, err := filtermatch.ParseUntil(v)
				if err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
				}
				until = t
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	report := &network.PruneReport{NetworksDeleted: []string{}}
	for _, n := range s.sorted() {
		if isPredefined(n) || s.inUse(n) || !filtermatch.Labels(filters["label"], n.Labels) ||
			(len(filters["label!"]) > 0 && filtermatch.LabelsAny(filters["label!"], n.Labels)) ||
			(!until.IsZero() && !n.Created.Before(until)) {
			continue
		}
		if err := s.removeLocked(ctx, n); err != nil {
			s.logErr(ctx, "pruning network "+n.Name, err)
			continue
		}
		report.NetworksDeleted = append(report.NetworksDeleted, n.Name)
	}
	if s.opts.Events != nil {
		s.opts.Events.Publish(events.NetworkEventType, events.ActionPrune, events.Actor{Attributes: map[string]string{"reclaimed": "0"}})
	}
	return report, nil
}
