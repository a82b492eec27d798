package containers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Restore reconciles the stored containers with containerd, once at
// start-up: a container that still runs is adopted again (its output is
// followed and its exit monitored) whatever LiveRestore says, because a
// roostd that died must never take containers with it (LiveRestore only
// decides what a clean shutdown does); an exit that happened while roostd was away is recorded; then
// the restart policies apply as at dockerd's start (always, unless-stopped
// unless stopped by the user, on-failure after a failure) and stopped
// --rm containers are removed.
func (s *Service) Restore(ctx context.Context) error {
	ctx = s.nsCtx(ctx)
	s.removeOrphans(ctx)
	var wg sync.WaitGroup
	var errs []error
	for _, c := range s.all() {
		c.mu.Lock()
		dead := c.rec.State.Dead
		shimGroup := ""
		if !dead && c.rec.State.Running {
			var err error
			if shimGroup, err = s.reconcile(ctx, c); err != nil {
				errs = append(errs, fmt.Errorf("container %s: %w", c.id, err))
			}
		}
		c.mu.Unlock()
		// Outside c.mu: a group pick takes shimMu, then containers' locks.
		s.restoreShimGroup(c.id, shimGroup)
		if dead {
			// A removal was interrupted: finish it.
			wg.Add(1)
			go func() { defer wg.Done(); s.logErr(ctx, c, "removing a dead container", s.remove(ctx, c, true)) }()
		}
	}
	for _, c := range s.all() {
		c.mu.Lock()
		running := c.rec.State.Running
		c.mu.Unlock()
		if !running {
			// Endpoints and ports of a container that stopped while roostd
			// was away.
			s.logErr(ctx, c, "network cleanup", s.netTeardown(ctx, c.id))
		}
	}
	for _, c := range s.all() {
		c.mu.Lock()
		st := c.rec.State
		restart := !st.Running && !st.Dead && !st.StartedAt.IsZero() && restartAtBoot(c.rec.HostConfig.RestartPolicy, exitFacts{
			exitCode:        st.ExitCode,
			restartCount:    c.rec.RestartCount,
			manuallyStopped: c.rec.ManuallyStopped,
			ran:             st.FinishedAt.Sub(st.StartedAt),
		})
		autoRemove := !st.Running && !st.Dead && c.rec.HostConfig.AutoRemove
		if restart {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.mu.Lock()
				defer c.mu.Unlock()
				if !c.rec.State.Running && !c.removing {
					c.rec.ManuallyStopped = false
					s.logErr(ctx, c, "restart policy: start at boot", s.startLocked(ctx, c))
				}
			}()
		}
		c.mu.Unlock()
		if autoRemove {
			wg.Add(1)
			go func() { defer wg.Done(); s.logErr(ctx, c, "removing a stopped --rm container", s.remove(ctx, c, true)) }()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// reconcile adopts or records the task of a container the store says is
// running, and returns the shim group of one it adopted (shimGroupOf).
// Only containerd being unreachable is an error: the container's state is
// then left as it was. c.mu is held.
func (s *Service) reconcile(ctx context.Context, c *ctr) (shimGroup string, err error) {
	exited := func(code int, at time.Time, why string) {
		if why != "" {
			log.G(ctx).WithField("container", c.id).Info(why)
		}
		if at.IsZero() {
			at = time.Now()
		}
		c.setStopped(code, at)
		s.save(ctx, c)
	}
	if c.rec.State.Restarting {
		// roostd stopped during a restart backoff; the policy decides
		// again below.
		exited(c.rec.State.ExitCode, c.rec.State.FinishedAt, "")
		return "", nil
	}
	cc, err := s.client.LoadContainer(ctx, c.id)
	if errdefs.IsNotFound(err) {
		exited(unknownExitCode, time.Time{}, fmt.Sprintf("containerd container gone: %v", err))
		return "", nil
	} else if err != nil {
		return "", err
	}
	var dio *cio.DirectIO
	task, err := cc.Task(ctx, func(fs *cio.FIFOSet) (cio.IO, error) {
		var err error
		dio, err = cio.NewDirectIO(context.Background(), fs)
		return dio, err
	})
	if errdefs.IsNotFound(err) {
		exited(unknownExitCode, time.Time{}, fmt.Sprintf("task gone: %v", err))
		return "", nil
	} else if err != nil {
		return "", err
	}
	status, err := task.Status(ctx)
	if err != nil {
		status.Status = client.Unknown
	}
	switch status.Status {
	case client.Running, client.Paused, client.Pausing:
		if dio != nil {
			s.adopt(ctx, c, task, dio, status.Status != client.Running)
			return "", nil
		}
		// Its output can no longer be followed: stop it (the policy may
		// start it again).
		ch, _ := task.Wait(ctx)
		_ = task.Kill(ctx, syscall.SIGKILL)
		if ch != nil {
			waitExitStatus(ch, killWaitTimeout)
		}
	}
	code, at := unknownExitCode, time.Time{}
	if es, err := task.Delete(ctx, client.WithProcessKill); err == nil {
		code, at = int(es.ExitCode()), es.ExitTime()
	} else if !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("deleting a stale task")
	}
	exited(code, at, "")
	return "", nil
}

// adopt follows a task that kept running while roostd was away. c.mu is
// held.
func (s *Service) adopt(ctx context.Context, c *ctr, task client.Task, dio *cio.DirectIO, paused bool) {
	r := &run{task: task, io: dio, outputDone: make(chan struct{}), exited: make(chan struct{}), netCleanup: func() error { return nil }}
	if usesNetworker(c.rec.HostConfig) {
		// The networker kept the endpoints and ports of the containers
		// that were running.
		r.netCleanup = func() error { return s.netTeardown(context.WithoutCancel(ctx), c.id) }
	}
	exitC, err := task.Wait(ctx)
	if err != nil {
		exitC = closedExit(err)
	}
	lf, err := s.openLog(c.id, c.rec)
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("reopening the log: output is not logged")
	}
	s.startPumps(c, r, lf, c.rec.Config.Tty)
	if c.rec.Config.OpenStdin && dio.Stdin != nil {
		c.streams.setStdin(dio.Stdin, s.stdinCloser(c.id, task, dio.Stdin))
	}
	// Count the container among its volumes' users again (mounts made
	// before the restart are kept), so that its exit unmounts them.
	if err := s.mountVolumes(ctx, c); err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn("restoring the container's volume mounts")
	}
	c.run, c.lastRun = r, r
	c.rec.State.Pid = int(task.Pid())
	c.rec.State.Paused = paused
	s.startHealth(c, r)
	s.save(ctx, c)
	s.wg.Add(1)
	go s.monitor(c, r, exitC)
}

