package containers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/roostd/roost/engine/volumes"
)

// withVolumes gives the env's service a volume service.
func (e *env) withVolumes() *volumes.Service {
	e.t.Helper()
	vs, err := volumes.New(volumes.Options{Store: e.st, Root: filepath.Join(e.dir, "data", "volumes")})
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc.opts.Volumes = vs
	vs.SetContainerUsage(e.svc)
	return vs
}

func (e *env) runToEnd(id string) {
	e.t.Helper()
	if err := e.svc.Start(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
	if r := e.wait(id, container.WaitConditionNotRunning); r.StatusCode != 0 {
		out, errOut := e.logs(id)
		e.t.Fatalf("exit %d: %s %s", r.StatusCode, out, errOut)
	}
}

func TestNamedVolumeShared(t *testing.T) {
	e := newEnv(t)
	vs := e.withVolumes()
	ctx := context.Background()

	w := e.create("writer", sh("echo hi > /data/f"), container.HostConfig{Binds: []string{"shared:/data"}})
	e.runToEnd(w)
	r := e.create("reader", sh("cat /d/f; touch /d/g 2>/dev/null || echo ro"), container.HostConfig{
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "shared", Target: "/d", ReadOnly: true}},
	})
	e.runToEnd(r)
	if out, _ := e.logs(r); out != "hi\nro\n" {
		t.Fatalf("reader saw %q", out)
	}
	mp := e.inspect("reader").Mounts
	if len(mp) != 1 || mp[0].Type != mount.TypeVolume || mp[0].Name != "shared" || mp[0].RW || mp[0].Driver != "local" ||
		mp[0].Source != vs.Mountpoint("shared") || mp[0].Destination != "/d" {
		t.Fatalf("mounts %+v", mp)
	}
	waitFor(t, "volume events", func() bool {
		return strings.Join(e.events.actions("shared"), " ") == "mount unmount mount unmount"
	})
	users, _ := e.svc.VolumeInUse(ctx, "shared")
	if len(users) != 2 {
		t.Fatalf("users %v", users)
	}
	if err := vs.Remove(ctx, "shared", false); !errdefs.IsConflict(err) {
		t.Fatalf("remove in use: %v", err)
	}
	// rm -v never removes a named volume.
	for _, id := range []string{w, r} {
		if err := e.svc.Remove(ctx, id, false, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vs.Get(ctx, "shared"); err != nil {
		t.Fatalf("named volume gone: %v", err)
	}
	if err := vs.Remove(ctx, "shared", false); err != nil {
		t.Fatal(err)
	}
}

func TestAnonymousVolumes(t *testing.T) {
	e := newEnv(t)
	vs := e.withVolumes()
	ctx := context.Background()
	cfg := sh("echo x > /a/x; echo y > /b/y")
	cfg.Volumes = map[string]struct{}{"/a": {}}
	id := e.create("anon", cfg, container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Target: "/b"}}})
	e.runToEnd(id)
	var names []string
	for _, m := range e.inspect(id).Mounts {
		if m.Type != mount.TypeVolume || len(m.Name) != 64 {
			t.Fatalf("mount %+v", m)
		}
		names = append(names, m.Name)
	}
	if len(names) != 2 {
		t.Fatalf("mounts: %v", names)
	}
	if err := e.svc.Remove(ctx, id, false, true); err != nil {
		t.Fatal(err)
	}
	list, err := vs.List(ctx, nil)
	if err != nil || len(list) != 0 {
		t.Fatalf("left after rm -v: %v %v", list, err)
	}

	// A new volume over an image directory starts with its content
	// (copy-up); nocopy and a volume with data already do not. The
	// /etc files roost binds stay visible over a volume on /etc.
	cp := e.create("", sh("cat /etc/group >/dev/null && ls /etc; ls /usr/sbin | wc -l"), container.HostConfig{
		Binds:  []string{"etcvol:/etc"},
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "ncvol", Target: "/usr/sbin", VolumeOptions: &mount.VolumeOptions{NoCopy: true}}},
	})
	e.runToEnd(cp)
	if out, _ := e.logs(cp); !strings.Contains(out, "passwd") || !strings.Contains(out, "hostname") || !strings.HasSuffix(out, "0\n") {
		t.Fatalf("copy-up: %q", out)
	}
	if err := e.svc.Remove(ctx, cp, false, true); err != nil {
		t.Fatal(err)
	}

	// Without a volume service volumes are refused.
	e.svc.opts.Volumes = nil
	_, err = e.svc.Create(ctx, "", &container.CreateRequest{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{Binds: []string{"v:/d"}}})
	if !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "volumes") {
		t.Fatalf("without volumes: %v", err)
	}
}
