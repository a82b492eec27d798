package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// runtimeBins must all be in the repository's bin/ before a run; `make`
// builds them.
var runtimeBins = []string{"roostd", "roost-keeper", "containerd", "containerd-shim-runc-v2", "runc", "containerd-fuse-overlayfs-grpc", "cni-bridge", "cni-static", "bypass4netns", "bypass4netnsd", "buildkitd", "roost-build"}

// harness is what TestMain sets up for the tests. It is written before
// m.Run and only read afterwards, except that TestRoostdKilled replaces the
// running daemon (tests that touch daemons do not run in parallel).
var harness struct {
	// managed is false when E2E_DOCKER_HOST points the tests at a daemon
	// the harness did not start; the user, binDir and daemons are unset then.
	managed   bool
	dockerCLI string // absolute path of the docker CLI
	tmp       string // the run's temporary dir, readable by the test user
	// busyboxTar is a `docker save` archive of busybox:latest and
	// busyboxRootfs the same image's root filesystem as a plain tar.
	busyboxTar, busyboxRootfs string
	dockerHost                string // DOCKER_HOST for the CLI
	dockerConfig              string // DOCKER_CONFIG for the CLI
	sock                      string // the API socket
	user                      *testUser
	binDir                    string   // where roostd and its runtime binaries are
	log                       *os.File // roostd's stdout and stderr, for every start
	daemons                   []*daemon
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain sets up, runs the tests and tears down; it returns the exit code.
// A set-up step that fails ends the run with a message saying what to do,
// because no test could pass without it; only the image load is left to
// the tests that need the image.
func runMain(m *testing.M) (code int) {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
		return 1
	}
	harness.dockerHost = os.Getenv("E2E_DOCKER_HOST")
	harness.managed = harness.dockerHost == ""
	cli, err := testenv.DockerCLI()
	if err != nil {
		return fail("%v", err)
	}
	harness.dockerCLI = cli

	if harness.tmp, err = os.MkdirTemp("", "roost-e2e-"); err != nil {
		return fail("%v", err)
	}
	defer func() {
		if os.Getenv("E2E_KEEP") != "" {
			fmt.Fprintf(os.Stderr, "e2e: E2E_KEEP is set: leaving %s\n", harness.tmp)
			return
		}
		if err := removeTree(harness.tmp); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: WARNING: removing %s: %v\n", harness.tmp, err)
		}
	}()
	if err := os.Chmod(harness.tmp, 0o755); err != nil {
		return fail("%v", err)
	}
	if err := writeFixtures(harness.tmp); err != nil {
		return fail("building the busybox image: %v", err)
	}
	harness.dockerConfig = filepath.Join(harness.tmp, "docker-config")
	if err := os.Mkdir(harness.dockerConfig, 0o700); err != nil {
		return fail("%v", err)
	}

	if harness.managed {
		defer func() {
			if harness.user == nil {
				return
			}
			if problems := tearDownDaemon(); len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintf(os.Stderr, "e2e: %s\n", p)
				}
				code = 1
			}
			if code != 0 {
				printLog(harness.log)
			}
			if harness.log != nil {
				harness.log.Close()
			}
		}()
		if msg := setUpDaemon(); msg != "" {
			return fail("%s", msg)
		}
	}

	setClientEnv()
	if out, err := loadBusybox(); err != nil {
		// Not fatal: the tests that need no image still say something useful.
		fmt.Fprintf(os.Stderr, "e2e: WARNING: loading the busybox fixture failed, tests that run containers will fail: %v\n%s\n", err, out)
	}
	return m.Run()
}