// removeOrphans deletes containerd containers of our namespace that the
// store does not know: roostd died between creating one and recording it.
func (s *Service) removeOrphans(ctx context.Context) {
	list, err := s.client.Containers(ctx)
	if err != nil {
		log.G(ctx).WithError(err).Warn("listing containerd containers")
		return
	}
	s.mu.RLock()
	var orphans []client.Container
	for _, cc := range list {
		if _, ok := s.byID[cc.ID()]; !ok {
			orphans = append(orphans, cc)
		}
	}
	s.mu.RUnlock()
	for _, cc := range orphans {
		if t, err := cc.Task(ctx, nil); err == nil {
			_, _ = t.Delete(ctx, client.WithProcessKill)
		}
		if err := cc.Delete(ctx, client.WithSnapshotCleanup); err != nil {
			log.G(ctx).WithError(err).WithField("container", cc.ID()).Warn("removing an orphaned containerd container")
		}
	}
}

// Shutdown stops the containers (unless LiveRestore keeps them running)
// and waits for their exits to be recorded, or for ctx to end.
func (s *Service) Shutdown(ctx context.Context) error {
	s.shuttingDown.Store(true)
	cs := s.all()
	for _, c := range cs {
		c.mu.Lock()
		if c.cancelRestart() {
			s.save(ctx, c)
		}
		c.mu.Unlock()
	}
	if s.opts.LiveRestore {
		s.detachOnce.Do(func() { close(s.detached) })
		return nil
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		c.mu.Lock()
		running := c.run != nil
		c.mu.Unlock()
		if running {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.logErr(ctx, c, "stopping at shutdown", s.stop(ctx, c, StopOptions{}))
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) logErr(ctx context.Context, c *ctr, what string, err error) {
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", c.id).Warn(what)
	}
}

// waitExitStatus waits for an exit status, up to d.
func waitExitStatus(ch <-chan client.ExitStatus, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}
