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
	compose := withPlugin(t, "docker-compose")
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
