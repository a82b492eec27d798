// Command bench is `make bench`: it measures roost against the floor of
// what running a container costs on this machine, prints one table and
// writes it to docs/benchmarks.md. See that file for what each row means.
//
//	go run ./tests/bench [-n 30] [-quick] [-workloads idle,run,build,start] [-o docs/benchmarks.md]
//
// As root it runs the engines as an unprivileged user (-user, default
// roosttest, set up as the e2e suite does); as anyone else it runs them as
// the caller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

func main() {
	// The floor re-executes this binary inside roostd's namespace.
	if os.Getenv(floorEnv) == "1" {
		os.Exit(floorHelper())
	}
	os.Exit(run())
}

// options are the command-line flags.
type options struct {
	n             int
	workloads     []string
	out           string
	binDir        string
	keep          bool
	killLeftovers bool
	user          string // the account the engines run as, when root
	quick         bool
	engines       []string
}

// engineNames are the values of -engines: the floor runs in roostd's
// namespace, so it needs roost.
var engineNames = []string{"roost", "floor", "dockerd", "podman"}

func parseFlags() (options, error) {
	var o options
	n := flag.Int("n", 30, "timed runs per run row")
	quick := flag.Bool("quick", false, "n=10 (unless -n is given) and fewer rounds: under 5 minutes")
	wl := flag.String("workloads", strings.Join(workloadNames(), ","), "comma-separated workloads to measure")
	en := flag.String("engines", strings.Join(engineNames, ","), "comma-separated engines to measure")
	flag.StringVar(&o.out, "o", "docs/benchmarks.md", "write the results as markdown to this file, relative to the repository root (\"\" for none)")
	flag.StringVar(&o.binDir, "bin", "bin", "directory with roostd, containerd, containerd-shim-runc-v2 and runc, relative to the repository root")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary dir (fixtures, roostd's log)")
	flag.BoolVar(&o.killLeftovers, "kill-leftovers", false, "as root: kill processes of the -user account left by an earlier run instead of stopping")
	defUser := defaultUserName
	if u := os.Getenv(userEnv); u != "" {
		defUser = u
	}
	flag.StringVar(&o.user, "user", defUser, "as root: the unprivileged account the engines run as, created if missing (default from $"+userEnv+", else "+defaultUserName+"); ignored as a user")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(flag.Args(), " "))
	}
	o.n = *n
	o.quick = *quick
	nSet := false
	flag.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if *quick && !nSet {
		o.n = 10
	}
	if o.n < 1 {
		return o, fmt.Errorf("-n must be at least 1")
	}
	for _, w := range strings.Split(*wl, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(workloadNames(), w) {
			return o, fmt.Errorf("unknown workload %q (known: %s)", w, strings.Join(workloadNames(), ", "))
		}
		o.workloads = append(o.workloads, w)
	}
	for _, e := range strings.Split(*en, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(engineNames, e) {
			return o, fmt.Errorf("unknown engine %q (known: %s)", e, strings.Join(engineNames, ", "))
		}
		o.engines = append(o.engines, e)
	}
	if slices.Contains(o.engines, "floor") && !slices.Contains(o.engines, "roost") {
		return o, fmt.Errorf("-engines: the floor runs in roostd's namespace and needs roost")
	}
	return o, nil
}

