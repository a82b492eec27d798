package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/roostd/roost/engine/supervisor"
	"github.com/roostd/roost/rootless"
)

// snapshotterPlugin is a proxy snapshotter nsinit runs beside containerd,
// which reaches it on Socket.
type snapshotterPlugin struct {
	Name, Socket, Root string
}

// snapshotterPluginFor returns the plugin a snapshotter needs, or nil for
// those built into containerd.
func snapshotterPluginFor(name string, p rootless.Paths) *snapshotterPlugin {
	if name != rootless.SnapshotterFuse {
		return nil
	}
	return &snapshotterPlugin{
		Name:   rootless.SnapshotterFuse,
		Socket: filepath.Join(p.StateDir, "fuse-overlayfs", "fuse-overlayfs.sock"),
		Root:   filepath.Join(p.DataDir, "fuse-overlayfs"),
	}
}

// startSnapshotterPlugin runs the plugin under a supervisor, as containerd
// is run, and returns once it answers. stop ends it; call it after
// containerd has stopped, as containerd's last calls may still need it.
func startSnapshotterPlugin(ctx context.Context, sp *snapshotterPlugin, env []string, p rootless.Paths) (stop func(), err error) {
	if sp == nil {
		return func() {}, nil
	}
	bin, err := rootless.Sibling(rootless.FuseOverlayfsPluginBin)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Dir(sp.Socket), sp.Root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	_ = os.Remove(sp.Socket)
	sup := supervisor.New(sp.Name, []string{bin, sp.Socket, sp.Root},
		supervisor.WithEnv(env),
		supervisor.WithPIDFile(p.PIDFile(sp.Name)),
		supervisor.WithReadyProbe(func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", sp.Socket)
			if err != nil {
				return err
			}
			return c.Close()
		}))
	// Its own context: the stop signal cancels ctx, and the plugin must
	// outlive containerd's shutdown.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- sup.Run(pctx, ready) }()
	stop = func() {
		cancel()
		<-done
	}
	select {
	case <-ready:
		return stop, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = fmt.Errorf("%s stopped before it was ready", sp.Name)
		}
		return nil, err
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}
