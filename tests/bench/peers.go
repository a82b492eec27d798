package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// The peers are the engines roost is compared with, from Debian's packages
// and started as the same account as roostd, each with XDG dirs of its own
// under the bench's temporary dir: rootless dockerd (docker.io's
// dockerd-rootless.sh, which runs dockerd and its containerd inside
// RootlessKit) and podman's Docker-compatible service. They run on
// Debian's containerd and runc, not on bin/: they are measured as a user
// would install them.

// peerPath is the PATH of a peer: the system's, without the bench's bin/.
const peerPath = "/usr/sbin:/usr/bin:/sbin:/bin"

// notAvailable is the set-up error of a peer that is not installed or
// cannot start here; the report shows it as such rather than as a failure.
type notAvailable struct{ why string }

func (e notAvailable) Error() string { return "not available (" + e.why + ")" }

// peer is one peer daemon run by the bench.
type peer struct {
	b    *bench
	name string
	// dir holds the peer's XDG dirs: run (XDG_RUNTIME_DIR), data, config
	// and cache.
	dir  string
	sock string
	// check says why the peer cannot run here, or "" when it can.
	check func() string
	// prepare writes the peer's configuration before its first start.
	prepare func(p *peer) error
	argv    func(p *peer) []string
	// leftover tells a process that outlives the daemon by design (podman's
	// pause process, which holds its user namespace, and the conmons of its
	// finished execs); it is killed without counting as a problem.
	leftover func(proc) bool
	version  func() string

	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{}
	exitErr error
	// session is the daemon's session; userNS collects every user
	// namespace seen in it, which the daemon's other processes (containerd,
	// shims, conmon, podman's pause) stay in whatever their session.
	session int
	userNS  map[string]bool
	hostNS  string
	started bool
	e       *engine
}

func dockerdPeer(b *bench) *peer {
	const script = "/usr/share/docker.io/contrib/dockerd-rootless.sh"
	return &peer{
		b:    b,
		name: "dockerd",
		check: func() string {
			if _, err := os.Stat(script); err != nil {
				return script + " is missing: apt-get install docker.io"
			}
			for _, bin := range []string{"dockerd", "rootlesskit", "slirp4netns", "newuidmap"} {
				if lookPeer(bin) == "" {
					return bin + " is not installed: apt-get install docker.io rootlesskit slirp4netns uidmap"
				}
			}
			return ""
		},
		argv: func(p *peer) []string { return []string{script} },
		version: func() string {
			return strings.Join([]string{
				oneLine(peerOutput("dockerd", "--version")),
				oneLine(peerOutput("containerd", "--version")),
				oneLine(peerOutput("runc", "--version")),
				oneLine(peerOutput("rootlesskit", "--version")),
				oneLine(peerOutput("slirp4netns", "--version")),
			}, "; ")
		},
	}
}

func podmanPeer(b *bench) *peer {
	return &peer{
		b:    b,
		name: "podman",
		check: func() string {
			for _, bin := range []string{"podman", "runc", "conmon", "slirp4netns", "newuidmap"} {
				if lookPeer(bin) == "" {
					return bin + " is not installed: apt-get install podman runc uidmap slirp4netns"
				}
			}
			return ""
		},
		// crun refuses the hybrid cgroup layout of these machines and the
		// user has no systemd session for the systemd cgroup manager or the
		// journal. The storage driver is said explicitly: left alone, podman
		// 4.3 picks vfs here, which copies every layer for each container.
		prepare: func(p *peer) error {
			conf := filepath.Join(p.dir, "config", "containers")
			files := map[string]string{
				// podman keeps its CNI configuration under $HOME whatever
				// XDG_CONFIG_HOME says.
				"containers.conf": "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n" +
					"[network]\nnetwork_config_dir = \"" + filepath.Join(p.dir, "config", "cni") + "\"\n",
				"storage.conf": "[storage]\ndriver = \"overlay\"\n",
			}
			// The pull rows' registry is plain HTTP on loopback, which
			// dockerd takes as insecure by itself and podman must be told.
			if p.b.registry != nil && p.b.registry.reg != nil {
				files["registries.conf"] = "[[registry]]\nlocation = \"" + p.b.registry.reg.Addr + "\"\ninsecure = true\n"
			}
			if err := p.b.acct.mkdirAll(conf, 0o755); err != nil {
				return err
			}
			for name, text := range files {
				path := filepath.Join(conf, name)
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					return err
				}
				if err := p.b.acct.chown(path); err != nil {
					return err
				}
			}
			return nil
		},
		argv: func(p *peer) []string {
			return []string{lookPeer("podman"), "system", "service", "--time=0", "unix://" + p.sock}
		},
		// conmon of a finished `docker exec` waits --exit-delay (300 s)
		// before it exits, by podman's design.
		leftover: func(pr proc) bool {
			return pr.Comm == "podman pause" || (pr.Comm == "conmon" && strings.Contains(pr.Cmdline, "--exec-attach"))
		},
		version: func() string {
			return strings.Join([]string{
				oneLine(peerOutput("podman", "--version")),
				oneLine(peerOutput("conmon", "--version")),
				oneLine(peerOutput("runc", "--version")),
			}, "; ")
		},
	}
}

