package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	cases := []struct {
		name, json string
		flags      map[string]bool
		wantErr    string
		check      func(*Config) bool
	}{
		{name: "valid", json: `{"data-root":"/d","live-restore":true}`, check: func(c *Config) bool { return c.DataRoot == "/d" && c.LiveRestore }},
		{name: "unknown key", json: `{"data-rot":"/d"}`, wantErr: "don't match any configuration option: data-rot"},
		{name: "flag and file", json: `{"data-root":"/d"}`, flags: map[string]bool{"data-root": true}, wantErr: "both as a flag and in the configuration file: data-root"},
		{name: "malformed", json: `{"data-root":`, wantErr: "invalid JSON"},
		{name: "wrong type", json: `{"debug":"yes"}`, wantErr: "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "daemon.json")
			if err := os.WriteFile(p, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			c := New()
			err := c.LoadFile(p, tc.flags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("got %v, %+v", err, c)
			}
		})
	}
}

func TestLoadMissingFileKeepsDefaults(t *testing.T) {
	c := New()
	if err := c.LoadFile(filepath.Join(t.TempDir(), "none.json"), nil); err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != DefaultLogLevel {
		t.Fatalf("log level %q", c.LogLevel)
	}
}

func TestValidate(t *testing.T) {
	for _, h := range []string{"tcp://0.0.0.0:2375", "http://x"} {
		c := New()
		c.Hosts = []string{h}
		if c.Validate() == nil {
			t.Errorf("host %s accepted", h)
		}
	}
	c := New()
	c.LogLevel = "loud"
	if c.Validate() == nil {
		t.Error("log level loud accepted")
	}
}
