package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// execFailedCode is the exit code of an exec that failed before its
// process could be started, when the error says nothing more (dockerd's
// default of 126).
const execFailedCode = 126

// execSession is a checked exec start (ExecSession).
type execSession struct {
	s    *Service
	ec   *execConfig
	opts ExecStartOptions
	// called is closed when Run is called: a session whose Run never comes
	// (the hijack failed) gives its start back.
	called chan struct{}
}

// ExecStart checks that the exec can start (POST /exec/{id}/start) and
// reserves it: errors are dockerd's, and come before the API hijacks the
// connection. The process starts in Run.
func (s *Service) ExecStart(ctx context.Context, id string, opts ExecStartOptions) (ExecSession, error) {
	ec, err := s.activeExec(id)
	if err != nil {
		return nil, err
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if ec.exitCode != nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec command %s has already run", ec.id))
	}
	if ec.running {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec command %s is already running", ec.id))
	}
	ec.running = true
	x := &execSession{s: s, ec: ec, opts: opts, called: make(chan struct{})}
	go func() {
		t := time.NewTimer(attachRunTimeout)
		defer t.Stop()
		select {
		case <-x.called:
		case <-t.C:
			ec.mu.Lock()
			ec.running = false
			ec.mu.Unlock()
		}
	}()
	return x, nil
}

// Run starts the process and streams it (see ExecSession).
func (x *execSession) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	close(x.called)
	s, ec := x.s, x.ec
	s.publish(ec.c, events.Action(string(events.ActionExecStart)+": "+ec.command()), map[string]string{"execID": ec.id})
	if x.opts.Detach {
		stdin, stdout, stderr = nil, nil, nil
	}
	if !ec.openStdin {
		stdin = nil
	}
	if !ec.openStdout {
		stdout = nil
	}
	if !ec.openStderr {
		stderr = nil
	}
	if ec.tty {
		// One stream: the terminal.
		stderr = nil
	}
	p, err := s.startExec(ec, x.opts.ConsoleSize, stdin != nil, stdout, stderr)
	if err != nil {
		return err
	}
	if x.opts.Detach {
		return nil
	}
	return p.stream(ctx, stdin)
}

// execProc is a started exec process and its streams.
type execProc struct {
	s        *Service
	ec       *execConfig
	proc     client.Process
	dio      *cio.DirectIO
	outputs  []*gateWriter
	outDone  chan struct{} // the output copies have ended
	exited   chan struct{} // the exit code is recorded
	stdinEnd func()        // closes the process's stdin
}

// startExec creates and starts the process of ec in its container's task,
// with FIFOs in the container's state directory. A failure is recorded as
// the exec's exit (126 or 127 as dockerd) and returned classified.
func (s *Service) startExec(ec *execConfig, consoleSize *[2]uint, withStdin bool, stdout, stderr io.Writer) (p *execProc, retErr error) {
	ctx := s.nsCtx(context.Background())
	code := execFailedCode
	defer func() {
		if retErr != nil {
			s.execEnded(ec, code)
		}
	}()
	c := ec.c
	c.mu.Lock()
	r, pid := c.run, c.rec.State.Pid
	groupAdd := c.rec.HostConfig.GroupAdd
	c.mu.Unlock()
	if r == nil || r != ec.run {
		return nil, errNotRunning(c.id)
	}
	cc, err := s.client.LoadContainer(ctx, c.id)
	if err != nil {
		return nil, err
	}
	spec, err := cc.Spec(ctx)
	if err != nil {
		return nil, err
	}
	var user *specs.User
	if ec.user != "" {
		u, err := resolveUser(ctx, taskRoot(pid), ec.user, groupAdd)
		if err != nil {
			return nil, err
		}
		user = &u
	}
	if consoleSize == nil {
		consoleSize = ec.consoleSize
	}
	pspec := execProcess(spec.Process, ec, user, consoleSize)

	fifos, err := s.execFIFOs(c.id, ec.id, ec.tty, withStdin)
	if err != nil {
		return nil, err
	}
	// The FIFOs must outlive the request: never open them with its context.
	dio, err := cio.NewDirectIO(context.Background(), fifos)
	if err != nil {
		fifos.Close()
		return nil, fmt.Errorf("opening the exec's FIFOs: %w", err)
	}
	proc, err := r.task.Exec(ctx, ec.id, pspec, func(string) (cio.IO, error) { return dio, nil })
	if err != nil {
		return nil, err
	}
	exitC, err := proc.Wait(ctx)
	if err != nil {
		s.deleteExecProc(ctx, ec, proc, dio)
		return nil, err
	}
	p = &execProc{s: s, ec: ec, proc: proc, dio: dio, outDone: make(chan struct{}), exited: make(chan struct{})}
	p.copyOutput(stdout, stderr)
	if err := proc.Start(ctx); err != nil {
		s.deleteExecProc(ctx, ec, proc, dio)
		code, err = execStartError(err)
		return nil, err
	}
	if withStdin {
		p.stdinEnd = sync.OnceFunc(func() {
			dio.Stdin.Close()
			if err := proc.CloseIO(ctx, client.WithStdinCloser); err != nil && !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).WithField("exec", ec.id).Debug("closing the exec's stdin")
			}
		})
	}
	ec.mu.Lock()
	ec.proc, ec.pid = proc, int(proc.Pid())
	close(ec.started)
	ec.mu.Unlock()
	s.wg.Add(1)
	go s.monitorExec(p, exitC)
	return p, nil
}

