package buildsvc

import (
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

func TestConfigTOML(t *testing.T) {
	// The keys of BuildKit's cmd/buildkitd/config (its loader pulls in
	// modules roost does not otherwise need), with the same TOML library.
	type buildkitdConfig struct {
		History struct {
			MaxEntries *int64 `toml:"maxEntries"`
		} `toml:"history"`
		Worker struct {
			Containerd struct {
				Runtime struct {
					Name    string         `toml:"name"`
					Options map[string]any `toml:"options"`
				} `toml:"runtime"`
			} `toml:"containerd"`
		} `toml:"worker"`
	}
	for _, bin := range []string{"", `/opt/ro"ost\bin/roost-runc`} {
		b := Config{RuntimeBinary: bin}.configTOML()
		var cfg buildkitdConfig
		if err := toml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%v:\n%s", err, b)
		}
		if h := cfg.History.MaxEntries; h == nil || *h != 0 {
			t.Errorf("build history is not off in:\n%s", b)
		}
		rt := cfg.Worker.Containerd.Runtime
		if bin == "" {
			if rt.Name != "" || rt.Options != nil {
				t.Errorf("a runtime without a runtime binary:\n%s", b)
			}
			continue
		}
		if rt.Name != "io.containerd.runc.v2" || rt.Options["BinaryName"] != bin {
			t.Errorf("buildkitd reads runtime %+v from:\n%s", rt, b)
		}
	}
}

func TestConfigTOMLHistory(t *testing.T) {
	b := Config{History: 5, HistoryMaxAge: 90 * time.Minute}.configTOML()
	var cfg struct {
		History struct {
			MaxEntries *int64 `toml:"maxEntries"`
			MaxAge     string `toml:"maxAge"`
		} `toml:"history"`
	}
	if err := toml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	if h := cfg.History; h.MaxEntries == nil || *h.MaxEntries != 5 || h.MaxAge != "1h30m0s" {
		t.Errorf("history from:\n%s", b)
	}
}
