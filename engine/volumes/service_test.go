package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/store"
)

type fakeUsage map[string][]string

func (f fakeUsage) VolumeInUse(_ context.Context, name string) ([]string, error) { return f[name], nil }

func newTest(t *testing.T, usage fakeUsage) *Service {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "roost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Options{Store: st, Root: filepath.Join(dir, "volumes"), Usage: usage})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateValidates(t *testing.T) {
	s := newTest(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name, driver string
		opts         map[string]string
		wantErr      func(error) bool
		msg          string
	}{
		{name: "v1"},
		{name: "v1"}, // existing: returned again
		{name: "a.b_c-d"},
		{name: "x!", wantErr: errdefs.IsInvalidArgument, msg: `create x!: "x!" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{name: "_x", wantErr: errdefs.IsInvalidArgument},
		{name: "p", driver: "nfsplug", wantErr: errdefs.IsNotFound, msg: `error looking up volume plugin nfsplug: plugin "nfsplug" not found`},
		{name: "o1", opts: map[string]string{"type": "tmpfs"}, wantErr: errdefs.IsInvalidArgument},
	} {
		v, err := s.Create(ctx, tc.name, tc.driver, tc.opts, map[string]string{"k": "v"})
		if tc.wantErr != nil {
			if err == nil || !tc.wantErr(err) || (tc.msg != "" && err.Error() != tc.msg) {
				t.Fatalf("%s: got %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fi, err := os.Stat(v.Mountpoint)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 || filepath.Base(v.Mountpoint) != "_data" {
			t.Fatalf("%s: mountpoint %s: %v %v", tc.name, v.Mountpoint, fi, err)
		}
		if v.Driver != "local" || v.Scope != "local" || v.Labels["k"] != "v" || v.CreatedAt == "" {
			t.Fatalf("%s: %+v", tc.name, v)
		}
	}
}

func TestRemoveInUseListPrune(t *testing.T) {
	usage := fakeUsage{}
	s := newTest(t, usage)
	ctx := context.Background()
	if _, err := s.Create(ctx, "named", "", nil, map[string]string{"team": "a"}); err != nil {
		t.Fatal(err)
	}
	used, err := s.Create(ctx, "used", "local", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := s.CreateAnonymous(ctx, "", nil)
	if err != nil || len(anon) != 64 {
		t.Fatalf("anonymous %q: %v", anon, err)
	}
	generated, err := s.Create(ctx, "", "", nil, nil)
	if err != nil || len(generated.Name) != 64 {
		t.Fatalf("generated name %v: %v", generated, err)
	}
	if err := s.Remove(ctx, generated.Name, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(used.Mountpoint, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	usage["used"] = []string{"c1"}

	err = s.Remove(ctx, "used", true)
	if !errdefs.IsConflict(err) || err.Error() != "remove used: volume is in use - [c1]" {
		t.Fatalf("remove in use: %v", err)
	}
	if err := s.Remove(ctx, "nosuch", false); !errdefs.IsNotFound(err) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := s.Remove(ctx, "nosuch", true); err != nil {
		t.Fatalf("remove -f missing: %v", err)
	}

	names := func(f map[string][]string) string {
		vs, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			if len(v.Name) == 64 {
				out = append(out, "anon")
			} else {
				out = append(out, v.Name)
			}
		}
		return strings.Join(out, ",")
	}
	for f, want := range map[string]string{
		"":               "anon,named,used",
		"name=nam":       "named",
		"label=team=a":   "named",
		"label=team":     "named",
		"dangling=true":  "anon,named",
		"dangling=false": "used",
		"driver=local":   "anon,named,used",
		"driver=other":   "",
	} {
		filters := map[string][]string{}
		if k, v, ok := strings.Cut(f, "="); ok {
			filters[k] = []string{v}
		}
		if got := names(filters); got != want {
			t.Errorf("filter %s: %s, want %s", f, got, want)
		}
	}
	if _, err := s.List(ctx, map[string][]string{"bogus": {"x"}}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad filter: %v", err)
	}

	rep, err := s.Prune(ctx, nil)
	if err != nil || len(rep.VolumesDeleted) != 1 || rep.VolumesDeleted[0] != anon {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	rep, err = s.Prune(ctx, map[string][]string{"all": {"true"}})
	if err != nil || len(rep.VolumesDeleted) != 1 || rep.VolumesDeleted[0] != "named" {
		t.Fatalf("prune all: %+v %v", rep, err)
	}
	delete(usage, "used")
	rep, err = s.Prune(ctx, map[string][]string{"all": {"1"}})
	if err != nil || len(rep.VolumesDeleted) != 1 || rep.SpaceReclaimed != 5 {
		t.Fatalf("prune all again: %+v %v", rep, err)
	}
	if _, err := os.Stat(used.Mountpoint); !os.IsNotExist(err) {
		t.Fatalf("data left behind: %v", err)
	}
}
