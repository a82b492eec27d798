package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// composeProject has a web server on two networks with a published port,
// and a second service reachable by an alias on one of them.
const composeProject = `name: roostcompose
services:
  web:
    image: busybox
    command: httpd -f -p 80
    ports: ["127.0.0.1:28121:80"]
    networks: [front, back]
  db:
    image: busybox
    command: sleep 300
    networks:
      back:
        aliases: [database]
networks:
  front: {}
  back: {}
`

// TestComposeNetworks: docker compose (v2, the real plugin) brings the
// project up with its networks, service names and aliases resolve between
// the services, the published port answers on the host, and down removes
// the containers and the networks.
func TestComposeNetworks(t *testing.T) {
	compose := withPlugins(t, "docker-compose")
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(composeProject), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		r := compose(append([]string{"compose", "-f", file}, args...)...)
		if r.Err != nil {
			t.Fatalf("docker compose %s: %v", strings.Join(args, " "), r)
		}
		return r.Stdout
	}
	t.Cleanup(func() { compose("compose", "-f", file, "down", "-t", "0") })
	run("up", "-d")
	waitHTTP(t, "http://127.0.0.1:28121/")
	if out := run("exec", "-T", "db", "ping", "-c1", "-W3", "web"); !strings.Contains(out, "1 packets received") {
		t.Errorf("db pinging web by its service name: %s", out)
	}
	if out := run("exec", "-T", "web", "ping", "-c1", "-W3", "database"); !strings.Contains(out, "1 packets received") {
		t.Errorf("web pinging db by its alias: %s", out)
	}
	nets := dockerOK(t, "network", "ls", "--filter", "label=com.docker.compose.project=roostcompose", "--format", "{{.Name}}")
	if !strings.Contains(nets, "roostcompose_front") || !strings.Contains(nets, "roostcompose_back") {
		t.Errorf("the project's networks: %q", nets)
	}
	if ps := run("ps", "--format", "{{.Service}} {{.State}}"); !strings.Contains(ps, "web running") || !strings.Contains(ps, "db running") {
		t.Errorf("docker compose ps: %q", ps)
	}
	run("down", "-t", "0")
	if nets := dockerOK(t, "network", "ls", "--filter", "label=com.docker.compose.project=roostcompose", "-q"); nets != "" {
		t.Errorf("networks left after down: %q", nets)
	}
	if ps := dockerOK(t, "ps", "-aq", "--filter", "label=com.docker.compose.project=roostcompose"); ps != "" {
		t.Errorf("containers left after down: %q", ps)
	}
}

// TestComposeBuild: docker compose build (through buildx, as compose
// builds when it is there) builds the service's image into the engine's
// store, and up runs it.
func TestComposeBuild(t *testing.T) {
	compose := withPlugins(t, "docker-compose", "docker-buildx")
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":   "FROM busybox\nRUN echo built-by-compose > /msg\nCMD [\"cat\", \"/msg\"]\n",
		"compose.yaml": "name: roostcbuild\nservices:\n  app:\n    build: .\n    image: roostcbuild-app:1\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "compose.yaml")
	t.Cleanup(func() {
		compose("compose", "-f", file, "down", "-t", "0")
		docker(t, "rmi", "-f", "roostcbuild-app:1")
	})
	if r := compose("compose", "-f", file, "build"); r.Err != nil {
		t.Fatalf("docker compose build: %v", r)
	}
	if out := dockerOK(t, "run", "--rm", "roostcbuild-app:1"); out != "built-by-compose" {
		t.Fatalf("the built image printed %q", out)
	}
	if r := compose("compose", "-f", file, "up"); r.Err != nil || !strings.Contains(r.Stdout, "built-by-compose") {
		t.Fatalf("docker compose up: %v", r)
	}
}
