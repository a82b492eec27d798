package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/roostd/roost/engine/store"
)

// dockerd's health check defaults and limits.
const (
	defaultProbeInterval  = 30 * time.Second
	defaultProbeTimeout   = 30 * time.Second
	defaultStartInterval  = 5 * time.Second
	defaultProbeRetries   = 3
	minProbeInterval      = time.Millisecond
	maxHealthOutput       = 4096
	maxHealthLogEntries   = 5
	probeKillGrace        = 5 * time.Second
	healthUnknownExitCode = -1
)

// healthSettings is a container's health check with dockerd's defaults
// applied. A nil *healthSettings means no monitoring.
type healthSettings struct {
	test          []string // the process to run
	interval      time.Duration
	timeout       time.Duration
	startPeriod   time.Duration
	startInterval time.Duration
	retries       int
}

// healthSettingsOf returns the settings of cfg's health check, or nil when
// it has none (no Test, or NONE).
func healthSettingsOf(cfg *container.Config) *healthSettings {
	hc := cfg.Healthcheck
	if hc == nil || len(hc.Test) == 0 {
		return nil
	}
	var test []string
	switch hc.Test[0] {
	case "NONE":
		return nil
	case "CMD":
		test = append([]string{}, hc.Test[1:]...)
	case "CMD-SHELL":
		shell := []string{"/bin/sh", "-c"}
		if len(cfg.Shell) > 0 {
			shell = cfg.Shell
		}
		test = append(append([]string{}, shell...), strings.Join(hc.Test[1:], " "))
	default:
		// dockerd rejects other kinds when it probes; so do we, at start.
		return nil
	}
	if len(test) == 0 {
		return nil
	}
	return &healthSettings{
		test:          test,
		interval:      orDuration(hc.Interval, defaultProbeInterval),
		timeout:       orDuration(hc.Timeout, defaultProbeTimeout),
		startPeriod:   hc.StartPeriod,
		startInterval: orDuration(hc.StartInterval, defaultStartInterval),
		retries:       orInt(hc.Retries, defaultProbeRetries),
	}
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// validateHealthcheck is dockerd's check of the healthcheck durations at
// create.
func validateHealthcheck(hc *container.HealthConfig) error {
	if hc == nil {
		return nil
	}
	check := func(name string, d time.Duration) error {
		if d != 0 && d < minProbeInterval {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s", name, minProbeInterval)
		}
		return nil
	}
	if err := check("Interval", hc.Interval); err != nil {
		return err
	}
	if err := check("Timeout", hc.Timeout); err != nil {
		return err
	}
	if hc.Retries < 0 {
		return errors.New("Retries in Healthcheck cannot be negative")
	}
	if err := check("StartPeriod", hc.StartPeriod); err != nil {
		return err
	}
	return check("StartInterval", hc.StartInterval)
}

// applyProbe records a probe's result in h as dockerd's handleProbeResult:
// a success makes it healthy; a failure outside the start period adds to
// the failing streak, and retries failures in a row make it unhealthy. It
// reports whether the status changed.
func applyProbe(h *container.Health, res container.HealthcheckResult, retries int, inStartPeriod bool) bool {
	old := h.Status
	h.Log = append(h.Log, &res)
	if n := len(h.Log); n > maxHealthLogEntries {
		h.Log = append([]*container.HealthcheckResult{}, h.Log[n-maxHealthLogEntries:]...)
	}
	if res.ExitCode == 0 {
		h.FailingStreak = 0
		h.Status = container.Healthy
	} else if !(h.Status == container.Starting && inStartPeriod) {
		h.FailingStreak++
		if h.FailingStreak >= retries {
			h.Status = container.Unhealthy
		}
	}
	return h.Status != old
}

// nextProbeDelay is the wait before the next probe: the start interval
// while the container is starting within its start period, else the
// interval.
func (hs *healthSettings) nextProbeDelay(status container.HealthStatus, sinceStart time.Duration) time.Duration {
	if status == container.Starting && hs.startPeriod > 0 && sinceStart < hs.startPeriod {
		return hs.startInterval
	}
	return hs.interval
}

// healthLoop probes every delay until stop is closed: probe runs one check
// (honouring its timeout) and reports false when it was skipped, record
// stores the result and returns the current status. It is the prober's
// clock, apart from how a probe runs.
func healthLoop(stop <-chan struct{}, hs *healthSettings, started time.Time, probe func() (container.HealthcheckResult, bool), record func(container.HealthcheckResult, bool) container.HealthStatus) {
	status := container.Starting
	for {
		t := time.NewTimer(hs.nextProbeDelay(status, time.Since(started)))
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		res, ok := probe()
		if !ok {
			continue
		}
		select {
		case <-stop:
			return // the container went away during the probe
		default:
		}
		status = record(res, hs.startPeriod > 0 && time.Since(started) < hs.startPeriod)
	}
}

// startHealth begins health monitoring of the run r of c, if its config
// has a health check: the status starts over at "starting", the log is
// kept. c.mu is held.
func (s *Service) startHealth(c *ctr, r *run) {
	hs := healthSettingsOf(c.rec.Config)
	if hs == nil {
		c.rec.State.Health = nil
		return
	}
	h := c.rec.State.Health
	if h == nil {
		h = &container.Health{}
		c.rec.State.Health = h
	}
	h.Status, h.FailingStreak = container.Starting, 0
	started := time.Now()
	stop := make(chan struct{})
	go func() {
		select {
		case <-r.exited:
		case <-s.detached:
		}
		close(stop)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		healthLoop(stop, hs, started,
			func() (container.HealthcheckResult, bool) { return s.probe(c, r, hs) },
			func(res container.HealthcheckResult, inStart bool) container.HealthStatus {
				return s.recordProbe(c, r, hs, res, inStart)
			})
	}()
}

// recordProbe stores a probe's result in c's state and publishes
// health_status when the status changes.
func (s *Service) recordProbe(c *ctr, r *run, hs *healthSettings, res container.HealthcheckResult, inStart bool) container.HealthStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.rec.State.Health
	if c.run != r || h == nil {
		return container.Unhealthy
	}
	if applyProbe(h, res, hs.retries, inStart) {
		s.publish(c, events.Action(string(events.ActionHealthStatus)+": "+string(h.Status)), nil)
	}
	s.save(context.Background(), c)
	return h.Status
}