// run is the bench; it returns the exit code: 0 when every row was
// measured and nothing was left behind. No figure fails the run.
func run() int {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b, err := newBench(ctx, o)
	if b != nil {
		defer b.cleanup()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	rep := b.measure(o)
	rep.text(os.Stdout)
	if ctx.Err() != nil {
		// Half a run would replace a whole one.
		fmt.Fprintln(os.Stderr, "bench: interrupted; nothing written")
		return 1
	}
	if o.out != "" {
		path := o.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(b.repo, path)
		}
		if err := os.WriteFile(path, rep.markdown(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Printf("\nwrote %s\n", path)
	}
	failed := len(rep.problems) > 0
	for _, r := range rep.rows {
		// A peer that is not installed is a row saying so, not a failure.
		var na notAvailable
		failed = failed || (r.err != nil && !errors.As(r.err, &na))
	}
	if failed {
		return 1
	}
	return 0
}

// measure runs the chosen workloads on one group of engines after the
// other: roostd with the floor (which runs in its namespace), then each
// peer. Only one group runs at a time, so that no engine's idle work
// weighs on another's figures; each group is torn down (in reverse order)
// before the next is set up, even after a failure or an interrupt.
func (b *bench) measure(o options) *report {
	roost := newRoostd(b)
	groups := [][]*engine{
		{roost.engine(), (&floor{b: b, roost: roost}).engine()},
		{dockerdPeer(b).engine()},
		{podmanPeer(b).engine()},
	}
	keys := map[string]string{"runc (floor)": "floor"}
	rep := &report{when: time.Now(), n: b.n, quick: o.quick, workloads: o.workloads, machine: machineInfo()}
	var all []*engine
	for _, group := range groups {
		var chosen []*engine
		for _, e := range group {
			key := keys[e.name]
			if key == "" {
				key = e.name
			}
			if slices.Contains(o.engines, key) {
				chosen = append(chosen, e)
			}
		}
		if len(chosen) == 0 || b.ctx.Err() != nil {
			continue
		}
		all = append(all, chosen...)
		rep.rows = append(rep.rows, b.measureGroup(o, chosen)...)
	}
	rep.versions = b.versions(all)
	rep.idle = b.idleProcs
	if left := testenv.KillAll(b.accountProcs, lingerTimeout); len(left) > 0 {
		b.problemf("processes of %s still ran %v after every engine was stopped and were killed with SIGKILL:\n%s", b.acct.Name, lingerTimeout, testenv.List(left))
	}
	b.awaitReaping()
	rep.problems = b.problems
	return rep
}

// zombieWait bounds the wait for init to reap the engines' exited
// processes.
const zombieWait = 30 * time.Second

// awaitReaping waits for the account's exited processes to be reaped, so
// that `ps -u` shows nothing of the engines once the bench exits. The
// daemons' orphans (podman's service and pause process, say) are
// reparented to init, and on some machines init reaps them late; that is
// no fault of the engine, so it is only said on stderr.
func (b *bench) awaitReaping() {
	if !b.acct.switched {
		return
	}
	zombies := func() []proc {
		var z []proc
		for _, pid := range testenv.PIDs() {
			if p, ok := testenv.ReadProc(pid); ok && p.State == "Z" && b.acct.owns(p) {
				z = append(z, p)
			}
		}
		return z
	}
	deadline := time.Now().Add(zombieWait)
	for {
		z := zombies()
		if len(z) == 0 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench: %d exited processes of %s are not reaped by init after %v:\n%s\n", len(z), b.acct.Name, zombieWait, testenv.List(z))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// measureGroup sets up the engines of a group, runs the workloads on them
// and tears them down.
func (b *bench) measureGroup(o options, engines []*engine) []row {
	var rows []row
	var up []*engine
	for _, e := range engines {
		fmt.Fprintf(os.Stderr, "bench: setting up %s\n", e.name)
		if err := e.setUp(); err != nil {
			// One row says so; the engine's workloads are not measured.
			rows = append(rows, row{workload: "set-up", engine: e.name, err: err})
			break // the floor needs roostd
		}
		if hasAPI(e) {
			out, err := b.dockerOutput(e, "info", "--format", "{{.Driver}}")
			if err == nil {
				e.driver = strings.TrimSpace(out)
			}
		}
		up = append(up, e)
	}
	for _, w := range allWorkloads() {
		if !slices.Contains(o.workloads, w.name) {
			continue
		}
		for _, e := range up {
			if b.ctx.Err() != nil || !w.applies(e) {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, e.name)
			rows = append(rows, w.measure(b, e)...)
		}
	}
	for i := len(engines) - 1; i >= 0; i-- {
		if e := engines[i]; e.tearDown != nil {
			for _, p := range e.tearDown() {
				b.problemf("%s: %s", e.name, p)
			}
		}
	}
	return rows
}

// accountProcs lists what still runs of the account: when the bench
// switched to a dedicated one, every process of it and its subordinate
// uids; as the caller, nothing can be told from the caller's own.
func (b *bench) accountProcs() []proc {
	if !b.acct.switched {
		return nil
	}
	return testenv.Procs(b.acct.owns)
}
