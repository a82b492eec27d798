package netstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/log"
	b4napi "github.com/rootless-containers/bypass4netns/pkg/api"
	b4nclient "github.com/rootless-containers/bypass4netns/pkg/api/daemon/client"
)

// The bypass4netns binaries, built from the pinned module into bin/.
const (
	BypassBinary       = "bypass4netns"
	BypassDaemonBinary = "bypass4netnsd"
)

// bypassDaemonStartTimeout bounds the wait for bypass4netnsd's socket.
const bypassDaemonStartTimeout = 5 * time.Second

// Bypass runs bypass4netns for the containers that ask for it: their
// socket calls are trapped (seccomp user notification) and carried out in
// the host's network namespace, so their traffic skips slirp4netns and
// their published ports are plain host sockets. bypass4netnsd, which
// starts one bypass4netns per container, is started on first use and
// outlives roostd, as the containers do.
type Bypass struct {
	binDir string
	dir    string // sockets, pid files and logs

	mu     sync.Mutex
	client b4nclient.Client
}

// NewBypass finds the binaries in binDir and keeps its files in dir.
func NewBypass(binDir, dir string) *Bypass {
	return &Bypass{binDir: binDir, dir: dir}
}

// ListenerPath is where the container's seccomp notifications go: the
// socket its bypass4netns listens on. It must be short (a unix socket path).
func (b *Bypass) ListenerPath(id string) string {
	return filepath.Join(b.dir, id[:15]+".sock")
}

// BypassPort is a published port bypass4netns binds on the host when the
// container binds the container port.
type BypassPort struct {
	HostPort, Port int
}

// Start starts the container's bypass4netns; it must run before the task
// is created, since runc hands the seccomp listener over at create.
func (b *Bypass) Start(ctx context.Context, id string, ports []BypassPort, ignore []string) error {
	c, err := b.daemon(ctx)
	if err != nil {
		return err
	}
	spec := b4napi.BypassSpec{
		ID:            id,
		SocketPath:    b.ListenerPath(id),
		PidFilePath:   filepath.Join(b.dir, id[:15]+".pid"),
		LogFilePath:   filepath.Join(b.dir, id[:15]+".log"),
		IgnoreSubnets: ignore,
	}
	for _, p := range ports {
		spec.PortMapping = append(spec.PortMapping, b4napi.PortSpec{ParentPort: p.HostPort, ChildPort: p.Port, Protos: []string{"tcp", "udp"}})
	}
	_ = os.Remove(spec.SocketPath)
	if _, err := c.BypassManager().StartBypass(ctx, spec); err != nil {
		return fmt.Errorf("starting bypass4netns: %w", err)
	}
	return nil
}

// Stop stops the container's bypass4netns; one that is not running is
// not an error.
func (b *Bypass) Stop(ctx context.Context, id string) error {
	b.mu.Lock()
	c := b.client
	b.mu.Unlock()
	if c == nil {
		var err error
		if c, err = b.connect(ctx); err != nil {
			return nil // no daemon: nothing runs
		}
	}
	err := c.BypassManager().StopBypass(ctx, id)
	for _, ext := range []string{".sock", ".pid", ".log"} {
		_ = os.Remove(filepath.Join(b.dir, id[:15]+ext))
	}
	if err != nil && strings.Contains(err.Error(), "not found") {
		return nil
	}
	return err
}

// Shutdown stops bypass4netnsd (when no container needs it any more).
func (b *Bypass) Shutdown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.client = nil
	data, err := os.ReadFile(b.daemonPIDFile())
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

func (b *Bypass) daemonSocket() string  { return filepath.Join(b.dir, "bypass4netnsd.sock") }
func (b *Bypass) daemonPIDFile() string { return filepath.Join(b.dir, "bypass4netnsd.pid") }

// daemon returns a client of a running bypass4netnsd, starting one if
// none answers.
func (b *Bypass) daemon(ctx context.Context) (b4nclient.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	if c, err := b.connect(ctx); err == nil {
		b.client = c
		return c, nil
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(b.daemonSocket())
	logf, err := os.OpenFile(filepath.Join(b.dir, "bypass4netnsd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(b.binDir, BypassDaemonBinary),
		"--socket="+b.daemonSocket(),
		"--com-socket="+filepath.Join(b.dir, "bypass4netnsd-com.sock"),
		"--pid-file="+b.daemonPIDFile(),
		"--b4nn-executable="+filepath.Join(b.binDir, BypassBinary))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: it outlives roostd, as the containers it serves do.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting bypass4netnsd: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	deadline := time.Now().Add(bypassDaemonStartTimeout)
	for {
		c, err := b.connect(ctx)
		if err == nil {
			log.G(ctx).WithField("pid", cmd.Process.Pid).Info("bypass4netnsd started")
			b.client = c
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bypass4netnsd did not answer within %s (see %s): %w", bypassDaemonStartTimeout, logf.Name(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *Bypass) connect(ctx context.Context) (b4nclient.Client, error) {
	c, err := b4nclient.New(b.daemonSocket())
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := c.BypassManager().ListBypass(cctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoBypass is returned when bypass4netns is asked for but not built.
var ErrNoBypass = errors.New("bypass4netns is not available")
