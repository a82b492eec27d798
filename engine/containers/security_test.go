package containers

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSecurityOpts(t *testing.T) {
	cases := []struct {
		opts    []string
		wantErr string
		check   func(securityOpts) bool
	}{
		{opts: []string{"no-new-privileges"}, check: func(s securityOpts) bool { return *s.noNewPrivileges }},
		{opts: []string{"no-new-privileges=false"}, check: func(s securityOpts) bool { return !*s.noNewPrivileges }},
		{opts: []string{"no-new-privileges:true"}, check: func(s securityOpts) bool { return *s.noNewPrivileges }},
		{opts: []string{"seccomp=unconfined", "apparmor=docker-default", "label=disable"}, check: func(s securityOpts) bool {
			return s.seccomp == "unconfined" && s.apparmor == "docker-default" && slices.Equal(s.labels, []string{"disable"})
		}},
		{opts: []string{"seccomp={\"a\":1}"}, check: func(s securityOpts) bool { return s.seccomp == `{"a":1}` }},
		{opts: nil, check: func(s securityOpts) bool { return s.noNewPrivileges == nil && s.seccomp == "" }},
		{opts: []string{"writable-cgroups=true"}, check: func(s securityOpts) bool { return s.writableCgroups }},
		{opts: []string{"writable-cgroups=maybe"}, wantErr: `invalid --security-opt 2: "writable-cgroups=maybe"`},
		{opts: []string{"bogus"}, wantErr: `invalid --security-opt 1: "bogus"`},
		{opts: []string{"bogus=1"}, wantErr: `invalid --security-opt 2: "bogus=1"`},
		{opts: []string{"no-new-privileges=maybe"}, wantErr: `invalid --security-opt 2: "no-new-privileges=maybe"`},
	}
	for _, tc := range cases {
		so, err := parseSecurityOpts(tc.opts)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: got %v, want %s", tc.opts, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !tc.check(so) {
			t.Errorf("%q: got %+v, %v", tc.opts, so, err)
		}
	}
}

func TestSeccompOptChoice(t *testing.T) {
	cases := []struct {
		name      string
		hc        container.HostConfig
		daemon    string
		wantNil   bool
		wantErrIn string
	}{
		{name: "default", wantNil: false},
		{name: "privileged", hc: container.HostConfig{Privileged: true}, wantNil: true},
		{name: "unconfined", hc: container.HostConfig{SecurityOpt: []string{"seccomp=unconfined"}}, wantNil: true},
		{name: "daemon unconfined", daemon: "unconfined", wantNil: true},
		{name: "container overrides daemon", daemon: "unconfined", hc: container.HostConfig{SecurityOpt: []string{"seccomp=builtin"}}},
		{name: "bad json", hc: container.HostConfig{SecurityOpt: []string{"seccomp={"}}, wantErrIn: "decoding seccomp profile failed"},
	}
	for _, tc := range cases {
		so, err := parseSecurityOpts(tc.hc.SecurityOpt)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := seccompOpt(&tc.hc, so, tc.daemon)
		if tc.wantErrIn != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrIn) {
				t.Errorf("%s: got %v", tc.name, err)
			}
			continue
		}
		if err != nil || (opt == nil) != tc.wantNil {
			t.Errorf("%s: got nil=%v, %v", tc.name, opt == nil, err)
		}
	}
}

func TestLoadSeccompProfile(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}}}
	native := nativeArch[runtime.GOARCH]
	profile := `{
	  "defaultAction": "SCMP_ACT_ERRNO",
	  "archMap": [{"architecture": "` + string(native) + `", "subArchitectures": ["SCMP_ARCH_X86"]},
	              {"architecture": "SCMP_ARCH_NOPE", "subArchitectures": []}],
	  "syscalls": [
	    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
	    {"name": "chown", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_CHOWN"]}},
	    {"name": "reboot", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
	    {"name": "mount", "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_CHOWN"]}},
	    {"name": "ptrace", "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["` + runtime.GOARCH + `"]}},
	    {"name": "kexec_load", "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["nope"]}},
	    {"name": "futex", "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "1.0"}},
	    {"name": "open_tree", "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}}
	  ]
	}`
	sc, err := loadSeccompProfile([]byte(profile), spec)
	if err != nil {
		t.Fatal(err)
	}
	if sc.DefaultAction != specs.ActErrno {
		t.Errorf("default action %q", sc.DefaultAction)
	}
	if want := []specs.Arch{native, specs.ArchX86}; !slices.Equal(sc.Architectures, want) {
		t.Errorf("architectures %v, want %v", sc.Architectures, want)
	}
	var names []string
	for _, r := range sc.Syscalls {
		names = append(names, strings.Join(r.Names, "+"))
	}
	if want := []string{"read+write", "chown", "ptrace", "futex"}; !slices.Equal(names, want) {
		t.Errorf("rules %v, want %v", names, want)
	}

	bad := []struct{ profile, err string }{
		{`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86"}]}`, "both 'architectures' and 'archMap'"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}`, "use either 'name' or 'names'"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","action":"SCMP_ACT_ALLOW","includes":{"minKernel":"x"}}]}`, "invalid kernel version"},
		{`not json`, "decoding seccomp profile failed"},
	}
	for _, b := range bad {
		if _, err := loadSeccompProfile([]byte(b.profile), spec); err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("%s: got %v, want %q", b.profile, err, b.err)
		}
	}
	if sc, err := loadSeccompProfile([]byte(`{}`), spec); sc != nil || err != nil {
		t.Errorf("empty profile: %v, %v", sc, err)
	}
}

// TestDefaultSeccompArchitectures: the default filter keeps every
// architecture of dockerd's profile the kernel runs, and x32 only where
// the kernel has the x32 ABI.
func TestDefaultSeccompArchitectures(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the x32 ABI exists on amd64 only")
	}
	s := &oci.Spec{Linux: &specs.Linux{}, Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	if err := withDefaultSeccomp(context.Background(), nil, &containers.Container{}, s); err != nil {
		t.Fatal(err)
	}
	archs := s.Linux.Seccomp.Architectures
	for _, a := range []specs.Arch{specs.ArchX86_64, specs.ArchX86} {
		if !slices.Contains(archs, a) {
			t.Errorf("%s missing from %v", a, archs)
		}
	}
	if got := slices.Contains(archs, specs.ArchX32); got != x32Supported() {
		t.Errorf("x32 in the filter: %v, the kernel runs x32: %v", got, x32Supported())
	}
}
