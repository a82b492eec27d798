package containers

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/roostd/roost/engine/store"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "web", want: "web"},
		{in: "/web", want: "web"},
		{in: "a.b_c-d9", want: "a.b_c-d9"},
		{in: "ab", want: "ab"},
		{in: "a", bad: true},
		{in: "-web", bad: true},
		{in: "we b", bad: true},
		{in: "web/x", bad: true},
		{in: "/", bad: true},
	} {
		got, err := validateName(tc.in)
		if tc.bad {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: got %q, %v; want invalid argument", tc.in, got, err)
			} else if want := "Invalid container name (" + tc.in + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"; err.Error() != want {
				t.Errorf("%q: message %q", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v", tc.in, got, err)
		}
	}
	for range 100 {
		if _, err := validateName(randomName()); err != nil {
			t.Fatal(err)
		}
		if id := newID(); len(id) != 64 || !store.IsHexPrefix(id) || allDigits(id[:12]) {
			t.Fatalf("bad id %q", id)
		}
	}
}

func TestStatusText(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		st       store.State
		removing bool
		want     string
	}{
		{st: store.State{}, want: "Created"},
		{st: store.State{Running: true, StartedAt: ago(5 * time.Second)}, want: "Up 5 seconds"},
		{st: store.State{Running: true, StartedAt: ago(500 * time.Millisecond)}, want: "Up Less than a second"},
		{st: store.State{Running: true, StartedAt: ago(70 * time.Second)}, want: "Up About a minute"},
		{st: store.State{Running: true, Paused: true, StartedAt: ago(3 * time.Hour)}, want: "Up 3 hours (Paused)"},
		{st: store.State{Running: true, Restarting: true, ExitCode: 1, FinishedAt: ago(2 * time.Second)}, want: "Restarting (1) 2 seconds ago"},
		{st: store.State{StartedAt: ago(time.Minute), FinishedAt: ago(3 * time.Second)}, want: "Exited (0) 3 seconds ago"},
		{st: store.State{StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Minute), ExitCode: 137}, want: "Exited (137) 2 minutes ago"},
		{st: store.State{StartedAt: ago(time.Hour)}, removing: true, want: "Removal In Progress"},
		{st: store.State{Dead: true, StartedAt: ago(time.Hour)}, want: "Dead"},
	} {
		if got := statusText(tc.st, tc.removing, now); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.st, got, tc.want)
		}
	}
}

func TestStateName(t *testing.T) {
	mk := func(st store.State, removing bool) *ctr {
		c := newCtr(&store.Container{State: st})
		c.removing = removing
		return c
	}
	for _, tc := range []struct {
		c    *ctr
		want container.ContainerState
	}{
		{mk(store.State{}, false), container.StateCreated},
		{mk(store.State{Running: true}, false), container.StateRunning},
		{mk(store.State{Running: true, Paused: true}, false), container.StatePaused},
		{mk(store.State{Running: true, Restarting: true}, false), container.StateRestarting},
		{mk(store.State{StartedAt: time.Now()}, false), container.StateExited},
		{mk(store.State{StartedAt: time.Now()}, true), container.StateRemoving},
		{mk(store.State{Dead: true}, false), container.StateDead},
	} {
		if got := tc.c.state(); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.c.rec.State, got, tc.want)
		}
	}
}

