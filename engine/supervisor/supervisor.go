// Package supervisor keeps a child daemon (containerd, later buildkitd)
// alive: it starts it, waits until it answers, restarts it with backoff when
// it dies, and stops it in order.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/log"
)

// Timeouts and backoff, named so that tests and docs can refer to them.
const (
	DefaultReadyTimeout = 20 * time.Second
	DefaultStopTimeout  = 15 * time.Second
	initialBackoff      = 100 * time.Millisecond
	maxBackoff          = 5 * time.Second
	// stableAfter is how long a run must last for the backoff to reset.
	stableAfter    = 10 * time.Second
	readyPollEvery = 20 * time.Millisecond
)

// Supervisor runs one child daemon.
type Supervisor struct {
	name         string
	argv         []string
	env          []string
	pidFile      string
	output       io.Writer
	ready        func(ctx context.Context) error
	readyTimeout time.Duration
	stopTimeout  time.Duration
}

// Option configures a Supervisor.
type Option func(*Supervisor)

// WithEnv sets the child's environment (default: ours).
func WithEnv(env []string) Option { return func(s *Supervisor) { s.env = env } }

// WithPIDFile records the pid of each run of the child.
func WithPIDFile(path string) Option { return func(s *Supervisor) { s.pidFile = path } }

// WithOutput sends the child's stdout and stderr to w (default: ours).
func WithOutput(w io.Writer) Option { return func(s *Supervisor) { s.output = w } }

// WithReadyProbe sets how to tell the child is ready; it is polled until it
// returns nil or the ready timeout passes.
func WithReadyProbe(probe func(ctx context.Context) error) Option {
	return func(s *Supervisor) { s.ready = probe }
}

// WithStopTimeout sets how long the child gets between SIGTERM and SIGKILL.
func WithStopTimeout(d time.Duration) Option { return func(s *Supervisor) { s.stopTimeout = d } }

// New returns a supervisor for the command argv.
func New(name string, argv []string, opts ...Option) *Supervisor {
	s := &Supervisor{name: name, argv: argv, output: os.Stderr,
		readyTimeout: DefaultReadyTimeout, stopTimeout: DefaultStopTimeout}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Run starts the child and keeps it running until ctx is done, then stops
// it. ready is closed the first time the child answers its probe. Run
// returns an error only when the first start fails.
func (s *Supervisor) Run(ctx context.Context, ready chan<- struct{}) error {
	backoff := initialBackoff
	first := true
	for {
		started := time.Now()
		proc, err := s.start(ctx)
		if err == nil {
			err = s.waitReady(ctx, proc)
		}
		if err != nil {
			if proc != nil {
				s.stop(proc)
			}
			if first {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			log.G(ctx).WithError(err).Errorf("%s did not come back", s.name)
		} else {
			if first {
				close(ready)
				first = false
			}
			select {
			case <-ctx.Done():
				s.stop(proc)
				return nil
			case <-proc.done:
				log.G(ctx).WithError(proc.err).Warnf("%s exited; restarting in %v", s.name, backoff)
			}
		}
		if time.Since(started) > stableAfter {
			backoff = initialBackoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// process is one run of the child; done closes when it has exited, and err
// is then its exit status.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (s *Supervisor) start(ctx context.Context) (*process, error) {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.output, s.output
	// Its own process group: a terminal's Ctrl-C must not reach it before we
	// have stopped the containers that depend on it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if s.pidFile != "" {
		if err := os.WriteFile(s.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
			log.G(ctx).WithError(err).Warn("cannot write pid file")
		}
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (s *Supervisor) waitReady(ctx context.Context, p *process) error {
	if s.ready == nil {
		return nil
	}
	deadline := time.Now().Add(s.readyTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.ready(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", s.readyTimeout, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPollEvery):
		}
	}
}

func (s *Supervisor) stop(p *process) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(s.stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if s.pidFile != "" {
		_ = os.Remove(s.pidFile)
	}
}

// ErrNotReady is returned by probes that found nothing listening yet.
var ErrNotReady = errors.New("not ready")
