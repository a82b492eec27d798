package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// buildProject is a small multi-stage project: a RUN, a COPY from the
// context and a COPY --from between stages, all from the local busybox.
var buildProject = map[string]string{
	"Dockerfile": `FROM busybox AS build
WORKDIR /src
COPY main.txt .
RUN cat main.txt > out.txt && echo built >> out.txt

FROM busybox
COPY --from=build /src/out.txt /app/out.txt
CMD ["cat", "/app/out.txt"]
`,
	"main.txt": "roost-bench build\n",
}

// buildWorkload times `docker build` of buildProject: the first build of
// the engine (for roost it includes starting buildkitd, which roostd
// does on first use), builds with --no-cache, and fully cached rebuilds.
func buildWorkload(b *bench, e *engine) []row {
	first := row{workload: "build first", engine: e.name, unit: unitMs}
	cold := row{workload: "build no-cache", engine: e.name, unit: unitMs}
	cached := row{workload: "build cached", engine: e.name, unit: unitMs}
	fail := func(err error) []row {
		first.err, cold.err, cached.err = err, err, err
		return []row{first, cold, cached}
	}
	dir := filepath.Join(b.tmp, "build-"+strings.ReplaceAll(e.name, " ", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	for name, content := range buildProject {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fail(err)
		}
	}
	if !e.imageLoaded {
		if _, err := b.docker(e, "load", "-i", b.busyboxTar); err != nil {
			return fail(fmt.Errorf("loading busybox: %w", err))
		}
		e.imageLoaded = true
	}
	const tag = "roost-bench-build:1"
	defer func() { _, _ = b.docker(e, "rmi", "-f", tag) }()
	d, err := b.docker(e, "build", "-t", tag, dir)
	if err != nil {
		return fail(err)
	}
	first.samples = append(first.samples, ms(d))
	// The result must be the image that was asked for, or the rows time
	// nothing useful.
	out, err := b.dockerOutput(e, "run", "--rm", tag)
	if err != nil {
		return fail(err)
	}
	if strings.TrimSpace(out) != "roost-bench build\nbuilt" {
		return fail(fmt.Errorf("the built image printed %q", out))
	}
	for _, r := range []*row{&cold, &cached} {
		args := []string{"build", "-t", tag, dir}
		if r == &cold {
			args = []string{"build", "--no-cache", "-t", tag, dir}
		}
		for i := range warmupRuns + b.n {
			d, err := b.docker(e, args...)
			if err != nil {
				r.err = err
				break
			}
			if i >= warmupRuns {
				r.samples = append(r.samples, ms(d))
			}
		}
	}
	return []row{first, cold, cached}
}