// probe runs the health check once as an exec process in the container,
// killed after the timeout (which counts as a failure, as dockerd). A
// paused container is not probed (ok is false): dockerd stops monitoring
// while it is paused.
func (s *Service) probe(c *ctr, r *run, hs *healthSettings) (res container.HealthcheckResult, ok bool) {
	res = container.HealthcheckResult{Start: time.Now(), ExitCode: healthUnknownExitCode}
	c.mu.Lock()
	cfg := *c.rec.Config
	paused := c.rec.State.Paused
	c.mu.Unlock()
	if paused {
		return res, false
	}
	ec := &execConfig{
		id:         newID(),
		c:          c,
		run:        r,
		entrypoint: hs.test[0],
		args:       append([]string{}, hs.test[1:]...),
		user:       cfg.User,
		workingDir: cfg.WorkingDir,
		env:        execEnv(&cfg, false, nil),
		openStdout: true,
		openStderr: true,
		started:    make(chan struct{}),
	}
	// dockerd's probes are execs, with their events.
	s.publish(c, events.Action(string(events.ActionExecCreate)+": "+ec.command()), map[string]string{"execID": ec.id})
	s.publish(c, events.Action(string(events.ActionExecStart)+": "+ec.command()), map[string]string{"execID": ec.id})
	out := &limitedBuffer{max: maxHealthOutput}
	p, err := s.startExec(ec, nil, false, out, out)
	if err != nil {
		res.End, res.Output = time.Now(), err.Error()
		return res, true
	}
	t := time.NewTimer(hs.timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		ec.mu.Lock()
		res.ExitCode = *ec.exitCode
		ec.mu.Unlock()
		res.Output = out.String()
	case <-t.C:
		ctx := s.nsCtx(context.Background())
		if err := p.proc.Kill(ctx, syscall.SIGKILL); err != nil {
			log.G(ctx).WithError(err).WithField("container", c.id).Debug("killing a health check that timed out")
		}
		select {
		case <-p.exited:
		case <-time.After(probeKillGrace):
		}
		res.Output = fmt.Sprintf("Health check exceeded timeout (%s)", hs.timeout)
	}
	res.End = time.Now()
	return res, true
}

// limitedBuffer keeps the first max bytes written to it, from any number
// of goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// healthSuffix is the health part of `docker ps`'s status: " (healthy)",
// " (health: starting)", " (unhealthy)", or nothing.
func healthSuffix(h *container.Health) string {
	if h == nil {
		return ""
	}
	switch h.Status {
	case container.Starting:
		return " (health: starting)"
	case container.Healthy, container.Unhealthy:
		return " (" + string(h.Status) + ")"
	}
	return ""
}

// healthStatus is the container's health status for the ps filter.
func healthStatus(h *container.Health) string {
	if h == nil || h.Status == "" {
		return string(container.NoHealthcheck)
	}
	return string(h.Status)
}

// runningHealth is healthSuffix for a running, unpaused container, as
// dockerd's State.String shows health only then.
func runningHealth(st store.State) string {
	if !st.Running || st.Paused || st.Restarting {
		return ""
	}
	return healthSuffix(st.Health)
}

// copyHealth is a copy of h that the caller may keep after c.mu is
// released.
func copyHealth(h *container.Health) *container.Health {
	if h == nil {
		return nil
	}
	cp := *h
	cp.Log = make([]*container.HealthcheckResult, len(h.Log))
	for i, r := range h.Log {
		rc := *r
		cp.Log[i] = &rc
	}
	return &cp
}
