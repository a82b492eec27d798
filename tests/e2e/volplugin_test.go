package e2e

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const volPlugin = "roost-e2e-volplug"

// startVolPlugin builds tests/volplugin and serves it as volPlugin in
// the daemon's plugin directory ($XDG_RUNTIME_DIR/roost/plugins, beside
// docker.sock); it returns the directory holding the plugin's volumes.
func startVolPlugin(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(harness.dockerHost)
	if err != nil || u.Scheme != "unix" {
		t.Skipf("DOCKER_HOST %q is not a unix socket", harness.dockerHost)
	}
	plugDir := filepath.Join(filepath.Dir(u.Path), "roost", "plugins")
	if _, err := os.Stat(plugDir); err != nil {
		if harness.managed {
			t.Fatalf("roostd made no plugin directory: %v", err)
		}
		t.Skipf("the daemon has no roost plugin directory %s", plugDir)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "volplugin")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "../volplugin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building volplugin: %v\n%s", err, out)
	}
	root, err := os.MkdirTemp("", "roost-e2e-volplug-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	// The daemon may run as another user: it binds these directories.
	for _, d := range []string{root, filepath.Join(root, "volplug-pre")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(plugDir, volPlugin+".sock")
	cmd := exec.Command(bin, "-sock", sock, "-root", root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.Remove(sock)
	})
	waitUntil(t, 10*time.Second, "the plugin's socket", func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&0o002 != 0
	})
	return root
}

