package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// netechoImage is a one-binary image of tests/netecho, built once.
const netechoImage = "roost-e2e-netecho:1"

var netechoOnce struct {
	sync.Once
	err error
}

// needNetecho builds tests/netecho and imports it as netechoImage.
func needNetecho(t *testing.T) {
	t.Helper()
	netechoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roost-netecho-")
		if err != nil {
			netechoOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "netecho")
		build := exec.Command("go", "build", "-o", bin, "../netecho")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		if out, err := build.CombinedOutput(); err != nil {
			netechoOnce.err = &buildError{out: string(out), err: err}
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			netechoOnce.err = err
			return
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "netecho", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
		_ = tw.Close()
		tarPath := filepath.Join(dir, "netecho.tar")
		if err := os.WriteFile(tarPath, buf.Bytes(), 0o644); err != nil {
			netechoOnce.err = err
			return
		}
		if r := docker(t, "import", "--change", `ENTRYPOINT ["/netecho"]`, tarPath, netechoImage); r.Err != nil {
			netechoOnce.err = &buildError{out: r.String(), err: r.Err}
		}
	})
	if netechoOnce.err != nil {
		t.Fatalf("building the netecho image: %v", netechoOnce.err)
	}
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// TestPublishedUDPPort: a datagram sent to a published UDP port reaches
// the container, and its answer comes back.
func TestPublishedUDPPort(t *testing.T) {
	needNetecho(t)
	removeOnCleanup(t, "nets-udpecho")
	dockerOK(t, "run", "-d", "--name", "nets-udpecho", "-p", "127.0.0.1:28091:7/udp", netechoImage, "-udp", ":7")
	c, err := net.Dial("udp", "127.0.0.1:28091")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 512)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			if got := string(buf[:n]); !strings.HasPrefix(got, "peer ") || !strings.HasSuffix(got, " hello") {
				t.Fatalf("answer %q, want peer <addr> hello", got)
			}
			return
		}
	}
	t.Fatal("no answer from the published UDP port within 15s")
}

// TestPublishedRandomPort: -p with no host port gets one the user can
// read with docker port and connect to.
func TestPublishedRandomPort(t *testing.T) {
	needNetecho(t)
	removeOnCleanup(t, "nets-random")
	dockerOK(t, "run", "-d", "--name", "nets-random", "-p", "127.0.0.1::7", netechoImage, "-tcp", ":7")
	addr := dockerOK(t, "port", "nets-random", "7/tcp")
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:0" {
		t.Fatalf("docker port: %q", addr)
	}
	line := readFirstLine(t, addr)
	if !strings.HasPrefix(line, "peer ") {
		t.Fatalf("first line %q, want peer <addr>", line)
	}
}

func readFirstLine(t *testing.T, addr string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			last = err
			continue
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil {
			return strings.TrimSpace(line)
		}
		last = err
	}
	t.Fatalf("nothing read from %s within 15s: %v", addr, last)
	return ""
}

// testHost is a network namespace with a veth to the host, the only kind
// of remote host the tests may talk to: 10.213.0.1 on the host's side,
// 10.213.0.2 inside.
type testHost struct{ ns string }

const (
	testHostNS     = "roost-e2e-client"
	testHostAddr   = "10.213.0.2"
	testHostGWAddr = "10.213.0.1"
)

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace for a remote test host needs root (CI runs as root)")
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(testenv.Sbin("ip"), args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	_ = exec.Command(testenv.Sbin("ip"), "netns", "del", testHostNS).Run()
	ip("netns", "add", testHostNS)
	t.Cleanup(func() { _ = exec.Command(testenv.Sbin("ip"), "netns", "del", testHostNS).Run() })
	ip("link", "add", "roost-e2e-h", "type", "veth", "peer", "name", "roost-e2e-c")
	t.Cleanup(func() { _ = exec.Command(testenv.Sbin("ip"), "link", "del", "roost-e2e-h").Run() })
	ip("link", "set", "roost-e2e-c", "netns", testHostNS)
	ip("addr", "add", testHostGWAddr+"/30", "dev", "roost-e2e-h")
	ip("link", "set", "roost-e2e-h", "up")
	ip("-n", testHostNS, "addr", "add", testHostAddr+"/30", "dev", "roost-e2e-c")
	ip("-n", testHostNS, "link", "set", "roost-e2e-c", "up")
	ip("-n", testHostNS, "link", "set", "lo", "up")
	return &testHost{ns: testHostNS}
}

// run runs a command inside the test host, bounded in time.
func (h *testHost) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, testenv.Sbin("ip"), append([]string{"netns", "exec", h.ns}, args...)...)
	cmd.WaitDelay = 2 * time.Second
	return cmd.CombinedOutput()
}

