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
		if p.RuntimeDirFallback {
			log.L.Warnf("XDG_RUNTIME_DIR is not set; using the private directory %s for the socket and state", p.RuntimeDir)
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
		childPID, err := rootless.StartKeeper(p, logLevel(cfg))
		if err != nil {
			return err
		}
		return rootless.Join(p, childPID)
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

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	systemd.Status("starting the engine")
	eng, err := buildEngine(ctx, cfg, p)
	if err != nil {
		return err
	}
	listeners, err := listen(cfg, p)
	if err != nil {
		eng.Close(context.Background())
		return err
	}
	srv := &http.Server{Handler: eng.Handler, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- srv.Serve(l) }()
	}
	systemd.Ready()
	systemd.Status("serving the Docker API")
	log.L.Infof("roostd %s serves the Docker API on %s", version, strings.Join(listenerAddrs(listeners), ", "))

	select {
	case <-ctx.Done():
	case err = <-errc:
		log.L.WithError(err).Error("API listener failed")
	}
	stop()
	systemd.Stopping()
	log.L.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	eng.Close(sctx)
	if !cfg.LiveRestore {
		if err := rootless.StopKeeper(p); err != nil {
			log.L.WithError(err).Warn("stopping the namespace")
		}
	}
	return nil
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
// directory, or 0660 for --group (system-wide mode).
func listen(cfg *config.Config, p rootless.Paths) ([]net.Listener, error) {
	hosts := cfg.Hosts
	if len(hosts) == 0 {
		hosts = []string{"unix://" + p.Socket}
	}
	mode := os.FileMode(0o600)
	if cfg.Group != "" {
		mode = 0o660
	}
	var ls []net.Listener
	for _, h := range hosts {
		path, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			return nil, fmt.Errorf("unsupported listener %q", h)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// A socket left by a killed roostd; the state lock tells it is stale.
		_ = os.Remove(path)
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, mode); err != nil {
			l.Close()
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
