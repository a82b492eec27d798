package containers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"golang.org/x/sys/unix"
)

// fakeNet records the networker calls.
type fakeNet struct {
	mu       sync.Mutex
	attached []string // id + " " + the netns inode seen at Attach
	cleaned  []string
}

func (f *fakeNet) Attach(_ context.Context, req NetworkRequest) (*NetworkAttachment, error) {
	// The namespace as readlink of /proc/self/ns/net names it, whether
	// NetNS is such a link or the bind mount of one.
	var st unix.Stat_t
	if err := unix.Stat(req.NetNS, &st); err != nil {
		return nil, fmt.Errorf("netns %s: %w", req.NetNS, err)
	}
	ino := fmt.Sprintf("net:[%d]", st.Ino)
	f.mu.Lock()
	f.attached = append(f.attached, req.ID+" "+ino)
	f.mu.Unlock()
	return &NetworkAttachment{}, nil
}

func (f *fakeNet) Detach(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleaned = append(f.cleaned, id)
	return nil
}

func (f *fakeNet) CheckCreate(context.Context, *container.Config, *container.HostConfig, *network.NetworkingConfig) error {
	return nil
}

func (f *fakeNet) SeccompListener(string, *container.Config) string { return "" }

func (f *fakeNet) Prepare(context.Context, NetworkRequest) error { return nil }

func (f *fakeNet) Settings(string) *container.NetworkSettings { return nil }

func TestRunOptions(t *testing.T) {
	e := newEnv(t)
	net := &fakeNet{}
	e.svc.opts.Network = net
	ctx := context.Background()
	run := func(name string, cfg container.Config, hc container.HostConfig) (stdout string, code int64) {
		t.Helper()
		id := e.create(name, cfg, hc)
		if err := e.svc.Start(ctx, id); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		resp := e.wait(id, container.WaitConditionNotRunning)
		out, errOut := e.logs(id)
		if errOut != "" {
			t.Logf("%s stderr: %s", name, errOut)
		}
		return out, resp.StatusCode
	}

	// The default network: the networker joins the task's own namespace
	// before it starts, and cleans up after the exit.
	out, _ := run("netdefault", sh("readlink /proc/self/ns/net"), container.HostConfig{})
	net.mu.Lock()
	if len(net.attached) != 1 || !strings.HasSuffix(net.attached[0], " "+strings.TrimSpace(out)) || len(net.cleaned) != 1 {
		t.Fatalf("networker: attached %v, cleaned %v, container saw %q", net.attached, net.cleaned, out)
	}
	net.mu.Unlock()

	// A container whose spec names its namespace under another state
	// directory (the runtime directory moved since its create) starts with
	// one under the current one.
	id := e.create("netmoved", sh("readlink /proc/self/ns/net"), container.HostConfig{})
	old := e.svc.opts.StateDir
	e.svc.opts.StateDir = t.TempDir()
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatalf("start after the state directory moved: %v", err)
	}
	e.wait(id, container.WaitConditionNotRunning)
	net.mu.Lock()
	if n := len(net.attached); n != 2 || !strings.HasPrefix(net.attached[1], id+" net:[") {
		t.Errorf("networker after the move: attached %v", net.attached)
	}
	net.attached = net.attached[:1]
	net.mu.Unlock()
	e.svc.opts.StateDir = old

	hostNS, _ := os.Readlink("/proc/self/ns/net")
	out, _ = run("nethost", sh("readlink /proc/self/ns/net; hostname"), container.HostConfig{NetworkMode: "host"})
	host, _ := os.Hostname()
	if out != hostNS+"\n"+host+"\n" {
		t.Fatalf("host network: %q, want %q", out, hostNS)
	}
	out, _ = run("netnone", sh("ls /sys/class/net"), container.HostConfig{NetworkMode: "none"})
	if out != "lo\n" {
		t.Fatalf("none: %q", out)
	}
	net.mu.Lock()
	if len(net.attached) != 1 {
		t.Fatalf("networker called for host or none: %v", net.attached)
	}
	net.mu.Unlock()

	// User, working directory, environment, binds, tmpfs, read-only rootfs.
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // the container runs as nobody
	if err := os.WriteFile(filepath.Join(dir, "in"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run("opts", container.Config{
		Cmd:        []string{"sh", "-c", `id -u; pwd; echo $FOO $HOSTNAME; cat /data/in; echo out > /data/out; touch /scratch/x && echo tmpfs-ok; touch /nope 2>/dev/null || echo ro-ok`},
		User:       "nobody",
		WorkingDir: "/tmp",
		Env:        []string{"FOO=bar"},
		Hostname:   "myhost",
	}, container.HostConfig{
		Binds:          []string{dir + ":/data"},
		Tmpfs:          map[string]string{"/scratch": "mode=1777"},
		ReadonlyRootfs: true,
	})
	want := "65534\n/tmp\nbar myhost\nfrom host\ntmpfs-ok\nro-ok\n"
	if code != 0 || out != want {
		t.Fatalf("options: code %d, %q, want %q", code, out, want)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "out")); err != nil || string(data) != "out\n" {
		t.Fatalf("bind write: %q %v", data, err)
	}

	// /etc/hosts, /etc/resolv.conf and --add-host.
	out, _ = run("etc", sh("cat /etc/hostname; grep -c localhost /etc/hosts; grep myalias /etc/hosts; grep -c nameserver /etc/resolv.conf"),
		container.HostConfig{ExtraHosts: []string{"myalias:192.0.2.1"}})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[1] != "2" || lines[2] != "192.0.2.1\tmyalias" || lines[3] == "0" {
		t.Fatalf("etc files: %q", out)
	}

	// An unknown user is the user's mistake.
	cfg := container.Config{Image: "busybox", Cmd: []string{"true"}, User: "nosuchuser"}
	if _, err := e.svc.Create(ctx, "", &container.CreateRequest{Config: &cfg, HostConfig: &container.HostConfig{}}); !errdefs.IsInvalidArgument(err) ||
		err.Error() != "unable to find user nosuchuser: no matching entries in passwd file" {
		t.Fatalf("unknown user: %v", err)
	}
	// Named volumes are not supported yet, and say so.
	cfg = container.Config{Image: "busybox", Cmd: []string{"true"}}
	if _, err := e.svc.Create(ctx, "", &container.CreateRequest{Config: &cfg, HostConfig: &container.HostConfig{Binds: []string{"vol:/data"}}}); !errdefs.IsNotImplemented(err) {
		t.Fatalf("named volume: %v", err)
	}
}
