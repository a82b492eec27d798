package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roostd/roost/tests/regtest"
)

// TestBuildxPush builds and pushes in one go through buildx's docker
// driver (`docker buildx build --push`, and `docker build --push`, which
// is buildx once the plugin is installed), to a registry on loopback; the
// pushed image is then pulled under its name and run.
func TestBuildxPush(t *testing.T) {
	run := buildx(t)
	reg := regtest.StartT(t, regtest.Options{})
	dir := t.TempDir()
	dockerfile := "FROM busybox\nRUN echo pushed-by-a-build > /pushed.txt\nCMD [\"cat\", \"/pushed.txt\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	one, two := reg.Addr+"/buildxpush:1", reg.Addr+"/buildxpush:2"
	t.Cleanup(func() { docker(t, "rmi", "-f", one, two, "buildxpush-pulled:1") })

	r := run("buildx", "build", "--push", "--progress=plain", "-t", one, dir)
	if r.Err != nil {
		t.Fatalf("docker buildx build --push: %v", r)
	}
	if !strings.Contains(r.Stderr, "pushing manifest for "+one) {
		t.Errorf("buildx did not show the push:\n%s", r.Stderr)
	}
	r = run("build", "--push", "-t", two, dir)
	if r.Err != nil {
		t.Fatalf("docker build --push (buildx): %v", r)
	}
	for _, tag := range []string{"1", "2"} {
		req, err := http.NewRequest(http.MethodHead, reg.URL()+"/v2/buildxpush/manifests/"+tag, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
		resp, err := reg.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the registry has no manifest buildxpush:%s: %s", tag, resp.Status)
		}
	}

	// As with dockerd's moby exporter, the pushed image is here too.
	id := inspectImage(t, one)
	if inspectImage(t, two) != id {
		t.Errorf("%s and %s, built from one Dockerfile, differ", one, two)
	}
	dockerOK(t, "rmi", one, two)
	dockerOK(t, "pull", one)
	dockerOK(t, "tag", one, "buildxpush-pulled:1")
	if out := dockerOK(t, "run", "--rm", "buildxpush-pulled:1"); out != "pushed-by-a-build" {
		t.Errorf("the pulled image printed %q", out)
	}
}

// TestBuildxPushAuth pushes from a build to a registry that wants a login
// (bearer tokens, as Docker Hub): the credentials of `docker login` reach
// buildkitd through the build's session, and without them the push fails
// and says so.
func TestBuildxPushAuth(t *testing.T) {
	run := buildx(t)
	reg := regtest.StartT(t, regtest.Options{Token: true, Users: map[string]string{"bob": "hunter2"}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo authed > /authed.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr + "/bob/buildxpushauth:1"
	t.Cleanup(func() { docker(t, "rmi", "-f", ref) })

	r := run("buildx", "build", "--push", "-t", ref, dir)
	if r.Code == 0 || !strings.Contains(r.Stderr, "push access denied") {
		t.Errorf("a push without a login: %v", r)
	}
	if r := run("login", "-u", "bob", "-p", "hunter2", reg.Addr); r.Err != nil {
		t.Fatalf("docker login: %v", r)
	}
	if r := run("buildx", "build", "--push", "-t", ref, dir); r.Err != nil {
		t.Fatalf("docker buildx build --push after docker login: %v", r)
	}
	dockerOK(t, "rmi", ref)
	if r := run("pull", ref); r.Err != nil {
		t.Errorf("docker pull of what the build pushed: %v", r)
	}
}
