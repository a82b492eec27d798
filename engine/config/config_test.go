package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{name: "storage driver", json: `{"storage-driver":"fuse-overlayfs"}`, check: func(c *Config) bool { return c.StorageDriver == "fuse-overlayfs" }},
		{name: "init keys", json: `{"init":true,"init-path":"/usr/bin/tini-static","seccomp-profile":"unconfined","no-new-privileges":true}`, check: func(c *Config) bool {
			return c.Init && c.InitPath == "/usr/bin/tini-static" && c.SeccompProfile == "unconfined" && c.NoNewPrivileges
		}},
		{name: "container defaults", json: `{"log-driver":"local","log-opts":{"max-size":"5m"},"default-shm-size":"16M","default-ipc-mode":"shareable"}`, check: func(c *Config) bool {
			return c.LogDriver == "local" && c.LogOpts["max-size"] == "5m" && c.DefaultShmSize == "16M" && c.DefaultIpcMode == "shareable"
		}},
		{name: "storage driver flag and file", json: `{"storage-driver":"native"}`, flags: map[string]bool{"storage-driver": true}, wantErr: "both as a flag and in the configuration file: storage-driver"},
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
	c = New()
	c.SeccompProfile = filepath.Join(t.TempDir(), "none.json")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "opening seccomp profile") {
		t.Errorf("missing seccomp profile: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.SeccompProfile = bad
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad seccomp profile: %v", err)
	}
	for _, c := range []*Config{{DefaultIpcMode: "host"}, {DefaultShmSize: "lots"}, {DefaultShmSize: "0"}} {
		c.LogLevel = DefaultLogLevel
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	c = New()
	c.InitPath = "tini"
	if c.Validate() == nil {
		t.Error("relative init-path accepted")
	}
}

func TestValidateStorageDriver(t *testing.T) {
	for _, d := range append([]string{""}, StorageDrivers...) {
		c := New()
		c.StorageDriver = d
		if err := c.Validate(); err != nil {
			t.Errorf("storage-driver %q: %v", d, err)
		}
	}
	// dockerd's names for drivers roost does not have are refused, with the
	// valid values in the message.
	for _, d := range []string{"overlay2", "vfs", "btrfs", "Overlayfs"} {
		c := New()
		c.StorageDriver = d
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "overlayfs, fuse-overlayfs, native") {
			t.Errorf("storage-driver %q: got %v, want an error naming the valid values", d, err)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		bad  bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"10m", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"10", 0, true}, // no unit: seconds or minutes? refused rather than guessed
		{"-1m", 0, true},
		{"soon", 0, true},
	} {
		c := New()
		c.IdleTimeout = tc.v
		err := c.Validate()
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "invalid idle-timeout") {
				t.Errorf("idle-timeout %q: got %v, want invalid idle-timeout", tc.v, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("idle-timeout %q: %v", tc.v, err)
		}
		if d, _ := c.IdleDuration(); d != tc.want {
			t.Errorf("idle-timeout %q: %v, want %v", tc.v, d, tc.want)
		}
	}
}

func TestBuilderHistory(t *testing.T) {
	for _, tc := range []struct {
		json, err string
	}{
		{`{"builder": {"history": {"maxEntries": 10, "maxAge": "48h"}}}`, ""},
		{`{"builder": {"history": {"maxEntries": -1}}}`, "invalid builder.history.maxEntries -1"},
		{`{"builder": {"history": {"maxAge": "two days"}}}`, `invalid builder.history.maxAge "two days"`},
	} {
		path := filepath.Join(t.TempDir(), "daemon.json")
		if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		c := New()
		err := c.LoadFile(path, nil)
		if err == nil {
			err = c.Validate()
		}
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.err)
		}
		if tc.err == "" && (c.BuildHistory() == nil || c.BuildHistory().MaxEntries != 10) {
			t.Errorf("%s: history %+v", tc.json, c.BuildHistory())
		}
	}
}
