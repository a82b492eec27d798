package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/roostd/roost/engine/logs"
)

// run is one execution of a container's task.
type run struct {
	task       client.Task
	io         *cio.DirectIO
	netCleanup func() error
	// outputDone is closed when stdout and stderr reached EOF and the log
	// is closed.
	outputDone chan struct{}
	// exited is closed once the exit is recorded in the container's state.
	exited chan struct{}
}

// Start starts a created or stopped container.
func (s *Service) Start(ctx context.Context, ref string) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st := &c.rec.State; {
	case st.Paused:
		return errdefs.ErrConflict.WithMessage("cannot start a paused container, try unpause instead")
	case st.Running:
		return errdefs.ErrNotModified.WithMessage("container is already running")
	case c.removing || st.Dead:
		return errdefs.ErrConflict.WithMessage("container is marked for removal and cannot be started")
	}
	// A start by the user resets the restart policy's count and backoff,
	// as dockerd's ResetRestartManager.
	c.rec.RestartCount = 0
	c.backoff = 0
	c.rec.ManuallyStopped = false
	return s.startLocked(ctx, c)
}

// startLocked creates and starts the task: FIFOs, task, network, output
// pumps, start, then the exit monitor. c.mu is held.
func (s *Service) startLocked(reqCtx context.Context, c *ctr) error {
	ctx := s.bgCtx(reqCtx)
	rec := c.rec
	if err := s.writeEtcFiles(c.id, rec.Config, rec.HostConfig); err != nil {
		return s.startFailed(ctx, c, fmt.Errorf("writing the container's /etc files: %w", err))
	}
	cc, err := s.client.LoadContainer(ctx, c.id)
	if err != nil {
		return s.startFailed(ctx, c, fmt.Errorf("loading containerd container: %s", err))
	}
	if err := s.prepareNamespaces(ctx, cc, c.id, rec.HostConfig); err != nil {
		return s.startFailed(ctx, c, err)
	}
	fifos, err := s.newFIFOSet(c.id, rec.Config)
	if err != nil {
		return s.startFailed(ctx, c, err)
	}
	// The FIFOs must outlive the request: never open them with its context.
	dio, err := cio.NewDirectIO(context.Background(), fifos)
	if err != nil {
		return s.startFailed(ctx, c, fmt.Errorf("opening the container's FIFOs: %w", err))
	}
	netReq := NetworkRequest{ID: c.id, Name: rec.Name, Config: rec.Config, HostConfig: rec.HostConfig, Networking: rec.NetworkingConfig}
	// undoPrepare releases what Prepare set up when the start fails before
	// the task exists (after that, r.netCleanup does).
	undoPrepare := func() {
		if usesNetworker(rec.HostConfig) {
			s.logErr(ctx, c, "network cleanup of a failed start", s.netTeardown(context.WithoutCancel(ctx), c.id))
		}
	}
	if usesNetworker(rec.HostConfig) {
		if err := s.opts.Network.Prepare(ctx, netReq); err != nil {
			undoPrepare()
			return s.startFailed(ctx, c, err)
		}
	}
	if err := s.mountVolumes(ctx, c); err != nil {
		undoPrepare()
		return s.startFailed(ctx, c, err)
	}
	if err := s.chownMounts(ctx, c, cc); err != nil {
		s.unmountVolumes(ctx, c)
		undoPrepare()
		return s.startFailed(ctx, c, err)
	}
	// A container with a namespace of its own has its networks connected
	// while runc creates the task (netns.go); the others once the task,
	// and with it the namespace runc made, exists.
	var attached chan attachResult
	own := false
	if usesNetworker(rec.HostConfig) {
		if own, err = s.ownNetNS(ctx, cc); err != nil {
			s.unmountVolumes(ctx, c)
			undoPrepare()
			return s.startFailed(ctx, c, fmt.Errorf("pointing the container at its network namespace: %w", err))
		}
	}
	if own {
		p, err := s.newNetNS(c.id)
		if err != nil {
			s.unmountVolumes(ctx, c)
			undoPrepare()
			return s.startFailed(ctx, c, err)
		}
		netReq.NetNS = p
		attached = make(chan attachResult, 1)
		go func() {
			att, err := s.opts.Network.Attach(ctx, netReq)
			attached <- attachResult{att, err}
		}()
	}
	task, err := cc.NewTask(ctx, func(string) (cio.IO, error) { return dio, nil })
	if err != nil {
		if attached != nil {
			<-attached // undone below with the rest
		}
		s.unmountVolumes(ctx, c)
		undoPrepare()
		return s.startFailed(ctx, c, explainUnmappedUser(ctx, cc, fmt.Errorf("failed to create task for container: %s", err)))
	}
	r := &run{task: task, io: dio, outputDone: make(chan struct{}), exited: make(chan struct{}), netCleanup: func() error { return nil }}
	abort := func(err error) error {
		if _, derr := task.Delete(ctx, client.WithProcessKill); derr != nil {
			log.G(ctx).WithError(derr).WithField("container", c.id).Warn("deleting the task of a failed start")
		}
		if cerr := r.netCleanup(); cerr != nil {
			log.G(ctx).WithError(cerr).WithField("container", c.id).Warn("network cleanup of a failed start")
		}
		s.unmountVolumes(ctx, c)
		return s.startFailed(ctx, c, err)
	}
	if usesNetworker(rec.HostConfig) {
		r.netCleanup = func() error { return s.netTeardown(context.WithoutCancel(ctx), c.id) }
		var res attachResult
		if attached != nil {
			res = <-attached
		} else {
			netReq.NetNS = fmt.Sprintf("/proc/%d/ns/net", task.Pid())
			res.att, res.err = s.opts.Network.Attach(ctx, netReq)
		}
		att, err := res.att, res.err
		if err != nil {
			return abort(err)
		}
		if err := s.writeNetworkedEtcFiles(c.id, rec.Config, rec.HostConfig, att); err != nil {
			return abort(fmt.Errorf("writing the container's /etc files: %w", err))
		}
	}
	exitC, err := task.Wait(ctx)
	if err != nil {
		return abort(err)
	}
	lf, err := s.openLog(c.id, rec)
	if err != nil {
		return abort(fmt.Errorf("failed to initialize logging driver: %w", err))
	}
	s.startPumps(c, r, lf, rec.Config.Tty)
	if rec.Config.OpenStdin {
		c.streams.setStdin(dio.Stdin, s.stdinCloser(c.id, task, dio.Stdin))
	}
	if err := task.Start(ctx); err != nil {
		c.streams.clearStdin()
		return abort(err)
	}
	c.setRunning(int(task.Pid()), time.Now())
	c.run, c.lastRun = r, r
	c.exitOnNext, c.manuallyRestarted = false, false
	s.startHealth(c, r)
	s.save(ctx, c)
	s.publishVolumeEvents(c, events.ActionMount)
	s.publish(c, events.ActionStart, nil)
	s.wg.Add(1)
	go s.monitor(c, r, exitC)
	return nil
}