// serveHTTP serves an index.html holding token on the test host's port
// 8000 until the test ends.
func (h *testHost) serveHTTP(t *testing.T, token string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(token+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, testenv.Sbin("ip"), "netns", "exec", h.ns, "busybox", "httpd", "-f", "-p", "8000", "-h", dir)
	if err := srv.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
}

// fetchFromTestHost runs a container (with the extra run flags) that gets
// the test host's page, retrying briefly while the server starts.
func fetchFromTestHost(t *testing.T, runFlags ...string) result {
	t.Helper()
	args := append(append([]string{"run", "--rm"}, runFlags...), "busybox", "sh", "-c",
		"for i in 1 2 3 4 5; do timeout 5 wget -qO- http://"+testHostAddr+":8000/ && exit 0; sleep 1; done; exit 1")
	return docker(t, args...)
}

// TestPublishedPortKeepsSourceAddress: a client on another host reaches a
// published port, and the server in the container sees the client's own
// address, not the namespace's or a gateway's.
func TestPublishedPortKeepsSourceAddress(t *testing.T) {
	h := newTestHost(t)
	needNetecho(t)
	removeOnCleanup(t, "nets-srcip")
	dockerOK(t, "run", "-d", "--name", "nets-srcip", "-p", "28092:7", netechoImage, "-tcp", ":7")
	var out []byte
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err = h.run(ctx, "busybox", "sh", "-c", "echo x | busybox nc "+testHostGWAddr+" 28092")
		cancel()
		if err == nil && strings.Contains(string(out), "peer ") {
			break
		}
	}
	if !strings.Contains(string(out), "peer "+testHostAddr+"\n") {
		t.Fatalf("the container saw %q (err %v), want peer %s", out, err, testHostAddr)
	}
}

// TestContainerReachesOutside: a container on the default bridge reaches
// a host outside the engine's namespace (through slirp4netns), and so does
// one on a user-defined network.
func TestContainerReachesOutside(t *testing.T) {
	newTestHost(t).serveHTTP(t, "outside-token")
	t.Cleanup(func() { docker(t, "network", "rm", "nets-outside") })
	dockerOK(t, "network", "create", "nets-outside")
	for _, netw := range []string{"bridge", "nets-outside"} {
		if r := fetchFromTestHost(t, "--network", netw); r.Err != nil || !strings.Contains(r.Stdout, "outside-token") {
			t.Fatalf("--network %s: %v", netw, r)
		}
	}
}

// TestBypass4netns: with the label, the container's sockets are host
// sockets: a published port is bound by the container's own process on
// the host, so a client on the host's loopback is seen as 127.0.0.1 (the
// port driver would show the bridge's gateway), and stopping the
// container stops its bypass4netns.
func TestBypass4netns(t *testing.T) {
	needNetecho(t)
	removeOnCleanup(t, "nets-bypass")
	dockerOK(t, "run", "-d", "--name", "nets-bypass", "--label", "io.roost.net.bypass4netns=true", "-p", "28094:7", netechoImage, "-tcp", ":7")
	if got := dockerOK(t, "port", "nets-bypass", "7/tcp"); !strings.Contains(got, "0.0.0.0:28094") {
		t.Fatalf("docker port: %q", got)
	}
	if line := readFirstLine(t, "127.0.0.1:28094"); line != "peer 127.0.0.1" {
		t.Fatalf("the container saw %q, want peer 127.0.0.1 (a host socket)", line)
	}
	dockerOK(t, "rm", "-f", "nets-bypass")
	if c, err := net.DialTimeout("tcp", "127.0.0.1:28094", time.Second); err == nil {
		c.Close()
		t.Fatal("port 28094 still answers after the container is gone")
	}

	r := docker(t, "run", "--rm", "--label", "io.roost.net.bypass4netns=maybe", "busybox", "true")
	if r.Err == nil || !strings.Contains(r.Stderr, `invalid label io.roost.net.bypass4netns="maybe"`) {
		t.Fatalf("a bad label value: %v", r)
	}
	r = docker(t, "run", "--rm", "--label", "io.roost.net.bypass4netns=true", "-p", "127.0.0.1:28096:7", "busybox", "true")
	if r.Err == nil || !strings.Contains(r.Stderr, "bypass4netns publishes 7/tcp on every host address") {
		t.Fatalf("a host IP with bypass4netns: %v", r)
	}
}

