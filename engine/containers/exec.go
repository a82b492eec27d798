package containers

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// execRetention is how long a finished exec stays inspectable. dockerd's
// collector removes finished execs 5 to 10 minutes after they end; the CLI
// only needs the exit code right after the stream ends.
const execRetention = 5 * time.Minute

// execReadyTimeout bounds how long a resize waits for the exec's process
// to start (dockerd's 10 s).
const execReadyTimeout = 10 * time.Second

// ExecStartOptions are the body of POST /exec/{id}/start.
type ExecStartOptions struct {
	// Detach starts the process and returns at once; its output is
	// discarded.
	Detach bool
	// ConsoleSize is [height, width] of the TTY; nil keeps the size given
	// at create.
	ConsoleSize *[2]uint
}

// ExecSession is a checked exec start. The API hijacks the connection only
// after the engine returned one, then calls Run.
type ExecSession interface {
	// Run starts the process. Detached, it returns once the process runs.
	// Otherwise it copies the streams until the process's output ends
	// (its exit code is then recorded), the client types the detach keys
	// (TTY only) or ctx is done; the process keeps running in the last two
	// cases, as under dockerd. stdin is used only when the exec was
	// created with AttachStdin. A start failure is returned with dockerd's
	// words (the exit code, 126 or 127 for a command that cannot run, is
	// recorded for GET /exec/{id}/json).
	Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error
}

// execConfig is one exec instance, in memory only, as in dockerd.
type execConfig struct {
	id  string
	c   *ctr
	run *run // the container's run it belongs to; it dies with it

	// Fixed at create.
	entrypoint  string
	args        []string
	user        string // as given, else the container's
	workingDir  string // as given, else the container's
	env         []string
	tty         bool
	privileged  bool
	openStdin   bool
	openStdout  bool
	openStderr  bool
	detachKeys  []byte // empty: the default ctrl-p,ctrl-q
	consoleSize *[2]uint

	mu       sync.Mutex // guards the fields below
	running  bool       // a start was accepted, until the exit is recorded
	exitCode *int
	pid      int
	proc     client.Process
	endedAt  time.Time
	// started is closed when the start attempt is over, successful or
	// not: resize waits for it.
	started chan struct{}
}

// command is the exec's command line as dockerd's events show it: the
// entrypoint, a space, the arguments (so "true " for a bare command).
func (ec *execConfig) command() string {
	return ec.entrypoint + " " + strings.Join(ec.args, " ")
}

// execStore holds the exec instances of all containers. Lock order:
// ctr.mu, then execStore.mu, then execConfig.mu.
type execStore struct {
	mu   sync.Mutex
	byID map[string]*execConfig
}

func (st *execStore) add(ec *execConfig) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = map[string]*execConfig{}
	}
	st.byID[ec.id] = ec
}

func (st *execStore) get(id string) (*execConfig, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if ec, ok := st.byID[id]; ok {
		return ec, nil
	}
	return nil, errNoSuchExec(id)
}

// pruneExecs forgets the execs that ended more than execRetention ago,
// those of removed containers and those never started in a run that
// ended (dockerd unregisters them when the container stops).
func (s *Service) pruneExecs(now time.Time) {
	s.execs.mu.Lock()
	all := make([]*execConfig, 0, len(s.execs.byID))
	for _, ec := range s.execs.byID {
		all = append(all, ec)
	}
	s.execs.mu.Unlock()
	var drop []string
	for _, ec := range all {
		ec.c.mu.Lock()
		gone, runEnded := ec.c.removed, ec.c.run != ec.run
		ec.c.mu.Unlock()
		ec.mu.Lock()
		expired := ec.exitCode != nil && now.Sub(ec.endedAt) > execRetention
		unstarted := ec.exitCode == nil && !ec.running
		ec.mu.Unlock()
		if gone || expired || (runEnded && unstarted) {
			drop = append(drop, ec.id)
		}
	}
	s.execs.mu.Lock()
	for _, id := range drop {
		delete(s.execs.byID, id)
	}
	s.execs.mu.Unlock()
}

// live returns the IDs of the execs of c's current run that have not
// exited (dockerd's ExecIDs in container inspect). c.mu is held.
func (st *execStore) live(c *ctr) []string {
	if c.run == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var ids []string
	for id, ec := range st.byID {
		if ec.c != c || ec.run != c.run {
			continue
		}
		ec.mu.Lock()
		if ec.exitCode == nil {
			ids = append(ids, id)
		}
		ec.mu.Unlock()
	}
	slices.Sort(ids)
	return ids
}

