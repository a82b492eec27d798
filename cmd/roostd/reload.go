package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/log"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/systemd"
)

// reloadableKeys are the daemon.json keys a reload applies to the running
// daemon, as dockerd applies debug and log-level live. The others take
// effect at the next start; a reload that changes one says so.
var reloadableKeys = []string{"debug", "log-level", "idle-timeout"}

// reloader applies daemon.json again on SIGHUP (systemctl reload, the
// unit's ExecReload).
type reloader struct {
	mu sync.Mutex
	// cfg is the configuration in force: a copy of the one the engine
	// was built with, whose reloadable keys reloads change.
	cfg  config.Config
	idle *systemd.Idle
	// read returns the configuration as a fresh start would see it.
	read func() (*config.Config, error)
}

// watch reloads on every SIGHUP until ctx ends.
func (r *reloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
}

// reload reads the configuration again and applies what can change live.
// An invalid file is logged and the running configuration kept, as dockerd
// does; the service manager hears READY=1 either way, since roostd still
// serves.
func (r *reloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	systemd.Reloading()
	defer systemd.Ready()
	next, err := r.read()
	if err != nil {
		log.L.WithError(err).Error("SIGHUP: the configuration was not reloaded; the running one is kept")
		systemd.Status("reload failed: " + err.Error())
		return
	}
	restart, err := r.apply(next)
	if err != nil {
		log.L.WithError(err).Error("SIGHUP: the configuration was not reloaded; the running one is kept")
		systemd.Status("reload failed: " + err.Error())
		return
	}
	if len(restart) > 0 {
		log.L.Warnf("SIGHUP: %s changed; roostd applies %s only at its next start", strings.Join(restart, ", "), plural(restart, "it", "them"))
	}
	log.L.WithFields(log.Fields{"debug": r.cfg.Debug, "log-level": r.cfg.LogLevel, "idle-timeout": r.cfg.IdleTimeout}).Info("SIGHUP: configuration reloaded")
	systemd.Status("serving the Docker API")
}

// apply copies the reloadable keys of next into the running configuration
// and returns the keys that changed but need a restart.
func (r *reloader) apply(next *config.Config) ([]string, error) {
	idle, err := next.IdleDuration()
	if err != nil {
		return nil, err // Validate passed it; kept for safety
	}
	restart, err := changedKeys(&r.cfg, next)
	if err != nil {
		return nil, err
	}
	restart = slices.DeleteFunc(restart, func(k string) bool { return slices.Contains(reloadableKeys, k) })
	r.cfg.Debug = next.Debug
	r.cfg.LogLevel = next.LogLevel
	setupLogging(&r.cfg)
	if next.IdleTimeout != r.cfg.IdleTimeout {
		r.cfg.IdleTimeout = next.IdleTimeout
		if r.idle != nil {
			r.idle.SetTimeout(idle)
		}
	}
	return restart, nil
}

// changedKeys are the daemon.json keys whose values differ between a and b.
func changedKeys(a, b *config.Config) ([]string, error) {
	am, err := keyValues(a)
	if err != nil {
		return nil, err
	}
	bm, err := keyValues(b)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k, v := range am {
		if !bytes.Equal(v, bm[k]) {
			keys = append(keys, k)
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func keyValues(c *config.Config) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("comparing configurations: %w", err)
	}
	var m map[string]json.RawMessage
	err = json.Unmarshal(b, &m)
	return m, err
}

func plural(s []string, one, many string) string {
	if len(s) == 1 {
		return one
	}
	return many
}

// newIdle makes the idle tracker once the engine runs, with the timeout in
// force then (a reload during start-up may have changed it).
func (r *reloader) newIdle(busy func(context.Context) bool) *systemd.Idle {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, _ := r.cfg.IdleDuration() // Validate checked it
	r.idle = systemd.NewIdle(d, busy)
	return r.idle
}
