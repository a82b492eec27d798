// Command bench is `make bench`: it measures roost against the floor of
// what running a container costs on this machine, prints one table and
// writes it to docs/benchmarks.md. See that file for what each row means.
//
//	go run ./tests/bench [-n 30] [-quick] [-workloads idle,run,build,start] [-o docs/benchmarks.md]
//
// As root it runs the engines as the unprivileged user roosttest (set up as
// the e2e suite does); as anyone else it runs them as the caller.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
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
}

func parseFlags() (options, error) {
	var o options
	n := flag.Int("n", 30, "timed runs per run row")
	quick := flag.Bool("quick", false, "n=10 (unless -n is given)")
	wl := flag.String("workloads", "idle,run,build,start", "comma-separated workloads to measure: idle, run, build, start")
	flag.StringVar(&o.out, "o", "docs/benchmarks.md", "write the results as markdown to this file, relative to the repository root (\"\" for none)")
	flag.StringVar(&o.binDir, "bin", "bin", "directory with roostd, containerd, containerd-shim-runc-v2 and runc, relative to the repository root")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary dir (fixtures, roostd's log)")
	flag.BoolVar(&o.killLeftovers, "kill-leftovers", false, "as root: kill processes of "+benchUserName+" left by an earlier run instead of stopping")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(flag.Args(), " "))
	}
	o.n = *n
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
		if !slices.ContainsFunc(workloads, func(x workload) bool { return x.name == w }) {
			return o, fmt.Errorf("unknown workload %q (known: idle, run, build, start)", w)
		}
		o.workloads = append(o.workloads, w)
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
		failed = failed || r.err != nil
	}
	if failed {
		return 1
	}
	return 0
}

// measure sets up the engines, runs the chosen workloads on each, and tears
// the engines down again (in reverse order).
func (b *bench) measure(o options) *report {
	roost := newRoostd(b)
	fl := &floor{b: b, roost: roost}
	engines := []*engine{roost.engine(), fl.engine()}
	rep := &report{when: time.Now(), n: b.n, workloads: o.workloads, machine: machineInfo()}

	var up []*engine
	for _, e := range engines {
		fmt.Fprintf(os.Stderr, "bench: setting up %s\n", e.name)
		if err := e.setUp(); err != nil {
			// One row says so; the engine's workloads are not measured.
			rep.rows = append(rep.rows, row{workload: "set-up", engine: e.name, err: err})
			continue
		}
		up = append(up, e)
	}
	for _, w := range workloads {
		if !slices.Contains(o.workloads, w.name) {
			continue
		}
		for _, e := range up {
			if b.ctx.Err() != nil || !w.applies(e) {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, e.name)
			rep.rows = append(rep.rows, w.measure(b, e)...)
		}
	}
	rep.versions = b.versions(engines[0])
	rep.idle = b.idleProcs
	// Every engine is torn down, even one whose set-up failed half-way.
	for i := len(engines) - 1; i >= 0; i-- {
		if e := engines[i]; e.tearDown != nil {
			for _, p := range e.tearDown() {
				b.problemf("%s: %s", e.name, p)
			}
		}
	}
	rep.problems = b.problems
	return rep
}