// ExecCreate sets up an exec in a running container (POST
// /containers/{id}/exec) and returns its ID. The user is checked now,
// against the container's files, so that a bad -u fails early as in
// dockerd.
func (s *Service) ExecCreate(ctx context.Context, ref string, req *container.ExecCreateRequest) (string, error) {
	if req == nil || len(req.Cmd) == 0 {
		return "", errdefs.ErrInvalidArgument.WithMessage("No exec command specified")
	}
	c, err := s.get(ref)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	err = checkExecable(c, ref)
	r, pid := c.run, c.rec.State.Pid
	cfg := *c.rec.Config
	groupAdd := c.rec.HostConfig.GroupAdd
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	if req.User != "" {
		if _, err := resolveUser(ctx, taskRoot(pid), req.User, groupAdd); err != nil {
			return "", err
		}
	}
	keys := []byte{}
	if req.DetachKeys != "" {
		if keys, err = parseDetachKeys(req.DetachKeys); err != nil {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Invalid escape keys (%s) provided", req.DetachKeys))
		}
	}
	ec := &execConfig{
		id:          newID(),
		c:           c,
		run:         r,
		entrypoint:  req.Cmd[0],
		args:        append([]string{}, req.Cmd[1:]...),
		user:        orDefault(req.User, cfg.User),
		workingDir:  orDefault(req.WorkingDir, cfg.WorkingDir),
		env:         execEnv(&cfg, req.Tty, req.Env),
		tty:         req.Tty,
		privileged:  req.Privileged,
		openStdin:   req.AttachStdin,
		openStdout:  req.AttachStdout,
		openStderr:  req.AttachStderr,
		detachKeys:  keys,
		consoleSize: req.ConsoleSize,
		started:     make(chan struct{}),
	}
	s.pruneExecs(time.Now())
	s.execs.add(ec)
	s.publish(c, events.Action(string(events.ActionExecCreate)+": "+ec.command()), map[string]string{"execID": ec.id})
	return ec.id, nil
}

// checkExecable returns dockerd's error for a container that cannot take
// an exec: not running (409), paused, restarting. c.mu is held.
func checkExecable(c *ctr, ref string) error {
	st := &c.rec.State
	switch {
	case !st.Running:
		return errNotRunning(c.id)
	case st.Paused:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is paused, unpause the container before exec", ref))
	case st.Restarting:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is restarting, wait until the container is running", c.id))
	case c.run == nil:
		return errNotRunning(c.id)
	}
	return nil
}

// activeExec finds an exec whose container still runs the run it was
// created in, with dockerd's errors (getExecConfig).
func (s *Service) activeExec(id string) (*execConfig, error) {
	ec, err := s.execs.get(id)
	if err != nil {
		return nil, err
	}
	c := ec.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil, errNoSuchContainer(id)
	}
	if err := checkExecable(c, c.id); err != nil {
		return nil, err
	}
	if c.run != ec.run {
		// dockerd forgets the execs of a container when it stops.
		return nil, errNoSuchExec(id)
	}
	return ec, nil
}

// ExecInspect describes an exec (GET /exec/{id}/json). ExitCode is nil
// until the process has exited.
func (s *Service) ExecInspect(ctx context.Context, id string) (*container.ExecInspectResponse, error) {
	ec, err := s.execs.get(id)
	if err != nil {
		return nil, err
	}
	ec.c.mu.Lock()
	gone := ec.c.removed
	ec.c.mu.Unlock()
	if gone {
		return nil, errNoSuchExec(id)
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	privileged := ec.privileged
	var code *int
	if ec.exitCode != nil {
		v := *ec.exitCode
		code = &v
	}
	return &container.ExecInspectResponse{
		ID:       ec.id,
		Running:  ec.running,
		ExitCode: code,
		ProcessConfig: &container.ExecProcessConfig{
			Tty:        ec.tty,
			Entrypoint: ec.entrypoint,
			Arguments:  append([]string{}, ec.args...),
			Privileged: &privileged,
			User:       ec.user,
		},
		OpenStdin:   ec.openStdin,
		OpenStdout:  ec.openStdout,
		OpenStderr:  ec.openStderr,
		ContainerID: ec.c.id,
		DetachKeys:  append([]byte{}, ec.detachKeys...),
		Pid:         ec.pid,
	}, nil
}

// ExecResize sets the size of an exec's TTY, waiting (up to 10 s, as
// dockerd) for its process to start: the CLI resizes right after the
// hijack, which may come before the start.
func (s *Service) ExecResize(ctx context.Context, id string, height, width uint) error {
	ec, err := s.activeExec(id)
	if err != nil {
		return err
	}
	t := time.NewTimer(execReadyTimeout)
	defer t.Stop()
	select {
	case <-ec.started:
	case <-t.C:
		return fmt.Errorf("timeout waiting for exec session ready")
	case <-ctx.Done():
		return ctx.Err()
	}
	ec.mu.Lock()
	proc := ec.proc
	ec.mu.Unlock()
	if proc == nil {
		return errdefs.ErrInvalidArgument.WithMessage("exec process is not started")
	}
	if err := proc.Resize(s.bgCtx(ctx), uint32(width), uint32(height)); err != nil {
		return fmt.Errorf("resize exec %s: %s", id, err)
	}
	return nil
}

func errNoSuchExec(id string) error {
	return errdefs.ErrNotFound.WithMessage("No such exec instance: " + id)
}
