// Package ctrtest starts a private containerd for a test: the binaries `make`
// builds into the module's bin/ directory, a temporary root, state and
// socket, and cleanup that stops the daemon, its shims and their mounts.
//
// It needs root (the overlayfs snapshotter and runc do): the real root, or
// root of a user namespace with a private /run, which hack/userns.sh makes
// for a user who is not root (`make test` runs the unit tests through it).
// In such a namespace containers must not ask for cgroups: Rootless tells
// whether the test runs there and SpecOpts gives the options a test's own
// container specs need. It never skips silently: when the daemon cannot
// start the test fails and says why. Set ROOST_SKIP_CONTAINERD_TESTS=1 to
// skip these tests deliberately.
package ctrtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

// Timeouts for the daemon's start and stop.
const (
	StartTimeout = 30 * time.Second
	StopTimeout  = 10 * time.Second
)

// SkipEnv names the environment variable that skips tests needing containerd.
const SkipEnv = "ROOST_SKIP_CONTAINERD_TESTS"

// Daemon is a running test containerd.
type Daemon struct {
	Client  *client.Client
	Address string // gRPC socket
	Dir     string // temporary directory holding root, state, config and log
	Root    string
	State   string
	BinDir  string // the module's bin/, first on the daemon's PATH
	Log     string // the daemon's log file
}

// Start starts a containerd for t and returns a client connected to it. The
// daemon is stopped and its files are removed when t ends.
func Start(t testing.TB) *client.Client {
	t.Helper()
	return StartDaemon(t).Client
}

// StartDaemon is Start returning the daemon's details as well.
func StartDaemon(t testing.TB) *Daemon {
	t.Helper()
	if os.Getenv(SkipEnv) != "" {
		t.Skipf("%s is set: skipping a test that needs containerd", SkipEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("ctrtest: containerd tests must run as root (the overlayfs snapshotter and runc need it): as a user, run them as root of a user namespace with hack/userns.sh (`hack/userns.sh go test ./...`; make test does), or set %s=1 to skip them", SkipEnv)
	}
	if Rootless() && unix.Access("/run", unix.W_OK) != nil {
		// The shims put their sockets in /run/containerd whatever the
		// configuration says; the host's /run is not ours to write.
		t.Fatalf("ctrtest: this user namespace has no private /run for containerd's shims: run the tests with hack/userns.sh, which mounts one")
	}
	bin, err := BinDir()
	if err != nil {
		t.Fatalf("ctrtest: %v", err)
	}
	containerd := filepath.Join(bin, "containerd")
	if _, err := os.Stat(containerd); err != nil {
		t.Fatalf("ctrtest: %s is missing: run `make` first (or `GOFLAGS=-mod=mod go build -o bin/containerd github.com/containerd/containerd/v2/cmd/containerd` in the module root)", containerd)
	}

	// A short directory name keeps the socket path under the 108-byte limit.
	dir, err := os.MkdirTemp("", "ctrtest-")
	if err != nil {
		t.Fatalf("ctrtest: %v", err)
	}
	d := &Daemon{
		Address: filepath.Join(dir, "c.sock"),
		Dir:     dir,
		Root:    filepath.Join(dir, "root"),
		State:   filepath.Join(dir, "state"),
		BinDir:  bin,
		Log:     filepath.Join(dir, "containerd.log"),
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(d.config()), 0o600); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("ctrtest: %v", err)
	}
	logf, err := os.Create(d.Log)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("ctrtest: %v", err)
	}
	cmd := exec.Command(containerd, "--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a ^C to `go test` is not delivered twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		t.Fatalf("ctrtest: start %s: %v", containerd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { d.stop(t, cmd, exited) })

	c, err := d.waitReady(exited)
	if err != nil {
		t.Fatalf("ctrtest: containerd did not start: %v\n%s", err, d.tailLog())
	}
	d.Client = c
	return d
}

// config renders the daemon's configuration: private paths, no CRI, and no
// plugin that would touch a system-wide location (/opt, /var/run/nri,
// /etc/containerd/conf.d).
func (d *Daemon) config() string {
	disabled := []string{
		"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime",
		"io.containerd.podsandbox.controller.v1.podsandbox",
		"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
		"io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs",
		"io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri",
	}
	q := func(s string) string { return strconv.Quote(s) }
	var b strings.Builder
	fmt.Fprintf(&b, "version = 4\nroot = %s\nstate = %s\nimports = []\n", q(d.Root), q(d.State))
	b.WriteString("disabled_plugins = [")
	for i, p := range disabled {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(p))
	}
	b.WriteString("]\n")
	// Config version 4 (containerd 2.4) moved the listeners into server
	// plugins; a top-level [grpc] section is silently ignored.
	fmt.Fprintf(&b, "[plugins.'io.containerd.server.v1.grpc']\n  address = %s\n", q(d.Address))
	fmt.Fprintf(&b, "[plugins.'io.containerd.server.v1.ttrpc']\n  address = %s\n", q(d.Address+".ttrpc"))
	b.WriteString("[plugins.'io.containerd.server.v1.debug']\n  address = ''\n")
	b.WriteString("[plugins.'io.containerd.server.v1.metrics']\n  address = ''\n")
	return b.String()
}

func (d *Daemon) waitReady(exited <-chan error) (*client.Client, error) {
	deadline := time.Now().Add(StartTimeout)
	var lastErr error
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("containerd exited: %v", err)
		default:
		}
		if _, err := os.Stat(d.Address); err == nil {
			c, err := client.New(d.Address, client.WithTimeout(StartTimeout))
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				// Version rather than IsServing: the health service answers
				// NOT_SERVING here even once the API works.
				_, err = c.Version(ctx)
				cancel()
				if err == nil {
					return c, nil
				}
				c.Close()
			}
			lastErr = err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not serving on %s after %s (last error: %v)", d.Address, StartTimeout, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop closes the client, stops containerd, kills the shims it started
// (they outlive it by design), undoes mounts under Dir and removes Dir.
func (d *Daemon) stop(t testing.TB, cmd *exec.Cmd, exited <-chan error) {
	if d.Client != nil {
		d.Client.Close()
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(StopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	killShims(d.Address)
	_ = testenv.UnmountUnder(d.Dir)
	if t.Failed() {
		t.Logf("ctrtest: containerd log:\n%s", d.tailLog())
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Errorf("ctrtest: remove %s: %v", d.Dir, err)
	}
}

// tailLog returns the end of the daemon's log, for failure messages.
func (d *Daemon) tailLog() string {
	data, _ := os.ReadFile(d.Log)
	const max = 8 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

// BinDir returns the bin/ directory of the roost module: the directory of
// the go.mod found by walking up from the working directory (a test's
// working directory is its package directory).
func BinDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module github.com/roostd/roost\n")) {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the roost module root (go.mod) is not above the working directory")
		}
		dir = parent
	}
}
