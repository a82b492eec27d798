// Package buildsvc owns roost's builds: the buildkitd child (containerd
// worker on roost's containerd and namespace, started on first use) and the
// translation of Docker build requests into BuildKit solves.
package buildsvc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	bkclient "github.com/moby/buildkit/client"
	"google.golang.org/grpc"

	"github.com/roostd/roost/engine/supervisor"
)

// Timeouts of the buildkitd child, named for the docs and the tests.
const (
	// startTimeout bounds the wait for a new buildkitd to answer; its
	// first start also initializes its root, and the machines are shared.
	startTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
	// probeTimeout bounds one readiness or liveness call.
	probeTimeout = 2 * time.Second
	readyPoll    = 50 * time.Millisecond
)

// Config is how roostd runs buildkitd; argv turns it into the command line.
type Config struct {
	// Binary is the buildkitd executable (bin/buildkitd next to roostd).
	Binary string
	// ContainerdAddress is the socket of roost's containerd.
	ContainerdAddress string
	// Namespace is the containerd namespace of roost's images ("roost"),
	// so what BuildKit builds is in `docker images` without a copy.
	Namespace string
	// Snapshotter is the one roost's containerd unpacks images with.
	Snapshotter string
	// StateDir holds the socket, pid file and log (under buildkit/).
	StateDir string
	// DataDir holds BuildKit's root: its cache metadata (under buildkit/).
	DataDir string
	// Env is buildkitd's environment; nil means roostd's.
	Env []string
	// RuntimeBinary replaces runc for BuildKit's containers (roost-runc
	// in single-ID mode); empty for runc.
	RuntimeBinary string
	// History keeps that many finished builds (and for that long, if
	// HistoryMaxAge is set) for `docker buildx history`; 0 keeps none.
	History       int64
	HistoryMaxAge time.Duration
}

func (c Config) dir() string     { return filepath.Join(c.StateDir, "buildkit") }
func (c Config) socket() string  { return filepath.Join(c.dir(), "buildkitd.sock") }
func (c Config) pidFile() string { return filepath.Join(c.dir(), "buildkitd.pid") }
func (c Config) logFile() string { return filepath.Join(c.dir(), "buildkitd.log") }
func (c Config) root() string    { return filepath.Join(c.DataDir, "buildkit") }

// env is buildkitd's environment, with XDG_RUNTIME_DIR pointed into roost's
// state: a rootless buildkitd puts sockets of its own there (its tracing
// socket), which must not land beside, or collide with, another BuildKit
// of the user's.
func (c Config) env() []string {
	base := c.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+1)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	return append(env, "XDG_RUNTIME_DIR="+c.dir())
}

// argv is buildkitd's command line: the containerd worker only (the OCI
// worker would keep a second image store that docker cannot see), in
// rootless mode since roostd runs as root of a user namespace, on the host
// network as containerd is (RootlessKit's detached netns), with
// network.host allowed so `docker build --network host` is honoured.
func (c Config) argv() []string {
	return []string{c.Binary,
		"--addr=unix://" + c.socket(),
		"--root=" + c.root(),
		// A config of our own (configTOML): a buildkitd.toml the user
		// keeps for another BuildKit must not change roost's.
		"--config=" + filepath.Join(c.dir(), "buildkitd.toml"),
		"--oci-worker=false",
		"--containerd-worker=true",
		"--containerd-worker-addr=" + c.ContainerdAddress,
		"--containerd-worker-namespace=" + c.Namespace,
		"--containerd-worker-snapshotter=" + c.Snapshotter,
		"--containerd-worker-rootless=true",
		"--containerd-worker-net=host",
		"--allow-insecure-entitlement=network.host",
	}
}

// Daemon is the buildkitd child. It starts on first use rather than with
// roostd: most engines never build, and buildkitd costs tens of MiB idle.
// It is supervised (restarted with backoff), a buildkitd left running by a
// roostd that was killed is reused, and Close stops it.
type Daemon struct {
	cfg Config

	mu     sync.Mutex
	client *bkclient.Client
	// conns tells whether client is connected to buildkitd.
	conns connWatch
	// stop ends the current buildkitd (supervised or adopted) and waits
	// for it; nil when none runs.
	stop func(ctx context.Context)
	// gone is closed when an adopted buildkitd exits.
	gone chan struct{}
}

