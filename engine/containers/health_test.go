package containers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestValidateHealthcheck(t *testing.T) {
	for _, tc := range []struct {
		hc   container.HealthConfig
		want string
	}{
		{container.HealthConfig{Interval: time.Millisecond, Timeout: time.Second, Retries: 1}, ""},
		{container.HealthConfig{Interval: time.Microsecond}, "Interval in Healthcheck cannot be less than 1ms"},
		{container.HealthConfig{Timeout: -time.Second}, "Timeout in Healthcheck cannot be less than 1ms"},
		{container.HealthConfig{Retries: -1}, "Retries in Healthcheck cannot be negative"},
		{container.HealthConfig{StartPeriod: -1}, "StartPeriod in Healthcheck cannot be less than 1ms"},
		{container.HealthConfig{StartInterval: time.Nanosecond}, "StartInterval in Healthcheck cannot be less than 1ms"},
	} {
		err := validateHealthcheck(&tc.hc)
		if (err == nil) != (tc.want == "") || (err != nil && err.Error() != tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.hc, err, tc.want)
		}
	}
}

func TestHealthSettings(t *testing.T) {
	if hs := healthSettingsOf(&container.Config{Healthcheck: &container.HealthConfig{Test: []string{"NONE"}}}); hs != nil {
		t.Fatalf("NONE: %+v", hs)
	}
	hs := healthSettingsOf(&container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD-SHELL", "exit 1"}}})
	if strings.Join(hs.test, "|") != "/bin/sh|-c|exit 1" || hs.interval != defaultProbeInterval || hs.timeout != defaultProbeTimeout || hs.retries != defaultProbeRetries {
		t.Fatalf("CMD-SHELL: %+v", hs)
	}
	hs = healthSettingsOf(&container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true", "x"}, Retries: 1}})
	if strings.Join(hs.test, "|") != "true|x" || hs.retries != 1 {
		t.Fatalf("CMD: %+v", hs)
	}
}

func TestApplyProbe(t *testing.T) {
	ok, bad := container.HealthcheckResult{ExitCode: 0}, container.HealthcheckResult{ExitCode: 1}
	h := &container.Health{Status: container.Starting}
	if applyProbe(h, bad, 2, true) || h.FailingStreak != 0 {
		t.Fatalf("failure in the start period: %+v", h)
	}
	if applyProbe(h, bad, 2, false) || h.FailingStreak != 1 || h.Status != container.Starting {
		t.Fatalf("first failure: %+v", h)
	}
	if !applyProbe(h, bad, 2, false) || h.Status != container.Unhealthy {
		t.Fatalf("second failure: %+v", h)
	}
	if !applyProbe(h, ok, 2, false) || h.Status != container.Healthy || h.FailingStreak != 0 {
		t.Fatalf("success: %+v", h)
	}
	for range 10 {
		applyProbe(h, ok, 2, false)
	}
	if len(h.Log) != maxHealthLogEntries {
		t.Fatalf("log kept %d entries", len(h.Log))
	}
}

// TestHealthLoop checks the prober's clock: the start interval during the
// start period, then the interval, and the end with the container.
func TestHealthLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := &healthSettings{test: []string{"true"}, interval: 10 * time.Second, timeout: time.Second, startPeriod: 12 * time.Second, startInterval: 3 * time.Second, retries: 3}
		start := time.Now()
		var at []time.Duration
		var inStart []bool
		stop := make(chan struct{})
		done := make(chan struct{})
		h := &container.Health{Status: container.Starting}
		go func() {
			healthLoop(stop, hs, start,
				func() (container.HealthcheckResult, bool) { return container.HealthcheckResult{ExitCode: 1}, true },
				func(res container.HealthcheckResult, in bool) container.HealthStatus {
					at, inStart = append(at, time.Since(start)), append(inStart, in)
					applyProbe(h, res, hs.retries, in)
					return h.Status
				})
			close(done)
		}()
		time.Sleep(40 * time.Second)
		close(stop)
		<-done
		want := []time.Duration{3, 6, 9, 12, 22, 32}
		if len(at) != len(want) {
			t.Fatalf("probes at %v", at)
		}
		for i, w := range want {
			if at[i] != w*time.Second {
				t.Fatalf("probes at %v", at)
			}
		}
		if inStart[3] || !inStart[2] || h.Status != container.Unhealthy || h.FailingStreak != 3 {
			t.Fatalf("in start %v, health %+v", inStart, h)
		}
	})
}

func TestHealthSuffix(t *testing.T) {
	for h, want := range map[*container.Health]string{
		nil:                           "",
		{Status: container.Starting}:  " (health: starting)",
		{Status: container.Healthy}:   " (healthy)",
		{Status: container.Unhealthy}: " (unhealthy)",
	} {
		if got := healthSuffix(h); got != want {
			t.Errorf("%+v: %q", h, got)
		}
	}
}

// TestHealthcheck runs a healthy and an unhealthy check in containers.
func TestHealthcheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	good := e.create("good", container.Config{Cmd: []string{"sleep", "1000"}, Healthcheck: &container.HealthConfig{
		Test: []string{"CMD-SHELL", "echo fine"}, Interval: 100 * time.Millisecond}}, container.HostConfig{})
	bad := e.create("bad", container.Config{Cmd: []string{"sleep", "1000"}, Healthcheck: &container.HealthConfig{
		Test: []string{"CMD", "false"}, Interval: 100 * time.Millisecond, Retries: 1}}, container.HostConfig{})
	for _, id := range []string{good, bad} {
		if err := e.svc.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	waitHealth := func(ref string, want container.HealthStatus) *container.Health {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			h := e.inspect(ref).State.Health
			if h != nil && h.Status == want {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: health %+v, want %s", ref, h, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	h := waitHealth("good", container.Healthy)
	if len(h.Log) == 0 || h.Log[0].Output != "fine\n" || h.Log[0].ExitCode != 0 {
		t.Fatalf("good log: %+v", h.Log[0])
	}
	h = waitHealth("bad", container.Unhealthy)
	if h.FailingStreak < 1 || h.Log[0].ExitCode != 1 {
		t.Fatalf("bad: %+v", h)
	}
	if !slices.Contains(e.events.actions(bad), "health_status: unhealthy") {
		t.Errorf("bad's events: %v", e.events.actions(bad))
	}
	list, err := e.svc.List(ctx, ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		want := map[string]string{good: "(healthy)", bad: "(unhealthy)"}[c.ID]
		if !strings.HasSuffix(c.Status, want) {
			t.Errorf("%s: status %q", c.Names, c.Status)
		}
	}
}
