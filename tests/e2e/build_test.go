package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// cancelSleep is the argument of the sleep that TestBuildInterrupted's RUN
// step runs, unique so that its process can be found on the machine.
const cancelSleep = "3017"

// TestBuildInterrupted presses Ctrl-C during a RUN step of docker build:
// the CLI stops, the build stops (its RUN process goes away) and nothing
// is tagged.
func TestBuildInterrupted(t *testing.T) {
	dir := t.TempDir()
	dockerfile := "FROM busybox\nRUN echo build-cancel-started && sleep " + cancelSleep + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "buildcancel:1") })

	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.dockerCLI, "build", "--no-cache", "-t", "buildcancel:1", dir)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := startUntilLine(t, cmd, func(line string) bool { return line == "build-cancel-started" })
	if !started {
		t.Fatalf("the RUN step never printed its marker\n%s", stderr.String())
	}
	waitUntil(t, 10*time.Second, "the RUN step's sleep", func() bool { return len(sleepers()) > 0 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Errorf("docker build exited 0 after Ctrl-C")
	}
	waitUntil(t, 10*time.Second, "the RUN step's sleep to end after Ctrl-C", func() bool { return len(sleepers()) == 0 })
	if r := docker(t, "image", "inspect", "buildcancel:1"); r.Code == 0 {
		t.Errorf("an interrupted build tagged its image")
	}
}

// sleepers are the pids of TestBuildInterrupted's sleep.
func sleepers() []int {
	var out []int
	for _, pid := range testenv.PIDs() {
		if string(testenv.Args(pid)) == "sleep\x00"+cancelSleep+"\x00" {
			out = append(out, pid)
		}
	}
	return out
}

// TestBuildkitdKilled kills buildkitd with SIGKILL between two builds: the
// supervisor starts a new one, and the next build works.
func TestBuildkitdKilled(t *testing.T) {
	needRoostd(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo rebuilt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "buildkill:1") })
	dockerOK(t, "build", "-t", "buildkill:1", dir)
	old := harness.user.killPidFile(t, "buildkit/buildkitd.pid")
	out := dockerOK(t, "build", "--no-cache", "-t", "buildkill:1", dir)
	if !hasLine(out, "rebuilt") || !strings.Contains(out, "Successfully tagged buildkill:1") {
		t.Errorf("the build after buildkitd's death printed:\n%s", out)
	}
	waitUntil(t, 10*time.Second, "a new live buildkitd in buildkitd.pid", func() bool {
		p, err := harness.user.readPidFile("buildkit/buildkitd.pid")
		return err == nil && p != old
	})
}

// TestBuildServiceKilled kills roost-build, the process that serves
// builds, with SIGKILL while it is idle: roostd starts a new one, which
// takes over the running buildkitd rather than starting a second, and the
// next build works and is tagged.
func TestBuildServiceKilled(t *testing.T) {
	needRoostd(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo after-restart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "buildsvckill:1", "buildsvckill:2") })
	dockerOK(t, "build", "-t", "buildsvckill:1", dir)
	kit, err := harness.user.readPidFile("buildkit/buildkitd.pid")
	if err != nil {
		t.Fatal(err)
	}
	old := harness.user.killPidFile(t, "build/roost-build.pid")
	waitUntil(t, 10*time.Second, "a new roost-build in roost-build.pid", func() bool {
		p, err := harness.user.readPidFile("build/roost-build.pid")
		return err == nil && p != old
	})
	out := dockerOK(t, "build", "--no-cache", "-t", "buildsvckill:2", dir)
	if !hasLine(out, "after-restart") || !strings.Contains(out, "Successfully tagged buildsvckill:2") {
		t.Errorf("the build after roost-build's death printed:\n%s", out)
	}
	if r := docker(t, "image", "inspect", "buildsvckill:2"); r.Code != 0 {
		t.Errorf("the build after roost-build's death is not in the image store: %v", r)
	}
	if p, err := harness.user.readPidFile("buildkit/buildkitd.pid"); err != nil || p != kit {
		t.Errorf("buildkitd.pid is %d (%v) after roost-build's restart, want the running %d taken over", p, err, kit)
	}
}

// buildx returns a docker command line that runs with the buildx plugin
// installed, so that the other tests' `docker build` stays the classic one.
func buildx(t *testing.T) func(args ...string) result {
	return withPlugins(t, "docker-buildx")
}

