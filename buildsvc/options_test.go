package buildsvc

import (
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func strp(s string) *string { return &s }

func TestFrontendAttrs(t *testing.T) {
	attrs, err := frontendAttrs(BuildOptions{
		BuildArgs:   map[string]*string{"V": strp("2"), "UNSET": nil},
		Labels:      map[string]string{"team": "birds"},
		Target:      "runtime",
		NoCache:     true,
		Pull:        true,
		Platform:    "linux/amd64",
		NetworkMode: "none",
		ExtraHosts:  []string{"a:10.0.0.1", "b=10.0.0.2", "c:[::1]"},
		ShmSize:     128 << 20,
		Ulimits:     []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"build-arg:V":        "2",
		"label:team":         "birds",
		"target":             "runtime",
		"no-cache":           "",
		"image-resolve-mode": "pull",
		"platform":           "linux/amd64",
		"force-network-mode": "none",
		"add-hosts":          "a=10.0.0.1,b=10.0.0.2,c=::1",
		"shm-size":           "131072",
		"ulimit":             "nofile=1024:2048",
	}
	for k, v := range want {
		if got, ok := attrs[k]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := attrs["build-arg:UNSET"]; ok {
		t.Error("a nil build arg was passed on")
	}
	if len(attrs) != len(want) {
		t.Errorf("extra attributes: %v", attrs)
	}
	// Without --pull, a local image is used without asking its registry.
	attrs, _ = frontendAttrs(BuildOptions{})
	if attrs["image-resolve-mode"] != "local" {
		t.Errorf("image-resolve-mode = %q without pull, want local", attrs["image-resolve-mode"])
	}
}

func TestFrontendAttrsInvalid(t *testing.T) {
	for name, o := range map[string]BuildOptions{
		"network":   {NetworkMode: "mynet"},
		"platform":  {Platform: "linux/amd64/v9/what"},
		"extrahost": {ExtraHosts: []string{"nohost"}},
		"shmsize":   {ShmSize: -1},
	} {
		if _, err := frontendAttrs(o); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
}

func TestParseTags(t *testing.T) {
	tags, err := parseTags([]string{"app", "app:1", "localhost:5000/a/b:2", ""})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, t := range tags {
		got = append(got, t.String())
	}
	want := []string{"docker.io/library/app:latest", "docker.io/library/app:1", "localhost:5000/a/b:2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tag %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"Bad", "app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "a b"} {
		if _, err := parseTags([]string{bad}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: got %v, want InvalidArgument", bad, err)
		}
	}
}

func TestDaemonEnv(t *testing.T) {
	c := Config{StateDir: "/run/user/1/roost", Env: []string{"PATH=/bin", "XDG_RUNTIME_DIR=/run/user/1", "HOME=/h"}}
	env := c.env()
	want := []string{"PATH=/bin", "HOME=/h", "XDG_RUNTIME_DIR=/run/user/1/roost/buildkit"}
	if len(env) != len(want) {
		t.Fatalf("env %q, want %q", env, want)
	}
	for i := range want {
		if env[i] != want[i] {
			t.Errorf("env[%d] = %q, want %q", i, env[i], want[i])
		}
	}
}
