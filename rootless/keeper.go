package rootless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/log"
	"github.com/rootless-containers/rootlesskit/v3/pkg/child"
	"github.com/rootless-containers/rootlesskit/v3/pkg/copyup/tmpfssymlink"
	"github.com/rootless-containers/rootlesskit/v3/pkg/network"
	"github.com/rootless-containers/rootlesskit/v3/pkg/network/pasta"
	"github.com/rootless-containers/rootlesskit/v3/pkg/network/slirp4netns"
	"github.com/rootless-containers/rootlesskit/v3/pkg/parent"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/builtin"
	portslirp "github.com/rootless-containers/rootlesskit/v3/pkg/port/slirp4netns"
	"golang.org/x/sys/unix"
)

// The keeper (cmd/roost-keeper) is the part of roost that must outlive the
// API process: the RootlessKit parent (which owns slirp4netns and the port
// driver) and its child in the new user and mount namespaces, which is also
// the supervisor of containerd ("nsinit"). roostd joins those
// namespaces with nsenter, so it can be killed and started again without
// touching a running container. The keeper's roles are one binary, told
// apart by the environment.

// Role is the part of the keeper a process plays.
type Role int

// The roles, in the order they appear in the process tree.
const (
	RoleKeeper Role = iota // RootlessKit parent on the host side
	RoleChild              // RootlessKit child: sets up the namespace, then supervises containerd ("nsinit")
)

const (
	roleEnv                = "_ROOST_ROLE"
	pipeFDEnv              = "_ROOST_ROOTLESSKIT_PIPEFD"
	activationChildEnv     = "_ROOST_ROOTLESSKIT_ACTIVATION_CHILD"
	activationHelperEnv    = "_ROOST_ROOTLESSKIT_ACTIVATION_HELPER"
	stateDirEnv            = "ROOTLESSKIT_STATE_DIR"
	joinedEnv              = "_ROOST_JOINED"
	joinedNew              = "new"
	keeperStartTimeout     = 30 * time.Second
	keeperPollInterval     = 20 * time.Millisecond
	slirpMTU               = 65520
	slirpInterface         = "tap0"
	keeperStopTimeout      = 20 * time.Second
	keeperLogTailOnFailure = 4096
)

// CurrentRole tells which role this keeper process was started for.
func CurrentRole() Role {
	// RootlessKit marks its child with the pipe variable; check it first, as
	// the child re-executes itself once to gain its capabilities.
	if os.Getenv(pipeFDEnv) != "" {
		return RoleChild
	}
	return RoleKeeper
}

// Joined tells whether this API process already runs inside the namespace.
func Joined() bool { return os.Getenv(joinedEnv) != "" }

// JoinedNewKeeper tells whether the keeper this API process joined was
// started for it, rather than found running (with containers, perhaps):
// a start that fails stops only a keeper of its own.
func JoinedNewKeeper() bool { return os.Getenv(joinedEnv) == joinedNew }

// KeeperDir is RootlessKit's state directory (child_pid, netns, api.sock).
func (p Paths) KeeperDir() string { return filepath.Join(p.StateDir, "rootlesskit") }

// PIDFile is the pid file of a named roostd process or child daemon.
func (p Paths) PIDFile(name string) string { return filepath.Join(p.StateDir, name+".pid") }

// ReadyFile is created by nsinit once containerd answers.
func (p Paths) ReadyFile() string { return filepath.Join(p.StateDir, "nsinit.ready") }

// KeeperLog is where the keeper and containerd write their logs.
func (p Paths) KeeperLog() string { return filepath.Join(p.StateDir, "keeper.log") }

