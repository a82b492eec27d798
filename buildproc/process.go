// Package buildproc runs roost-build, the process that holds buildsvc and
// with it BuildKit's client, for roostd: it starts on the first build
// request, is supervised (restarted when it dies), stops with roostd, and
// is reached through a private socket in the state directory. roostd thus
// links no BuildKit code, and an engine that never builds never maps it.
package buildproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/log"

	"github.com/roostd/roost/engine/supervisor"
)

// Timeouts of the roost-build child, named for the docs and the tests.
const (
	// startTimeout bounds the wait for a new roost-build to answer.
	startTimeout = 30 * time.Second
	// stopTimeout leaves roost-build the time to stop its buildkitd,
	// which gets 15s.
	stopTimeout = 25 * time.Second
	readyPoll   = 20 * time.Millisecond
)

// Config is how roostd runs roost-build.
type Config struct {
	// Binary is roost-build (next to roostd).
	Binary string
	// Args are its flags, besides the sockets, which Process adds.
	Args []string
	// Dir holds the sockets and the pid file; it is created 0700.
	Dir string
	// BuildKitRoot exists once a buildkitd has run: before that there is
	// no build cache, and disk usage and prune need not start anything.
	BuildKitRoot string
	// Local answers POST /build/prune and /build/cancel while roost-build
	// does not run and there is nothing to prune or cancel: the same
	// routes on a backend with no cache, so the same checks and answers.
	Local http.Handler
	// Images tags what the builds make, in roostd's image service.
	Images Tagger
}

// Socket is where roost-build serves the build routes.
func (c Config) Socket() string { return filepath.Join(c.Dir, "roost-build.sock") }

// TagSocket is where roostd serves roost-build's calls back.
func (c Config) TagSocket() string { return filepath.Join(c.Dir, "roostd.sock") }

// PIDFile names the running roost-build.
func (c Config) PIDFile() string { return filepath.Join(c.Dir, "roost-build.pid") }

// Process is the roost-build child and the proxy to it.
type Process struct {
	cfg Config
	// client goes through dial; probeClient does not wait for roost-build
	// (it is how waiting is done).
	client, probeClient *http.Client
	h1, h2              *httputil.ReverseProxy

	mu sync.Mutex
	// stop ends the supervisor and the internal API; nil until started.
	stop func()
}

// New returns the process for cfg; nothing starts yet.
func New(cfg Config) *Process {
	p := &Process{cfg: cfg}
	t1 := &http.Transport{DialContext: p.dial, DisableCompression: true, MaxIdleConns: 4, IdleConnTimeout: time.Minute}
	t2 := &http.Transport{DialContext: p.dial, DisableCompression: true, Protocols: new(http.Protocols)}
	t2.Protocols.SetUnencryptedHTTP2(true)
	p.client = &http.Client{Transport: t1}
	p.probeClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dialSocket(ctx) },
	}}
	p.h1 = &httputil.ReverseProxy{Rewrite: toBuild, Transport: t1, FlushInterval: -1, ErrorHandler: p.proxyError}
	p.h2 = &httputil.ReverseProxy{Rewrite: toBuild, Transport: t2, FlushInterval: -1, ErrorHandler: grpcError}
	return p
}

func (p *Process) dialSocket(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", p.cfg.Socket())
}

// dial connects to roost-build. Where nothing listens while it has been
// started (the supervisor is starting it again after a crash), it waits
// until roost-build answers and dials once more, so that a request is
// held rather than failed and no request pays for a liveness probe.
func (p *Process) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	conn, err := p.dialSocket(ctx)
	if err == nil || !(errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) || !p.Running() {
		return conn, err
	}
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	return p.dialSocket(ctx)
}

// toBuild points a request at roost-build; the path is the client's.
func toBuild(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "roost-build"
	pr.Out.Host = "roost-build"
}

// Running tells whether roost-build has been started.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stop != nil
}

// hasCache tells whether a buildkitd ever ran, leaving a cache.
func (p *Process) hasCache() bool {
	_, err := os.Stat(p.cfg.BuildKitRoot)
	return err == nil
}

// Close stops roost-build, which stops its buildkitd.
func (p *Process) Close(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}

// ensure starts roost-build if it has not been started; start waits
// until it answers. After a crash, dial waits for the new one.
func (p *Process) ensure(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return nil
	}
	return p.start(ctx)
}

// probe asks roost-build's /_ping.
func (p *Process) probe(ctx context.Context) error {
	if _, err := os.Stat(p.cfg.Socket()); err != nil {
		return supervisor.ErrNotReady
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://roost-build/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := p.probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("roost-build answers %s", resp.Status)
	}
	return nil
}

func (p *Process) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := p.probe(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("roost-build does not answer: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPoll):
		}
	}
}

// start serves the internal API, then runs roost-build under a
// supervisor and waits until it answers. Callers hold p.mu.
func (p *Process) start(ctx context.Context) error {
	if err := os.MkdirAll(p.cfg.Dir, 0o700); err != nil {
		return err
	}
	// A socket left by a roost-build killed with SIGKILL would fool the
	// probe.
	_ = os.Remove(p.cfg.Socket())
	stopAPI, err := serveTagger(p.cfg.TagSocket(), p.cfg.Images)
	if err != nil {
		return err
	}
	argv := append([]string{p.cfg.Binary, "--socket=" + p.cfg.Socket(), "--roostd-socket=" + p.cfg.TagSocket()}, p.cfg.Args...)
	sup := supervisor.New("roost-build", argv,
		supervisor.WithPIDFile(p.cfg.PIDFile()),
		supervisor.WithStopTimeout(stopTimeout),
		supervisor.WithReadyProbe(p.probe))
	// The supervisor lives as long as roostd, not as the request that
	// happened to start it.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- sup.Run(sctx, ready) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		stopAPI()
		return fmt.Errorf("starting the build service: %w", err)
	case <-time.After(startTimeout):
		cancel()
		<-errc
		stopAPI()
		return fmt.Errorf("roost-build did not answer within %v", startTimeout)
	}
	log.G(ctx).Infof("roost-build started (socket %s)", p.cfg.Socket())
	p.stop = func() {
		cancel()
		<-errc
		stopAPI()
		_ = os.Remove(p.cfg.Socket())
	}
	return nil
}