// writeFixtures builds the busybox image archives in dir.
func writeFixtures(dir string) error {
	harness.busyboxTar = filepath.Join(dir, "busybox.tar")
	harness.busyboxRootfs = filepath.Join(dir, "busybox-rootfs.tar")
	write := func(path string, gen func(io.Writer) error) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if err := gen(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	err := write(harness.busyboxTar, func(w io.Writer) error {
		return busyboximg.WriteDockerArchive(w, "busybox:latest")
	})
	if err != nil {
		return err
	}
	return write(harness.busyboxRootfs, busyboximg.WriteRootfs)
}

// setUpDaemon prepares the user and starts roostd. It returns "" or what
// went wrong, with the daemon's log when it got as far as starting it.
// As root it runs roostd as the user testUserName; as a user, as that user
// with a private home and runtime dir (setUpSelf).
func setUpDaemon() string {
	repo, err := filepath.Abs("../..")
	if err != nil {
		return err.Error()
	}
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		return fmt.Sprintf("cannot find the repository root from %s: %v", repo, err)
	}
	harness.binDir = filepath.Join(repo, "bin")
	for _, b := range runtimeBins {
		if fi, err := os.Stat(filepath.Join(harness.binDir, b)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Sprintf("%s/%s is missing: run make first", harness.binDir, b)
		}
	}
	if os.Geteuid() != 0 {
		u, err := setUpSelf(harness.tmp)
		if err != nil {
			return fmt.Sprintf("running as a user, not root: %v", err)
		}
		harness.user = u
		// A copy of bin/ marks the run's processes apart from those of
		// an engine the user runs from the checkout itself.
		dir := filepath.Join(harness.tmp, "bin")
		if err := copyDir(harness.binDir, dir); err != nil {
			return fmt.Sprintf("copying %s: %v", harness.binDir, err)
		}
		harness.binDir = dir
		u.marks = append(u.marks, dir+"/")
		fmt.Fprintf(os.Stderr, "e2e: not root: running roostd as %s with HOME %s and XDG_RUNTIME_DIR %s\n", u.Name, u.Home, u.RuntimeDir)
	} else {
		u, err := setUpUser(testUserName)
		if err != nil {
			return fmt.Sprintf("setting up the user %s: %v", testUserName, err)
		}
		harness.user = u
		// A run that was killed (by go test's timeout, say) leaves its
		// daemon behind; it must not disturb this one.
		if left := u.reapLeftovers(0); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "e2e: WARNING: killed %d processes of %s left by an earlier run:\n%s\n", len(left), u.Name, testenv.List(left))
		}
		if err := u.removeState(); err != nil {
			return fmt.Sprintf("removing the state of an earlier run: %v", err)
		}
		if !u.canExec(filepath.Join(harness.binDir, "roostd")) {
			// The checkout is out of the user's reach; run a copy instead.
			dir := filepath.Join(harness.tmp, "bin")
			if err := copyDir(harness.binDir, dir); err != nil {
				return fmt.Sprintf("%s cannot reach %s and copying it failed: %v", u.Name, harness.binDir, err)
			}
			fmt.Fprintf(os.Stderr, "e2e: %s cannot reach %s; running a copy in %s\n", u.Name, harness.binDir, dir)
			harness.binDir = dir
		}
	}
	u := harness.user

	harness.sock = filepath.Join(u.RuntimeDir, "docker.sock")
	harness.dockerHost = "unix://" + harness.sock
	if harness.log, err = os.OpenFile(filepath.Join(harness.tmp, "roostd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return err.Error()
	}
	if err := restartDaemon(); err != nil {
		return err.Error() // the deferred tear-down prints the log
	}
	return ""
}

// restartDaemon starts roostd the way TestMain does and records it; after
// a kill -9 of the API process the new one re-attaches to the namespace
// and containerd that survived.
func restartDaemon() error {
	d, err := startDaemon(harness.user, harness.binDir, harness.log, harness.sock)
	if err != nil {
		return err
	}
	harness.daemons = append(harness.daemons, d)
	harness.user.noteUserNS()
	return nil
}

// tearDownDaemon stops roostd, checks that nothing of the user survives it,
// and removes the user's state. It returns the failures.
func tearDownDaemon() []string {
	// containerd may have been restarted, into the same namespace.
	harness.user.noteUserNS()
	problems := stopDaemons(harness.daemons)
	if left := harness.user.reapLeftovers(lingerTimeout); len(left) > 0 {
		whose := "of " + harness.user.Name
		if harness.user.self {
			whose = "that the run started"
		}
		problems = append(problems, fmt.Sprintf("%d processes %s outlived roostd and were killed with SIGKILL:\n%s", len(left), whose, testenv.List(left)))
	}
	if err := harness.user.removeState(); err != nil {
		problems = append(problems, fmt.Sprintf("removing the user's state: %v", err))
	}
	return problems
}

// setClientEnv points every docker CLI the tests run at the daemon, with a
// private config dir so that root's ~/.docker is neither read nor written.
func setClientEnv() {
	os.Setenv("DOCKER_HOST", harness.dockerHost)
	os.Setenv("DOCKER_CONFIG", harness.dockerConfig)
	os.Setenv("DOCKER_CLI_HINTS", "false")
	for _, k := range []string{"DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION"} {
		os.Unsetenv(k)
	}
}

// loadBusybox loads the fixture once for all tests, so that scripts that
// run in parallel never race to load it.
func loadBusybox() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := runDocker(ctx, "load", "-i", harness.busyboxTar)
	return r.Stdout + r.Stderr, r.Err
}

// printLog writes the tail of roostd's log to stderr.
func printLog(f *os.File) {
	if f == nil {
		return
	}
	const max = 256 << 10
	data, err := os.ReadFile(f.Name())
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: reading roostd's log: %v\n", err)
		return
	}
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
		fmt.Fprintf(os.Stderr, "e2e: roostd's log (%s), last %d KiB:\n", f.Name(), max>>10)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: roostd's log (%s):\n", f.Name())
	}
	os.Stderr.Write(data)
}

// copyDir copies the regular files of src into a new dir, keeping modes.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, fi.Mode().Perm()|0o444); err != nil {
			return err
		}
	}
	return nil
}
