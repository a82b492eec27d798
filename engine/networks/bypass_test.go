package networks

import (
	"context"
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/netstack"
)

type nopBypass struct{}

func (nopBypass) ListenerPath(id string) string { return "/run/b/" + id[:15] + ".sock" }
func (nopBypass) Start(context.Context, string, []netstack.BypassPort, []string) error {
	return nil
}
func (nopBypass) Stop(context.Context, string) error { return nil }

func TestCheckBypass(t *testing.T) {
	s := testService()
	label := func(v string) *container.Config {
		return &container.Config{Labels: map[string]string{BypassLabel: v}}
	}
	hc := &container.HostConfig{}
	if err := s.checkBypass(label("true"), hc); !errdefs.IsNotImplemented(err) {
		t.Fatalf("asked for without the binaries: %v, want not implemented", err)
	}
	s.opts.Bypass = nopBypass{}
	if err := s.checkBypass(label("yes please"), hc); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("a bad label: %v, want invalid argument", err)
	}
	cfg := &container.Config{}
	if err := s.checkBypass(cfg, hc); err != nil || bypassed(cfg) {
		t.Fatalf("default off: %v, label %v", err, cfg.Labels)
	}
	s.opts.BypassDefault = true
	if err := s.checkBypass(cfg, hc); err != nil || !bypassed(cfg) {
		t.Fatalf("default on must be recorded in the label: %v, %v", err, cfg.Labels)
	}
	off := label("false")
	if err := s.checkBypass(off, hc); err != nil || bypassed(off) {
		t.Fatalf("refused by the label: %v, %v", err, off.Labels)
	}
	withIP := &container.HostConfig{PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}}}}
	if err := s.checkBypass(label("true"), withIP); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("a host IP: %v, want invalid argument", err)
	}
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got := s.SeccompListener(id, label("true")); got != "/run/b/0123456789abcde.sock" {
		t.Fatalf("SeccompListener = %q", got)
	}
	if got := s.SeccompListener(id, off); got != "" {
		t.Fatalf("SeccompListener of a refusing container = %q", got)
	}
}
