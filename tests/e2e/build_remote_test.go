package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// remoteFiles is the context that TestBuildRemoteContext serves: a
// Dockerfile at the top and one in sub/, each printing what it copied.
var remoteFiles = map[string]string{
	"Dockerfile":     "FROM busybox\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
	"sub/Dockerfile": "FROM busybox\nCOPY hello.txt /sub.txt\nCMD [\"sed\", \"s/^/sub:/\", \"/sub.txt\"]\n",
	"hello.txt":      "remote-hello\n",
}

// serveContext serves, on loopback, the context as ctx.tar and
// ctx.tar.gz, and a lone Dockerfile as Dockerfile; anything else is 404.
func serveContext(t *testing.T) string {
	t.Helper()
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, name := range []string{"Dockerfile", "hello.txt", "sub/Dockerfile"} {
		content := remoteFiles[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1e9, 0)}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(content))
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(tarball.Bytes())
	zw.Close()
	files := map[string][]byte{
		"/ctx.tar":    tarball.Bytes(),
		"/ctx.tar.gz": gz.Bytes(),
		"/Dockerfile": []byte("FROM busybox\nRUN echo from-a-remote-dockerfile > /made.txt\nCMD [\"cat\", \"/made.txt\"]\n"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// postRemoteBuild is POST /build with a remote context, as API clients
// (docker-py, the old CLI) send it; it returns the status and the body.
func postRemoteBuild(t *testing.T, remote string, query url.Values) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	if query == nil {
		query = url.Values{}
	}
	query.Set("remote", remote)
	resp, err := unixRequest(ctx, apiSocket(t), http.MethodPost, "/build?"+query.Encode(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBuildRemoteContext builds from URLs: with the classic CLI (which
// downloads the context itself), through the API's remote parameter and
// through buildx (where buildkitd fetches it, from the engine's side of
// loopback), a tarball, a compressed one with -f, a lone Dockerfile and a
// git repository; and the URLs that cannot work.
func TestBuildRemoteContext(t *testing.T) {
	base := serveContext(t)
	images := []string{"buildremote-tar:1", "buildremote-sub:1", "buildremote-api:1", "buildremote-apisub:1",
		"buildremote-df:1", "buildremote-bad:1", "buildremote-git:1", "buildremote-gitcli:1", "buildremote-buildx:1"}
	t.Cleanup(func() { docker(t, append([]string{"rmi", "-f"}, images...)...) })

	dockerOK(t, "build", "-t", "buildremote-tar:1", base+"/ctx.tar")
	if out := dockerOK(t, "run", "--rm", "buildremote-tar:1"); out != "remote-hello" {
		t.Errorf("the image built from ctx.tar printed %q", out)
	}
	dockerOK(t, "build", "-f", "sub/Dockerfile", "-t", "buildremote-sub:1", base+"/ctx.tar.gz")
	if out := dockerOK(t, "run", "--rm", "buildremote-sub:1"); out != "sub:remote-hello" {
		t.Errorf("the image built with -f sub/Dockerfile printed %q", out)
	}

	code, body := postRemoteBuild(t, base+"/ctx.tar", url.Values{"t": {"buildremote-api:1"}})
	if code != http.StatusOK || !strings.Contains(body, "Successfully tagged buildremote-api:1") {
		t.Fatalf("POST /build?remote=…/ctx.tar: %d %s", code, body)
	}
	if out := dockerOK(t, "run", "--rm", "buildremote-api:1"); out != "remote-hello" {
		t.Errorf("the image built from remote=ctx.tar printed %q", out)
	}
	code, body = postRemoteBuild(t, base+"/ctx.tar.gz", url.Values{"t": {"buildremote-apisub:1"}, "dockerfile": {"sub/Dockerfile"}})
	if code != http.StatusOK || !strings.Contains(body, "Successfully tagged buildremote-apisub:1") {
		t.Fatalf("POST /build?remote=…/ctx.tar.gz&dockerfile=sub/Dockerfile: %d %s", code, body)
	}
	if out := dockerOK(t, "run", "--rm", "buildremote-apisub:1"); out != "sub:remote-hello" {
		t.Errorf("the image built from remote=ctx.tar.gz with sub/Dockerfile printed %q", out)
	}
	// A URL of something that is not an archive is the Dockerfile.
	code, body = postRemoteBuild(t, base+"/Dockerfile", url.Values{"t": {"buildremote-df:1"}})
	if code != http.StatusOK || !strings.Contains(body, "Successfully tagged buildremote-df:1") {
		t.Fatalf("POST /build?remote=…/Dockerfile: %d %s", code, body)
	}
	if out := dockerOK(t, "run", "--rm", "buildremote-df:1"); out != "from-a-remote-dockerfile" {
		t.Errorf("the image built from a remote Dockerfile printed %q", out)
	}

	t.Run("bad", func(t *testing.T) {
		code, body := postRemoteBuild(t, "ftp://127.0.0.1/ctx.tar", url.Values{"t": {"buildremote-bad:1"}})
		if code != http.StatusInternalServerError && code != http.StatusBadRequest ||
			!strings.Contains(body, "remoteURL (ftp://127.0.0.1/ctx.tar) could not be recognized as URL") {
			t.Errorf("remote=ftp://…: %d %s", code, body)
		}
		if harness.managed && code != http.StatusBadRequest {
			t.Errorf("remote=ftp://…: status %d, want 400", code)
		}
		code, body = postRemoteBuild(t, base+"/missing.tar", url.Values{"t": {"buildremote-bad:1"}})
		if code < 400 || !strings.Contains(body, "404") {
			t.Errorf("remote=…/missing.tar: %d %s", code, body)
		}
		closed := closedPort(t)
		code, body = postRemoteBuild(t, "http://127.0.0.1:"+closed+"/ctx.tar", url.Values{"t": {"buildremote-bad:1"}})
		if code < 400 || !strings.Contains(body, "connection refused") {
			t.Errorf("remote on a closed port: %d %s", code, body)
		}
		if r := docker(t, "image", "inspect", "buildremote-bad:1"); r.Code == 0 {
			t.Errorf("a failed remote build tagged its image")
		}
		r := docker(t, "build", "-t", "buildremote-bad:1", base+"/missing.tar")
		if r.Code == 0 || !strings.Contains(r.Stderr, "404 Not Found") {
			t.Errorf("docker build of a 404 URL: %v", r)
		}
	})

	t.Run("git", func(t *testing.T) {
		repo := gitDaemon(t)
		code, body := postRemoteBuild(t, repo+"#main:app", url.Values{"t": {"buildremote-git:1"}})
		if code != http.StatusOK || !strings.Contains(body, "Successfully tagged buildremote-git:1") {
			t.Fatalf("POST /build?remote=%s#main:app: %d %s", repo, code, body)
		}
		if out := dockerOK(t, "run", "--rm", "buildremote-git:1"); out != "from-git" {
			t.Errorf("the image built from git printed %q", out)
		}
		dockerOK(t, "build", "-t", "buildremote-gitcli:1", repo+"#main:app")
		if out := dockerOK(t, "run", "--rm", "buildremote-gitcli:1"); out != "from-git" {
			t.Errorf("the image docker build made from git printed %q", out)
		}
	})

	t.Run("buildx", func(t *testing.T) {
		run := buildx(t)
		r := run("buildx", "build", "--load", "-f", "sub/Dockerfile", "-t", "buildremote-buildx:1", base+"/ctx.tar")
		if r.Err != nil {
			t.Fatalf("docker buildx build of a URL: %v", r)
		}
		if out := dockerOK(t, "run", "--rm", "buildremote-buildx:1"); out != "sub:remote-hello" {
			t.Errorf("the image buildx built from a URL printed %q", out)
		}
		r = run("buildx", "build", "--load", base+"/missing.tar")
		if r.Code == 0 || !strings.Contains(r.Stderr, "404") {
			t.Errorf("docker buildx build of a 404 URL: %v", r)
		}
	})
}

// closedPort is a loopback port on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

// gitDaemon serves, with `git daemon` on loopback, a repository whose
// branch main has app/Dockerfile, and returns its git:// URL.
func gitDaemon(t *testing.T) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is missing: hack/deps.sh installs it")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(filepath.Join(work, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"app/Dockerfile": "FROM busybox\nCOPY msg.txt /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n",
		"app/msg.txt":    "from-git\n",
	} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"-C", work, "init", "-q", "-b", "main"},
		{"-C", work, "add", "-A"},
		{"-C", work, "-c", "user.name=roost", "-c", "user.email=roost@127.0.0.1", "commit", "-q", "-m", "context"},
		{"clone", "-q", "--bare", work, filepath.Join(dir, "repo.git")},
	} {
		if out, err := exec.Command(git, args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	port := closedPort(t)
	// In its own process group: `git daemon` runs git-daemon as a child,
	// and both must go.
	cmd := exec.Command(git, "daemon", "--base-path="+dir, "--export-all", "--reuseaddr",
		"--listen=127.0.0.1", "--port="+port, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	waitUntil(t, 10*time.Second, "git daemon to listen", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "git://127.0.0.1:" + port + "/repo.git"
}