// ReadPID returns the live process recorded in a pid file, or 0.
func ReadPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// WritePID records the current process in a pid file.
func WritePID(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// KeeperRunning returns the pid of the namespace's child process when a
// keeper is up and its containerd supervisor has reported ready.
func (p Paths) KeeperRunning() int {
	if ReadPID(p.PIDFile("keeper")) == 0 {
		return 0
	}
	if _, err := os.Stat(p.ReadyFile()); err != nil {
		return 0
	}
	return ReadPID(filepath.Join(p.KeeperDir(), parent.StateFileChildPID))
}

// The keeper learns roostd's settings from its environment: RootlessKit
// starts its child, and the child nsinit, without arguments.
const (
	logLevelEnv   = "_ROOST_LOG_LEVEL"
	dataRootEnv   = "_ROOST_DATA_ROOT"
	portDriverEnv = "_ROOST_PORT_DRIVER"
	outboundEnv   = "_ROOST_OUTBOUND"
)

// Ways out of the namespace for the containers' traffic.
const (
	OutboundSlirp4netns = "slirp4netns"
	OutboundPasta       = "pasta"
)

// OutboundFile records the outbound driver the running keeper uses.
func (p Paths) OutboundFile() string { return filepath.Join(p.StateDir, "outbound") }

// Outbound is the outbound driver of the running keeper.
func (p Paths) Outbound() string { return fileOr(p.OutboundFile(), OutboundSlirp4netns) }

func keeperOutbound() string { return envOr(outboundEnv, OutboundSlirp4netns) }

// Port drivers: RootlessKit's builtin one (fast, keeps the client's
// address) and slirp4netns' own port forwarding.
const (
	PortDriverBuiltin     = "builtin"
	PortDriverSlirp4netns = "slirp4netns"
)

// PortDriverFile records the port driver the running keeper uses: roostd
// may have been started with another setting since.
func (p Paths) PortDriverFile() string { return filepath.Join(p.StateDir, "port-driver") }

// PortDriver is the port driver of the running keeper.
func (p Paths) PortDriver() string { return fileOr(p.PortDriverFile(), PortDriverBuiltin) }

func keeperPortDriver() string { return envOr(portDriverEnv, PortDriverBuiltin) }

// envOr is the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// fileOr is the trimmed content of a setting the keeper recorded at path,
// or def when there is none.
func fileOr(path, def string) string {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b))
	}
	return def
}

// KeeperLogLevel is the log level roostd asked the keeper for.
func KeeperLogLevel() string { return envOr(logLevelEnv, "info") }

// KeeperDataRoot is the data directory roostd resolved for the keeper.
func KeeperDataRoot() string { return os.Getenv(dataRootEnv) }