// execFIFOs makes the FIFOs of an exec: stdout, stderr unless there is a
// TTY, stdin only when the client's input is attached.
func (s *Service) execFIFOs(cid, eid string, tty, stdin bool) (*cio.FIFOSet, error) {
	dir := filepath.Join(s.stateDir(cid), "exec", eid)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := cio.Config{Terminal: tty, Stdout: filepath.Join(dir, "stdout")}
	if !tty {
		conf.Stderr = filepath.Join(dir, "stderr")
	}
	if stdin {
		conf.Stdin = filepath.Join(dir, "stdin")
	}
	return cio.NewFIFOSet(conf, func() error { return os.RemoveAll(dir) }), nil
}

// deleteExecProc removes a process that did not start, with its FIFOs.
func (s *Service) deleteExecProc(ctx context.Context, ec *execConfig, proc client.Process, dio *cio.DirectIO) {
	if _, err := proc.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("exec", ec.id).Warn("deleting an exec process that failed to start")
	}
	dio.Cancel()
	dio.Close()
}

// execEnded records the exit of an exec and publishes exec_die.
func (s *Service) execEnded(ec *execConfig, code int) {
	ec.mu.Lock()
	ec.running = false
	ec.exitCode = &code
	ec.endedAt = time.Now()
	select {
	case <-ec.started:
	default:
		close(ec.started)
	}
	ec.mu.Unlock()
	s.publish(ec.c, events.ActionExecDie, map[string]string{"execID": ec.id, "exitCode": strconv.Itoa(code)})
}

// monitorExec waits for the process to exit, lets its output drain,
// records its exit code, then deletes it. When the container stops, the
// runtime kills its execs too, so their sessions end with it.
func (s *Service) monitorExec(p *execProc, exitC <-chan client.ExitStatus) {
	defer s.wg.Done()
	ctx := s.nsCtx(context.Background())
	code, ok := s.waitExec(ctx, p, exitC)
	if !ok {
		return // shutting down with live-restore
	}
	select {
	case <-p.outDone:
	case <-time.After(outputDrainTimeout):
		// A child of the process still holds its output open.
		log.G(ctx).WithField("exec", p.ec.id).Debug("exec output not drained after the process exited")
	}
	// The exit is recorded before the process is deleted: the attached
	// client asks for the exit code as soon as its stream ends, and the
	// delete is a round trip to the shim it need not wait for.
	s.execEnded(p.ec, code)
	close(p.exited)
	if _, err := p.proc.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("exec", p.ec.id).Warn("deleting the exited exec process")
	}
	p.dio.Cancel()
	p.dio.Close()
}

// waitExec waits for the exit status of an exec process, resuming the wait
// when containerd restarts. ok is false when roostd shuts down with
// live-restore.
func (s *Service) waitExec(ctx context.Context, p *execProc, exitC <-chan client.ExitStatus) (code int, ok bool) {
	delay := 100 * time.Millisecond
	for {
		var st client.ExitStatus
		select {
		case st = <-exitC:
		case <-s.detached:
			return 0, false
		}
		if st.Error() == nil {
			return int(st.ExitCode()), true
		}
		log.G(ctx).WithError(st.Error()).WithField("exec", p.ec.id).Debug("waiting for the exec, retrying")
		select {
		case <-time.After(delay):
		case <-s.detached:
			return 0, false
		}
		if delay < 2*time.Second {
			delay *= 2
		}
		ch, err := p.proc.Wait(ctx)
		if err != nil {
			if errdefs.IsNotFound(err) {
				return unknownExitCode, true
			}
			ch = closedExit(err)
		}
		exitC = ch
	}
}

