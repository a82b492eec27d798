package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// engine is one thing the workloads measure: a daemon with a Docker API
// (roost, and later its peers), or the bare-runtime floor. Nil functions
// are things the engine does not do, and the workloads that need them skip
// it.
type engine struct {
	name string
	// dockerHost is the DOCKER_HOST for the docker CLI; "" when the
	// engine has no Docker API.
	dockerHost string
	setUp      func() error
	tearDown   func() []string
	// restart stops the engine fully, starts it again and returns how long
	// the start took until the engine answered.
	restart func() (time.Duration, error)
	// procs lists the engine's processes, and roles (optional) names the
	// part each plays, by pid, for the report.
	procs func() []proc
	roles func() map[int]string
	// runTrue runs `true` in busybox n times after warmup runs and returns
	// each timed run; it replaces the docker CLI for engines without one.
	runTrue func(ctx context.Context, warmup, n int) ([]time.Duration, error)

	imageLoaded bool
}

// workload measures one thing on the engines that can do it.
type workload struct {
	name    string
	applies func(e *engine) bool
	measure func(b *bench, e *engine) []row
}

// workloads, in the order they run: idle first, on a freshly started
// engine; start last, as it restarts the engine.
var workloads = []workload{
	{"idle", func(e *engine) bool { return e.procs != nil }, idleWorkload},
	{"run", func(e *engine) bool { return e.runTrue != nil || e.dockerHost != "" }, runWorkload},
	{"build", func(e *engine) bool { return e.dockerHost != "" }, buildWorkload},
	{"start", func(e *engine) bool { return e.restart != nil }, startWorkload},
}

const (
	warmupRuns  = 3
	startRuns   = 5
	idleSamples = 5
	// idleSettle lets a freshly started engine finish what it does right
	// after answering (containerd loading its plugins, say) before the
	// first idle sample; idleInterval spaces the samples.
	idleSettle   = 3 * time.Second
	idleInterval = time.Second
	// runTimeout bounds one `docker run`, so that a hung engine ends the
	// row rather than the bench; it is no assertion on the time.
	runTimeout = 2 * time.Minute
)

// runWorkload times `docker run --rm busybox true`, or the engine's own
// way of running it.
func runWorkload(b *bench, e *engine) []row {
	r := row{workload: "run", engine: e.name, unit: unitMs}
	var ds []time.Duration
	if e.runTrue != nil {
		ctx, cancel := context.WithTimeout(b.ctx, runTimeout*time.Duration(warmupRuns+b.n))
		ds, r.err = e.runTrue(ctx, warmupRuns, b.n)
		cancel()
	} else {
		ds, r.err = dockerRunTrue(b, e)
	}
	for _, d := range ds {
		r.samples = append(r.samples, ms(d))
	}
	return []row{r}
}

// dockerRunTrue loads busybox once, then times the docker CLI.
func dockerRunTrue(b *bench, e *engine) ([]time.Duration, error) {
	if !e.imageLoaded {
		if _, err := b.docker(e, "load", "-i", b.busyboxTar); err != nil {
			return nil, fmt.Errorf("loading busybox: %w", err)
		}
		e.imageLoaded = true
		// Once, untimed: the rows must time containers that really ran.
		out, err := b.dockerOutput(e, "run", "--rm", "busybox", "echo", "roost-bench")
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(out) != "roost-bench" {
			return nil, fmt.Errorf("docker run --rm busybox echo roost-bench printed %q", out)
		}
	}
	var ds []time.Duration
	for i := range warmupRuns + b.n {
		d, err := b.docker(e, "run", "--rm", "busybox", "true")
		if err != nil {
			return ds, err
		}
		if i >= warmupRuns {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// startWorkload times a start of the engine from nothing running to the
// first answered /_ping.
func startWorkload(b *bench, e *engine) []row {
	r := row{workload: "start", engine: e.name, unit: unitMs}
	for range startRuns {
		if r.err = b.ctx.Err(); r.err != nil {
			break
		}
		var d time.Duration
		if d, r.err = e.restart(); r.err != nil {
			break
		}
		r.samples = append(r.samples, ms(d))
	}
	return []row{r}
}

// idleWorkload sums the resident memory of the engine's processes while it
// runs nothing: VmRSS (what `ps` shows, counting shared pages once per
// process) and PSS (shared pages divided among their users).
func idleWorkload(b *bench, e *engine) []row {
	rss := row{workload: "idle RSS", engine: e.name, unit: unitMiB}
	pss := row{workload: "idle PSS", engine: e.name, unit: unitMiB}
	wait := idleSettle
	for range idleSamples {
		select {
		case <-b.ctx.Done():
			rss.err, pss.err = b.ctx.Err(), b.ctx.Err()
			return []row{rss, pss}
		case <-time.After(wait):
		}
		wait = idleInterval
		procs := e.procs()
		if len(procs) == 0 {
			rss.err = errors.New("the engine has no processes")
			pss.err = rss.err
			break
		}
		var rssKB, pssSum int64
		var roles map[int]string
		if e.roles != nil {
			roles = e.roles()
		}
		b.idleProcs = b.idleProcs[:0]
		for _, p := range procs {
			pssKB, err := pssKB(p.pid)
			if err != nil && pss.err == nil {
				pss.err = fmt.Errorf("reading the PSS of %s: %w", p, err)
			}
			p := idleProc{proc: p, pssKB: pssKB, role: roles[p.pid]}
			rssKB += p.rssKB
			pssSum += p.pssKB
			b.idleProcs = append(b.idleProcs, p)
		}
		rss.samples = append(rss.samples, float64(rssKB)/1024)
		pss.samples = append(pss.samples, float64(pssSum)/1024)
	}
	return []row{rss, pss}
}

// idleProc is one process of the last idle sample, for the report.
type idleProc struct {
	proc
	pssKB int64
	role  string
}

// docker runs the docker CLI against e and returns the wall time of the
// command; a failure carries its output.
func (b *bench) docker(e *engine, args ...string) (time.Duration, error) {
	t0 := time.Now()
	_, err := b.dockerOutput(e, args...)
	return time.Since(t0), err
}

// dockerOutput runs the docker CLI against e and returns its stdout.
func (b *bench) dockerOutput(e *engine, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.dockerCLI, args...)
	cmd.Env = b.dockerEnv(e)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stdout.String()+stderr.String()))
	}
	return stdout.String(), nil
}

// dockerEnv points the CLI at e, with a private config dir so that the
// caller's ~/.docker is neither read nor written.
func (b *bench) dockerEnv(e *engine) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_HOST="+e.dockerHost, "DOCKER_CONFIG="+b.dockerConfig, "DOCKER_CLI_HINTS=false")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