// namespaceState is what the engine's network namespace holds: its links,
// its NAT rules and RootlessKit's published ports.
func namespaceState(t *testing.T) string {
	t.Helper()
	u := harness.user
	child, err := os.ReadFile(filepath.Join(u.RuntimeDir, "roost", "rootlesskit", "child_pid"))
	if err != nil {
		t.Fatal(err)
	}
	netns := filepath.Join(u.RuntimeDir, "roost", "rootlesskit", "netns")
	out, err := exec.Command(testenv.Sbin("nsenter"), "-t", strings.TrimSpace(string(child)), "-m", "--",
		testenv.Sbin("nsenter"), "--net="+netns, "sh", "-c", "ip -br link | cut -d' ' -f1 | sort; iptables -w -t nat -S POSTROUTING").CombinedOutput()
	if err != nil {
		t.Fatalf("reading the namespace: %v: %s", err, out)
	}
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(u.RuntimeDir, "roost", "rootlesskit", "api.sock"))
	}}, Timeout: 5 * time.Second}
	resp, err := hc.Get("http://rootlesskit/v1/ports")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ports, _ := io.ReadAll(resp.Body)
	return string(out) + "ports: " + string(ports)
}

// TestNetworkFailuresLeaveNothing: a start that fails on a taken port,
// a network that cannot be created, connecting to or starting on a missing
// network: each leaves no link, NAT rule or port forward behind.
func TestNetworkFailuresLeaveNothing(t *testing.T) {
	needRoostd(t)
	if os.Geteuid() != 0 {
		t.Skip("looking into the engine's network namespace needs root (CI runs as root)")
	}
	removeOnCleanup(t, "nets-holder", "nets-loser", "nets-lost")
	dockerOK(t, "run", "-d", "--name", "nets-holder", "-p", "28097:80", "busybox", "httpd", "-f", "-p", "80")
	before := namespaceState(t)
	t.Logf("the namespace before:\n%s", before)
	if r := docker(t, "run", "-d", "--name", "nets-loser", "-p", "28098:80", "-p", "28097:80", "busybox", "httpd", "-f", "-p", "80"); r.Err == nil {
		t.Fatalf("a taken port: %v", r)
	}
	if r := docker(t, "network", "create", "--subnet", "172.17.5.0/24", "nets-overlapping"); r.Err == nil {
		t.Fatalf("an overlapping subnet: %v", r)
	}
	if r := docker(t, "network", "connect", "nets-missing", "nets-holder"); r.Err == nil {
		t.Fatalf("connect to a missing network: %v", r)
	}
	if r := docker(t, "run", "--name", "nets-lost", "--network", "nets-missing", "busybox", "true"); r.Err == nil {
		t.Fatalf("start on a missing network: %v", r)
	}
	if after := namespaceState(t); after != before {
		t.Fatalf("the namespace changed after failures:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:28098", time.Second); err == nil {
		c.Close()
		t.Fatal("the failed container's other port 28098 is published")
	}
}

// TestSlirp4netnsPortDriver: with port-driver slirp4netns the namespace
// starts with slirp4netns' own port forwarding, docker info says so, and a
// published port answers (the client is then seen as slirp4netns'
// gateway, 10.0.2.2, which is why builtin is the default).
func TestSlirp4netnsPortDriver(t *testing.T) {
	needRoostd(t)
	needNetecho(t)
	restartSharedDaemonWith(t, "--port-driver", "slirp4netns")
	if labels := dockerOK(t, "info", "--format", "{{json .Labels}}"); !strings.Contains(labels, "io.roost.network.port-driver=slirp4netns") {
		t.Fatalf("docker info labels: %s", labels)
	}
	removeOnCleanup(t, "nets-slirpport")
	dockerOK(t, "run", "-d", "--name", "nets-slirpport", "-p", "28087:7", netechoImage, "-tcp", ":7")
	if line := readFirstLine(t, "127.0.0.1:28087"); line != "peer 10.0.2.2" {
		t.Fatalf("through slirp4netns' port forwarding the container saw %q, want peer 10.0.2.2", line)
	}
	dockerOK(t, "rm", "-f", "nets-slirpport")
}

// TestPastaOutbound: with rootlesskit-net pasta the namespace's way out is
// pasta: docker info says so, a published port answers, and (as root,
// where the test can make a remote host) a container reaches a host
// outside.
func TestPastaOutbound(t *testing.T) {
	needRoostd(t)
	restartSharedDaemonWith(t, "--rootlesskit-net", "pasta")
	if labels := dockerOK(t, "info", "--format", "{{json .Labels}}"); !strings.Contains(labels, "io.roost.network.outbound=pasta") {
		t.Fatalf("docker info labels: %s", labels)
	}
	removeOnCleanup(t, "nets-pasta")
	dockerOK(t, "run", "-d", "--name", "nets-pasta", "-p", "127.0.0.1:28141:80", "busybox", "httpd", "-f", "-p", "80")
	waitHTTP(t, "http://127.0.0.1:28141/")
	if os.Geteuid() != 0 {
		return
	}
	newTestHost(t).serveHTTP(t, "pasta-token")
	if r := fetchFromTestHost(t); r.Err != nil || !strings.Contains(r.Stdout, "pasta-token") {
		t.Fatalf("a container reaching a host outside through pasta: %v", r)
	}
}