// StartKeeper starts a detached roost-keeper unless one runs, and waits until
// its containerd answers. It returns the pid of the namespace's child
// process and whether the keeper is a new one.
func StartKeeper(p Paths, logLevel, portDriver, outbound string) (pid int, started bool, err error) {
	if pid := p.KeeperRunning(); pid != 0 {
		return pid, false, nil
	}
	// A keeper that died leaves files that would fool the waits below.
	for _, f := range []string{p.ReadyFile(), p.PIDFile("keeper"), p.PIDFile("nsinit"), p.PIDFile("containerd")} {
		_ = os.Remove(f)
	}
	if err := os.RemoveAll(p.KeeperDir()); err != nil {
		return 0, false, err
	}
	if err := os.MkdirAll(p.KeeperDir(), 0o700); err != nil {
		return 0, false, err
	}
	logf, err := os.OpenFile(p.KeeperLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer logf.Close()
	keeper, err := Sibling("roost-keeper")
	if err != nil {
		return 0, false, err
	}
	cmd := exec.Command(keeper)
	// XDG_RUNTIME_DIR is set even where roostd fell back to a private
	// directory: the keeper resolves its paths again inside the namespace,
	// where its uid is 0, and must find this one, not /tmp/roost-0.
	cmd.Env = append(keeperEnv(os.Environ()), roleEnv+"=keeper", logLevelEnv+"="+logLevel, dataRootEnv+"="+p.DataDir,
		portDriverEnv+"="+portDriver, outboundEnv+"="+outbound, "XDG_RUNTIME_DIR="+p.RuntimeDir)
	if SingleID() {
		cmd.Env = append(cmd.Env, singleIDEnv(keeper)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: Ctrl-C in the terminal of `make run` reaches the API
	// process only, which then decides whether the keeper stops.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("starting the namespace keeper: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(keeperStartTimeout)
	for {
		if pid := p.KeeperRunning(); pid != 0 {
			return pid, true, nil
		}
		select {
		case err := <-exited:
			return 0, false, fmt.Errorf("the namespace keeper exited (%v); its log %s ends with:\n%s", err, p.KeeperLog(), tail(p.KeeperLog()))
		case <-deadline:
			_ = cmd.Process.Kill()
			return 0, false, fmt.Errorf("the namespace keeper did not get ready in %v; its log %s ends with:\n%s", keeperStartTimeout, p.KeeperLog(), tail(p.KeeperLog()))
		case <-time.After(keeperPollInterval):
		}
	}
}

// managerEnv are what systemd sets for the process it started (socket
// activation, sd_notify, watchdog): meant for roostd, not for the keeper or
// the containerd under it, which would send READY=1 of its own.
var managerEnv = []string{"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC="}

// keeperEnv is env without managerEnv.
func keeperEnv(env []string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, p := range managerEnv {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// StopKeeper asks the keeper to shut down containerd and the namespace, and
// waits for it to go.
func StopKeeper(p Paths) error {
	pid := ReadPID(p.PIDFile("keeper"))
	if pid == 0 {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(keeperStopTimeout)
	for time.Now().Before(deadline) {
		// The keeper may be our own child (we started it before joining the
		// namespace): reap it so it does not linger as a zombie.
		var ws syscall.WaitStatus
		if wpid, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); wpid == pid {
			return nil
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("the namespace keeper (pid %d) did not stop in %v and was killed", pid, keeperStopTimeout)
}

// Join re-executes the current command inside the keeper's user and mount
// namespaces; on success it does not return. The network namespace is not
// joined: the keeper detaches the containers' network, and roostd, like
// containerd, stays on the host network so registries on loopback work.
func Join(p Paths, childPID int, newKeeper bool) error {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("nsenter (util-linux) is needed to join the namespace: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	args := []string{nsenter, "-U", "--preserve-credentials", "-m", "-t", strconv.Itoa(childPID)}
	if wd != "" {
		args = append(args, "--wd="+wd)
	}
	args = append(args, "--", self)
	args = append(args, os.Args[1:]...)
	// Inside, this process's uid reads 0: a fallback runtime directory
	// must be named for it to resolve the same paths (see StartKeeper).
	joined := "1"
	if newKeeper {
		joined = joinedNew
	}
	env := append(os.Environ(), joinedEnv+"="+joined, "XDG_RUNTIME_DIR="+p.RuntimeDir)
	return syscall.Exec(nsenter, args, env)
}

// RunKeeper is the keeper role: the RootlessKit parent with slirp4netns and
// the builtin port driver (which keeps the client's source address).
func RunKeeper(p Paths) error {
	// In single-ID mode RootlessKit runs this binary as its getsubids.
	if answerGetsubids(os.Args[1:], os.Stdout) {
		return nil
	}
	if err := WritePID(p.PIDFile("keeper")); err != nil {
		return err
	}
	defer os.Remove(p.PIDFile("keeper"))
	logw := log.L.WithField("component", "rootlesskit").WriterLevel(log.DebugLevel)
	driver, outbound := keeperPortDriver(), keeperOutbound()
	if outbound == OutboundPasta && driver == PortDriverSlirp4netns {
		return errors.New("port-driver slirp4netns needs rootlesskit-net slirp4netns, not pasta")
	}
	netDriver, slirpAPI, err := parentNetDriver(logw, p, outbound, driver)
	if err != nil {
		return err
	}
	var portDriver port.ParentDriver
	switch driver {
	case PortDriverSlirp4netns:
		portDriver, err = portslirp.NewParentDriver(logw, slirpAPI)
	case PortDriverBuiltin:
		// Transparent mode: a server in a container sees the client's own
		// address rather than the namespace's.
		portDriver, err = builtin.NewParentDriver(logw, p.KeeperDir(), true, "auto")
	default:
		err = fmt.Errorf("unknown port driver %q", driver)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.PortDriverFile(), []byte(driver), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(p.OutboundFile(), []byte(outbound), 0o600); err != nil {
		return err
	}
	return parent.Parent(parent.Opt{
		PipeFDEnvKey:             pipeFDEnv,
		ChildUseActivationEnvKey: activationChildEnv,
		StateDir:                 p.KeeperDir(),
		StateDirEnvKey:           stateDirEnv,
		NetworkDriver:            netDriver,
		PortDriver:               portDriver,
		DetachNetNS:              true,
		Propagation:              "rslave",
		SubidSource:              parent.SubidSourceAuto,
	})
}

// RunChild is the RootlessKit child: it finishes the namespace (copy-up of
// /etc and /run, the detached network namespace), then runs nsinit (the
// supervisor of containerd) in this same process until it returns or the
// namespace is stopped.
//
// RootlessKit's child insists on running a command once the namespace is
// ready and returns only when that command exits. That command is a shell
// that reports its pid through a FIFO and becomes sleep(1): about 1 MiB,
// where nsinit as a process of its own cost as much as every other keeper
// process (8 MiB, mostly the pages of this binary). The report is also the
// sign that the namespace is ready for nsinit.
func RunChild(p Paths, nsinit func(context.Context) error) error {
	fifo := filepath.Join(p.KeeperDir(), "child-ready")
	_ = os.Remove(fifo)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("making the namespace's ready FIFO: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nsinitDone := make(chan error, 1)
	go func() {
		pid, err := readHolderPID(fifo)
		_ = os.Remove(fifo)
		if err != nil {
			nsinitDone <- err
			return
		}
		err = nsinit(ctx)
		if ctx.Err() == nil {
			// nsinit failed on its own: let RootlessKit's child return by
			// ending the command it waits for.
			_ = unix.Kill(pid, unix.SIGTERM)
		}
		nsinitDone <- err
	}()
	logw := log.L.WithField("component", "rootlesskit").WriterLevel(log.DebugLevel)
	childErr := child.Child(child.Opt{
		PipeFDEnvKey:              pipeFDEnv,
		RunActivationHelperEnvKey: activationHelperEnv,
		ChildUseActivationEnvKey:  activationChildEnv,
		StateDirEnvKey:            stateDirEnv,
		TargetCmd:                 []string{"/bin/sh", "-c", `echo $$ > "$0" && exec sleep 2147483647`, fifo},
		NetworkDriver:             childNetDriver(),
		CopyUpDriver:              tmpfssymlink.NewChildDriver(),
		CopyUpDirs:                []string{"/etc", "/run"},
		DetachNetNS:               true,
		PortDriver:                childPortDriver(logw),
		Propagation:               "rslave",
	})
	// The stop signals reach nsinit directly (RootlessKit passes them to
	// the holder too, which ends it); whatever else ended the holder stops
	// nsinit as well.
	cancel()
	// A reader still waiting for a holder that never ran gets EOF.
	if f, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
	err := <-nsinitDone
	if errors.Is(err, errNoHolder) && childErr != nil {
		return childErr
	}
	return err
}

// errNoHolder is readHolderPID's failure: the namespace never got ready.
var errNoHolder = errors.New("the namespace's holder command did not start")

// readHolderPID waits for the holder command to write its pid to fifo.
func readHolderPID(fifo string) (int, error) {
	b, err := os.ReadFile(fifo)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoHolder, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%w: it wrote %q", errNoHolder, b)
	}
	return pid, nil
}

// PortDriverSocket is RootlessKit's API socket, where ports are published.
func (p Paths) PortDriverSocket() string {
	return filepath.Join(p.KeeperDir(), parent.StateFileAPISock)
}

// parentNetDriver is the keeper's way out of the namespace: slirp4netns
// (with its API socket when its port driver is wanted) or pasta.
func parentNetDriver(logw io.Writer, p Paths, outbound, portDriver string) (network.ParentDriver, string, error) {
	if outbound == OutboundPasta {
		bin, err := exec.LookPath("pasta")
		if err != nil {
			return nil, "", fmt.Errorf("pasta is not installed (apt-get install passt): %w", err)
		}
		d, err := pasta.NewParentDriver(logw, bin, slirpMTU, nil, slirpInterface, "", true, false, false)
		return d, "", err
	}
	slirp, err := exec.LookPath("slirp4netns")
	if err != nil {
		return nil, "", fmt.Errorf("slirp4netns is not installed (apt-get install slirp4netns): %w", err)
	}
	features, err := slirp4netns.DetectFeatures(slirp)
	if err != nil {
		return nil, "", err
	}
	slirpAPI := ""
	if portDriver == PortDriverSlirp4netns {
		slirpAPI = filepath.Join(p.KeeperDir(), "slirp4netns.sock")
	}
	// The sandbox of slirp4netns does not work with a detached netns
	// (rootless-containers/slirp4netns#317).
	d, err := slirp4netns.NewParentDriver(logw, slirp, slirpMTU, nil, slirpInterface, true, slirpAPI,
		false, features.SupportsEnableSeccomp && features.KernelSupportsEnableSeccomp, false)
	return d, slirpAPI, err
}

// childNetDriver is the child half of the keeper's network driver.
func childNetDriver() network.ChildDriver {
	if keeperOutbound() == OutboundPasta {
		return pasta.NewChildDriver()
	}
	return slirp4netns.NewChildDriver()
}

// childPortDriver is the child half of the keeper's port driver.
func childPortDriver(logw io.Writer) port.ChildDriver {
	if keeperPortDriver() == PortDriverSlirp4netns {
		return portslirp.NewChildDriver()
	}
	return builtin.NewChildDriver(logw)
}

// NetNSPath is the detached network namespace containers are joined to.
func (p Paths) NetNSPath() string { return filepath.Join(p.KeeperDir(), parent.StateFileNetNs) }

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > keeperLogTailOnFailure {
		_, _ = f.Seek(-keeperLogTailOnFailure, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
