package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/roostd/roost/internal/testenv"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// runtimeBins must all be in the repository's bin/; `make` builds them.
var runtimeBins = []string{"roostd", "roost-keeper", "containerd", "containerd-shim-runc-v2", "runc", "containerd-fuse-overlayfs-grpc", "cni-bridge", "cni-static", "bypass4netns", "bypass4netnsd", "buildkitd", "roost-build"}

// bench is what every engine and workload shares during one run.
type bench struct {
	ctx   context.Context // cancelled by SIGINT or SIGTERM
	acct  *account
	n     int // timed runs per run row
	sizes sizes
	repo  string
	tmp   string // the run's temporary dir, readable by the account
	keep  bool
	// binDir holds roostd and its runtime binaries, and self this binary,
	// where the account can execute them.
	binDir, self  string
	dockerCLI     string
	dockerConfig  string
	busyboxTar    string // `docker save` archive of busybox:latest
	busyboxRootfs string // the same image's rootfs as a plain tar
	log           *os.File
	lock          *os.File // held while the bench uses the dedicated account
	killLeftovers bool
	idleProcs     []idleSnapshot
	problems      []string
	registry      *pullRegistry // started by the pull workload
}

// newBench prepares a run: the account, a temporary dir with the fixtures
// and, as root, copies of the binaries the account can reach. It returns
// the bench whenever there is something for cleanup to remove.
func newBench(ctx context.Context, o options) (*bench, error) {
	b := &bench{ctx: ctx, n: o.n, sizes: fullSizes, keep: o.keep, killLeftovers: o.killLeftovers}
	if o.quick {
		b.sizes = quickSizes
	}
	var err error
	if b.repo, err = findRepo(); err != nil {
		return nil, err
	}
	srcBin := o.binDir
	if !filepath.IsAbs(srcBin) {
		srcBin = filepath.Join(b.repo, srcBin)
	}
	for _, name := range runtimeBins {
		if fi, err := os.Stat(filepath.Join(srcBin, name)); err != nil || fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("%s is missing: run make first", filepath.Join(srcBin, name))
		}
	}
	if b.dockerCLI, err = testenv.DockerCLI(); err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "roost-bench-"); err != nil {
		return nil, err
	}
	if err := os.Chmod(b.tmp, 0o755); err != nil {
		return b, err
	}
	if b.log, err = os.Create(filepath.Join(b.tmp, "roostd.log")); err != nil {
		return b, err
	}
	if os.Geteuid() == 0 {
		if b.lock, err = lockAccount(o.user); err != nil {
			return b, err
		}
		if b.acct, err = dedicatedAccount(o.user); err != nil {
			return b, fmt.Errorf("setting up the user %s: %w", o.user, err)
		}
		// Every engine's leftovers, not only roostd's: the peers would start
		// beside them and count them.
		if busy := testenv.Procs(b.acct.owns); len(busy) > 0 {
			if !o.killLeftovers {
				return b, fmt.Errorf("%s already has %d running processes (an e2e run, or an earlier bench that was killed?):\n%s\nstop them, or rerun with -kill-leftovers", o.user, len(busy), testenv.List(busy))
			}
			list := func() []proc { return testenv.Procs(b.acct.owns) }
			left := testenv.KillAll(list, 0)
			testenv.KillAll(list, lingerTimeout) // wait for them to go
			fmt.Fprintf(os.Stderr, "bench: killed %d processes of %s left by an earlier run:\n%s\n", len(left), o.user, testenv.List(left))
		}
	} else if b.acct, err = callerAccount(b.tmp); err != nil {
		return b, err
	}
	// Copies: the account can reach them wherever the checkout is (a clone
	// under /root is private), a rebuild during the run cannot change them,
	// and no other daemon run from bin/ shares their pages, which would
	// lower the PSS measured.
	b.binDir = filepath.Join(b.tmp, "bin")
	if err := copyBins(srcBin, b.binDir, runtimeBins); err != nil {
		return b, err
	}
	b.self = filepath.Join(b.binDir, "roost-bench")
	if err := copyExecutable(b.self); err != nil {
		return b, err
	}
	fmt.Fprintf(os.Stderr, "bench: engines run as %s (uid %d), XDG_RUNTIME_DIR=%s; temporary dir %s\n", b.acct.Name, b.acct.UID, b.acct.RuntimeDir, b.tmp)
	b.dockerConfig = filepath.Join(b.tmp, "docker-config")
	if err := os.Mkdir(b.dockerConfig, 0o700); err != nil {
		return b, err
	}
	return b, b.writeFixtures()
}

