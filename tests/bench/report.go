package main

import (
	"bytes"
	"errors"
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
	unitMs   unit = "ms"
	unitMiB  unit = "MiB"
	unitRPS  unit = "req/s"  // more is better
	unitGbps unit = "Gbit/s" // more is better
)

// row is one line of the results: a workload on an engine.
type row struct {
	workload, engine string
	unit             unit
	samples          []float64
	err              error // the row failed; samples may hold what came before
	// tries and failures count the runs of a row where a failed run is a
	// figure (the parallel runs) rather than the end of the row.
	tries, failures int
}

// report is everything one bench run prints and writes.
type report struct {
	when      time.Time
	n         int
	quick     bool
	workloads []string
	rows      []row
	machine   [][2]string
	versions  [][2]string
	idle      []idleSnapshot // the engines' processes at the last idle samples
	problems  []string
}

// roostEngine is the engine every ratio is taken of.
const roostEngine = "roost"

// cells formats a row's statistics, or its failure.
func (r row) cells() (median, p95, min, n string) {
	var na notAvailable
	switch {
	case errors.As(r.err, &na):
		// The whole reason, with a daemon's log, is below the table.
		line, _, _ := strings.Cut(na.Error(), "\n")
		return strings.ReplaceAll(truncate(line, 160), "|", "\\|"), "", "", ""
	case r.err != nil:
		return "failed", "", "", fmt.Sprint(len(r.samples))
	case len(r.samples) == 0:
		return "no samples", "", "", "0"
	}
	s := summarize(r.samples)
	f := func(v float64) string { return fmt.Sprintf("%.1f %s", v, r.unit) }
	if r.unit == unitRPS {
		// More is better: the worst window is the minimum, shown as such.
		f = func(v float64) string { return fmt.Sprintf("%.0f %s", v, r.unit) }
	}
	if r.unit == unitGbps || r.unit == unitMBps {
		f = func(v float64) string { return fmt.Sprintf("%.2f %s", v, r.unit) }
	}
	n = fmt.Sprint(s.n)
	if r.tries > 0 {
		n += fmt.Sprintf(" (%d/%d runs failed)", r.failures, r.tries)
	}
	return f(s.median), f(s.p95), f(s.min), n
}

// median is a measured row's median; ok is false for a failed or empty row.
func (r row) median() (float64, bool) {
	if r.err != nil || len(r.samples) == 0 {
		return 0, false
	}
	return summarize(r.samples).median, true
}

// find returns the row of a workload on an engine.
func (rep *report) find(workload, engine string) (row, bool) {
	for _, r := range rep.rows {
		if r.workload == workload && r.engine == engine {
			return r, true
		}
	}
	return row{}, false
}

// ratio is roost's median over r's for the same workload, "" on roost's
// own rows and where either has no figure.
func (rep *report) ratio(r row) (float64, bool) {
	if r.engine == roostEngine {
		return 0, false
	}
	peer, ok := r.median()
	if !ok || peer == 0 {
		return 0, false
	}
	rr, ok := rep.find(r.workload, roostEngine)
	if !ok {
		return 0, false
	}
	roost, ok := rr.median()
	if !ok {
		return 0, false
	}
	return roost / peer, true
}

func (rep *report) ratioCell(r row) string {
	if x, ok := rep.ratio(r); ok {
		return fmt.Sprintf("%.2f×", x)
	}
	return ""
}

// target is one of the targets, checked on the row it names.
type target struct {
	workload, engine string
	text             string
	// met is nil when the figures to check it are missing.
	met func(rep *report, r row) (bool, bool)
}

// ratioAtMost is met when roost's median is at most x times the row's.
func ratioAtMost(x float64) func(*report, row) (bool, bool) {
	return func(rep *report, r row) (bool, bool) {
		v, ok := rep.ratio(r)
		return v <= x, ok
	}
}

// ratioAtLeast is met when roost's median is at least x times the row's.
func ratioAtLeast(x float64) func(*report, row) (bool, bool) {
	return func(rep *report, r row) (bool, bool) {
		v, ok := rep.ratio(r)
		return v >= x, ok
	}
}

// medianBelow is met when the row's own median is below v.
func medianBelow(v float64) func(*report, row) (bool, bool) {
	return func(_ *report, r row) (bool, bool) {
		m, ok := r.median()
		return m < v, ok
	}
}