// attachResult is what the networker's Attach returned.
type attachResult struct {
	att *NetworkAttachment
	err error
}

// netTeardown undoes a run's networking once its task is gone: the
// container's own namespace first, so that the networks' teardown finds
// no namespace to enter, as after a task whose namespace runc made.
func (s *Service) netTeardown(ctx context.Context, id string) error {
	return errors.Join(s.releaseNetNS(id), s.opts.Network.Detach(ctx, id))
}

// startFailed records a failed start as dockerd does (the error and exit
// code 126/127/128 in the state, which stays "created" for a container
// that never ran) and classifies the error: a command that cannot be run
// is the user's mistake (400), with the words the docker CLI looks for to
// choose its own exit code.
func (s *Service) startFailed(ctx context.Context, c *ctr, err error) error {
	msg := err.Error()
	code, userErr := startExitCode(msg)
	st := &c.rec.State
	st.Running, st.Restarting, st.Paused, st.Pid = false, false, false, 0
	st.Error = msg
	st.ExitCode = code
	c.notify(false)
	s.save(ctx, c)
	if c.rec.HostConfig.AutoRemove {
		go func() {
			if err := s.remove(s.nsCtx(context.Background()), c, true); err != nil {
				log.G(ctx).WithError(err).WithField("container", c.id).Warn("removing an --rm container that failed to start")
			}
		}()
	}
	if userErr {
		return errdefs.ErrInvalidArgument.WithMessage(msg)
	}
	return errdefs.ErrUnknown.WithMessage(msg)
}