// engine describes the peer to the workloads.
func (p *peer) engine() *engine {
	p.e = &engine{
		name:     p.name,
		setUp:    p.setUp,
		tearDown: p.tearDown,
		restart:  p.restart,
		procs:    p.procs,
		roles:    p.roles,
		version:  p.version,
	}
	return p.e
}

// setUp checks that the peer can run and starts it on empty dirs.
func (p *peer) setUp() error {
	if why := p.check(); why != "" {
		return notAvailable{why}
	}
	p.dir = filepath.Join(p.b.tmp, p.name)
	run := filepath.Join(p.dir, "run")
	for _, d := range []string{p.dir, run, filepath.Join(p.dir, "data"), filepath.Join(p.dir, "config"), filepath.Join(p.dir, "cache")} {
		if err := p.b.acct.mkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	p.sock = filepath.Join(run, "docker.sock")
	if p.name == "podman" {
		p.sock = filepath.Join(run, "podman.sock")
	}
	p.e.dockerHost = "unix://" + p.sock
	if p.prepare != nil {
		if err := p.prepare(p); err != nil {
			return err
		}
	}
	var err error
	if p.log, err = os.Create(filepath.Join(p.b.tmp, p.name+".log")); err != nil {
		return err
	}
	p.hostNS, _ = os.Readlink("/proc/self/ns/user")
	p.userNS = map[string]bool{}
	if _, err := p.start(); err != nil {
		return notAvailable{fmt.Sprintf("did not start: %v", err)}
	}
	return nil
}

// env is the peer's whole environment.
func (p *peer) env() []string {
	a := p.b.acct
	return []string{
		"HOME=" + a.Home,
		"USER=" + a.Name,
		"LOGNAME=" + a.Name,
		"PATH=" + peerPath,
		"XDG_RUNTIME_DIR=" + filepath.Join(p.dir, "run"),
		"XDG_DATA_HOME=" + filepath.Join(p.dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(p.dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(p.dir, "cache"),
	}
}

// start runs the daemon in a session of its own and waits for its first
// answered /_ping, which it returns the time to.
func (p *peer) start() (time.Duration, error) {
	p.started = true
	fmt.Fprintf(p.log, "=== bench: starting %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	argv := p.argv(p)
	cmd := p.b.acct.command(context.Background(), "", argv[0], argv[1:]...)
	cmd.Env = p.env()
	cmd.Stdout, cmd.Stderr = p.log, p.log
	// A session, not just a process group: what the daemon starts stays in
	// it unless it calls setsid itself, and then it is in its namespace.
	cmd.SysProcAttr.Setpgid = false
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	p.cmd, p.done, p.exitErr = cmd, make(chan struct{}), nil
	p.session = cmd.Process.Pid
	done := p.done
	go func() {
		p.exitErr = cmd.Wait()
		close(done)
	}()
	deadline := t0.Add(pingTimeout)
	for {
		err := ping(p.sock)
		if err == nil {
			break
		}
		if p.exited() {
			return time.Since(t0), fmt.Errorf("%s exited before answering /_ping: %v%s", p.name, p.exitErr, logTail(p.log.Name()))
		}
		if time.Now().After(deadline) {
			return time.Since(t0), fmt.Errorf("%s did not answer /_ping within %v: %v%s", p.name, pingTimeout, err, logTail(p.log.Name()))
		}
		time.Sleep(pingInterval)
	}
	d := time.Since(t0)
	p.procs() // records the namespaces
	return d, nil
}

func (p *peer) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// roles names the peer's processes for the report by what they are, as
// their command lines do not tell RootlessKit's parent from its child nor
// podman's outer service from the one in its user namespace.
func (p *peer) roles() map[int]string {
	m := map[int]string{}
	for _, pr := range p.procs() {
		switch {
		case p.cmd != nil && pr.PID == p.cmd.Process.Pid && p.name == "dockerd":
			m[pr.PID] = "RootlessKit parent"
		case p.cmd != nil && pr.PID == p.cmd.Process.Pid:
			m[pr.PID] = "service (parent)"
		case pr.Comm == "exe":
			m[pr.PID] = "RootlessKit child"
		case pr.Comm == "podman":
			m[pr.PID] = "service (in the user namespace)"
		case pr.Comm == "podman pause":
			m[pr.PID] = "pause (holds the user namespace)"
		default:
			m[pr.PID] = pr.Comm
		}
	}
	return m
}

// procs lists the peer's processes: the account's that are in its session
// or in a user namespace seen in it.
func (p *peer) procs() []proc {
	self := os.Getpid()
	owned := testenv.Procs(func(pr proc) bool { return p.b.acct.owns(pr) && pr.PID != self })
	for _, pr := range owned {
		if pr.Session == p.session && pr.UserNS != "" && pr.UserNS != p.hostNS {
			p.userNS[pr.UserNS] = true
		}
	}
	var mine []proc
	for _, pr := range owned {
		if (p.session != 0 && pr.Session == p.session) || p.userNS[pr.UserNS] {
			mine = append(mine, pr)
		}
	}
	return mine
}

// stop sends SIGTERM to the daemon's process group (podman's service
// re-executes itself in its user namespace, and only the inner one
// shuts the service down), waits for it, then for every process of the
// peer; it returns what went wrong.
func (p *peer) stop() []string {
	var problems []string
	if p.cmd != nil && !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			problems = append(problems, fmt.Sprintf("%s (pid %d) did not exit within %v of SIGTERM; killed", p.name, p.cmd.Process.Pid, stopTimeout))
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	deadline := time.Now().Add(lingerTimeout)
	for {
		var left, unexpected []proc
		for _, pr := range p.procs() {
			left = append(left, pr)
			if p.leftover == nil || !p.leftover(pr) {
				unexpected = append(unexpected, pr)
			}
		}
		if len(unexpected) == 0 || time.Now().After(deadline) {
			for _, pr := range left {
				_ = syscall.Kill(pr.PID, syscall.SIGKILL)
			}
			if len(unexpected) > 0 {
				problems = append(problems, fmt.Sprintf("%d processes outlived %s and were killed with SIGKILL:\n%s", len(unexpected), p.name, testenv.List(unexpected)))
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := testenv.KillAll(p.procs, lingerTimeout); len(left) > 0 {
		problems = append(problems, fmt.Sprintf("%d processes of %s survived SIGKILL:\n%s", len(left), p.name, testenv.List(left)))
	}
	return problems
}

// restart stops the peer fully and times a new start.
func (p *peer) restart() (time.Duration, error) {
	for _, pr := range p.stop() {
		p.b.problemf("%s", pr)
	}
	return p.start()
}

// tearDown stops the peer and removes its dirs.
func (p *peer) tearDown() []string {
	if !p.started {
		return nil
	}
	problems := p.stop()
	if p.log != nil {
		p.log.Close()
	}
	if err := p.b.removeAccountTree(p.dir); err != nil {
		problems = append(problems, fmt.Sprintf("removing %s: %v", p.dir, err))
	}
	return problems
}

// lookPeer finds a peer's binary on the peers' PATH, or "".
func lookPeer(name string) string {
	for _, d := range filepath.SplitList(peerPath) {
		path := filepath.Join(d, name)
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return path
		}
	}
	return ""
}

// peerOutput runs a peer binary's version command.
func peerOutput(name string, args ...string) []byte {
	path := lookPeer(name)
	if path == "" {
		return []byte(name + ": not installed")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return []byte(err.Error())
	}
	return out
}

func oneLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines, ", ")
}

// logTail is the end of a daemon's log, for an error message.
func logTail(path string) string {
	const max = 4 << 10
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return ""
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return fmt.Sprintf("\nits log (%s) ends with:\n%s", path, data)
}

// removeAccountTree removes a dir the account's engine wrote. As root that
// is plain; as the caller, files of the engine's containers belong to
// subordinate ids, which only a user namespace with the same mapping can
// remove.
func (b *bench) removeAccountTree(dir string) error {
	err := removeTree(dir)
	if err == nil || b.acct.switched {
		return err
	}
	for _, wrap := range [][]string{{"podman", "unshare"}, {"rootlesskit", "--net=host", "--"}} {
		if path := lookPeer(wrap[0]); path != "" {
			cmd := exec.Command(path, append(wrap[1:], "rm", "-rf", dir)...)
			if out, err2 := cmd.CombinedOutput(); err2 != nil {
				return fmt.Errorf("%v; %s: %v: %s", err, strings.Join(cmd.Args, " "), err2, out)
			}
			return nil
		}
	}
	return errors.Join(err, errors.New("neither podman unshare nor rootlesskit can remove files of subordinate ids"))
}