// killExecs kills the exec processes still running in a run whose task
// exited. The runtime normally takes them down with the container's init
// (the PID namespace ends); without a PID namespace of its own and without
// cgroups (rootless) nothing else would, and their sessions would never
// end.
func (s *Service) killExecs(r *run) {
	s.execs.mu.Lock()
	var procs []client.Process
	for _, ec := range s.execs.byID {
		if ec.run != r {
			continue
		}
		ec.mu.Lock()
		if ec.proc != nil && ec.exitCode == nil {
			procs = append(procs, ec.proc)
		}
		ec.mu.Unlock()
	}
	s.execs.mu.Unlock()
	ctx := s.nsCtx(context.Background())
	for _, p := range procs {
		if err := p.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("exec", p.ID()).Debug("killing an exec of an exited container")
		}
	}
}

// copyOutput copies the process's output to the client's writers (nil:
// discarded) until the FIFOs end. The copies outlive a session that ends
// early, discarding, so that the process never blocks on a full pipe.
func (p *execProc) copyOutput(stdout, stderr io.Writer) {
	var wg sync.WaitGroup
	pipe := func(dst io.Writer, src io.Reader) {
		g := &gateWriter{w: dst}
		p.outputs = append(p.outputs, g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := io.Copy(g, src); err != nil {
				log.L.WithError(err).WithField("exec", p.ec.id).Debug("copying exec output")
			}
		}()
	}
	pipe(stdout, p.dio.Stdout)
	if !p.ec.tty && p.dio.Stderr != nil {
		pipe(stderr, p.dio.Stderr)
	}
	go func() {
		wg.Wait()
		close(p.outDone)
	}()
}

// stream runs an attached session: the client's input goes to the process
// (watching for the detach keys on a TTY) until the output ends.
func (p *execProc) stream(ctx context.Context, stdin io.Reader) error {
	defer p.closeOutputs()
	stdinDone := make(chan error, 1)
	if stdin != nil {
		go func() { stdinDone <- p.copyIn(stdin) }()
	}
	for {
		select {
		case <-p.outDone:
			// The exit is recorded right after: the CLI asks for the
			// exit code as soon as the stream ends.
			select {
			case <-p.exited:
			case <-ctx.Done():
			}
			return nil
		case <-ctx.Done():
			// The client is gone: as with dockerd, the process reads EOF
			// (without a TTY) but is not killed.
			if p.stdinEnd != nil && !p.ec.tty {
				p.stdinEnd()
			}
			return ctx.Err()
		case err := <-stdinDone:
			stdinDone = nil
			if errors.Is(err, errDetached) {
				p.s.publish(p.ec.c, events.ActionExecDetach, map[string]string{"execID": p.ec.id})
				return nil
			}
			if p.ec.tty {
				// dockerd ends a TTY session when its input ends.
				return nil
			}
			// Without a TTY the process reads EOF and the output goes on.
			p.stdinEnd()
		}
	}
}

// copyIn copies the client's input to the process's stdin.
func (p *execProc) copyIn(stdin io.Reader) error {
	r := stdin
	if p.ec.tty {
		keys := p.ec.detachKeys
		if len(keys) == 0 {
			keys = defaultDetachKeys
		}
		r = newEscapeReader(stdin, keys)
	}
	_, err := io.Copy(p.dio.Stdin, r)
	return err
}

// closeOutputs stops writing to the client; the output is discarded from
// now on.
func (p *execProc) closeOutputs() {
	for _, g := range p.outputs {
		g.close()
	}
}

// gateWriter passes writes to w until it is closed or a write fails, then
// discards them. It never fails, so that a copy from the process's output
// runs to the end.
type gateWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != nil {
		if _, err := g.w.Write(p); err != nil {
			g.w = nil
		}
	}
	return len(p), nil
}

func (g *gateWriter) close() {
	g.mu.Lock()
	g.w = nil
	g.mu.Unlock()
}

var _ ExecSession = (*execSession)(nil)
