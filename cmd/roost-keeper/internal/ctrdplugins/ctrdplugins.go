// Package ctrdplugins names the containerd plugins roost and BuildKit's
// containerd worker call: the trimmed containerd must link every one of
// them, and nsinit's config must leave every one enabled. Both are tested
// against this one list.
package ctrdplugins

// Needed are the plugins' IDs (type.name).
var Needed = []string{
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
