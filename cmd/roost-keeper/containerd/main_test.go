package main

import (
	"testing"

	"github.com/roostd/roost/cmd/roost-keeper/internal/ctrdplugins"

	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
)

// Every plugin roost and BuildKit's containerd worker call is compiled in
// (the same list nsinit's config must leave enabled).
func TestNeededPluginsLinked(t *testing.T) {
	have := map[string]bool{}
	for _, r := range registry.Graph(func(*plugin.Registration) bool { return false }) {
		have[r.URI()] = true
	}
	for _, id := range ctrdplugins.Needed {
		if !have[id] {
			t.Errorf("%s is not linked in", id)
		}
	}
	if have["io.containerd.transfer.v1.local"] {
		t.Error("the transfer service is linked in")
	}
}
