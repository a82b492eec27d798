package main

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/containerd/log"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/systemd"
)

func TestReloadApplies(t *testing.T) {
	t.Cleanup(func() { _ = log.SetLevel("info") })
	running := config.New()
	running.LiveRestore = false
	next := config.New()
	next.Debug = true
	next.IdleTimeout = "5m"
	next.LiveRestore = true
	next.Registry.Mirrors = []string{"https://mirror.example"}
	idle := systemd.NewIdle(0, func(context.Context) bool { return false })
	r := &reloader{cfg: *running, idle: idle}
	restart, err := r.apply(next)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"live-restore", "registry-mirrors"}; !slices.Equal(restart, want) {
		t.Errorf("keys that need a restart: %v, want %v", restart, want)
	}
	if !r.cfg.Debug || log.GetLevel() != log.DebugLevel {
		t.Errorf("debug not applied: cfg %v, level %v", r.cfg.Debug, log.GetLevel())
	}
	if idle.Timeout() != 5*time.Minute {
		t.Errorf("idle timeout %v, want 5m", idle.Timeout())
	}
	if r.cfg.LiveRestore {
		t.Error("live-restore changed in the running configuration")
	}
}

func TestReloadKeepsConfigOnError(t *testing.T) {
	running := config.New()
	running.Debug = true
	r := &reloader{cfg: *running, read: func() (*config.Config, error) {
		return nil, errors.New("invalid log-level")
	}}
	r.reload()
	if !r.cfg.Debug {
		t.Error("a failed reload changed the running configuration")
	}
}