// TestBuildxBuild builds through buildx's docker driver (the hijacked /grpc
// and /session endpoints): --load into the image store, plain progress,
// a local output, and a failing RUN.
func TestBuildxBuild(t *testing.T) {
	run := buildx(t)
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM busybox AS build\nRUN echo buildx-run-output && echo from-buildx > /hello.txt\nCOPY ctx.txt /ctx.txt\n" +
			"FROM scratch AS out\nCOPY --from=build /hello.txt /ctx.txt /\n" +
			"FROM build\nCMD [\"cat\", \"/hello.txt\", \"/ctx.txt\"]\n",
		"ctx.txt":         "context-file\n",
		"fail.Dockerfile": "FROM busybox\nRUN echo buildx-failing; exit 3\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "buildx:1") })

	r := run("buildx", "build", "--load", "--no-cache", "--progress=plain", "-t", "buildx:1", dir)
	if r.Err != nil {
		t.Fatalf("docker buildx build --load: %v", r)
	}
	if !strings.Contains(r.Stderr, "buildx-run-output") || !strings.Contains(r.Stderr, "DONE") {
		t.Errorf("--progress=plain did not show the RUN output and the steps:\n%s", r.Stderr)
	}
	// -q prints the ID that docker images and docker run know.
	r = run("buildx", "build", "--load", "-q", "-t", "buildx:1", dir)
	if r.Err != nil {
		t.Fatalf("docker buildx build --load -q: %v", r)
	}
	if id := strings.TrimSpace(r.Stdout); id != inspectImage(t, "buildx:1") {
		t.Errorf("docker buildx build -q printed %q, not the image's ID", id)
	}
	if out := dockerOK(t, "run", "--rm", "buildx:1"); out != "from-buildx\ncontext-file" {
		t.Errorf("the loaded image printed %q", out)
	}
	if !hasLinePrefix(dockerOK(t, "images", "--format", "{{.Repository}}:{{.Tag}}", "buildx"), "buildx:1") {
		t.Errorf("docker images does not list buildx:1")
	}

	dest := filepath.Join(t.TempDir(), "out")
	r = run("buildx", "build", "--target", "out", "--output", "type=local,dest="+dest, dir)
	if r.Err != nil {
		t.Fatalf("docker buildx build --output type=local: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "hello.txt")); err != nil || string(b) != "from-buildx\n" {
		t.Errorf("local output hello.txt: %q, %v", b, err)
	}

	r = run("buildx", "build", "--progress=plain", "-f", filepath.Join(dir, "fail.Dockerfile"), dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "exit code: 3") || !strings.Contains(r.Stderr, "buildx-failing") {
		t.Errorf("a failing RUN through buildx: %v", r)
	}
}

// inspectImage returns an image's ID.
func inspectImage(t *testing.T, ref string) string {
	t.Helper()
	return dockerOK(t, "image", "inspect", "-f", "{{.Id}}", ref)
}

// TestBuildHistoryConfig: roost keeps no BuildKit build history by default
// (recording it is a third of a cached rebuild), and daemon.json's
// builder.history, dockerd's key, turns it on for `docker buildx history`.
func TestBuildHistoryConfig(t *testing.T) {
	needRoostd(t)
	run := buildx(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nLABEL roost.e2e=history\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "buildhistory:1") })
	builds := func() []string {
		t.Helper()
		if r := run("buildx", "build", "--load", "--no-cache", "-q", "-t", "buildhistory:1", dir); r.Err != nil {
			t.Fatalf("docker buildx build: %v", r)
		}
		r := run("buildx", "history", "ls", "--format", "{{.Ref}}")
		if r.Err != nil {
			t.Fatalf("docker buildx history ls: %v", r)
		}
		return strings.Fields(r.Stdout)
	}
	if refs := builds(); len(refs) != 0 {
		t.Errorf("build history kept without builder.history in daemon.json: %q", refs)
	}

	conf := filepath.Join(harness.tmp, "history-daemon.json")
	if err := os.WriteFile(conf, []byte(`{"builder": {"history": {"maxEntries": 5, "maxAge": "1h"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	restartSharedDaemonWith(t, "--config-file", conf)
	if refs := builds(); len(refs) != 1 {
		t.Errorf("docker buildx history ls with builder.history.maxEntries 5: %q, want the one build", refs)
	}
}
