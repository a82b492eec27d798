package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/cmd/containerd/server"
	srvconfig "github.com/containerd/containerd/v2/cmd/containerd/server/config"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/version"
	"github.com/containerd/log"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
	"google.golang.org/grpc/grpclog"
)

// flags are the command line nsinit passes: --config and --log-level,
// spelled as upstream's command spells them, and --version for people.
type flags struct {
	config, logLevel string
	version          bool
}

// parseFlags reads "--name value", "--name=value" and the short -c, -l and
// -v. Anything else is an error rather than ignored: a flag upstream has
// and this command lacks must not be silently dropped.
func parseFlags(args []string) (flags, error) {
	var f flags
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		var dst *string
		switch name {
		case "--config", "-c":
			dst = &f.config
		case "--log-level", "-l":
			dst = &f.logLevel
		case "--version", "-v":
			if hasValue {
				return f, fmt.Errorf("%s takes no value", name)
			}
			f.version = true
			continue
		default:
			return f, fmt.Errorf("unsupported argument %q (this containerd takes --config and --log-level)", args[i])
		}
		if !hasValue {
			if i+1 == len(args) {
				return f, fmt.Errorf("%s needs a value", name)
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	if f.config == "" && !f.version {
		return f, errors.New("--config is required")
	}
	return f, nil
}

// versionLine is what upstream's containerd --version prints.
func versionLine() string {
	return strings.TrimSpace(strings.Join([]string{"containerd", version.Package, version.Version, version.Revision}, " "))
}

// defaultConfig is the config the file is merged into: upstream's
// command-line defaults where roost relies on them (the gRPC message size
// limits, which the config file does not set). Stream processors and
// drop-in imports of /etc/containerd are left out: they are the system
// containerd's, never roost's.
func defaultConfig() *srvconfig.Config {
	return &srvconfig.Config{
		Version:         version.ConfigVersion,
		Root:            defaults.DefaultRootDir,
		State:           defaults.DefaultStateDir,
		DisabledPlugins: []string{},
		RequiredPlugins: []string{},
		Plugins: map[string]any{
			"io.containerd.server.v1.grpc": map[string]any{
				"address":               defaults.DefaultAddress,
				"max_recv_message_size": defaults.DefaultMaxRecvMsgSize,
				"max_send_message_size": defaults.DefaultMaxSendMsgSize,
			},
		},
	}
}

// loadConfig merges the file at path, migrated by every linked plugin
// when it is of an older version, into the defaults.
func loadConfig(ctx context.Context, path string) (*srvconfig.Config, error) {
	cfg := defaultConfig()
	regs := registry.Graph(func(*plugin.Registration) bool { return false })
	all := func() iter.Seq[plugin.Registration] { return slices.Values(regs) }
	if err := srvconfig.LoadConfigWithPlugins(ctx, path, all, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// serve runs the daemon until SIGTERM or SIGINT, then stops its plugins.
func serve(f flags) error {
	// gRPC's own logging would interleave with containerd's on stderr.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
	// SIGPIPE is ignored as upstream does: a client that hangs up must not
	// end the daemon.
	signal.Ignore(syscall.SIGPIPE)
	dumpStacksOnUSR1()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cfg, err := loadConfig(ctx, f.config)
	if err != nil {
		return err
	}
	level := f.logLevel
	if level == "" {
		level = cfg.Debug.Level
	}
	if level != "" {
		if err := log.SetLevel(level); err != nil {
			return err
		}
	}
	format := log.OutputFormat(cfg.Debug.Format)
	if format == "" {
		format = log.TextFormat
	}
	if err := log.SetFormat(format); err != nil {
		return err
	}
	if err := server.CreateTopLevelDirectories(cfg); err != nil {
		return err
	}
	// Mounts left in tmpmounts by a killed containerd go now, before the
	// snapshotters and the differ use the directory again.
	if err := mount.SetTempMountLocation(filepath.Join(cfg.Root, "tmpmounts")); err != nil {
		return fmt.Errorf("creating temp mount location: %w", err)
	}
	warnings, err := mount.CleanupTempMounts(0)
	if err != nil {
		log.G(ctx).WithError(err).Error("unmounting temp mounts")
	}
	for _, w := range warnings {
		log.G(ctx).WithError(w).Warn("cleanup temp mount")
	}

	// New runs apart so that a stop signal is not held up behind it
	// (opening the metadata database waits for its lock).
	type result struct {
		srv *server.Server
		err error
	}
	created := make(chan result, 1)
	go func() {
		srv, err := server.New(ctx, cfg)
		created <- result{srv, err}
	}()
	var srv *server.Server
	select {
	case r := <-created:
		if r.err != nil {
			return r.err
		}
		srv = r.srv
	case <-ctx.Done():
		return nil
	}
	defer srv.Stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	log.G(ctx).WithField("version", version.Version).Info("containerd started")
	<-ctx.Done()
	return nil
}

// dumpStacksOnUSR1 writes every goroutine's stack to stderr (the keeper's
// log) on SIGUSR1, as upstream's daemon does; without a handler the signal
// would end the process. Straight to stderr: nsinit runs containerd at
// log level warn.
func dumpStacksOnUSR1() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		for range c {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "=== BEGIN goroutine stack dump ===\n%s\n=== END goroutine stack dump ===\n", buf)
		}
	}()
}
