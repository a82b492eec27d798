package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/roostd/roost/cmd/roost-keeper/internal/ctrdplugins"

	srvconfig "github.com/containerd/containerd/v2/cmd/containerd/server/config"

	"github.com/roostd/roost/rootless"
)

func TestContainerdConfigProxyPlugin(t *testing.T) {
	dir := t.TempDir()
	p := rootless.Paths{StateDir: dir + "/state", DataDir: dir + "/data"}
	cfgPath, err := writeContainerdConfig(p, snapshotterPluginFor("overlayfs", p), "")
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

	if _, err := writeContainerdConfig(p, snapshotterPluginFor("fuse-overlayfs", p), ""); err != nil {
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

// The plugins roost and BuildKit's containerd worker call must stay on
// whatever else the config turns off.
func TestContainerdConfigKeepsNeededPlugins(t *testing.T) {
	dir := t.TempDir()
	p := rootless.Paths{StateDir: dir + "/state", DataDir: dir + "/data"}
	cfgPath, err := writeContainerdConfig(p, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var cfg srvconfig.Config
	if err := srvconfig.LoadConfig(context.Background(), cfgPath, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, id := range ctrdplugins.Needed {
		if slices.Contains(cfg.DisabledPlugins, id) {
			t.Errorf("the config disables %s, which roost or BuildKit uses", id)
		}
	}
	if !slices.Contains(cfg.DisabledPlugins, "io.containerd.transfer.v1.local") {
		t.Errorf("the transfer service is not disabled: %v", cfg.DisabledPlugins)
	}
}

// In single-ID mode containerd's diff service tries roostd's squashing
// differ first and the walking differ after it.
func TestContainerdConfigSquashDiff(t *testing.T) {
	dir := t.TempDir()
	p := rootless.Paths{StateDir: dir + "/state", DataDir: dir + "/data"}
	cfgPath, err := writeContainerdConfig(p, nil, p.SquashDiffSocket())
	if err != nil {
		t.Fatal(err)
	}
	var cfg srvconfig.Config
	if err := srvconfig.LoadConfig(context.Background(), cfgPath, &cfg); err != nil {
		t.Fatal(err)
	}
	pp, ok := cfg.ProxyPlugins[squashDiffPlugin]
	if !ok || pp.Type != "diff" || pp.Address != dir+"/state/squash-diff.sock" {
		t.Errorf("containerd read proxy_plugins %+v", cfg.ProxyPlugins)
	}
	// The diff service's own config type reads "default" (containerd's
	// plugins/services/diff); decode the section the same way.
	var order struct {
		Order []string `toml:"default"`
	}
	if _, err := cfg.Decode(context.Background(), "io.containerd.service.v1.diff-service", &order); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order.Order, []string{squashDiffPlugin, "walking"}) {
		t.Errorf("diff service order %v", order.Order)
	}

	if _, err := writeContainerdConfig(p, nil, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "diff-service") || strings.Contains(string(b), squashDiffPlugin) {
		t.Errorf("the config with subordinate IDs changes the differs:\n%s", b)
	}
}
