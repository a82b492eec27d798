package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"

	"github.com/containerd/log"

	"github.com/roostd/roost/engine/supervisor"
	"github.com/roostd/roost/rootless"
)

// containerdPaths are where roost's own containerd keeps its things; nothing
// is shared with a system containerd.
type containerdPaths struct {
	Root, State, Socket, Config string
}

func containerdPathsFor(p rootless.Paths) containerdPaths {
	state := filepath.Join(p.StateDir, "containerd")
	return containerdPaths{
		Root:   filepath.Join(p.DataDir, "containerd"),
		State:  state,
		Socket: filepath.Join(state, "containerd.sock"),
		Config: filepath.Join(state, "config.toml"),
	}
}

// The plugins off are those that need root (opt, CRI's networking), block
// devices, or features roost does not use; each costs start-up time and
// memory.
// Config version 4 (containerd 2.4) moved the listeners into server plugins;
// a top-level [grpc] section is silently ignored there.
var containerdConfig = template.Must(template.New("containerd").Parse(`version = 4
root = "{{.Root}}"
state = "{{.State}}"
disabled_plugins = [
  "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing", "io.containerd.podsandbox.controller.v1.podsandbox",
]

[plugins.'io.containerd.server.v1.grpc']
  address = "{{.Socket}}"
[plugins.'io.containerd.server.v1.ttrpc']
  address = "{{.Socket}}.ttrpc"
[plugins.'io.containerd.server.v1.debug']
  address = ""
[plugins.'io.containerd.server.v1.metrics']
  address = ""
{{with .Plugin}}
[proxy_plugins.'{{.Name}}']
  type = "snapshot"
  address = "{{.Socket}}"
{{end}}`))

// runNSInit is the process RootlessKit's child runs inside the namespace: it
// picks the snapshotter (snapshotter.go), starts the snapshotter's proxy
// plugin when it needs one, then keeps containerd running until it is told
// to stop.
func runNSInit(p rootless.Paths) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := rootless.WritePID(p.PIDFile("nsinit")); err != nil {
		return err
	}
	defer os.Remove(p.PIDFile("nsinit"))

	if err := privateRunDirs(); err != nil {
		return err
	}
	snapshotter, err := chooseSnapshotter(ctx, p.DataDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.StateDir, "snapshotter"), []byte(snapshotter), 0o600); err != nil {
		return err
	}
	plugin := snapshotterPluginFor(snapshotter, p)
	cp := containerdPathsFor(p)
	if err := writeContainerdConfig(cp, plugin); err != nil {
		return err
	}
	env := childEnv()
	if plugin != nil {
		// containerd and the shims run mount.fuse3 by name.
		env = withSbinPath(env)
	}
	stopPlugin, err := startSnapshotterPlugin(ctx, plugin, env, p)
	if err != nil {
		return err
	}
	defer stopPlugin()
	// A socket left by a killed containerd would pass the readiness probe.
	_ = os.Remove(cp.Socket)
	bin, err := sibling("containerd")
	if err != nil {
		return err
	}
	sup := supervisor.New("containerd", []string{bin, "--config", cp.Config, "--log-level", "warn"},
		supervisor.WithEnv(env),
		supervisor.WithPIDFile(p.PIDFile("containerd")),
		supervisor.WithReadyProbe(func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", cp.Socket)
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

func writeContainerdConfig(cp containerdPaths, plugin *snapshotterPlugin) error {
	for _, d := range []string{cp.Root, cp.State} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	var b strings.Builder
	data := struct {
		containerdPaths
		Plugin *snapshotterPlugin
	}{cp, plugin}
	if err := containerdConfig.Execute(&b, data); err != nil {
		return err
	}
	return os.WriteFile(cp.Config, []byte(b.String()), 0o600)
}

// sibling finds a runtime binary next to roostd (bin/), then on PATH.
func sibling(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found next to roostd or on PATH; run make", name)
	}
	return p, nil
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
