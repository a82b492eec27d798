package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/internal/unixsock"
	"github.com/roostd/roost/rootless"
	"github.com/roostd/roost/systemd"
)

const shutdownTimeout = 30 * time.Second

// runAPI is what the user starts. Outside the namespace it makes sure a
// keeper runs and joins it (the process keeps its pid); inside it serves
// the API until SIGTERM or SIGINT.
func runAPI(cfg *config.Config, flags map[string]bool, p rootless.Paths) error {
	if !rootless.Joined() {
		if os.Geteuid() == 0 {
			return errors.New("roostd runs as an unprivileged user; as root, `make run` starts it as the service account roost")
		}
		for _, h := range cfg.Hosts {
			if strings.HasPrefix(h, "fd://") && !systemd.Activated() {
				return fmt.Errorf("-H %s: no sockets were passed by socket activation (LISTEN_FDS is unset or LISTEN_PID is not this process); start roostd through roost.socket", h)
			}
		}
		if p.RuntimeDirFallback {
			log.L.Warnf("XDG_RUNTIME_DIR is not set; using the private directory %s for the socket and state", p.RuntimeDir)
		}
		if p.DataDirMoved != "" {
			log.L.Warnf("your data directory is on %s, where overlayfs and a user namespace's IDs do not work: images and containers go to %s on this node's own disk instead (set --data-root or data-root in daemon.json to choose another local directory)", p.DataDirMoved, p.DataDir)
		}
		if err := p.Create(); err != nil {
			return err
		}
		if pid := rootless.ReadPID(p.PIDFile("roostd")); pid != 0 && pid != os.Getpid() {
			return fmt.Errorf("another roostd (pid %d) already serves %s", pid, p.Socket)
		}
		if err := rootless.PassStorageDriver(cfg.StorageDriver, p); err != nil {
			return err
		}
		// Activated sockets pass through the exec of nsenter, but not into
		// the keeper: it would hold the API socket open for as long as it
		// lives.
		fds := systemd.ListenFDs()
		if err := systemd.SetCloseOnExec(fds, true); err != nil {
			return err
		}
		portDriver := cfg.PortDriver
		if portDriver == "" {
			portDriver = rootless.PortDriverBuiltin
		}
		outbound := cfg.RootlesskitNet
		if outbound == "" {
			outbound = rootless.OutboundSlirp4netns
		}
		if rootless.SingleID() {
			log.L.Warnf("no range for %s in /etc/subuid or /etc/subgid: single-ID mode, only your own ID is mapped (root in containers, no other user); files owned by other IDs in images are squashed to root when unpacked (docs/hpc.md)", os.Getenv("USER"))
		}
		systemd.Status("starting the user namespace and containerd")
		childPID, started, err := rootless.StartKeeper(p, logLevel(cfg), portDriver, outbound)
		if err != nil {
			return err
		}
		if err := systemd.SetCloseOnExec(fds, false); err != nil {
			return err
		}
		return rootless.Join(p, childPID, started)
	}

	lock, err := lockStateDir(p)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := rootless.WritePID(p.PIDFile("roostd")); err != nil {
		return err
	}
	defer os.Remove(p.PIDFile("roostd"))
	if pprofAddr != "" {
		if err := servePprof(pprofAddr); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP must not kill roostd (its default action) while it starts:
	// take it now, act on it once the engine runs.
	reload := &reloader{cfg: *cfg, read: func() (*config.Config, error) {
		c, _, _, err := readConfig(os.Args[1:])
		return c, err
	}}
	reload.watch(ctx)
	systemd.Status("connecting to containerd")
	eng, err := buildEngine(ctx, cfg, p)
	if err != nil {
		return stopNewKeeper(p, err)
	}
	listeners, err := listen(cfg, p)
	if err != nil {
		eng.Close(context.Background())
		return stopNewKeeper(p, err)
	}
	idle := reload.newIdle(eng.Busy)
	srv := &http.Server{Handler: idle.Handler(eng.Handler), ReadHeaderTimeout: 30 * time.Second}
	// HTTP/2 without TLS beside HTTP/1: BuildKit's gRPC API on the socket
	// itself, which buildx uses from API 1.53 on. Each gRPC call is a
	// request to the idle tracker, in flight while it streams.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- srv.Serve(l) }()
	}
	systemd.Ready()
	systemd.Status("serving the Docker API")
	log.L.Infof("roostd %s serves the Docker API on %s", version, strings.Join(listenerAddrs(listeners), ", "))
	go systemd.Watchdog(ctx, func(ctx context.Context) bool { return ping(ctx, eng.Handler) })
	idled := make(chan struct{})
	go func() {
		if idle.Wait(ctx) == nil {
			close(idled)
		}
	}()

	exitIdle := false
	select {
	case <-ctx.Done():
	case <-idled:
		exitIdle = true
		log.L.Infof("idle for %s (no running container, no API client): exiting", idle.Timeout())
	case err = <-errc:
		log.L.WithError(err).Error("API listener failed")
	}
	stop()
	systemd.Stopping()
	if exitIdle {
		systemd.Status("idle: exiting; the next docker call through the socket unit starts roostd again")
	}
	log.L.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	eng.Close(sctx)
	// An idle roostd has no container to keep, so the namespace and
	// containerd go too, live-restore or not: nothing of the engine stays
	// in memory until the next call.
	if !cfg.LiveRestore || exitIdle {
		if err := rootless.StopKeeper(p); err != nil {
			log.L.WithError(err).Warn("stopping the namespace")
		}
	}
	return nil
}

// stopNewKeeper stops the keeper (and containerd) after a failed start
// when this roostd started it, so that nothing of a start that never
// served stays behind; a keeper found running may hold containers and is
// left alone. It returns err.
func stopNewKeeper(p rootless.Paths, err error) error {
	if rootless.JoinedNewKeeper() {
		if serr := rootless.StopKeeper(p); serr != nil {
			log.L.WithError(serr).Warn("stopping the namespace after the failed start")
		}
	}
	return err
}

// lockStateDir makes sure one API process serves a state directory. The lock
// dies with the process, so a killed roostd never blocks the next one.
func lockStateDir(p rootless.Paths) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(p.StateDir, "roostd.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another roostd already serves %s (lock %s held)", p.Socket, f.Name())
	}
	return f, nil
}

// listen opens the API sockets: 0600 in the user's private runtime
// directory, or 0660 for --group (system-wide mode). fd:// takes the
// sockets of systemd's socket activation, as does no -H at all when
// systemd passed some.
func listen(cfg *config.Config, p rootless.Paths) ([]net.Listener, error) {
	hosts := cfg.Hosts
	if len(hosts) == 0 {
		hosts = []string{"unix://" + p.Socket}
		if systemd.Activated() {
			hosts = []string{"fd://"}
		}
	}
	mode := os.FileMode(0o600)
	if cfg.Group != "" {
		mode = 0o660
	}
	var ls []net.Listener
	for _, h := range hosts {
		if strings.HasPrefix(h, "fd://") {
			l, err := systemd.Listeners(h)
			if err != nil {
				return nil, err
			}
			ls = append(ls, l...)
			continue
		}
		path, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			return nil, fmt.Errorf("unsupported listener %q", h)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// A socket there is one a killed roostd left; the state lock
		// tells it is stale.
		l, err := unixsock.Listen(path, mode)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func listenerAddrs(ls []net.Listener) []string {
	var s []string
	for _, l := range ls {
		s = append(s, "unix://"+l.Addr().String())
	}
	return s
}
