package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestBundleOf(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		bundle string
		ok     bool
	}{
		// How containerd's shim runs it (go-runc).
		{[]string{"--root", "/run/containerd/runc/roost", "--log", "/b/log.json", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "id1"}, "/b", true},
		{[]string{"--root=/r", "--systemd-cgroup", "run", "-b", "/c", "id"}, "/c", true},
		{[]string{"create", "--bundle=/d", "id"}, "/d", true},
		{[]string{"--debug", "run", "id"}, ".", true},
		{[]string{"--root", "/r", "start", "id"}, "", false},
		{[]string{"--root", "/r", "exec", "--process", "/p.json", "id"}, "", false},
		{[]string{"--version"}, "", false},
		{nil, "", false},
	} {
		bundle, ok := bundleOf(tc.args)
		if bundle != tc.bundle || ok != tc.ok {
			t.Errorf("bundleOf(%q) = %q, %v; want %q, %v", tc.args, bundle, ok, tc.bundle, tc.ok)
		}
	}
}

func TestDropTTYGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	in := `{"ociVersion":"1.2.0","process":{"args":["sh","-c","a && b > c"]},"futureField":{"x":[1,2.5e300]},
"mounts":[{"destination":"/proc","type":"proc","source":"proc"},
{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["gid=5","size=65536k"]}]}`
	if err := os.WriteFile(path, []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := dropTTYGroup(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Process struct{ Args []string }
		Future  json.RawMessage `json:"futureField"`
		Mounts  []struct {
			Destination string
			Options     []string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/proc":    nil,
		"/dev/pts": {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"},
		"/dev/shm": {"gid=5", "size=65536k"}, // only /dev/pts changes
	}
	for _, m := range got.Mounts {
		if !reflect.DeepEqual(m.Options, want[m.Destination]) {
			t.Errorf("%s options %q, want %q", m.Destination, m.Options, want[m.Destination])
		}
	}
	if len(got.Mounts) != 3 || string(got.Future) != `{"x":[1,2.5e300]}` || got.Process.Args[2] != "a && b > c" {
		t.Errorf("other fields changed:\n%s", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode: %v %v", fi.Mode(), err)
	}
}
