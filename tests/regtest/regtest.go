// Package regtest runs a real image registry for tests: the
// distribution registry (github.com/distribution/distribution/v3) that
// `make bin/registry` builds from the separate tests/tools module, on a
// free port of 127.0.0.1, without TLS or authentication, storing its blobs
// in a directory of its own.
//
// Loopback is what makes it usable by roostd without configuration:
// containerd and roostd stay on the host network, and a registry on
// 127.0.0.1 is plain HTTP for them, as for dockerd.
package regtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts for the registry's start and stop.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 5 * time.Second
)

// Options make a registry that is more than plain HTTP without users.
type Options struct {
	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1, whose
	// PEM is then in Registry.CACert.
	TLS bool
	// Users are the accounts (name → password) of htpasswd basic
	// authentication; none means no authentication.
	Users map[string]string
	// Token makes the registry ask for bearer tokens from a token service
	// that regtest runs (on another loopback port) and that checks Users,
	// instead of asking for basic authentication.
	Token bool
}

// Registry is a running registry.
type Registry struct {
	// Addr is host:port, 127.0.0.1:<port>: what image references start with.
	Addr string
	// Dir holds the configuration, the log and the stored blobs.
	Dir string
	// CACert is the PEM of the certificate a TLS registry serves (it is
	// its own CA), written to Dir/ca.crt too; empty without TLS.
	CACert []byte

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed

	stopOnce sync.Once
	tokens   *tokenServer // the token service with Options.Token
}

// BinPath returns the path of bin/registry in the roost checkout above the
// working directory, or an error that says how to build it.
func BinPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module github.com/roostd/roost\n")) {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("regtest: the roost module root (go.mod) is not above the working directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "bin", "registry")
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("regtest: %s is missing: run make bin/registry", bin)
	}
	return bin, nil
}

// config is the registry's configuration: filesystem storage in dir,
// deletes allowed (tests remove what they pushed), quiet logs.
const config = `version: 0.1
log:
  accesslog:
    disabled: true
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: roost-test-registry
`

// Start runs a plain HTTP registry without users; see StartWith.
func Start(dir string) (*Registry, error) { return StartWith(dir, Options{}) }

// StartWith runs bin/registry with its storage, configuration and log in
// dir (created if needed) and waits until it answers GET /v2/. The
// registry gets SIGKILL if the calling process dies, so a test binary
// that is killed leaves nothing behind; Stop it otherwise.
func StartWith(dir string, opts Options) (_ *Registry, retErr error) {
	bin, err := BinPath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, done: make(chan struct{})}
	data := fmt.Appendf(nil, config, filepath.Join(dir, "data"), r.Addr)
	if opts.TLS {
		if data, err = r.addTLS(data); err != nil {
			return nil, err
		}
	}
	switch {
	case opts.Token:
		ts, jwks, err := startTokenServer(dir, opts.Users)
		if err != nil {
			return nil, err
		}
		r.tokens = ts
		defer func() {
			if retErr != nil {
				ts.close()
			}
		}()
		data = fmt.Appendf(data, "auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    jwks: %s\n",
			ts.realm(), tokenService, tokenIssuer, jwks)
	case len(opts.Users) > 0:
		if data, err = r.addUsers(data, opts.Users); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(r.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()

	r.cmd = exec.Command(bin, "serve", cfg)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	// Nothing of the caller's tracing setup may make the registry export
	// spans to a collector.
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("regtest: starting %s: %w", bin, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(); err != nil {
		r.Stop()
		return nil, fmt.Errorf("%w\nregistry log (%s):\n%s", err, r.LogPath(), r.Log())
	}
	return r, nil
}

// StartT starts a registry in a temporary directory of t and stops it
// when t ends. A missing bin/registry fails the test with the command that
// builds it.
func StartT(t testing.TB, opts Options) *Registry {
	t.Helper()
	r, err := StartWith(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stopping the registry: %v", err)
		}
	})
	return r
}

// LogPath is the registry's log file.
func (r *Registry) LogPath() string { return filepath.Join(r.Dir, "registry.log") }

// Log returns what the registry logged so far.
func (r *Registry) Log() string {
	data, _ := os.ReadFile(r.LogPath())
	return string(data)
}

// Stop ends the registry: SIGTERM, then SIGKILL after stopTimeout. It
// returns an error only if the registry had died on its own before.
func (r *Registry) Stop() error {
	var err error
	r.stopOnce.Do(func() {
		if r.tokens != nil {
			defer r.tokens.close()
		}
		select {
		case <-r.done:
			err = fmt.Errorf("regtest: the registry exited early: %v", r.err)
			return
		default:
		}
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(stopTimeout):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return err
}

// URL is the registry's base URL: http:// or https://, and Addr.
func (r *Registry) URL() string {
	if r.CACert != nil {
		return "https://" + r.Addr
	}
	return "http://" + r.Addr
}

// Client is an HTTP client that trusts the registry's certificate.
func (r *Registry) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.CACert != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(r.CACert)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// waitReady polls GET /v2/ until it answers (200, or 401 with users), the
// process exits or the start timeout passes.
func (r *Registry) waitReady() error {
	client := r.Client()
	client.Timeout = time.Second
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		select {
		case <-r.done:
			return fmt.Errorf("regtest: the registry exited while starting: %v", r.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("regtest: the registry on %s did not answer within %s: %v", r.Addr, startTimeout, err)
		}
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the registry binds it; the registry then fails to
// start, which waitReady reports.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
