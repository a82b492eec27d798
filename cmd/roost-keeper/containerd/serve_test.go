package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/defaults"
)

// nsinit's command line, the other spellings upstream accepts, and what
// must not be silently ignored.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    flags
		wantErr string
	}{
		{args: []string{"--config", "/c.toml", "--log-level", "warn"}, want: flags{config: "/c.toml", logLevel: "warn"}},
		{args: []string{"--config=/c.toml", "-l=debug"}, want: flags{config: "/c.toml", logLevel: "debug"}},
		{args: []string{"-c", "/c.toml"}, want: flags{config: "/c.toml"}},
		{args: []string{"--version"}, want: flags{version: true}},
		{args: []string{"-v"}, want: flags{version: true}},
		{args: nil, wantErr: "--config is required"},
		{args: []string{"--log-level", "warn"}, wantErr: "--config is required"},
		{args: []string{"--config"}, wantErr: "--config needs a value"},
		{args: []string{"--config", "/c.toml", "--address", "/a.sock"}, wantErr: `unsupported argument "--address"`},
		{args: []string{"--config", "/c.toml", "config", "dump"}, wantErr: `unsupported argument "config"`},
		{args: []string{"--version=1"}, wantErr: "--version takes no value"},
	} {
		got, err := parseFlags(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

// A config that sets only the listeners' addresses, as nsinit's does,
// keeps upstream's 16 MiB gRPC message limits (large image configs and
// indexes go through the content service in one message).
func TestLoadConfigKeepsGRPCDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	cfgText := "version = 4\nroot = \"/r\"\nstate = \"/s\"\n[plugins.'io.containerd.server.v1.grpc']\n  address = \"/s/c.sock\"\n"
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Root != "/r" || cfg.State != "/s" || cfg.Version != 4 {
		t.Errorf("root %q, state %q, version %d", cfg.Root, cfg.State, cfg.Version)
	}
	var grpc struct {
		Address        string `toml:"address"`
		MaxRecvMsgSize int    `toml:"max_recv_message_size"`
		MaxSendMsgSize int    `toml:"max_send_message_size"`
	}
	if _, err := cfg.Decode(context.Background(), "io.containerd.server.v1.grpc", &grpc); err != nil {
		t.Fatal(err)
	}
	if grpc.Address != "/s/c.sock" || grpc.MaxRecvMsgSize != defaults.DefaultMaxRecvMsgSize || grpc.MaxSendMsgSize != defaults.DefaultMaxSendMsgSize {
		t.Errorf("grpc server config %+v", grpc)
	}
}
