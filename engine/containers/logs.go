package containers

import (
	"context"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/logs"
	"github.com/roostd/roost/engine/logs/journald"
)

// Logs streams the container's log: its json-file or local log, or its
// journal entries. With Follow, the channel closes once the container
// stopped and its log is drained.
func (s *Service) Logs(ctx context.Context, ref string, opts LogsOptions) (<-chan *logs.Message, bool, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	tty := c.rec.Config.Tty
	path := s.logFile(c.id, c.rec.HostConfig.LogConfig)
	jopts, err := logFileOptions(c.rec.HostConfig.LogConfig)
	// Following ends when the current (or last) run's exit is recorded,
	// which is after its output is drained: like dockerd, a client that saw
	// the stream end sees the container stopped.
	stopped := closedChan
	if r := c.lastRun; r != nil {
		stopped = r.exited
	}
	journal := c.rec.HostConfig.LogConfig.Type == logDriverJournald
	id := c.id
	c.mu.Unlock()
	ro := logs.ReadOptions{
		Tail: opts.Tail, Since: opts.Since, Until: opts.Until,
		Follow: opts.Follow, Stopped: stopped,
	}
	var in <-chan *logs.Message
	switch {
	case journal:
		in, err = journald.Read(ctx, id, ro)
	case path == "":
		// dockerd's ErrReadLogsNotSupported (--log-driver none).
		return nil, false, errdefs.ErrNotImplemented.WithMessage("configured logging driver does not support reading")
	case err == nil:
		in, err = logs.Read(ctx, path, jopts, ro)
	}
	if err != nil {
		return nil, false, err
	}
	if opts.Stdout && opts.Stderr {
		return in, tty, nil
	}
	out := make(chan *logs.Message)
	go func() {
		defer close(out)
		for m := range in {
			if (m.Stream == "stderr" && !opts.Stderr) || (m.Stream != "stderr" && !opts.Stdout) {
				continue
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, tty, nil
}

// closedChan is a channel that is already closed.
var closedChan = func() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()
