// Command roostd is roost's daemon: a per-user container engine that serves
// the Docker Engine API from inside a RootlessKit user namespace.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/rootless"
)

// version and gitCommit are set by the Makefile with -ldflags -X.
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

func main() {
	if len(os.Args) > 1 {
		if run, ok := subcommands[os.Args[1]]; ok {
			os.Exit(run(os.Args[2:]))
		}
	}
	cfg, flags, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "roostd:", err)
		os.Exit(2)
	}
	setupLogging(cfg)
	paths, err := rootless.ResolvePaths(cfg.DataRoot)
	if err == nil {
		err = runAPI(cfg, flags, paths)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	log.L.WithError(err).Error("roostd failed")
	os.Exit(1)
}

// loadConfig parses the flags and merges daemon.json.
func loadConfig() (*config.Config, map[string]bool, error) {
	cfg, set, showVersion, err := readConfig(os.Args[1:])
	if showVersion {
		fmt.Printf("roostd version %s %s\n", version, gitCommit)
		os.Exit(0)
	}
	return cfg, set, err
}

// readConfig is the configuration the command line args and the
// daemon.json they name give: read at start-up, and again on SIGHUP.
func readConfig(args []string) (_ *config.Config, _ map[string]bool, showVersion bool, _ error) {
	cfg := config.New()
	fs := flag.NewFlagSet("roostd", flag.ContinueOnError)
	configFile := fs.String("config-file", "", "daemon.json to read (default $XDG_CONFIG_HOME/roost/daemon.json)")
	fs.StringVar(&cfg.DataRoot, "data-root", "", "directory for images, containers and state (default $XDG_DATA_HOME/roost)")
	var hosts stringList
	fs.Var(&hosts, "H", "listener to serve the API on, unix:///path (repeatable; default $XDG_RUNTIME_DIR/docker.sock)")
	fs.Var(&hosts, "host", "same as -H")
	fs.StringVar(&cfg.Group, "group", "", "group allowed to use the unix socket (mode 0660); must be roostd's own primary group")
	fs.BoolVar(&cfg.Debug, "D", false, "debug logging")
	fs.BoolVar(&cfg.Debug, "debug", false, "debug logging")
	fs.StringVar(&cfg.LogLevel, "log-level", config.DefaultLogLevel, "debug, info, warn, error or fatal")
	fs.BoolVar(&cfg.LiveRestore, "live-restore", false, "keep containers running when roostd stops")
	fs.StringVar(&cfg.RootlesskitNet, "rootlesskit-net", "", "the containers' way out of the namespace: slirp4netns (default) or pasta; applies when the namespace starts")
	fs.StringVar(&cfg.PortDriver, "port-driver", "", "how ports are published: builtin (default; keeps the client's address) or slirp4netns; applies when the namespace starts")
	fs.StringVar(&cfg.StorageDriver, "storage-driver", "", "snapshotter: overlayfs, fuse-overlayfs or native (default: overlayfs where the kernel allows it, else fuse-overlayfs, else native)")
	fs.StringVar(&pprofAddr, "pprof-addr", "", "serve Go's profiler (net/http/pprof) on this loopback host:port, for debugging roostd (default: off)")
	fs.StringVar(&cfg.IdleTimeout, "idle-timeout", "", "exit after this long (10m, 1h) with no running container and no API client; 0 never")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, nil, false, err
	}
	if showVersion {
		return nil, nil, true, nil
	}
	if fs.NArg() > 0 {
		return nil, nil, false, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg.Hosts = hosts
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		names := map[string]string{"H": "hosts", "host": "hosts", "D": "debug"}
		if n, ok := names[f.Name]; ok {
			set[n] = true
		} else {
			set[f.Name] = true
		}
	})
	path := *configFile
	if path == "" {
		home, _ := os.UserHomeDir()
		dir := os.Getenv("XDG_CONFIG_HOME")
		if dir == "" {
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "roost", "daemon.json")
	}
	if err := cfg.LoadFile(path, set); err != nil {
		return nil, nil, false, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, false, err
	}
	if err := containers.CheckLogConfig(container.LogConfig{Type: cfg.LogDriver, Config: cfg.LogOpts}); err != nil {
		return nil, nil, false, err
	}
	return cfg, set, false, nil
}

func setupLogging(cfg *config.Config) {
	_ = log.SetLevel(logLevel(cfg))
}

func logLevel(cfg *config.Config) string {
	if cfg.Debug {
		return "debug"
	}
	return cfg.LogLevel
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