// TestVolumePlugin drives a volume plugin of dockerd's legacy protocol
// through the docker CLI: create with options, list (including a volume
// the plugin made itself), inspect, mount into containers and unmount at
// stop, remove, and the errors of a plugin that refuses, hangs or is
// missing.
func TestVolumePlugin(t *testing.T) {
	root := startVolPlugin(t)
	// Events of an earlier run against the same daemon are older.
	since := strconv.FormatInt(time.Now().Unix(), 10)
	// Cleanups run last first: the volumes go before the plugin does.
	t.Cleanup(func() { docker(t, "volume", "rm", "-f", "volplug-a", "volplug-b") })
	removeOnCleanup(t, "volplug-holder", "volplug-anon")

	if out := dockerOK(t, "volume", "create", "-d", volPlugin, "--opt", "greeting=hi", "volplug-a"); out != "volplug-a" {
		t.Fatalf("volume create printed %q", out)
	}
	ls := dockerOK(t, "volume", "ls", "--filter", "driver="+volPlugin, "--format", "{{.Driver}} {{.Name}}")
	for _, want := range []string{volPlugin + " volplug-a", volPlugin + " volplug-pre"} {
		if !strings.Contains(ls+"\n", want+"\n") {
			t.Errorf("volume ls does not list %q:\n%s", want, ls)
		}
	}
	got := dockerOK(t, "volume", "inspect", "-f", "{{.Driver}} {{.Mountpoint}} {{.Status.backend}}", "volplug-a")
	if want := volPlugin + " " + filepath.Join(root, "volplug-a") + " volplugin"; got != want {
		t.Errorf("volume inspect: %q, want %q", got, want)
	}

	// The container sees the plugin's directory, and writes land there.
	if out := dockerOK(t, "run", "--rm", "-v", "volplug-a:/data", "busybox", "sh", "-c", "cat /data/greeting && echo w > /data/w"); out != "hi" {
		t.Errorf("the container read %q from the volume", out)
	}
	if b, err := os.ReadFile(filepath.Join(root, "volplug-a", "w")); err != nil || string(b) != "w\n" {
		t.Errorf("the plugin's directory has %q, %v", b, err)
	}

	// Mounted while a container runs, unmounted once it stops.
	mounted := filepath.Join(root, ".mounted", "volplug-a")
	dockerOK(t, "run", "-d", "--name", "volplug-holder", "-v", "volplug-a:/data", "busybox", "sleep", "300")
	waitUntil(t, 10*time.Second, "the plugin to see the mount", func() bool { _, err := os.Stat(mounted); return err == nil })
	if got := inspect(t, "volplug-holder", "{{range .Mounts}}{{.Name}} {{.Driver}}{{end}}"); got != "volplug-a "+volPlugin {
		t.Errorf("inspect Mounts: %q", got)
	}
	// --until one second ahead, so the events of the current second are in.
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	ev := dockerOK(t, "events", "--since", since, "--until", until, "--filter", "type=volume", "--filter", "event=mount",
		"--filter", "volume=volplug-a", "--format", "{{.Actor.ID}} {{.Actor.Attributes.driver}}")
	if lines := strings.Split(ev, "\n"); len(lines) != 2 || lines[0] != lines[1] || lines[0] != "volplug-a "+volPlugin {
		t.Errorf("mount events of volplug-a (two containers): %q", ev)
	}
	if r := docker(t, "volume", "rm", "volplug-a"); r.Err == nil || !strings.Contains(r.Stderr, "volume is in use") {
		t.Errorf("removing a volume in use: %v", r)
	}
	dockerOK(t, "rm", "-f", "volplug-holder")
	waitUntil(t, 10*time.Second, "the plugin to see the unmount", func() bool { _, err := os.Stat(mounted); return os.IsNotExist(err) })

	// A plugin's volume has no size in system df: -1, as dockerd sends it.
	df := dockerOK(t, "system", "df", "-v")
	if !hasLinePrefixFields(df, "volplug-a", "-1B") {
		t.Errorf("system df -v does not give volplug-a the size -1:\n%s", df)
	}

	// --mount with volume-driver creates the volume through the plugin.
	dockerOK(t, "run", "--rm", "--mount", "type=volume,src=volplug-b,dst=/d,volume-driver="+volPlugin, "busybox", "touch", "/d/x")
	if _, err := os.Stat(filepath.Join(root, "volplug-b", "x")); err != nil {
		t.Errorf("--mount volume-driver: %v", err)
	}

	// Anonymous volumes of the plugin: --volume-driver for -v /path,
	// volume-driver for --mount without src; rm -v removes them from it.
	dockerOK(t, "run", "-d", "--name", "volplug-anon", "--volume-driver", volPlugin, "-v", "/anon",
		"--mount", "type=volume,dst=/m,volume-driver="+volPlugin, "busybox", "sleep", "300")
	if got := inspect(t, "volplug-anon", "{{range .Mounts}}{{.Driver}} {{end}}"); got != volPlugin+" "+volPlugin+" " {
		t.Errorf("the anonymous volumes' drivers: %q", got)
	}
	if n := len(hexDirs(t, root)); n != 2 {
		t.Errorf("the plugin has %d anonymous volumes, want 2", n)
	}
	dockerOK(t, "rm", "-f", "-v", "volplug-anon")
	if left := hexDirs(t, root); len(left) != 0 {
		t.Errorf("rm -v left the plugin's anonymous volumes %v", left)
	}

	dockerOK(t, "volume", "rm", "volplug-a", "volplug-b")
	if _, err := os.Stat(filepath.Join(root, "volplug-a")); !os.IsNotExist(err) {
		t.Errorf("the plugin still has the removed volume: %v", err)
	}

	// A plugin's error is the user's message, and nothing is left.
	r := docker(t, "volume", "create", "-d", volPlugin, "volplug-fail")
	if r.Err == nil || !strings.Contains(r.Stderr, "create volplug-fail: volplugin: refusing to create volplug-fail") {
		t.Errorf("a refused create: %v", r)
	}
	if r := docker(t, "volume", "inspect", "volplug-fail"); r.Err == nil {
		t.Errorf("a refused volume exists: %v", r)
	}
	// A plugin that hangs times out with a clear message; the daemon
	// still answers.
	start := time.Now()
	r = docker(t, "volume", "create", "-d", volPlugin, "volplug-hang")
	if r.Err == nil || !strings.Contains(r.Stderr, `volume plugin "`+volPlugin+`" did not answer within`) {
		t.Errorf("a hanging create: %v", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a hanging plugin held the request for %s", d)
	}
	dockerOK(t, "volume", "ls", "-q")
	if r := docker(t, "volume", "create", "-d", "roost-e2e-nosuch", "volplug-x"); r.Err == nil ||
		!strings.Contains(r.Stderr, `error looking up volume plugin roost-e2e-nosuch: plugin "roost-e2e-nosuch" not found`) {
		t.Errorf("an unknown plugin: %v", r)
	}
}

// hasLinePrefixFields reports whether text has a line whose first field
// is first and whose last field is last.
func hasLinePrefixFields(text, first, last string) bool {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == first && f[len(f)-1] == last {
			return true
		}
	}
	return false
}

// hexDirs lists the directories of dir named like anonymous volumes.
func hexDirs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && len(n) == 64 && strings.Trim(n, "0123456789abcdef") == "" {
			out = append(out, n)
		}
	}
	return out
}
