package buildsvc

import (
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestConfigTOML(t *testing.T) {
	if b := (Config{}).configTOML(); len(b) != 0 {
		t.Errorf("config without a runtime binary: %q, want empty", b)
	}
	bin := `/opt/ro"ost\bin/roost-runc`
	b := Config{RuntimeBinary: bin}.configTOML()
	// The keys of BuildKit's cmd/buildkitd/config (its loader pulls in
	// modules roost does not otherwise need), with the same TOML library.
	var cfg struct {
		Worker struct {
			Containerd struct {
				Runtime struct {
					Name    string         `toml:"name"`
					Options map[string]any `toml:"options"`
				} `toml:"runtime"`
			} `toml:"containerd"`
		} `toml:"worker"`
	}
	if err := toml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	rt := cfg.Worker.Containerd.Runtime
	if rt.Name != "io.containerd.runc.v2" || rt.Options["BinaryName"] != bin {
		t.Errorf("buildkitd reads runtime %+v from:\n%s", rt, b)
	}
}
