package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// engine is one thing the workloads measure: a daemon with a Docker API
// (roost and its peers), or the bare-runtime floor. Nil functions are
// things the engine does not do, and the workloads that need them skip it.
type engine struct {
	name string
	// dockerHost is the DOCKER_HOST for the docker CLI; "" when the
	// engine has no Docker API. A peer's is known once it is set up.
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
	// version describes a peer's binaries for the report.
	version func() string
	// storageDriver restarts the engine with another storage driver ("" for
	// its default), for the storage rows of each snapshotter; nil for
	// engines measured on one only.
	storageDriver func(driver string) error

	// driver is the storage driver `docker info` named, for the report.
	driver string

	imageLoaded bool
	// runs counts the containers run on the engine so far, for the leak
	// check after a given number of runs.
	runs int
}

// workload measures one thing on the engines that can do it. Workloads
// are registered in allWorkloads; -workloads picks them by name.
type workload struct {
	name    string
	applies func(e *engine) bool
	measure func(b *bench, e *engine) []row
}

// hasAPI is true for the engines the docker CLI can drive.
func hasAPI(e *engine) bool { return e.dockerHost != "" }

// allWorkloads is the registry, in the order the workloads run on each
// engine: idle first, on a freshly started engine; leak after the runs of
// the others; start last, as it restarts the engine. Network workloads
// (networkWorkloads) go before start, on an engine whose state the others
// left.
func allWorkloads() []workload {
	ws := []workload{
		{"idle", func(e *engine) bool { return e.procs != nil }, idleWorkload},
		{"run", func(e *engine) bool { return e.runTrue != nil || hasAPI(e) }, runWorkload},
		{"parallel", hasAPI, parallelWorkload},
		{"cycle", hasAPI, cycleWorkload},
		{"exec", hasAPI, execWorkload},
		{"ps", hasAPI, psWorkload},
		{"leak", func(e *engine) bool { return hasAPI(e) && e.procs != nil }, leakWorkload},
		{"api", hasAPI, apiWorkload},
		{"build", hasAPI, buildWorkload},
		{"pull", hasAPI, pullWorkload},
		{"storage", hasAPI, storageWorkload},
	}
	ws = append(ws, networkWorkloads...)
	return append(ws, workload{"start", func(e *engine) bool { return e.restart != nil }, startWorkload})
}

// workloadNames lists the registry's names for the flag's help.
func workloadNames() []string {
	var names []string
	for _, w := range allWorkloads() {
		names = append(names, w.name)
	}
	return names
}

const (
	warmupRuns = 3
	// idleSettle lets a freshly started engine finish what it does right
	// after answering (containerd loading its plugins, say) before the
	// first idle sample; idleInterval spaces the samples.
	idleSettle   = 3 * time.Second
	idleInterval = time.Second
	// runTimeout bounds one `docker run`, so that a hung engine ends the
	// row rather than the bench; it is no assertion on the time.
	runTimeout = 2 * time.Minute
	// parallelRuns is how many `docker run --rm` one parallel round starts
	// at once.
	parallelRuns = 20
	// apiConns is the load generator's connections, each with one request
	// in flight: enough to keep two cores busy.
	apiConns = 8
	// createWorkers creates and removes the containers of the ps rows.
	createWorkers = 4
)

// sizes are the per-mode counts of the workloads; quick mode keeps the
// whole bench under five minutes on a 2-core machine.
type sizes struct {
	startRuns, idleSamples, parallelRounds int
	leakRuns                               int   // runs before the leak check's sample
	psCounts                               []int // containers for the ps rows
	apiWindows                             int
	apiWindow                              time.Duration
	iperfRounds, iperfSeconds              int // the network rows' iperf3 runs
	storageMiB, storageRounds              int // the storage rows' dd runs
}

var (
	fullSizes  = sizes{startRuns: 5, idleSamples: 5, parallelRounds: 5, leakRuns: 100, psCounts: []int{0, 100, 1000}, apiWindows: 5, apiWindow: time.Second, iperfRounds: 3, iperfSeconds: 3, storageMiB: 1024, storageRounds: 3}
	quickSizes = sizes{startRuns: 3, idleSamples: 3, parallelRounds: 2, leakRuns: 30, psCounts: []int{0, 100, 1000}, apiWindows: 3, apiWindow: 500 * time.Millisecond, iperfRounds: 2, iperfSeconds: 2, storageMiB: 256, storageRounds: 2}
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
		ds, r.err = dockerRunTrue(b, e, warmupRuns, b.n)
	}
	for _, d := range ds {
		r.samples = append(r.samples, ms(d))
	}
	return []row{r}
}

