package main

import "time"

// execWorkload times `docker exec <running> true`: the CLI's exec create,
// start (attached) and inspect of the exit code, on a busybox container
// started for it.
func execWorkload(b *bench, e *engine) []row {
	r := row{workload: "exec", engine: e.name, unit: unitMs}
	if err := ensureImage(b, e); err != nil {
		r.err = err
		return []row{r}
	}
	const name = "roost-bench-exec"
	_, _ = b.docker(e, "rm", "-f", name)
	if _, err := b.docker(e, "run", "-d", "--name", name, "busybox", "sleep", "3600"); err != nil {
		r.err = err
		return []row{r}
	}
	e.runs++
	defer b.docker(e, "rm", "-f", name)
	var ds []time.Duration
	for i := range warmupRuns + b.n {
		d, err := b.docker(e, "exec", name, "true")
		if err != nil {
			r.err = err
			break
		}
		if i >= warmupRuns {
			ds = append(ds, d)
		}
	}
	for _, d := range ds {
		r.samples = append(r.samples, ms(d))
	}
	return []row{r}
}
