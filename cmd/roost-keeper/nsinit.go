package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/log"

	"github.com/roostd/roost/engine/supervisor"
	"github.com/roostd/roost/rootless"
)

// containerdConfigData is what containerd's config varies by.
type containerdConfigData struct {
	Root, State, Socket string
	Plugin              *snapshotterPlugin
	// SquashDiff is the socket of roostd's squashing differ in single-ID
	// mode, empty otherwise.
	SquashDiff string
}

// squashDiffPlugin names roostd's differ among containerd's, in single-ID
// mode (one ID mapped). BuildKit unpacks base images through containerd's
// diff service, whose walking differ fails on the first file of an
// unmapped owner; roostd serves a differ that squashes owners to root, and
// the diff service tries it first. It answers Not Implemented to compare
// requests, so the walking differ still makes the layers of RUN steps.
// containerd dials a proxy plugin on first use and redials it, so roostd
// may start later than containerd, or restart.
const squashDiffPlugin = "roost-squash"

// The plugins off are those that need root (opt, CRI's networking), block
// devices, or features neither roost nor BuildKit's containerd worker use;
// each costs start-up time and memory (together about 2.5 MiB of RSS). Among
// them: the transfer service and its streaming (roost pulls and pushes on
// the client side), sandboxes (no pods), the restart monitor (roost applies
// restart policies itself; the monitor would poll every 10 s), the cgroup
// task monitor (the containers have no cgroups of their own; containerd
// falls back to a no-op monitor), erofs, image verifiers (only the transfer
// service asks them) and the gRPC metrics and tracing interceptors (no
// metrics or tracing endpoint is served). Introspection, leases, diff and
// the mount manager stay: BuildKit asks introspection for the runtime and
// the snapshotter, and the task manager needs the mount manager.
// Config version 4 (containerd 2.4) moved the listeners into server plugins;
// a top-level [grpc] section is silently ignored there.
const containerdDisabledPlugins = `disabled_plugins = [
  "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing", "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.transfer.v1.local", "io.containerd.grpc.v1.transfer",
  "io.containerd.streaming.v1.manager", "io.containerd.grpc.v1.streaming",
  "io.containerd.sandbox.store.v1.local", "io.containerd.sandbox.controller.v1.shim",
  "io.containerd.grpc.v1.sandboxes", "io.containerd.grpc.v1.sandbox-controllers",
  "io.containerd.monitor.container.v1.restart", "io.containerd.monitor.task.v1.cgroups",
  "io.containerd.mount-handler.v1.erofs", "io.containerd.differ.v1.erofs",
  "io.containerd.image-verifier.v1.bindir", "io.containerd.metrics.v1.grpc-prometheus",
  "io.containerd.metrics.v1.grpc-otel", "io.containerd.ttrpc.v1.otelttrpc",
  "io.containerd.http.v1.pprof",
]
`

// containerdConfigText is containerd's config for d. It is written with
// fmt rather than text/template: the template package was most of what
// the keeper linked for this one file, and the keeper's two processes run
// for as long as the engine does.
func containerdConfigText(d containerdConfigData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 4\nroot = \"%s\"\nstate = \"%s\"\n", d.Root, d.State)
	b.WriteString(containerdDisabledPlugins)
	fmt.Fprintf(&b, `
[plugins.'io.containerd.server.v1.grpc']
  address = "%s"
[plugins.'io.containerd.server.v1.ttrpc']
  address = "%s.ttrpc"
[plugins.'io.containerd.server.v1.debug']
  address = ""
[plugins.'io.containerd.server.v1.metrics']
  address = ""
`, d.Socket, d.Socket)
	if p := d.Plugin; p != nil {
		fmt.Fprintf(&b, `
[proxy_plugins.'%s']
  type = "snapshot"
  address = "%s"
`, p.Name, p.Socket)
	}
	if d.SquashDiff != "" {
		fmt.Fprintf(&b, `
[proxy_plugins.'%s']
  type = "diff"
  address = "%s"
[plugins.'io.containerd.service.v1.diff-service']
  default = ['%s', 'walking']
`, squashDiffPlugin, d.SquashDiff, squashDiffPlugin)
	}
	return b.String()
}

