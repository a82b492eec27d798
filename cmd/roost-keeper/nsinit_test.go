package main

import (
	"context"
	"os"
	"strings"
	"testing"

	srvconfig "github.com/containerd/containerd/v2/cmd/containerd/server/config"

	"github.com/roostd/roost/rootless"
)

func TestContainerdConfigProxyPlugin(t *testing.T) {
	dir := t.TempDir()
	p := rootless.Paths{StateDir: dir + "/state", DataDir: dir + "/data"}
	cfgPath, err := writeContainerdConfig(p, snapshotterPluginFor("overlayfs", p))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "proxy_plugins") {
		t.Errorf("overlayfs config has a proxy plugin:\n%s", b)
	}

	if _, err := writeContainerdConfig(p, snapshotterPluginFor("fuse-overlayfs", p)); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "[proxy_plugins.'fuse-overlayfs']\n  type = \"snapshot\"\n  address = \"" + dir + "/state/fuse-overlayfs/fuse-overlayfs.sock\"\n"
	if !strings.Contains(string(b), want) {
		t.Errorf("fuse-overlayfs config lacks\n%s\nin:\n%s", want, b)
	}
	// containerd's own loader reads the plugin where nsinit starts it.
	var cfg srvconfig.Config
	if err := srvconfig.LoadConfig(context.Background(), cfgPath, &cfg); err != nil {
		t.Fatalf("containerd cannot load the config: %v\n%s", err, b)
	}
	pp, ok := cfg.ProxyPlugins["fuse-overlayfs"]
	if !ok || pp.Type != "snapshot" || pp.Address != dir+"/state/fuse-overlayfs/fuse-overlayfs.sock" {
		t.Errorf("containerd read proxy_plugins %+v", cfg.ProxyPlugins)
	}
	if cfg.Version != 4 || cfg.Root != p.ContainerdRoot() {
		t.Errorf("containerd read version %d, root %q", cfg.Version, cfg.Root)
	}
}
