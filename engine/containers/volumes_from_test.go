package containers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

func TestParseVolumesFrom(t *testing.T) {
	for _, tc := range []struct {
		spec, ref string
		rw        bool
		err       string
	}{
		{spec: "data", ref: "data", rw: true},
		{spec: "data:rw", ref: "data", rw: true},
		{spec: "data:ro", ref: "data"},
		{spec: "data:ro,z", ref: "data"},
		{spec: "data:z,cached", ref: "data", rw: true},
		{spec: "", err: "volumes-from specification cannot be an empty string"},
		{spec: "data:rw,ro", err: "invalid mode: rw,ro"},
		{spec: "data:rshared", err: "invalid mode: rshared"},
		{spec: "data:nocopy", err: "invalid mode: nocopy"},
		{spec: "data:bogus", err: "invalid mode: bogus"},
	} {
		ref, rw, err := parseVolumesFrom(tc.spec)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || ref != tc.ref || rw != tc.rw {
			t.Errorf("%q: got %q %v %v", tc.spec, ref, rw, err)
		}
	}
}

func TestInheritedMount(t *testing.T) {
	ro := inheritedMount(parsedMount{typ: mount.TypeVolume, source: "v", target: "/d", rw: true, subpath: "a"}, false)
	if !ro.ReadOnly || ro.VolumeOptions == nil || !ro.VolumeOptions.NoCopy || ro.VolumeOptions.Subpath != "a" || ro.Source != "v" {
		t.Errorf(":ro volume: %+v", ro)
	}
	// :rw cannot make a read-only mount writable.
	b := inheritedMount(parsedMount{typ: mount.TypeBind, source: "/h", target: "/b", propagation: mount.PropagationRSlave}, true)
	if !b.ReadOnly || b.BindOptions == nil || b.BindOptions.Propagation != mount.PropagationRSlave {
		t.Errorf("read-only bind: %+v", b)
	}
}

func TestParseMountsTargetsAndTmpfs(t *testing.T) {
	for _, tc := range []struct {
		name string
		hc   container.HostConfig
		err  string
		opts []string
	}{
		{name: "tmpfs relative", hc: container.HostConfig{Tmpfs: map[string]string{"rel": ""}},
			err: "invalid mount path: 'rel' mount path must be absolute"},
		{name: "tmpfs root", hc: container.HostConfig{Tmpfs: map[string]string{"//": ""}},
			err: "invalid specification: destination can't be '/'"},
		{name: "bind on root", hc: container.HostConfig{Binds: []string{"/tmp:/"}},
			err: `invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`},
		{name: "volume relative", hc: container.HostConfig{Binds: []string{"v:rel"}},
			err: `invalid volume specification: 'v:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`},
		{name: "mount without target", hc: container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume}}},
			err: `invalid mount config for type "volume": field Target must not be empty`},
		{name: "tmpfs with source", hc: container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Source: "x", Target: "/t"}}},
			err: `invalid mount config for type "tmpfs": field Source must not be specified`},
		{name: "tmpfs bad option", hc: container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/t",
			TmpfsOptions: &mount.TmpfsOptions{Options: [][]string{{"uid", "0"}}}}}},
			err: `invalid mount config for type "tmpfs": invalid option: uid`},
		{name: "tmpfs options", hc: container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/t", ReadOnly: true,
			TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1770, Options: [][]string{{"exec"}}}}}},
			opts: []string{"ro", "mode=1770", "size=64m", "exec"}},
		{name: "tmpfs odd size", hc: container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/t",
			TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1000}}}},
			opts: []string{"size=1000"}},
	} {
		ms, err := parseMounts(&tc.hc)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(ms) != 1 || !slices.Equal(ms[0].options, tc.opts) {
			t.Errorf("%s: %+v %v, want options %s", tc.name, ms, err, strings.Join(tc.opts, ","))
		}
	}
}

func TestSubpath(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    mount.Mount
		err  string
	}{
		{name: "ok", m: mount.Mount{Type: mount.TypeVolume, Source: "v", Target: "/d", VolumeOptions: &mount.VolumeOptions{Subpath: "a/b"}}},
		{name: "dotdot", m: mount.Mount{Type: mount.TypeVolume, Source: "v", Target: "/d", VolumeOptions: &mount.VolumeOptions{Subpath: "a/../../b"}},
			err: `invalid mount config for type "volume": subpath must be a relative path within the volume`},
		{name: "absolute", m: mount.Mount{Type: mount.TypeVolume, Source: "v", Target: "/d", VolumeOptions: &mount.VolumeOptions{Subpath: "/etc"}},
			err: `invalid mount config for type "volume": subpath must be a relative path within the volume`},
		{name: "anonymous", m: mount.Mount{Type: mount.TypeVolume, Target: "/d", VolumeOptions: &mount.VolumeOptions{Subpath: "a"}},
			err: `invalid mount config for type "volume": must not set Subpath when using anonymous volumes`},
	} {
		_, err := parseMounts(&container.HostConfig{Mounts: []mount.Mount{tc.m}})
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}

	dir := t.TempDir()
	outside := t.TempDir()
	for _, p := range []string{"in/deep"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("in/deep", filepath.Join(dir, "rel")); err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]string{
		"in/deep": "",
		"rel":     "",
		"out":     "path out escapes base path " + dir,
		"nosuch":  "cannot access path " + filepath.Join(dir, "nosuch") + ": no such file or directory",
	} {
		err := checkSubpathOnDisk(dir, sub)
		if want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("subpath %s: %v, want %q", sub, err, want)
		}
	}
}
