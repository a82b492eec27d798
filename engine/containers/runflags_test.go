package containers

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func TestValidateLogConfig(t *testing.T) {
	cases := []struct {
		lc      container.LogConfig
		wantErr string
	}{
		{lc: container.LogConfig{}},
		{lc: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "3", "tag": "x", "compress": "true"}}},
		{lc: container.LogConfig{Type: "local", Config: map[string]string{"max-size": "1m", "compress": "false"}}},
		{lc: container.LogConfig{Type: "none"}},
		{lc: container.LogConfig{Type: "syslog"}, wantErr: "logger: no log driver named 'syslog' is registered"},
		{lc: container.LogConfig{Type: "local", Config: map[string]string{"tag": "x"}}, wantErr: "unknown log opt 'tag' for log driver local"},
		{lc: container.LogConfig{Config: map[string]string{"bogus": "x"}}, wantErr: "unknown log opt 'bogus' for json-file log driver"},
		{lc: container.LogConfig{Type: "none", Config: map[string]string{"max-size": "1k"}}, wantErr: "logging driver none does not take options"},
		{lc: container.LogConfig{Config: map[string]string{"max-file": "0"}}, wantErr: "invalid value for max-file: 0"},
		{lc: container.LogConfig{Config: map[string]string{"compress": "maybe"}}, wantErr: "error reading compress log option"},
	}
	for _, tc := range cases {
		err := validateLogConfig(tc.lc)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: got %v, want %q", tc.lc, err, tc.wantErr)
		}
	}
}

func TestLogFileOptionsDefaults(t *testing.T) {
	o, err := logFileOptions(container.LogConfig{Type: "local"})
	if err != nil || o.MaxSize != 20<<20 || o.MaxFiles != 5 {
		t.Errorf("local defaults: %+v, %v", o, err)
	}
	o, err = logFileOptions(container.LogConfig{Type: "json-file"})
	if err != nil || o.MaxSize != 0 || o.MaxFiles != 1 {
		t.Errorf("json-file defaults: %+v, %v", o, err)
	}
	o, err = logFileOptions(container.LogConfig{Type: "local", Config: map[string]string{"max-file": "2"}})
	if err != nil || o.MaxSize != 20<<20 || o.MaxFiles != 2 {
		t.Errorf("local with max-file: %+v, %v", o, err)
	}
}

func TestDeviceOptsErrors(t *testing.T) {
	cases := []struct {
		path, wantErr string
	}{
		{path: "/dev/null"},
		{path: "/dev"},
		{path: "/nonexistent-device", wantErr: `error gathering device information while adding custom device "/nonexistent-device": no such file or directory`},
		{path: "/proc/self/status", wantErr: `error gathering device information while adding custom device "/proc/self/status": not a device node`},
	}
	for _, rootless := range []bool{true, false} {
		for _, tc := range cases {
			_, err := deviceOpts([]container.DeviceMapping{{PathOnHost: tc.path}}, rootless)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("%s: got %v, want %q", tc.path, err, tc.wantErr)
			}
		}
	}
}

