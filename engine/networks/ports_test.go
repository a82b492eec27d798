package networks

import (
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func TestForwardsFor(t *testing.T) {
	hc := &container.HostConfig{PortBindings: network.PortMap{
		network.MustParsePort("80/tcp"):  {{HostPort: "8080"}, {HostPort: "9000-9010"}},
		network.MustParsePort("53/udp"):  {{HostPort: ""}},
		network.MustParsePort("443/tcp"): nil,
	}, PublishAllPorts: true}
	cfg := &container.Config{ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("7000/tcp"): {}}}
	reqs, err := forwardsFor(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	type r struct {
		proto              string
		lo, hi, containerP int
	}
	want := []r{{"tcp", 0, 0, 443}, {"udp", 0, 0, 53}, {"tcp", 8080, 8080, 80}, {"tcp", 9000, 9010, 80}, {"tcp", 0, 0, 7000}}
	if len(reqs) != len(want) {
		t.Fatalf("got %+v", reqs)
	}
	for i, w := range want {
		g := reqs[i]
		if g.proto != w.proto || g.hostLo != w.lo || g.hostHi != w.hi || g.port != w.containerP {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestForwardsForBadInput(t *testing.T) {
	for _, hp := range []string{"70000", "abc", "9010-9000", "-1"} {
		hc := &container.HostConfig{PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: hp}}}}
		if _, err := forwardsFor(&container.Config{}, hc); !errdefs.IsInvalidArgument(err) {
			t.Errorf("host port %q: %v, want invalid argument", hp, err)
		}
	}
	hc := &container.HostConfig{PortBindings: network.PortMap{network.MustParsePort("80/sctp"): {{HostPort: "80"}}}}
	if _, err := forwardsFor(&container.Config{}, hc); !errdefs.IsNotImplemented(err) {
		t.Errorf("sctp: %v, want not implemented", err)
	}
}