// startExitCode is dockerd's setExitCodeFromError.
func startExitCode(msg string) (code int, userErr bool) {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "permission denied"), strings.Contains(m, "is a directory"),
		// E2BIG: an environment (--env-file) or arguments too large to exec.
		strings.Contains(m, "argument list too long"):
		return 126, true
	case strings.Contains(m, "not a directory"):
		return 127, true
	case strings.Contains(m, "executable file not found"), strings.Contains(m, "no such file or directory"):
		return 127, true
	}
	return 128, false
}

// usesNetworker tells whether the container gets its own network namespace
// that the networker must connect ("none" keeps loopback only; "host"
// shares the engine's; container:<ref> another container's).
func usesNetworker(hc *container.HostConfig) bool {
	m := hc.NetworkMode
	return !m.IsHost() && !m.IsNone() && !m.IsContainer()
}

// newFIFOSet makes the run's FIFOs in the container's state directory:
// stdout, stderr unless there is a TTY, stdin only when it is open.
func (s *Service) newFIFOSet(id string, cfg *container.Config) (*cio.FIFOSet, error) {
	dir := filepath.Join(s.stateDir(id), "io")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := cio.Config{Terminal: cfg.Tty, Stdout: filepath.Join(dir, "stdout")}
	if !cfg.Tty {
		conf.Stderr = filepath.Join(dir, "stderr")
	}
	if cfg.OpenStdin {
		conf.Stdin = filepath.Join(dir, "stdin")
	}
	return cio.NewFIFOSet(conf, func() error { return os.RemoveAll(dir) }), nil
}

// stdinCloser closes the container's stdin: our FIFO end, and the shim's
// copy into the process, so the process reads EOF.
func (s *Service) stdinCloser(id string, task client.Task, w io.Closer) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			w.Close()
			ctx := s.nsCtx(context.Background())
			if err := task.CloseIO(ctx, client.WithStdinCloser); err != nil && !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).WithField("container", id).Debug("closing stdin")
			}
		})
	}
}

// startPumps copies the run's stdout and stderr into the log and out to
// the attached clients, and closes outputDone at their end.
func (s *Service) startPumps(c *ctr, r *run, lf logs.Writer, tty bool) {
	var wg sync.WaitGroup
	pump := func(stream string, src io.Reader) {
		defer wg.Done()
		tee := io.TeeReader(src, fanout{st: c.streams, stream: stream})
		var err error
		if lf != nil {
			err = logs.CopyLines(lf, stream, tee)
		} else {
			_, err = io.Copy(io.Discard, tee)
		}
		if err != nil {
			log.L.WithError(err).WithField("container", c.id).Debugf("copying %s", stream)
		}
	}
	wg.Add(1)
	go pump("stdout", r.io.Stdout)
	if !tty && r.io.Stderr != nil {
		wg.Add(1)
		go pump("stderr", r.io.Stderr)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		wg.Wait()
		if lf != nil {
			if err := lf.Close(); err != nil {
				log.L.WithError(err).WithField("container", c.id).Warn("closing the log")
			}
		}
		c.streams.endOutput()
		close(r.outputDone)
	}()
}