// targets are issue 9's (and issue 5's network ones), on the rows they
// are read from.
var targets = []target{
	{"run", "dockerd", "roost ≤ 0.25×", ratioAtMost(0.25)},
	{"run", "runc (floor)", "roost ≤ 3× (heading for)", ratioAtMost(3)},
	{"20 parallel runs", roostEngine, "no failures", func(_ *report, r row) (bool, bool) {
		return r.failures == 0, r.err == nil && r.tries > 0
	}},
	{"20 parallel runs", "dockerd", "roost ≤ 0.25×", ratioAtMost(0.25)},
	{"idle RSS", "dockerd", "roost ≤ 0.5×", ratioAtMost(0.5)},
	{"start to docker version", roostEngine, "< 300 ms", medianBelow(300)},
	{"ps -a, 1000 containers", roostEngine, "< 50 ms", medianBelow(50)},
	{netPublished, loopbackName, "roost ≥ 0.7×", ratioAtLeast(0.7)},
	{netPublished, "dockerd", "roost ≥ 1× (above the peers)", ratioAtLeast(1)},
	{netPublished, "podman", "roost ≥ 1× (above the peers)", ratioAtLeast(1)},
	{netBypass, loopbackName, "roost ≥ 0.8×", ratioAtLeast(0.8)},
	{"pull 100 MB image", "dockerd", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
	{"pull 100 MB image", "podman", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
	{"save 100 MB image", "dockerd", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
	{"save 100 MB image", "podman", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
	{"load 100 MB image", "dockerd", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
	{"load 100 MB image", "podman", "roost ≥ 1× (not slower)", ratioAtLeast(1)},
}

// targetCell checks the row's target, if it has one.
func (rep *report) targetCell(r row) string {
	for _, t := range targets {
		if t.workload != r.workload || t.engine != r.engine {
			continue
		}
		met, ok := t.met(rep, r)
		switch {
		case !ok:
			return t.text + ": not measured"
		case met:
			return t.text + ": met"
		default:
			return t.text + ": **missed**"
		}
	}
	return ""
}

// targetLines checks every target, also those whose row is missing (a
// workload not picked, or quick mode's fewer containers).
func (rep *report) targetLines() []string {
	var lines []string
	for _, t := range targets {
		status := "not measured"
		if r, ok := rep.find(t.workload, t.engine); ok {
			if met, ok := t.met(rep, r); ok && met {
				status = "met"
			} else if ok {
				status = "missed"
			}
		}
		lines = append(lines, fmt.Sprintf("%s / %s: %s: %s", t.workload, t.engine, t.text, status))
	}
	return lines
}

// text writes the report for the terminal.
func (rep *report) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tengine\tmedian\tp95\tmin\tn\troost/peer\ttarget")
	for _, r := range rep.rows {
		median, p95, min, n := r.cells()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.workload, r.engine, median, p95, min, n, rep.ratioCell(r), strings.ReplaceAll(rep.targetCell(r), "**", ""))
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntargets:")
	for _, l := range rep.targetLines() {
		fmt.Fprintln(w, "  "+l)
	}
	for _, r := range rep.rows {
		var na notAvailable
		if r.err != nil && !errors.As(r.err, &na) {
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
	mode := ""
	if rep.quick {
		mode = "-quick "
	}
	fmt.Fprintf(&b, "## Last run\n\n%s, `%s-n %d -workloads %s`.\n\n",
		rep.when.UTC().Format("2006-01-02 15:04 MST"), mode, rep.n, strings.Join(rep.workloads, ","))
	b.WriteString("| workload | engine | median | p95 | min | n | roost/peer | target |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rep.rows {
		median, p95, min, n := r.cells()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.workload, r.engine, median, p95, min, n, rep.ratioCell(r), rep.targetCell(r))
	}
	b.WriteString("\n### Targets\n\n")
	for _, l := range rep.targetLines() {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	var failed []row
	for _, r := range rep.rows {
		if r.err != nil {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n### Rows without figures\n\nThese rows were not measured in this run (a peer not available, or a failure).\n\n")
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
	for _, snap := range rep.idle {
		fmt.Fprintf(&b, "\n### Idle processes of %s%s (last sample)\n\n| pid | role | RSS | PSS | command |\n| ---: | --- | ---: | ---: | --- |\n", snap.engine, snap.label)
		for _, p := range snap.procs {
			role := p.role
			if role == "" {
				// slirp4netns, say, which has no pid file.
				role = filepath.Base(strings.Fields(p.Cmdline + " ?")[0])
			}
			fmt.Fprintf(&b, "| %d | %s | %.1f MiB | %.1f MiB | `%s` |\n", p.PID, role, float64(p.RSSKB)/1024, float64(p.pssKB)/1024, truncate(p.Cmdline, 80))
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
	"One run measures the same workloads, with the same docker CLI and the same\n" +
	"locally built busybox image, against roost and its peers started as the same\n" +
	"unprivileged user: rootless dockerd from Debian's docker.io\n" +
	"(`/usr/share/docker.io/contrib/dockerd-rootless.sh`, with Debian's containerd,\n" +
	"runc, RootlessKit and slirp4netns) and podman's Docker-compatible service\n" +
	"(`podman system service`, Debian's podman 4.3 with runc, the cgroupfs cgroup\n" +
	"manager, file events and the overlay storage driver, since crun refuses the\n" +
	"hybrid cgroup layout, there is no systemd user session, and podman picks vfs\n" +
	"otherwise), and the floor of what running a container costs. Each peer gets\n" +
	"XDG dirs of its own (runtime, data, config) in the bench's temporary dir, and\n" +
	"only one engine (roost with its floor, or one peer) runs at a time. A peer\n" +
	"that is not installed or does not start is a row saying `not available`\n" +
	"and why.\n\n" +
	"## How to rerun\n\n" +
	"```\n" +
	"make bench                                          # all workloads and engines, n=30\n" +
	"make bench BENCHFLAGS='-quick -user roostbench'     # under 5 minutes\n" +
	"GOFLAGS=-mod=mod go run ./tests/bench -quick -o ''  # print only\n" +
	"go run ./tests/bench -n 50 -workloads run -engines roost,dockerd\n" +
	"```\n\n" +
	"As root, the bench runs the engines as an unprivileged user: `-user`, else\n" +
	"`$ROOST_BENCH_USER`, else `roosttest`, the e2e suite's (created if missing,\n" +
	"with subordinate IDs and `/run/user/<uid>`). Pick another account while an\n" +
	"e2e run may use `roosttest`: the bench takes that account's processes for\n" +
	"leftovers. Its roost state is removed before and after. As any other user\n" +
	"it runs them as that user, with its own `XDG_RUNTIME_DIR` and the data and\n" +
	"config dirs in a temporary dir. It needs `make` to have built `bin/` (it runs\n" +
	"copies of those binaries from its temporary dir), a docker CLI\n" +
	"(`/usr/local/bin/docker` or on `PATH`) and, for the peers, the Debian\n" +
	"packages docker.io, rootlesskit, slirp4netns, uidmap and podman. It never\n" +
	"starts a daemon as root or on `/var/run/docker.sock`, and uses no network\n" +
	"beyond unix sockets and loopback. Every daemon is stopped when its workloads\n" +
	"are done, also after a failure or SIGINT/SIGTERM, and the bench checks that\n" +
	"nothing of the account is left.\n\n" +
	"Flags: `-n` (timed runs per row, default 30), `-quick` (n=10 and fewer\n" +
	"rounds, samples and starts: under 5 minutes), `-workloads` (any of\n" +
	"`idle,run,parallel,cycle,exec,ps,leak,api,build,pull,storage,net,start`), `-engines` (any of\n" +
	"`roost,floor,dockerd,podman`; the floor needs roost), `-user`, `-o` (this\n" +
	"file; `-o ''` writes nothing), `-bin` (another build's `bin/`), `-keep` (keep\n" +
	"the temporary dir and the daemons' logs), `-kill-leftovers` (kill processes\n" +
	"of the account an earlier run left behind). An interrupted run writes\n" +
	"nothing; a row that failed says so instead of giving figures. No figure\n" +
	"makes the bench fail: it exits 1 only when a row of an available engine\n" +
	"could not be measured or something of an engine outlived it.\n\n" +
	"## What each row means\n\n" +
	"| row | measures |\n| --- | --- |\n" +
	"| run | wall time of `docker run --rm busybox true` with the real docker CLI, from exec of the CLI to its exit (CLI start-up, create, attach, start, wait, remove), after `docker load` of the busybox test image and 3 warm-up runs; `-n` runs |\n" +
	"| run / runc (floor) | `runc run` of the same busybox rootfs with the same `bin/runc`, inside roostd's own user and mount namespace: new pid, ipc, uts, mount and network namespaces, no cgroup settings, no seccomp profile, no containerd, shim, snapshotter, network set-up or API. Timed from exec of runc to its exit by a helper that entered the namespace once, after 3 warm-up runs. No engine can go below it on the same machine |\n" +
	"| 20 parallel runs | wall time of 20 `docker run --rm busybox true` started at once, from the first start to the last exit; 5 rounds (quick: 2). n says how many of the runs failed; a failure does not end the row |\n" +
	"| create, start, stop -t 0, rm | each CLI command of one container's life, timed alone: `docker create busybox sleep 3600`, `docker start`, `docker stop -t 0` of the running container, `docker rm`; 3 warm-up cycles, then `-n` |\n" +
	"| ps -a, N containers | `docker ps -a -q` with N stopped containers (0, 100, 1,000), created through the API four at a time before the timed runs and removed after; 3 warm-up runs, then `-n`. A run that lists fewer than N fails the row |\n" +
	"| idle RSS, idle PSS | sum of `VmRSS` (what `ps` shows, shared pages counted once per process that maps them) and of `Pss` (`smaps_rollup`: shared pages divided among the processes that map them, closer to what the engine costs) over every process of the engine, after a fresh start and before any container: 5 samples (quick: 3) a second apart, the first 3 s after the first answered ping. The processes are the account's that are in the daemon's session or in a user namespace seen in it: roost's API process, keeper, RootlessKit child (which is nsinit too) with the sleep(1) it must run, slirp4netns and containerd; dockerd's RootlessKit parent and child, slirp4netns, dockerd and containerd; podman's service (outer and inner) and pause process, and conmon and slirp4netns while containers run. The processes of the last sample are listed below the table |\n" +
	"| idle RSS after 100 runs | the same after the engine has run 100 containers in all (quick: 30): the runs of the other workloads, topped up with `docker run --rm busybox true` four at a time. What grew since the start and stays is a leak, or a cache |\n" +
	"| exec | `docker exec <running> true` on a busybox container started for it: the CLI's exec create, start (attached) and the exit code's inspect; 3 warm-up runs, then `-n` |\n" +
	"| GET /_ping, GET /containers/json | requests per second from 8 keep-alive connections over the unix socket, each sending its next request when the answer came (a closed loop, like wrk, which speaks no unix sockets): the bench's own load generator, the same for every engine. /containers/json lists no containers. One warm-up window, then 5 windows of 1 s (quick: 3 of 0.5 s); the samples are the windows' rates, so more is better, min is the worst window and p95 a good one |\n" +
	"| write, read: container rootfs, named volume | `dd` of 1 GiB (quick: 256 MiB) from `/dev/zero` with `conv=fsync`, then back to `/dev/null`, by busybox through `docker exec` in a running container: in its root filesystem (the snapshotter) and in a named volume; 3 rounds (quick: 2). The read follows the write, so it mostly measures the page cache. `host dir (floor)` is the same dd on a directory of the host, the limit. `roost (fuse-overlayfs)` is roost restarted with `--storage-driver fuse-overlayfs` for the root filesystem rows (a named volume is a directory of the data root whatever the snapshotter), then restarted with its default driver; its ratio is roost on native overlayfs over it |\n" +
	"| build first, build no-cache, build cached | `docker build` of a small multi-stage project (a RUN, a COPY from the context, a COPY --from between stages, FROM the local busybox): the engine's first build (for roost it includes starting buildkitd, done on first use), then builds with `--no-cache`, then fully cached rebuilds; the image is run once to check it is the one asked for |\n" +
	"| pull, save, load 100 MB image | MB/s of `docker pull` of an image of about 100 MB in four layers of random bytes from a registry the bench runs on 127.0.0.1, then `docker save` and `docker load` of it; `disk (floor)` is 256 MB written and synced where the bench keeps its files. Rootless dockerd cannot reach the host's loopback and podman pulls over HTTPS from it, so where they fail the row says why |\n" +
	"| TCP via a published port | iperf3 (the host's, imported into an image with the libraries it needs) as the server in a container with its port published (`-p`), the client on the host connecting to 127.0.0.1; a few short rounds. `host loopback (floor)` is server and client both on the host's loopback, the limit. The bypass4netns row is roost with the container labelled `io.roost.net.bypass4netns=true` |\n" +
	"| start to /_ping | from exec of the daemon (roostd; `dockerd-rootless.sh`; `podman system service`) to its first answered `GET /_ping`, polled every 5 ms, with nothing of the engine running before (the previous one stopped with SIGTERM and all its processes gone) and the data of the earlier starts kept (busybox loaded). roost's includes the keeper (RootlessKit, slirp4netns) and containerd, dockerd's RootlessKit, slirp4netns and containerd. 5 starts (quick: 3) |\n" +
	"| start to docker version | the same start, until a `docker version` run right after that first ping has exited successfully: podman answers its ping before it has set up its runtime |\n" +
	"\n" +
	"roost/peer is roost's median over the row's (for req/s more is better, so\n" +
	"there a ratio above 1 favours roost; everywhere else below 1 does). The\n" +
	"target column checks issue 9's targets on the row they are read from; the\n" +
	"list below the table also names those whose row is missing. p95 is by\n" +
	"nearest rank, so with fewer than 20 samples it is the maximum.\n\n" +
	"Figures move 10–20% between runs on 2-core machines (and more on a busy or\n" +
	"throttled virtual machine): compare rows and the ratios from the same run,\n" +
	"not figures from different runs or machines.\n\n"