func TestMergeImageConfig(t *testing.T) {
	img := ocispec.ImageConfig{
		User:       "nobody",
		Env:        []string{"PATH=/img/bin", "A=image"},
		Entrypoint: []string{"/entry"},
		Cmd:        []string{"serve"},
		WorkingDir: "/srv",
		Labels:     map[string]string{"l": "image", "m": "image"},
		StopSignal: "SIGQUIT",
		ExposedPorts: map[string]struct{}{
			"80/tcp": {},
		},
	}
	for _, tc := range []struct {
		name    string
		user    container.Config
		want    container.Config
		wantErr bool
	}{
		{
			name: "all from image",
			user: container.Config{},
			want: container.Config{User: "nobody", Env: []string{"PATH=/img/bin", "A=image"}, Entrypoint: []string{"/entry"}, Cmd: []string{"serve"},
				WorkingDir: "/srv", Labels: map[string]string{"l": "image", "m": "image"}, StopSignal: "SIGQUIT"},
		},
		{
			name: "user cmd keeps the image entrypoint",
			user: container.Config{Cmd: []string{"other"}, Env: []string{"A=user", "B=user"}, Labels: map[string]string{"l": "user"}},
			want: container.Config{User: "nobody", Env: []string{"A=user", "B=user", "PATH=/img/bin"}, Entrypoint: []string{"/entry"}, Cmd: []string{"other"},
				WorkingDir: "/srv", Labels: map[string]string{"l": "user", "m": "image"}, StopSignal: "SIGQUIT"},
		},
		{
			name: "user entrypoint drops the image cmd",
			user: container.Config{Entrypoint: []string{"/bin/sh"}, User: "0", WorkingDir: "/", StopSignal: "SIGINT"},
			want: container.Config{User: "0", Env: []string{"PATH=/img/bin", "A=image"}, Entrypoint: []string{"/bin/sh"},
				WorkingDir: "/", Labels: map[string]string{"l": "image", "m": "image"}, StopSignal: "SIGINT"},
		},
		{
			name: "empty entrypoint resets it",
			user: container.Config{Entrypoint: []string{""}, Cmd: []string{"ls"}},
			want: container.Config{User: "nobody", Env: []string{"PATH=/img/bin", "A=image"}, Cmd: []string{"ls"},
				WorkingDir: "/srv", Labels: map[string]string{"l": "image", "m": "image"}, StopSignal: "SIGQUIT"},
		},
		{
			name:    "no command at all",
			user:    container.Config{Entrypoint: []string{""}},
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.user
			err := mergeImageConfig(&cfg, img, nil)
			if tc.wantErr {
				if err == nil || err.Error() != "no command specified" {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.ExposedPorts) != 1 {
				t.Errorf("exposed ports %v", cfg.ExposedPorts)
			}
			cfg.ExposedPorts = nil
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("got  %+v\nwant %+v", cfg, tc.want)
			}
		})
	}
}

func TestProcessEnv(t *testing.T) {
	got := processEnv(&container.Config{Hostname: "h", Tty: true, Env: []string{"PATH=/x", "FOO=1", "TERM"}})
	want := []string{"PATH=/x", "HOSTNAME=h", "FOO=1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	path, args := entrypointAndArgs([]string{"/e", "-x"}, []string{"a b", "c"})
	if path != "/e" || !reflect.DeepEqual(args, []string{"-x", "a b", "c"}) {
		t.Fatalf("got %s %v", path, args)
	}
	if got := command(path, args); got != "/e -x 'a b' c" {
		t.Fatalf("command %q", got)
	}
}

func TestValidate(t *testing.T) {
	neg := -1
	for _, tc := range []struct {
		name string
		cfg  container.Config
		hc   container.HostConfig
		msg  string // "" means valid
	}{
		{name: "ok"},
		{name: "relative workdir", cfg: container.Config{WorkingDir: "srv"}, msg: "the working directory 'srv' is invalid, it needs to be an absolute path"},
		{name: "bad stop signal", cfg: container.Config{StopSignal: "SIGNOPE"}, msg: "invalid signal: SIGNOPE"},
		{name: "empty env name", cfg: container.Config{Env: []string{"=x"}}, msg: "invalid environment variable: =x"},
		{name: "rm with restart", hc: container.HostConfig{AutoRemove: true, RestartPolicy: container.RestartPolicy{Name: "always"}}, msg: "can't create 'AutoRemove' container with restart policy"},
		{name: "bad policy", hc: container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "sometimes"}}, msg: "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
		{name: "negative retries", hc: container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: neg}}, msg: "invalid restart policy: maximum retry count cannot be negative"},
		{name: "log driver", hc: container.HostConfig{LogConfig: container.LogConfig{Type: "syslog"}}, msg: "logger: no log driver named 'syslog' is registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{}
			_, err := s.checkCreate(&tc.cfg, &tc.hc)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || err.Error() != tc.msg {
				t.Fatalf("got %v, want invalid argument %q", err, tc.msg)
			}
		})
	}
}

func TestRootlessResourceWarning(t *testing.T) {
	s := &Service{opts: Options{Rootless: true}}
	hc := &container.HostConfig{Resources: container.Resources{Memory: 1 << 20, NanoCPUs: 1e9}}
	w, err := s.checkCreate(&container.Config{}, hc)
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "--memory, --cpus") || !strings.Contains(w[0], "cgroups are not delegated") {
		t.Fatalf("warnings %q, %v", w, err)
	}
	s.opts.Rootless = false
	if w, _ := s.checkCreate(&container.Config{}, hc); len(w) != 0 {
		t.Fatalf("warnings without rootless: %q", w)
	}
}

func TestParseDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		bad  bool
	}{
		{in: "", want: []byte{16, 17}},
		{in: "ctrl-p,ctrl-q", want: []byte{16, 17}},
		{in: "ctrl-a,b", want: []byte{1, 'b'}},
		{in: "ctrl-@,ctrl-[,ctrl-_", want: []byte{0, 27, 31}},
		{in: "ctrl-A", want: []byte{1}},
		{in: "x", want: []byte{'x'}},
		{in: "ctrl-", bad: true},
		{in: "ctrl-1", bad: true},
		{in: "shift-a", bad: true},
		{in: "ab", bad: true},
	} {
		got, err := parseDetachKeys(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && !bytes.Equal(got, tc.want)) {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
	}
}

func TestEscapeReader(t *testing.T) {
	keys := []byte{16, 17}
	for _, tc := range []struct {
		name     string
		in       string
		want     string
		detached bool
	}{
		{name: "plain", in: "hello", want: "hello"},
		{name: "detach", in: "ab\x10\x11cd", want: "ab", detached: true},
		{name: "half sequence passes", in: "a\x10b", want: "a\x10b"},
		{name: "repeated first key", in: "\x10\x10\x11", want: "\x10", detached: true},
		{name: "held at eof", in: "a\x10", want: "a\x10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time, the worst case for a terminal.
			r := newEscapeReader(&oneByteReader{s: tc.in}, keys)
			got, err := io.ReadAll(r)
			if string(got) != tc.want || errors.Is(err, errDetached) != tc.detached {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestShouldRestart(t *testing.T) {
	pol := func(name string, max int) container.RestartPolicy {
		return container.RestartPolicy{Name: container.RestartPolicyMode(name), MaximumRetryCount: max}
	}
	for _, tc := range []struct {
		name   string
		policy container.RestartPolicy
		f      exitFacts
		want   bool
	}{
		{name: "no", policy: pol("no", 0), f: exitFacts{exitCode: 1}},
		{name: "empty", policy: pol("", 0), f: exitFacts{exitCode: 1}},
		{name: "always", policy: pol("always", 0), want: true},
		{name: "always, stopped by user", policy: pol("always", 0), f: exitFacts{cancelled: true}},
		{name: "unless-stopped", policy: pol("unless-stopped", 0), f: exitFacts{exitCode: 0}, want: true},
		{name: "unless-stopped, manually stopped", policy: pol("unless-stopped", 0), f: exitFacts{manuallyStopped: true}},
		{name: "on-failure, success", policy: pol("on-failure", 0), f: exitFacts{exitCode: 0}},
		{name: "on-failure, failure", policy: pol("on-failure", 0), f: exitFacts{exitCode: 2, restartCount: 50}, want: true},
		{name: "on-failure:3 under", policy: pol("on-failure", 3), f: exitFacts{exitCode: 2, restartCount: 2}, want: true},
		{name: "on-failure:3 reached", policy: pol("on-failure", 3), f: exitFacts{exitCode: 2, restartCount: 3}},
	} {
		var b time.Duration
		if got, _ := shouldRestart(tc.policy, tc.f, &b); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}

	// Backoff: 100 ms doubling to a minute, back to 100 ms after 10 s.
	var b time.Duration
	var delays []time.Duration
	for range 11 {
		_, d := shouldRestart(pol("always", 0), exitFacts{ran: time.Second}, &b)
		delays = append(delays, d)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000}
	for i := range want {
		if delays[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v", delays)
		}
	}
	if _, d := shouldRestart(pol("always", 0), exitFacts{ran: 10 * time.Second}, &b); d != 100*time.Millisecond {
		t.Fatalf("after a long run: %v", d)
	}
	if !restartAtBoot(pol("always", 0), exitFacts{manuallyStopped: true}) || restartAtBoot(pol("unless-stopped", 0), exitFacts{manuallyStopped: true}) {
		t.Fatal("restart at boot")
	}
}

func TestFilters(t *testing.T) {
	mk := func(id, name string, st store.State, labels map[string]string) *ctr {
		return newCtr(&store.Container{
			ID: id, Name: name, ImageID: "sha256:img", State: st,
			Config:     &container.Config{Labels: labels},
			HostConfig: &container.HostConfig{NetworkMode: "default"},
		})
	}
	running := mk("aaa1", "web", store.State{Running: true, StartedAt: time.Now()}, map[string]string{"app": "x", "tier": "front"})
	exited := mk("bbb2", "db", store.State{StartedAt: time.Now(), FinishedAt: time.Now(), ExitCode: 3}, map[string]string{"app": "y"})
	created := mk("ccc3", "webcache", store.State{}, nil)
	all := []*ctr{running, exited, created}

	for _, tc := range []struct {
		name    string
		filters map[string][]string
		all     bool
		want    []string
		errMsg  string
	}{
		{name: "running only", want: []string{"web"}},
		{name: "all", all: true, want: []string{"web", "db", "webcache"}},
		{name: "name regexp", all: true, filters: map[string][]string{"name": {"^web"}}, want: []string{"web", "webcache"}},
		{name: "name with slash", all: true, filters: map[string][]string{"name": {"/db"}}, want: []string{"db"}},
		{name: "id prefix", all: true, filters: map[string][]string{"id": {"bbb"}}, want: []string{"db"}},
		{name: "status implies all", filters: map[string][]string{"status": {"exited", "created"}}, want: []string{"db", "webcache"}},
		{name: "label key", all: true, filters: map[string][]string{"label": {"app"}}, want: []string{"web", "db"}},
		{name: "labels all must match", all: true, filters: map[string][]string{"label": {"app=x", "tier"}}, want: []string{"web"}},
		{name: "exited", all: true, filters: map[string][]string{"exited": {"3"}}, want: []string{"db"}},
		{name: "network", all: true, filters: map[string][]string{"network": {"bridge"}}, want: []string{"web", "db", "webcache"}},
		{name: "health none", all: true, filters: map[string][]string{"health": {"none"}}, want: []string{"web", "db", "webcache"}},
		{name: "bad status", filters: map[string][]string{"status": {"sleeping"}},
			errMsg: "invalid filter 'status=sleeping': invalid value for state (sleeping): must be one of created, running, paused, restarting, removing, exited, dead"},
		{name: "bad key", filters: map[string][]string{"colour": {"red"}}, errMsg: "invalid filter 'colour'"},
		{name: "bad exited", filters: map[string][]string{"exited": {"x"}}, errMsg: `invalid filter 'exited=x': strconv.Atoi: parsing "x": invalid syntax`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filterSet(tc.filters)
			s := &Service{byID: map[string]*ctr{}, names: map[string]string{}}
			err := f.validate(psFilters)
			var lc *listContext
			if err == nil {
				lc, err = s.listContext(t.Context(), f, ListOptions{All: tc.all})
			}
			if tc.errMsg != "" {
				if !errdefs.IsInvalidArgument(err) || err.Error() != tc.errMsg {
					t.Fatalf("got %v, want %q", err, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range all {
				if lc.include(c) == includeIt {
					got = append(got, c.rec.Name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseMounts(t *testing.T) {
	hc := &container.HostConfig{
		Binds: []string{"/src:/dst:ro", "/a:/b"},
		Tmpfs: map[string]string{"/run": "size=1m"},
	}
	ms, err := userMounts(hc, nil)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%v %v", ms, err)
	}
	if ms[0].Source != "/src" || ms[0].Destination != "/dst" || ms[0].Options[len(ms[0].Options)-1] != "ro" {
		t.Fatalf("bind %+v", ms[0])
	}
	for _, tc := range []struct {
		bind  string
		class func(error) bool
	}{
		{"/a:b", errdefs.IsInvalidArgument},
		{"/a", errdefs.IsInvalidArgument},
		{"/a:/b:bogus", errdefs.IsInvalidArgument},
	} {
		if _, err := parseMounts(&container.HostConfig{Binds: []string{tc.bind}}); !tc.class(err) {
			t.Errorf("%s: %v", tc.bind, err)
		}
	}
	if _, err := parseMounts(&container.HostConfig{Binds: []string{"/a:/x", "/b:/x"}}); err == nil || err.Error() != "Duplicate mount point: /x" {
		t.Errorf("duplicate: %v", err)
	}
}
