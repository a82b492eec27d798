package networks

import (
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/store"
)

func testService(nets ...*store.Network) *Service {
	s := &Service{nets: map[string]*store.Network{}, eps: map[string][]*endpoint{}}
	for _, n := range nets {
		s.nets[n.ID] = n
	}
	return s
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"172.17.0.0/16": "172.17.255.255",
		"10.77.0.0/24":  "10.77.0.255",
		"10.77.0.64/26": "10.77.0.127",
		"10.0.0.0/30":   "10.0.0.3",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPickSubnetSkipsUsedPools(t *testing.T) {
	s := testService(
		&store.Network{ID: "a", Subnet: netip.MustParsePrefix("172.17.0.0/16")},
		&store.Network{ID: "b", Subnet: netip.MustParsePrefix("172.18.5.0/24")},
	)
	p, err := s.pickSubnet()
	if err != nil || p.String() != "172.19.0.0/16" {
		t.Fatalf("pickSubnet = %v, %v; want 172.19.0.0/16 (172.18/16 overlaps a /24 in use)", p, err)
	}
	if !s.overlaps(netip.MustParsePrefix("10.0.0.0/8")) {
		t.Error("10.0.0.0/8 must overlap slirp4netns' 10.0.2.0/24")
	}
}

func TestAllocate(t *testing.T) {
	n := &store.Network{ID: "n", Name: "app", Subnet: netip.MustParsePrefix("10.77.0.0/29"), Gateway: netip.MustParseAddr("10.77.0.1"), UserSubnet: true}
	s := testService(n)
	var got []string
	for i := range 5 {
		a, err := s.allocate(n, netip.Addr{})
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, a.String())
		s.eps["c"+a.String()] = []*endpoint{{net: n, rec: store.Endpoint{Addr: a}}}
	}
	want := []string{"10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.5", "10.77.0.6"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocations %v, want %v (the gateway, network and broadcast addresses are never given)", got, want)
		}
	}
	if _, err := s.allocate(n, netip.Addr{}); !errdefs.IsUnavailable(err) {
		t.Fatalf("a full network: %v, want unavailable", err)
	}
	delete(s.eps, "c10.77.0.4")
	if a, err := s.allocate(n, netip.MustParseAddr("10.77.0.4")); err != nil || a.String() != "10.77.0.4" {
		t.Fatalf("a freed address asked for: %v, %v", a, err)
	}
	if _, err := s.allocate(n, netip.MustParseAddr("10.77.0.3")); !errdefs.IsConflict(err) {
		t.Fatalf("an address in use: %v, want conflict", err)
	}
	if _, err := s.allocate(n, netip.MustParseAddr("10.78.0.3")); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("an address outside the subnet: %v, want invalid argument", err)
	}
	auto := &store.Network{ID: "m", Subnet: netip.MustParsePrefix("172.20.0.0/16"), Gateway: netip.MustParseAddr("172.20.0.1")}
	if _, err := s.allocate(auto, netip.MustParseAddr("172.20.0.9")); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("--ip on a network without a user subnet: %v, want invalid argument", err)
	}
}

func TestAllocateInIPRange(t *testing.T) {
	n := &store.Network{ID: "n", Subnet: netip.MustParsePrefix("10.77.0.0/24"), IPRange: netip.MustParsePrefix("10.77.0.128/25"), Gateway: netip.MustParseAddr("10.77.0.1")}
	a, err := testService(n).allocate(n, netip.Addr{})
	if err != nil || a.String() != "10.77.0.129" {
		t.Fatalf("first address of the range: %v, %v", a, err)
	}
}

func TestMACFromAddress(t *testing.T) {
	if got := macFor(netip.MustParseAddr("172.17.0.2")).String(); got != "02:42:ac:11:00:02" {
		t.Fatalf("macFor = %s", got)
	}
}