func TestCheckNamespaceModes(t *testing.T) {
	ok := []container.HostConfig{
		{}, {IpcMode: "private"}, {IpcMode: "shareable"}, {IpcMode: "none"}, {IpcMode: "host"},
		{IpcMode: "container:abc"}, {PidMode: "container:abc"}, {PidMode: "host"},
	}
	for _, hc := range ok {
		if err := checkNamespaceModes(&hc); err != nil {
			t.Errorf("%q/%q: %v", hc.IpcMode, hc.PidMode, err)
		}
	}
	bad := map[string]container.HostConfig{
		"invalid IPC mode: bogus":      {IpcMode: "bogus"},
		"invalid IPC mode: container:": {IpcMode: "container:"},
		"invalid PID mode: bogus":      {PidMode: "bogus"},
		"invalid PID mode: container:": {PidMode: "container:"},
	}
	for want, hc := range bad {
		err := checkNamespaceModes(&hc)
		if !errdefs.IsInvalidArgument(err) || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

func TestOOMScoreRootless(t *testing.T) {
	cur, ok := ownOOMScoreAdj()
	if !ok || cur >= 1000 {
		t.Skip("no oom_score_adj to compare with")
	}
	if _, w := oomScoreOpt(cur+1, true); w != "" {
		t.Errorf("raising warned: %s", w)
	}
	if cur > -1000 {
		if _, w := oomScoreOpt(cur-1, true); !strings.Contains(w, "cannot go under") {
			t.Errorf("lowering did not warn: %q", w)
		}
		if _, w := oomScoreOpt(cur-1, false); w != "" {
			t.Errorf("lowering warned with privileges: %q", w)
		}
	}
}

func TestCheckRuntime(t *testing.T) {
	for _, hc := range []container.HostConfig{{}, {Runtime: "runc"}, {CgroupnsMode: "host"}, {CgroupnsMode: "private"}} {
		if err := checkRuntime(&hc); err != nil {
			t.Errorf("%+v: %v", hc, err)
		}
	}
	bad := map[string]container.HostConfig{
		"unknown or invalid runtime name: crun": {Runtime: "crun"},
		"invalid cgroup namespace mode: bogus":  {CgroupnsMode: "bogus"},
	}
	for want, hc := range bad {
		if err := checkRuntime(&hc); !errdefs.IsInvalidArgument(err) || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

func TestHostConfigPaths(t *testing.T) {
	spec := &oci.Spec{Linux: &specs.Linux{MaskedPaths: []string{"/x"}, ReadonlyPaths: []string{"/y"}}}
	hc := &container.HostConfig{MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"}}
	if err := withHostConfigPaths(hc)(context.Background(), nil, nil, spec); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(spec.Linux.MaskedPaths, hc.MaskedPaths) || !slices.Equal(spec.Linux.ReadonlyPaths, hc.ReadonlyPaths) {
		t.Errorf("paths %v %v", spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths)
	}
	def := &oci.Spec{Linux: &specs.Linux{MaskedPaths: []string{"/x"}, ReadonlyPaths: []string{"/y"}}}
	if err := withHostConfigPaths(&container.HostConfig{})(context.Background(), nil, nil, def); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def.Linux.MaskedPaths, []string{"/x"}) || !slices.Equal(def.Linux.ReadonlyPaths, []string{"/y"}) {
		t.Errorf("nil paths dropped the defaults: %v %v", def.Linux.MaskedPaths, def.Linux.ReadonlyPaths)
	}
	none := &container.HostConfig{MaskedPaths: []string{}, ReadonlyPaths: []string{}}
	if err := withHostConfigPaths(none)(context.Background(), nil, nil, def); err != nil {
		t.Fatal(err)
	}
	if len(def.Linux.MaskedPaths) != 0 || len(def.Linux.ReadonlyPaths) != 0 {
		t.Errorf("empty paths kept %v %v", def.Linux.MaskedPaths, def.Linux.ReadonlyPaths)
	}
	hc.Privileged = true
	if err := withHostConfigPaths(hc)(context.Background(), nil, nil, spec); err != nil {
		t.Fatal(err)
	}
	if spec.Linux.MaskedPaths != nil || spec.Linux.ReadonlyPaths != nil {
		t.Errorf("privileged keeps paths %v %v", spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths)
	}
}

func TestMergeLogConfig(t *testing.T) {
	s := &Service{opts: Options{LogConfig: container.LogConfig{Type: "local", Config: map[string]string{"max-size": "5m", "max-file": "2"}}}}
	cases := []struct {
		in, want container.LogConfig
	}{
		{in: container.LogConfig{}, want: container.LogConfig{Type: "local", Config: map[string]string{"max-size": "5m", "max-file": "2"}}},
		{in: container.LogConfig{Type: "local", Config: map[string]string{"max-size": "1m"}}, want: container.LogConfig{Type: "local", Config: map[string]string{"max-size": "1m", "max-file": "2"}}},
		{in: container.LogConfig{Type: "json-file"}, want: container.LogConfig{Type: "json-file"}},
		{in: container.LogConfig{Type: "none"}, want: container.LogConfig{Type: "none"}},
	}
	for _, tc := range cases {
		got := tc.in
		s.mergeLogConfig(&got)
		if got.Type != tc.want.Type || len(got.Config) != len(tc.want.Config) {
			t.Errorf("%+v: got %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for k, v := range tc.want.Config {
			if got.Config[k] != v {
				t.Errorf("%+v: got %+v, want %+v", tc.in, got, tc.want)
			}
		}
	}
	none := &Service{}
	lc := container.LogConfig{}
	none.mergeLogConfig(&lc)
	if lc.Type != "json-file" {
		t.Errorf("default driver %q", lc.Type)
	}
	if err := CheckLogConfig(container.LogConfig{Type: "syslog"}); err == nil || !strings.Contains(err.Error(), "failed to set log opts: logger: no log driver named 'syslog' is registered") {
		t.Errorf("daemon log driver syslog: %v", err)
	}
}
