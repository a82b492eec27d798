package main

import (
	"testing"

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
	needed := []string{
		"io.containerd.content.v1.content", "io.containerd.metadata.v1.bolt", "io.containerd.gc.v1.scheduler",
		"io.containerd.snapshotter.v1.overlayfs", "io.containerd.snapshotter.v1.native",
		"io.containerd.differ.v1.walking", "io.containerd.lease.v1.manager", "io.containerd.event.v1.exchange",
		"io.containerd.shim.v1.manager", "io.containerd.runtime.v2.task", "io.containerd.mount-manager.v1.bolt",
		"io.containerd.warning.v1.deprecations",
		"io.containerd.grpc.v1.containers", "io.containerd.grpc.v1.content", "io.containerd.grpc.v1.diff",
		"io.containerd.grpc.v1.events", "io.containerd.grpc.v1.images", "io.containerd.grpc.v1.introspection",
		"io.containerd.grpc.v1.leases", "io.containerd.grpc.v1.namespaces", "io.containerd.grpc.v1.snapshots",
		"io.containerd.grpc.v1.tasks", "io.containerd.grpc.v1.version", "io.containerd.grpc.v1.healthcheck",
		"io.containerd.server.v1.grpc", "io.containerd.server.v1.ttrpc",
	}
	for _, id := range needed {
		if !have[id] {
			t.Errorf("%s is not linked in", id)
		}
	}
	if have["io.containerd.transfer.v1.local"] {
		t.Error("the transfer service is linked in")
	}
}