// runNSInit is what RootlessKit's child runs once the namespace is ready:
// it picks the snapshotter (snapshotter.go), starts the snapshotter's proxy
// plugin when it needs one, then keeps containerd running until it is told
// to stop (a stop signal, or ctx).
func runNSInit(ctx context.Context, p rootless.Paths) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := rootless.WritePID(p.PIDFile("nsinit")); err != nil {
		return err
	}
	defer os.Remove(p.PIDFile("nsinit"))

	if err := privateRunDirs(); err != nil {
		return err
	}
	snapshotter, err := rootless.ChooseSnapshotter(ctx, p.DataDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.SnapshotterFile(), []byte(snapshotter), 0o600); err != nil {
		return err
	}
	plugin := snapshotterPluginFor(snapshotter, p)
	squashDiff := ""
	if rootless.MappedIDs() == 1 {
		squashDiff = p.SquashDiffSocket()
	}
	cfgPath, err := writeContainerdConfig(p, plugin, squashDiff)
	if err != nil {
		return err
	}
	env := childEnv()
	if plugin != nil {
		// containerd and the shims run mount.fuse3 by name.
		env = rootless.WithSbinPath(env)
	}
	stopPlugin, err := startSnapshotterPlugin(ctx, plugin, env, p)
	if err != nil {
		return err
	}
	defer stopPlugin()
	// A socket left by a killed containerd would pass the readiness probe.
	_ = os.Remove(p.ContainerdSocket())
	bin, err := rootless.Sibling("containerd")
	if err != nil {
		return err
	}
	sup := supervisor.New("containerd", []string{bin, "--config", cfgPath, "--log-level", "warn"},
		supervisor.WithEnv(env),
		supervisor.WithPIDFile(p.PIDFile("containerd")),
		supervisor.WithReadyProbe(func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", p.ContainerdSocket())
			if err != nil {
				return err
			}
			return c.Close()
		}))
	ready := make(chan struct{})
	go func() {
		select {
		case <-ready:
			if err := os.WriteFile(p.ReadyFile(), nil, 0o600); err != nil {
				log.G(ctx).WithError(err).Error("cannot mark the namespace ready")
			}
		case <-ctx.Done():
		}
	}()
	err = sup.Run(ctx, ready)
	_ = os.Remove(p.ReadyFile())
	return err
}

// privateRunDirs gives the namespace its own /run/containerd and /run/runc.
// The shims put their sockets and runc its state there whatever the config
// says; RootlessKit's copy-up of /run leaves symlinks to the host's
// directories, which belong to real root wherever a system containerd or
// Docker is installed.
func privateRunDirs() error {
	for _, d := range []string{"/run/containerd", "/run/runc"} {
		if fi, err := os.Lstat(d); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(d); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("making the namespace's %s: %w", d, err)
		}
	}
	return nil
}

// writeContainerdConfig writes containerd's config for p and returns its
// path; squashDiff is roostd's differ socket in single-ID mode, or empty.
func writeContainerdConfig(p rootless.Paths, plugin *snapshotterPlugin, squashDiff string) (string, error) {
	for _, d := range []string{p.ContainerdRoot(), p.ContainerdDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
	}
	data := containerdConfigData{Root: p.ContainerdRoot(), State: p.ContainerdDir(), Socket: p.ContainerdSocket(), Plugin: plugin, SquashDiff: squashDiff}
	path := filepath.Join(p.ContainerdDir(), "config.toml")
	return path, os.WriteFile(path, []byte(containerdConfigText(data)), 0o600)
}

// childEnv puts roostd's directory first on PATH, so containerd finds the
// pinned shim and the shim the pinned runc, not a distribution's older one.
func childEnv() []string {
	env := os.Environ()
	self, err := os.Executable()
	if err != nil {
		return env
	}
	dir := filepath.Dir(self)
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + dir + ":" + strings.TrimPrefix(kv, "PATH=")
			return env
		}
	}
	return append(env, "PATH="+dir+":/usr/sbin:/usr/bin:/sbin:/bin")
}