// writeFixtures writes the busybox image as a `docker save` archive and as
// a plain rootfs tar.
func (b *bench) writeFixtures() error {
	b.busyboxTar = filepath.Join(b.tmp, "busybox.tar")
	b.busyboxRootfs = filepath.Join(b.tmp, "busybox-rootfs.tar")
	write := func(path string, gen func(io.Writer) error) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if err := gen(f); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return f.Close()
	}
	err := write(b.busyboxTar, func(w io.Writer) error { return busyboximg.WriteDockerArchive(w, "busybox:latest") })
	if err != nil {
		return err
	}
	return write(b.busyboxRootfs, busyboximg.WriteRootfs)
}

// cleanup removes the temporary dir unless -keep says otherwise.
func (b *bench) cleanup() {
	if b.registry != nil && b.registry.reg != nil {
		if err := b.registry.reg.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: the registry: %v\n", err)
		}
	}
	if b.log != nil {
		b.log.Close()
	}
	if b.lock != nil {
		b.lock.Close()
	}
	if b.keep {
		fmt.Fprintf(os.Stderr, "bench: -keep: leaving %s\n", b.tmp)
		return
	}
	if err := removeTree(b.tmp); err != nil {
		fmt.Fprintf(os.Stderr, "bench: removing %s: %v\n", b.tmp, err)
	}
}

// problemf records something that went wrong besides a row's failure.
func (b *bench) problemf(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "bench: PROBLEM:", p)
	b.problems = append(b.problems, p)
}

// logTail is the end of roostd's log, for an error message.
func (b *bench) logTail() string {
	const max = 8 << 10
	data, err := os.ReadFile(b.log.Name())
	if err != nil || len(data) == 0 {
		return ""
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return fmt.Sprintf("\nroostd's log (%s) ends with:\n%s", b.log.Name(), data)
}

// findRepo walks up from the working directory to roost's go.mod.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/roostd/roost\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the bench inside the roost repository (make bench)")
		}
		dir = parent
	}
}

// copyBins copies the named files of src into a new dir dst, executable
// by everyone.
func copyBins(src, dst string, names []string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if err := copyFile(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	return nil
}

// copyExecutable copies this binary (which `go run` keeps in a private
// dir) to dst, for the account to re-execute as the floor helper.
func copyExecutable(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return copyFile(self, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, in, 0o755)
}

// removeTree removes dir. As the caller, the engine's data can hold
// directories without write permission (overlayfs work dirs), which are
// made writable first.
func removeTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil || os.Geteuid() == 0 {
		return err
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// machineInfo describes the machine for the report.
func machineInfo() [][2]string {
	info := [][2]string{{"cores", fmt.Sprint(runtime.NumCPU())}}
	if model := procField("/proc/cpuinfo", "model name"); model != "" {
		info = append(info, [2]string{"cpu", model})
	}
	if mem := procField("/proc/meminfo", "MemTotal"); mem != "" {
		var kb int64
		fmt.Sscanf(mem, "%d", &kb)
		info = append(info, [2]string{"memory", fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))})
	}
	// Other work on the machine moves the figures; say how much there was.
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(load)); len(f) >= 3 {
			info = append(info, [2]string{"load at start", strings.Join(f[:3], " ") + " (1, 5, 15 min)"})
		}
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err == nil {
		info = append(info, [2]string{"kernel", utsString(u.Sysname[:]) + " " + utsString(u.Release[:]) + " " + utsString(u.Machine[:])})
	}
	return info
}

// procField is the value of the first "key: value" line for key in file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func utsString(f []int8) string {
	var s []byte
	for _, c := range f {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// versions reports roost's binaries, the peers' and the docker CLI, and
// the storage driver each engine with an API used (recorded at its set-up).
func (b *bench) versions(engines []*engine) [][2]string {
	var v [][2]string
	for _, name := range []string{"roostd", "containerd", "runc"} {
		out, err := exec.Command(filepath.Join(b.binDir, name), "--version").Output()
		if err != nil {
			out = []byte(err.Error())
		}
		v = append(v, [2]string{name, oneLine(out)})
	}
	for _, e := range engines {
		if e.version != nil {
			v = append(v, [2]string{e.name, e.version()})
		}
	}
	for _, e := range engines {
		if e.driver != "" {
			v = append(v, [2]string{e.name + " storage driver", e.driver})
		}
	}
	// The client's version is printed even when no daemon answers.
	cmd := exec.Command(b.dockerCLI, "version", "--format", "{{.Client.Version}}")
	cmd.Env = b.dockerEnv(&engine{dockerHost: "unix:///nonexistent"})
	out, _ := cmd.Output()
	v = append(v, [2]string{"docker CLI", oneLine(out) + " (" + b.dockerCLI + ")"})
	return v
}
