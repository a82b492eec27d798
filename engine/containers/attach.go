package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"

	"github.com/roostd/roost/engine/logs"
)

// attachRunTimeout releases a session whose Run is never called (the
// hijack failed), so that it cannot hold the container's output back.
const attachRunTimeout = time.Minute

// session is one attached client.
type session struct {
	stdout, stderr bool
	out            *outQueue
	gone           bool // guarded by streams.mu
}

// attachment is a checked attach request (Attachment).
type attachment struct {
	s       *Service
	c       *ctr
	opts    AttachOptions
	keys    []byte
	tty     bool
	stdin   bool // the client's stdin goes to the container
	once    bool // StdinOnce: the end of the client's stdin closes the container's
	ss      *session
	logPath string
	started chan struct{} // closed when Run starts
}

// Attach checks an attach request. With Stream, the session is registered
// now, before the connection is hijacked: `docker run` attaches, then
// starts, and no output may be lost in between.
func (s *Service) Attach(ctx context.Context, ref string, opts AttachOptions) (Attachment, error) {
	keys, err := parseDetachKeys(opts.DetachKeys)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Invalid detach keys (%s) provided", opts.DetachKeys))
	}
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.State.Paused {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is paused, unpause the container before attach", ref))
	}
	if c.rec.State.Restarting {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is restarting, wait until the container is running", ref))
	}
	cfg := c.rec.Config
	a := &attachment{
		s: s, c: c, opts: opts, keys: keys, tty: cfg.Tty,
		stdin:   opts.Stdin && cfg.OpenStdin,
		once:    cfg.StdinOnce && !cfg.Tty,
		logPath: s.logFile(c.id, c.rec.HostConfig.LogConfig),
		started: make(chan struct{}),
	}
	if opts.Stream {
		a.ss = &session{stdout: opts.Stdout, stderr: opts.Stderr, out: newOutQueue()}
		c.streams.attach(a.ss)
		go func() {
			select {
			case <-a.started:
			case <-time.After(attachRunTimeout):
				c.streams.detach(a.ss)
			}
		}()
	}
	s.publish(c, events.ActionAttach, nil)
	return a, nil
}

// TTY tells whether the streams are raw (a TTY) or multiplexed.
func (a *attachment) TTY() bool { return a.tty }

// Run replays the log (Logs), then copies the live streams (Stream) until
// the container's output ends, the client detaches or goes away.
func (a *attachment) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	close(a.started)
	if a.ss != nil {
		defer a.c.streams.detach(a.ss)
	}
	if a.opts.Logs {
		if err := a.replay(ctx, stdout, stderr); err != nil {
			return err
		}
	}
	if a.ss == nil {
		return nil
	}

	outDone := make(chan error, 1)
	go func() { outDone <- a.copyOut(stdout, stderr) }()
	stdinDone := make(chan error, 1)
	if a.stdin && stdin != nil {
		go func() { stdinDone <- a.copyIn(stdin) }()
	}

	select {
	case err := <-outDone:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case err := <-stdinDone:
		if errors.Is(err, errDetached) {
			a.s.publish(a.c, events.ActionDetach, nil)
			return nil
		}
		if !a.once {
			// dockerd ends the session when the client's stdin ends,
			// unless that closes the container's stdin (StdinOnce).
			return err
		}
		a.c.streams.endStdin(a.ss)
	}
	// StdinOnce without TTY: the output runs until the container exits.
	select {
	case err := <-outDone:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// copyOut writes the queued output to the client until the run ends.
func (a *attachment) copyOut(stdout, stderr io.Writer) error {
	for {
		chunks, ok := a.ss.out.pop()
		if !ok {
			return nil
		}
		for _, ch := range chunks {
			w := stdout
			if ch.stderr {
				w = stderr
			}
			if w == nil {
				continue
			}
			if _, err := w.Write(ch.data); err != nil {
				return err
			}
		}
	}
}

// copyIn copies the client's input to the container's stdin, watching for
// the detach keys on a TTY (as dockerd, only there).
func (a *attachment) copyIn(stdin io.Reader) error {
	r := stdin
	if a.tty {
		r = newEscapeReader(stdin, a.keys)
	}
	_, err := io.Copy(stdinWriter{st: a.c.streams, ss: a.ss}, r)
	return err
}

// replay writes the container's log so far.
func (a *attachment) replay(ctx context.Context, stdout, stderr io.Writer) error {
	if a.logPath == "" {
		return nil
	}
	a.c.mu.Lock()
	opts, err := logFileOptions(a.c.rec.HostConfig.LogConfig)
	a.c.mu.Unlock()
	if err != nil {
		return err
	}
	msgs, err := logs.Read(ctx, a.logPath, opts, logs.ReadOptions{Tail: -1})
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", a.c.id).Debug("replaying the log")
		return nil
	}
	for m := range msgs {
		w := stdout
		if m.Stream == "stderr" {
			if !a.opts.Stderr {
				continue
			}
			w = stderr
		} else if !a.opts.Stdout {
			continue
		}
		if _, err := w.Write(m.Line); err != nil {
			return err
		}
	}
	return nil
}

var _ Attachment = (*attachment)(nil)
