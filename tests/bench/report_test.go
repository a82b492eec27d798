package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReportRatiosAndTargets(t *testing.T) {
	rep := &report{rows: []row{
		{workload: "run", engine: "roost", unit: unitMs, samples: []float64{100, 110, 90}},
		{workload: "run", engine: "dockerd", unit: unitMs, samples: []float64{400, 390, 410}},
		{workload: "run", engine: "runc (floor)", unit: unitMs, samples: []float64{20, 20, 20}},
		{workload: "run", engine: "podman", err: notAvailable{"podman is not installed"}},
		{workload: "idle RSS", engine: "roost", unit: unitMiB, samples: []float64{80}},
		{workload: "idle RSS", engine: "dockerd", unit: unitMiB, samples: []float64{150}},
		{workload: "20 parallel runs", engine: "roost", unit: unitMs, samples: []float64{1000}, tries: 20, failures: 1},
		{workload: "start to docker version", engine: "roost", err: errors.New("boom")},
	}}
	cases := []struct {
		workload, engine string
		ratio, target    string
	}{
		{"run", "roost", "", ""},
		{"run", "dockerd", "0.25×", "roost ≤ 0.25×: met"},
		{"run", "runc (floor)", "5.00×", "roost ≤ 3× (heading for): **missed**"},
		{"run", "podman", "", ""},
		{"idle RSS", "dockerd", "0.53×", "roost ≤ 0.5×: **missed**"},
		{"20 parallel runs", "roost", "", "no failures: **missed**"},
		{"start to docker version", "roost", "", "< 300 ms: not measured"},
	}
	for _, c := range cases {
		r, ok := rep.find(c.workload, c.engine)
		if !ok {
			t.Fatalf("no row %s / %s", c.workload, c.engine)
		}
		if got := rep.ratioCell(r); got != c.ratio {
			t.Errorf("%s / %s: ratio %q, want %q", c.workload, c.engine, got, c.ratio)
		}
		if got := rep.targetCell(r); got != c.target {
			t.Errorf("%s / %s: target %q, want %q", c.workload, c.engine, got, c.target)
		}
	}
	// A target whose row is missing is listed as not measured.
	lines := rep.targetLines()
	if !slices.Contains(lines, "ps -a, 1000 containers / roost: < 50 ms: not measured") {
		t.Errorf("targets lack the missing ps row:\n%s", strings.Join(lines, "\n"))
	}
	podman, _ := rep.find("run", "podman")
	if median, _, _, _ := podman.cells(); median != "not available (podman is not installed)" {
		t.Errorf("unavailable peer's cell = %q", median)
	}
	par, _ := rep.find("20 parallel runs", "roost")
	if _, _, _, n := par.cells(); n != "1 (1/20 runs failed)" {
		t.Errorf("parallel n cell = %q", n)
	}

	// A peer that did not start: one line in the table, the log below it.
	rep.rows = append(rep.rows, row{workload: "set-up", engine: "dockerd", err: notAvailable{"did not start: exit status 1\nits log ends with:\n| a | b |"}})
	md := string(rep.markdown())
	if !strings.Contains(md, "| set-up | dockerd | not available (did not start: exit status 1 |") {
		t.Errorf("the set-up row is not one table line:\n%s", md)
	}
	if !strings.Contains(md, "its log ends with:") {
		t.Errorf("the reason is not below the table:\n%s", md)
	}
}
