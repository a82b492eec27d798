package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// unit is what a row's samples measure.
type unit string

const (
	unitMs  unit = "ms"
	unitMiB unit = "MiB"
)

// row is one line of the results: a workload on an engine.
type row struct {
	workload, engine string
	unit             unit
	samples          []float64
	err              error // the row failed; samples may hold what came before
}

// report is everything one bench run prints and writes.
type report struct {
	when      time.Time
	n         int
	workloads []string
	rows      []row
	machine   [][2]string
	versions  [][2]string
	idle      []idleProc // the engine's processes at the last idle sample
	problems  []string
}

// cells formats a row's statistics, or its failure.
func (r row) cells() (median, p95, min, n string) {
	if r.err != nil {
		return "failed", "", "", fmt.Sprint(len(r.samples))
	}
	s := summarize(r.samples)
	f := func(v float64) string { return fmt.Sprintf("%.1f %s", v, r.unit) }
	return f(s.median), f(s.p95), f(s.min), fmt.Sprint(s.n)
}

// runRatio is the median run latency of roost over the floor's.
func (rep *report) runRatio() (float64, bool) {
	var roost, floor float64
	for _, r := range rep.rows {
		if r.workload != "run" || r.err != nil || len(r.samples) == 0 {
			continue
		}
		switch r.engine {
		case "roost":
			roost = summarize(r.samples).median
		case "runc (floor)":
			floor = summarize(r.samples).median
		}
	}
	if roost == 0 || floor == 0 {
		return 0, false
	}
	return roost / floor, true
}

