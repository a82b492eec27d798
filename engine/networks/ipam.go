package networks

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/store"
)

// slirpSubnet is slirp4netns' network inside the namespace: a bridge on
// it would cut the namespace off from the outside.
var slirpSubnet = netip.MustParsePrefix("10.0.2.0/24")

// defaultPools are dockerd's default address pools: 172.17-31.0.0/16, then
// 192.168.0.0/16 in /20s.
func defaultPools() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// errPoolOverlap is libnetwork's text for a subnet in use.
var errPoolOverlap = errdefs.ErrPermissionDenied.WithMessage("invalid pool request: Pool overlaps with other one on this address space")

// pickSubnet returns the first default pool no network uses. s.mu is held.
func (s *Service) pickSubnet() (netip.Prefix, error) {
	for _, p := range defaultPools() {
		if !s.overlaps(p) {
			return p, nil
		}
	}
	return netip.Prefix{}, errdefs.ErrUnavailable.WithMessage("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

// overlaps tells whether p overlaps a network's subnet or slirp4netns'.
// s.mu is held.
func (s *Service) overlaps(p netip.Prefix) bool {
	if p.Overlaps(slirpSubnet) {
		return true
	}
	for _, n := range s.nets {
		if n.Subnet.IsValid() && n.Subnet.Overlaps(p) {
			return true
		}
	}
	return false
}

// allocate returns a free address of n: want if it is valid and free, the
// lowest free one of the network's range otherwise. s.mu is held.
func (s *Service) allocate(n *store.Network, want netip.Addr) (netip.Addr, error) {
	used := map[netip.Addr]bool{n.Gateway: true}
	for _, ep := range s.endpointsOn(n.ID) {
		used[ep.rec.Addr] = true
	}
	if want.IsValid() {
		if !n.UserSubnet {
			return netip.Addr{}, errdefs.ErrInvalidArgument.WithMessage("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		if !n.Subnet.Contains(want) || want == n.Subnet.Masked().Addr() || want == lastAddr(n.Subnet) {
			return netip.Addr{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("no configured subnet or ip-range contain the IP address %s", want))
		}
		if used[want] {
			return netip.Addr{}, errdefs.ErrConflict.WithMessage("Address already in use")
		}
		return want, nil
	}
	r := n.IPRange
	if !r.IsValid() {
		r = n.Subnet
	}
	last := lastAddr(r)
	for a := r.Masked().Addr().Next(); a.IsValid() && a.Less(last); a = a.Next() {
		if !used[a] && n.Subnet.Contains(a) {
			return a, nil
		}
	}
	return netip.Addr{}, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("no available addresses on network %s", n.Name))
}

// lastAddr is p's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	return netip.AddrFrom4(a)
}

// macFor is the MAC dockerd derived from an IPv4 address (02:42 + the
// address), stable across restarts.
func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}
