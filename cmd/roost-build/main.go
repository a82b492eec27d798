// Command roost-build serves roost's builds: roostd starts it on the first
// build request and passes it the build routes (POST /build, /build/prune,
// /build/cancel, the hijacked /grpc and /session, BuildKit's gRPC on the
// socket) through a private socket. It holds buildsvc, and so BuildKit's
// client, which roostd no longer links: an engine that never builds never
// has that code in memory. It starts buildkitd on the first build, as
// roostd did, and tags what it builds through roostd's internal API.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"

	"github.com/roostd/roost/buildproc"
	"github.com/roostd/roost/buildsvc"
	"github.com/roostd/roost/httpapi"
	"github.com/roostd/roost/internal/unixsock"
)

// version is set by the Makefile with -ldflags -X.
var version = "0.1.0-dev"

// shutdownTimeout bounds the wait for requests in flight at SIGTERM;
// buildkitd then gets its own stop timeout.
const shutdownTimeout = 5 * time.Second

// The two sides of the process boundary fit.
var (
	_ httpapi.BuildBackend = (*buildsvc.Service)(nil)
	_ buildsvc.Tagger      = (*buildproc.TagClient)(nil)
)

func main() {
	if err := run(); err != nil {
		log.L.WithError(err).Error("roost-build failed")
		os.Exit(1)
	}
}

func run() error {
	var (
		socket, roostdSocket string
		cfg                  buildsvc.Config
		singleID, debug      bool
	)
	flag.StringVar(&socket, "socket", "", "where to serve the build routes (a unix socket)")
	flag.StringVar(&roostdSocket, "roostd-socket", "", "roostd's internal API (a unix socket)")
	flag.StringVar(&cfg.Binary, "buildkitd", "buildkitd", "the buildkitd binary")
	flag.StringVar(&cfg.ContainerdAddress, "containerd", "", "the socket of roost's containerd")
	flag.StringVar(&cfg.Namespace, "namespace", "", "the containerd namespace of roost's images")
	flag.StringVar(&cfg.Snapshotter, "snapshotter", "", "the snapshotter roost's containerd unpacks images with")
	flag.StringVar(&cfg.StateDir, "state-dir", "", "roost's state directory (buildkitd's socket, pid file and log)")
	flag.StringVar(&cfg.DataDir, "data-dir", "", "roost's data directory (BuildKit's root, build contexts)")
	flag.StringVar(&cfg.RuntimeBinary, "runtime", "", "the OCI runtime of BuildKit's containers (empty: runc)")
	flag.Int64Var(&cfg.History, "history", 0, "finished builds kept for docker buildx history")
	flag.DurationVar(&cfg.HistoryMaxAge, "history-max-age", 0, "how long finished builds are kept")
	flag.BoolVar(&singleID, "single-id", false, "the engine's user namespace maps one ID")
	flag.BoolVar(&debug, "debug", false, "debug logging")
	flag.Parse()
	if socket == "" || roostdSocket == "" || cfg.StateDir == "" || cfg.DataDir == "" {
		return errors.New("--socket, --roostd-socket, --state-dir and --data-dir are required (roostd starts roost-build)")
	}
	if debug {
		_ = log.SetLevel("debug")
	}
	// Exit with roostd even if it is killed: a roost-build of a dead
	// engine would keep buildkitd and its socket.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0); err != nil {
		return err
	}
	if os.Getppid() == 1 {
		return errors.New("roostd has already exited")
	}

	daemon := buildsvc.NewDaemon(cfg)
	svc := buildsvc.New(buildsvc.Options{
		Daemon:   daemon,
		Images:   buildproc.NewTagClient(roostdSocket),
		TmpDir:   filepath.Join(cfg.DataDir, "tmp", "build"),
		SingleID: singleID,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })
	mux.HandleFunc("GET "+buildproc.CachePath, func(w http.ResponseWriter, r *http.Request) {
		records, err := svc.DiskUsage(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(records)
	})
	mux.Handle("/", httpapi.NewBuild(svc, version))

	l, err := unixsock.Listen(socket, 0o600)
	if err != nil {
		return err
	}
	// HTTP/2 without TLS beside HTTP/1, for BuildKit's gRPC on the socket.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serving %s: %w", socket, err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	svc.Close()
	daemon.Close(context.Background())
	_ = os.Remove(socket)
	return err
}