// text writes the report for the terminal.
func (rep *report) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tengine\tmedian\tp95\tmin\tn")
	for _, r := range rep.rows {
		median, p95, min, n := r.cells()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.workload, r.engine, median, p95, min, n)
	}
	tw.Flush()
	if x, ok := rep.runRatio(); ok {
		fmt.Fprintf(w, "\nrun latency, roost / floor (medians): %.1fx\n", x)
	}
	for _, r := range rep.rows {
		if r.err != nil {
			fmt.Fprintf(w, "\n%s / %s failed: %v\n", r.workload, r.engine, r.err)
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, kv := range append(rep.machine, rep.versions...) {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	tw.Flush()
	for _, p := range rep.problems {
		fmt.Fprintf(w, "\nPROBLEM: %s\n", p)
	}
}

// markdown renders docs/benchmarks.md: how to rerun and read it, then the
// results of this run.
func (rep *report) markdown() []byte {
	var b bytes.Buffer
	b.WriteString(docHeader)
	fmt.Fprintf(&b, "## Last run\n\n%s, `-n %d -workloads %s`.\n\n",
		rep.when.UTC().Format("2006-01-02 15:04 MST"), rep.n, strings.Join(rep.workloads, ","))
	b.WriteString("| workload | engine | median | p95 | min | n |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, r := range rep.rows {
		median, p95, min, n := r.cells()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.workload, r.engine, median, p95, min, n)
	}
	if x, ok := rep.runRatio(); ok {
		fmt.Fprintf(&b, "\nRun latency, roost / floor (medians): **%.1f×**\n", x)
	}
	var failed []row
	for _, r := range rep.rows {
		if r.err != nil {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n### Failed rows\n\nThese rows were not measured in this run; they have no figures.\n\n")
		for _, r := range failed {
			fmt.Fprintf(&b, "- **%s / %s**:\n\n  ```\n%s\n  ```\n", r.workload, r.engine, indent(truncate(r.err.Error(), 2000), "  "))
		}
	}
	b.WriteString("\n### Machine\n\n")
	for _, kv := range rep.machine {
		fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
	}
	b.WriteString("\n### Versions\n\n")
	for _, kv := range rep.versions {
		fmt.Fprintf(&b, "- %s: `%s`\n", kv[0], kv[1])
	}
	if len(rep.idle) > 0 {
		b.WriteString("\n### Idle processes (last sample)\n\n| pid | role | RSS | PSS | command |\n| ---: | --- | ---: | ---: | --- |\n")
		for _, p := range rep.idle {
			role := p.role
			if role == "" {
				// slirp4netns, say, which has no pid file.
				role = filepath.Base(strings.Fields(p.cmdline + " ?")[0])
			}
			fmt.Fprintf(&b, "| %d | %s | %.1f MiB | %.1f MiB | `%s` |\n", p.pid, role, float64(p.rssKB)/1024, float64(p.pssKB)/1024, truncate(p.cmdline, 80))
		}
	}
	if len(rep.problems) > 0 {
		b.WriteString("\n### Problems\n\n")
		for _, p := range rep.problems {
			fmt.Fprintf(&b, "- ```\n%s\n  ```\n", indent(truncate(p, 2000), "  "))
		}
	}
	return b.Bytes()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " […]"
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// docHeader is the part of docs/benchmarks.md that does not change between
// runs.
const docHeader = "# Benchmarks\n\n" +
	"<!-- Written by `make bench` (tests/bench); a rerun overwrites this file. -->\n\n" +
	"## How to rerun\n\n" +
	"```\n" +
	"make bench                                    # all workloads, n=30\n" +
	"GOFLAGS=-mod=mod go run ./tests/bench -quick  # n=10\n" +
	"go run ./tests/bench -n 50 -workloads run     # one workload\n" +
	"```\n\n" +
	"As root, the bench runs the engines as the unprivileged user `roosttest`, set up\n" +
	"as the e2e suite does (created if missing, with subordinate IDs and\n" +
	"`/run/user/<uid>`); that user's roost state is removed before and after. As any\n" +
	"other user it runs them as that user, with its own `XDG_RUNTIME_DIR` and the data\n" +
	"and config dirs in a temporary dir. It needs `make` to have built `bin/` (it\n" +
	"runs copies of those binaries from its temporary dir) and a docker CLI\n" +
	"(`/usr/local/bin/docker` or on `PATH`). It uses no network beyond unix\n" +
	"sockets and loopback.\n\n" +
	"Flags: `-n` (timed runs per run row, default 30), `-quick` (n=10),\n" +
	"`-workloads idle,run,start`, `-o` (this file; `-o ''` writes nothing), `-bin`\n" +
	"(another build's `bin/`), `-keep` (keep the temporary dir and roostd's log),\n" +
	"`-kill-leftovers` (kill processes of `roosttest` an earlier run left behind).\n" +
	"An interrupted run writes nothing; a row that failed says so instead of\n" +
	"giving figures. No figure makes the bench fail: it exits 1 only when a row\n" +
	"could not be measured or something of the engine outlived it.\n\n" +
	"## What each row means\n\n" +
	"| row | measures |\n| --- | --- |\n" +
	"| run / roost | wall time of `docker run --rm busybox true` with the real docker CLI against roostd, from exec of the CLI to its exit (CLI start-up, create, attach, start, wait, remove), after `docker load` of the busybox test image and 3 warm-up runs |\n" +
	"| run / runc (floor) | `runc run` of the same busybox rootfs with the same `bin/runc`, inside roostd's own user and mount namespace: new pid, ipc, uts, mount and network namespaces, no cgroup settings, no seccomp profile, no containerd, shim, snapshotter, network set-up or API. Timed from exec of runc to its exit by a helper that entered the namespace once, after 3 warm-up runs. No engine can go below it on the same machine |\n" +
	"| start / roost | from exec of `roostd` to its first answered `GET /_ping` (polled every 5 ms), with nothing of the engine running before (the previous roostd stopped with SIGTERM and all its processes gone) and the data of the earlier starts kept (busybox loaded). It includes starting the namespace keeper (RootlessKit, slirp4netns) and containerd. 5 starts |\n" +
	"| idle RSS / roost | sum of `VmRSS` over every process of the engine (as root: every process of `roosttest` and its subordinate uids; as a user: the processes in the engine's user namespace or the keeper's session) after a fresh start, before any container: 5 samples a second apart, the first 3 s after the first answered ping. Shared pages count once per process that maps them, so the roostd binary, which plays four roles, counts four times |\n" +
	"| idle PSS / roost | the same processes' proportional set size (`Pss` in `smaps_rollup`), which divides shared pages among the processes that map them: closer to what the engine really costs |\n\n" +
	"Below the table: the median run latency of roost over the floor's. p95 is\n" +
	"by nearest rank, so with fewer than 20 samples it is the maximum.\n\n" +
	"Figures move 10–20% between runs on 2-core machines (and more on a busy or\n" +
	"throttled virtual machine): compare rows and the ratio from the same run,\n" +
	"not figures from different runs or machines.\n\n"