// ensureImage loads busybox into the engine once and checks that a
// container of it really runs and prints.
func ensureImage(b *bench, e *engine) error {
	if e.imageLoaded {
		return nil
	}
	if _, err := b.docker(e, "load", "-i", b.busyboxTar); err != nil {
		return fmt.Errorf("loading busybox: %w", err)
	}
	e.imageLoaded = true
	// Once, untimed: the rows must time containers that really ran.
	out, err := b.dockerOutput(e, "run", "--rm", "busybox", "echo", "roost-bench")
	e.runs++
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "roost-bench" {
		return fmt.Errorf("docker run --rm busybox echo roost-bench printed %q", out)
	}
	return nil
}

// dockerRunTrue loads busybox once, then times the docker CLI's runs.
func dockerRunTrue(b *bench, e *engine, warmup, n int) ([]time.Duration, error) {
	if err := ensureImage(b, e); err != nil {
		return nil, err
	}
	var ds []time.Duration
	for i := range warmup + n {
		d, err := b.docker(e, "run", "--rm", "busybox", "true")
		e.runs++
		if err != nil {
			return ds, err
		}
		if i >= warmup {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// parallelWorkload times rounds of 20 `docker run --rm busybox true`
// started at once, from the first start to the last exit, and counts the
// runs that failed: a failure is a figure here, not the end of the row.
func parallelWorkload(b *bench, e *engine) []row {
	r := row{workload: fmt.Sprintf("%d parallel runs", parallelRuns), engine: e.name, unit: unitMs}
	if r.err = ensureImage(b, e); r.err != nil {
		return []row{r}
	}
	var firstErr error
	for range b.sizes.parallelRounds {
		if r.err = b.ctx.Err(); r.err != nil {
			break
		}
		errs := make([]error, parallelRuns)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range parallelRuns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = b.docker(e, "run", "--rm", "busybox", "true")
			}()
		}
		wg.Wait()
		r.samples = append(r.samples, ms(time.Since(t0)))
		e.runs += parallelRuns
		r.tries += parallelRuns
		for _, err := range errs {
			if err != nil {
				r.failures++
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	}
	if firstErr != nil {
		b.problemf("%s on %s: %d of %d runs failed; the first: %v", r.workload, e.name, r.failures, r.tries, firstErr)
	}
	return []row{r}
}

// cycleWorkload times each step of a container's life with the CLI:
// create, start, stop -t 0 of the running `sleep` and rm.
func cycleWorkload(b *bench, e *engine) []row {
	steps := []string{"create", "start", "stop -t 0", "rm"}
	rows := make([]row, len(steps))
	for i, s := range steps {
		rows[i] = row{workload: s, engine: e.name, unit: unitMs}
	}
	fail := func(err error) []row {
		for i := range rows {
			rows[i].err = err
		}
		return rows
	}
	if err := ensureImage(b, e); err != nil {
		return fail(err)
	}
	for i := range warmupRuns + b.n {
		if err := b.ctx.Err(); err != nil {
			return fail(err)
		}
		name := fmt.Sprintf("roost-bench-cycle-%d", i)
		cmds := [][]string{
			{"create", "--name", name, "busybox", "sleep", "3600"},
			{"start", name},
			{"stop", "-t", "0", name},
			{"rm", name},
		}
		for j, args := range cmds {
			d, err := b.docker(e, args...)
			if err != nil {
				_, _ = b.docker(e, "rm", "-f", name)
				return fail(err)
			}
			if i >= warmupRuns {
				rows[j].samples = append(rows[j].samples, ms(d))
			}
		}
	}
	return rows
}

// psWorkload times `docker ps -a` with 0, 100 and (not in quick mode)
// 1,000 stopped containers besides what the engine already holds (none:
// every other workload removes its containers). The containers are
// created through the API, a few at a time, untimed.
func psWorkload(b *bench, e *engine) []row {
	var rows []row
	c := newAPIClient(e.dockerHost, createWorkers)
	defer c.close()
	if err := ensureImage(b, e); err != nil {
		return []row{{workload: "ps -a", engine: e.name, err: err}}
	}
	var ids []string
	defer func() {
		// Even after an interrupt: the next rows and a restart want none.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := c.removeContainers(ctx, ids, createWorkers); err != nil {
			b.problemf("removing the ps containers of %s: %v", e.name, err)
		}
	}()
	for _, n := range b.sizes.psCounts {
		r := row{workload: fmt.Sprintf("ps -a, %d containers", n), engine: e.name, unit: unitMs}
		rows = append(rows, r)
		more, err := c.createContainers(b.ctx, fmt.Sprintf("roost-bench-ps-%d", n), n-len(ids), createWorkers)
		ids = append(ids, more...)
		if err != nil {
			rows[len(rows)-1].err = fmt.Errorf("creating %d containers: %w", n, err)
			return rows
		}
		var ds []time.Duration
		ds, err = b.timeDocker(e, warmupRuns, b.n, func(out string) error {
			if got := strings.Count(out, "\n"); got < n {
				return fmt.Errorf("docker ps -a -q listed %d containers, want at least %d", got, n)
			}
			return nil
		}, "ps", "-a", "-q")
		for _, d := range ds {
			rows[len(rows)-1].samples = append(rows[len(rows)-1].samples, ms(d))
		}
		if err != nil {
			rows[len(rows)-1].err = err
			return rows
		}
	}
	return rows
}

// timeDocker runs the docker CLI warmup+n times, checks each output and
// returns the timed runs.
func (b *bench) timeDocker(e *engine, warmup, n int, check func(string) error, args ...string) ([]time.Duration, error) {
	var ds []time.Duration
	for i := range warmup + n {
		t0 := time.Now()
		out, err := b.dockerOutput(e, args...)
		d := time.Since(t0)
		if err == nil && check != nil {
			err = check(out)
		}
		if err != nil {
			return ds, err
		}
		if i >= warmup {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// leakWorkload runs `docker run --rm busybox true` until the engine has
// run the leak check's number of containers in all, then samples its
// memory as the idle workload does: what grew since the start stays.
func leakWorkload(b *bench, e *engine) []row {
	label := fmt.Sprintf(" after %d runs", b.sizes.leakRuns)
	if err := ensureImage(b, e); err != nil {
		return []row{{workload: "idle RSS" + label, engine: e.name, err: err}}
	}
	// Four at a time: the runs are the set-up here, not the figure.
	more := max(0, b.sizes.leakRuns-e.runs)
	err := parallel(b.ctx, more, 4, func(int) error {
		_, err := b.docker(e, "run", "--rm", "busybox", "true")
		return err
	})
	e.runs += more
	if err != nil {
		return []row{{workload: "idle RSS" + label, engine: e.name, err: err}}
	}
	return idleRows(b, e, label)
}

// apiWorkload measures requests per second of GET /_ping and GET
// /containers/json (with no containers) from apiConns keep-alive
// connections over the unix socket, with the bench's own closed-loop load
// generator, the same for every engine.
func apiWorkload(b *bench, e *engine) []row {
	var rows []row
	c := newAPIClient(e.dockerHost, apiConns)
	defer c.close()
	for _, path := range []string{"/_ping", "/containers/json"} {
		r := row{workload: "GET " + path, engine: e.name, unit: unitRPS}
		res := c.load(b.ctx, path, apiConns, b.sizes.apiWindows, b.sizes.apiWindow)
		r.samples = res.perWindow
		if res.failures > 0 {
			r.err = fmt.Errorf("%d requests failed; the first: %v", res.failures, res.firstErr)
		}
		if b.ctx.Err() != nil {
			r.err = b.ctx.Err()
		}
		rows = append(rows, r)
	}
	return rows
}

// startWorkload times starts of the engine from nothing running to the
// first answered /_ping, and to the first `docker version` that
// succeeds, run right after that ping.
func startWorkload(b *bench, e *engine) []row {
	ping := row{workload: "start to /_ping", engine: e.name, unit: unitMs}
	version := row{workload: "start to docker version", engine: e.name, unit: unitMs}
	for range b.sizes.startRuns {
		if ping.err = b.ctx.Err(); ping.err != nil {
			break
		}
		var d time.Duration
		if d, ping.err = e.restart(); ping.err != nil {
			break
		}
		ping.samples = append(ping.samples, ms(d))
		if hasAPI(e) {
			dv, err := b.docker(e, "version")
			if err != nil {
				version.err = err
				break
			}
			version.samples = append(version.samples, ms(d+dv))
		}
	}
	if ping.err != nil && version.err == nil {
		version.err = ping.err
	}
	if !hasAPI(e) {
		return []row{ping}
	}
	return []row{ping, version}
}

// idleWorkload samples the memory of a freshly started engine.
func idleWorkload(b *bench, e *engine) []row { return idleRows(b, e, "") }

// idleRows sums the resident memory of the engine's processes while it
// runs nothing: VmRSS (what `ps` shows, counting shared pages once per
// process) and PSS (shared pages divided among their users).
func idleRows(b *bench, e *engine, label string) []row {
	rss := row{workload: "idle RSS" + label, engine: e.name, unit: unitMiB}
	pss := row{workload: "idle PSS" + label, engine: e.name, unit: unitMiB}
	wait := idleSettle
	var last []idleProc
	for range b.sizes.idleSamples {
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
		last = last[:0]
		for _, p := range procs {
			pssKB, err := pssKB(p.PID)
			if err != nil && pss.err == nil {
				pss.err = fmt.Errorf("reading the PSS of %s: %w", p, err)
			}
			p := idleProc{proc: p, pssKB: pssKB, role: roles[p.PID]}
			rssKB += p.RSSKB
			pssSum += p.pssKB
			last = append(last, p)
		}
		rss.samples = append(rss.samples, float64(rssKB)/1024)
		pss.samples = append(pss.samples, float64(pssSum)/1024)
	}
	b.idleProcs = append(b.idleProcs, idleSnapshot{engine: e.name, label: label, procs: last})
	return []row{rss, pss}
}

// idleSnapshot is an engine's processes at the last sample of an idle row.
type idleSnapshot struct {
	engine, label string
	procs         []idleProc
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