// NewDaemon returns the daemon for cfg; nothing starts yet.
func NewDaemon(cfg Config) *Daemon { return &Daemon{cfg: cfg} }

// Client returns a client of a running buildkitd, starting it if needed.
func (d *Daemon) Client(ctx context.Context) (*bkclient.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		if !d.adoptedGone() {
			if d.conns.up() {
				// Connected: buildkitd answers, a probe would only add a
				// round trip to every build.
				return d.client, nil
			}
			// The supervisor may be restarting a buildkitd that died.
			return d.client, d.waitReady(ctx)
		}
		d.stop(ctx) // releases the pidfd of the one that exited
		d.stop = nil
	}
	if err := d.connect(ctx); err != nil {
		return nil, err
	}
	if pid := readPID(d.cfg.pidFile()); pid != 0 && d.probe(ctx) == nil {
		if err := d.adopt(ctx, pid); err == nil {
			return d.client, nil
		}
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d.client, nil
}

// Started reports whether buildkitd runs now, or ran before (its root
// exists), without starting it: disk usage need not wake it up when there
// is no cache to report.
func (d *Daemon) Started() bool {
	d.mu.Lock()
	running := d.stop != nil
	d.mu.Unlock()
	if running {
		return true
	}
	_, err := os.Stat(d.cfg.root())
	return err == nil
}

// Close stops buildkitd, if it runs: also one that a killed roostd left
// and that no build has reused since, which would otherwise outlive the
// engine.
func (d *Daemon) Close(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop == nil {
		if pid := readPID(d.cfg.pidFile()); pid != 0 {
			_ = d.adopt(ctx, pid)
		}
	}
	if d.stop != nil {
		d.stop(ctx)
		d.stop = nil
	}
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

// connect makes the client once; grpc redials the same socket whenever
// buildkitd is restarted.
func (d *Daemon) connect(ctx context.Context) error {
	if d.client != nil {
		return nil
	}
	if err := os.MkdirAll(d.cfg.dir(), 0o700); err != nil {
		return err
	}
	c, err := bkclient.New(ctx, "unix://"+d.cfg.socket(), bkclient.WithGRPCDialOption(grpc.WithStatsHandler(&d.conns)))
	if err != nil {
		return fmt.Errorf("buildkit client: %w", err)
	}
	d.client = c
	return nil
}

// probe asks buildkitd for its workers: it answers only once the
// containerd worker is set up.
func (d *Daemon) probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := os.Stat(d.cfg.socket()); err != nil {
		return supervisor.ErrNotReady
	}
	ws, err := d.client.ListWorkers(pctx)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return supervisor.ErrNotReady
	}
	return nil
}

// waitReady waits until buildkitd answers, for as long as a start may
// take.
func (d *Daemon) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := d.probe(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("buildkitd does not answer (log: %s): %w", d.cfg.logFile(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPoll):
		}
	}
}

// start runs a new buildkitd under a supervisor and waits until it answers.
func (d *Daemon) start(ctx context.Context) error {
	// A socket left by a buildkitd killed with SIGKILL would fool the probe.
	_ = os.Remove(d.cfg.socket())
	if err := os.WriteFile(filepath.Join(d.cfg.dir(), "buildkitd.toml"), d.cfg.configTOML(), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(d.cfg.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	opts := []supervisor.Option{
		supervisor.WithPIDFile(d.cfg.pidFile()),
		supervisor.WithOutput(logf),
		supervisor.WithStopTimeout(stopTimeout),
		supervisor.WithReadyProbe(d.probe),
	}
	opts = append(opts, supervisor.WithEnv(d.cfg.env()))
	sup := supervisor.New("buildkitd", d.cfg.argv(), opts...)
	// The supervisor lives as long as roostd, not as the request that
	// happened to start it.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- sup.Run(sctx, ready)
		logf.Close()
	}()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		return fmt.Errorf("starting buildkitd (log: %s): %w", d.cfg.logFile(), err)
	case <-time.After(startTimeout):
		cancel()
		<-errc
		return fmt.Errorf("buildkitd did not answer within %v (log: %s)", startTimeout, d.cfg.logFile())
	}
	log.G(ctx).Infof("buildkitd started (socket %s)", d.cfg.socket())
	d.stop = func(context.Context) {
		cancel()
		<-errc
	}
	return nil
}

// readPID reads a pid file; 0 when it is missing or names no process.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
