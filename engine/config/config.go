// Package config is roostd's daemon.json: the json keys are dockerd's.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// Defaults.
const (
	DefaultLogLevel = "info"
)

// Config is the daemon configuration. Flags and daemon.json fill the same
// struct; a key given both ways is an error, as in dockerd.
type Config struct {
	DataRoot    string   `json:"data-root,omitempty"`
	Hosts       []string `json:"hosts,omitempty"`
	Group       string   `json:"group,omitempty"`
	Debug       bool     `json:"debug,omitempty"`
	LogLevel    string   `json:"log-level,omitempty"`
	LiveRestore bool     `json:"live-restore,omitempty"`
	// StorageDriver names the containerd snapshotter: "" picks one (see
	// StorageDrivers).
	StorageDriver string `json:"storage-driver,omitempty"`
	// Bypass4netns gives every container on a bridge network bypass4netns
	// unless its label io.roost.net.bypass4netns=false refuses it.
	Bypass4netns bool `json:"bypass4netns,omitempty"`
	// PortDriver publishes ports: "builtin" (RootlessKit's, the default,
	// which keeps the client's address) or "slirp4netns". It takes effect
	// when the namespace starts.
	PortDriver string `json:"port-driver,omitempty"`
	// RootlesskitNet is the containers' way out of the namespace:
	// "slirp4netns" (the default) or "pasta" (Debian's passt). It takes
	// effect when the namespace starts.
	RootlesskitNet string `json:"rootlesskit-net,omitempty"`
	// Registry holds the registry keys (registry-mirrors,
	// insecure-registries, max-concurrent-downloads and -uploads).
	Registry
	// Init runs an init (tini) as PID 1 of every container whose
	// HostConfig.Init is unset, as dockerd's "init" key.
	Init bool `json:"init,omitempty"`
	// InitPath is the static init binary bound at /sbin/docker-init; ""
	// looks for docker-init, then Debian's tini-static, in PATH and /usr/bin.
	InitPath string `json:"init-path,omitempty"`
	// SeccompProfile is the path of the seccomp profile of containers that
	// ask for none: "" or "builtin" is dockerd's default profile,
	// "unconfined" none.
	SeccompProfile string `json:"seccomp-profile,omitempty"`
	// NoNewPrivileges sets no_new_privs in every container by default.
	NoNewPrivileges bool `json:"no-new-privileges,omitempty"`
	// LogDriver and LogOpts are the log driver of containers that name
	// none, and its options ("" is json-file). The engine checks them.
	LogDriver string            `json:"log-driver,omitempty"`
	LogOpts   map[string]string `json:"log-opts,omitempty"`
	// DefaultShmSize is the /dev/shm size of containers that give none,
	// in docker's units ("64M"); DefaultIpcMode their IPC mode, private
	// or shareable.
	DefaultShmSize string `json:"default-shm-size,omitempty"`
	DefaultIpcMode string `json:"default-ipc-mode,omitempty"`
	// IdleTimeout, a Go duration ("10m"), makes roostd exit after that
	// long with no running container and no API traffic; "" or "0" never.
	// It is roost's own key: dockerd has no idle exit.
	IdleTimeout string `json:"idle-timeout,omitempty"`
	// Builder is dockerd's builder section; roost reads its history
	// settings.
	Builder *Builder `json:"builder,omitempty"`
}

// Builder is daemon.json's builder section.
type Builder struct {
	// History is how much of the finished builds BuildKit keeps for
	// `docker buildx history`. roost keeps none unless it is set (keeping
	// them is a third of a fully cached rebuild); dockerd keeps BuildKit's
	// defaults.
	History *BuilderHistory `json:"history,omitempty"`
}

// BuilderHistory are BuildKit's history limits, as dockerd takes them.
type BuilderHistory struct {
	MaxAge     string `json:"maxAge,omitempty"` // a Go duration: "48h"
	MaxEntries int64  `json:"maxEntries,omitempty"`
}

// BuildHistory is the builder's history section, nil when unset.
func (c *Config) BuildHistory() *BuilderHistory {
	if c.Builder == nil {
		return nil
	}
	return c.Builder.History
}

// StorageDrivers are the values storage-driver accepts besides "" (pick
// overlayfs where the kernel allows it in a user namespace, else
// fuse-overlayfs, else native). They are containerd's snapshotter names,
// which docker info shows as the Storage Driver.
var StorageDrivers = []string{"overlayfs", "fuse-overlayfs", "native"}

// RootlesskitNets are the values rootlesskit-net accepts ("" is slirp4netns).
var RootlesskitNets = []string{"slirp4netns", "pasta"}

// PortDrivers are the values port-driver accepts ("" is builtin).
var PortDrivers = []string{"builtin", "slirp4netns"}

// New returns the defaults.
func New() *Config { return &Config{LogLevel: DefaultLogLevel} }

// Validate checks values that no type can.
func (c *Config) Validate() error {
	if h := c.BuildHistory(); h != nil {
		if h.MaxEntries < 0 {
			return fmt.Errorf("invalid builder.history.maxEntries %d: use a count, 0 for none", h.MaxEntries)
		}
		if d, err := time.ParseDuration(h.MaxAge); h.MaxAge != "" && (err != nil || d < 0) {
			return fmt.Errorf("invalid builder.history.maxAge %q: use a duration such as 48h", h.MaxAge)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "fatal":
	default:
		return fmt.Errorf("invalid log-level %q: use debug, info, warn, error or fatal", c.LogLevel)
	}
	if c.RootlesskitNet != "" && !slices.Contains(RootlesskitNets, c.RootlesskitNet) {
		return fmt.Errorf("invalid rootlesskit-net %q: use %s", c.RootlesskitNet, strings.Join(RootlesskitNets, " or "))
	}
	if c.RootlesskitNet == "pasta" && c.PortDriver == "slirp4netns" {
		return errors.New("port-driver slirp4netns needs rootlesskit-net slirp4netns, not pasta")
	}
	if c.PortDriver != "" && !slices.Contains(PortDrivers, c.PortDriver) {
		return fmt.Errorf("invalid port-driver %q: use %s", c.PortDriver, strings.Join(PortDrivers, " or "))
	}
	if c.StorageDriver != "" && !slices.Contains(StorageDrivers, c.StorageDriver) {
		return fmt.Errorf("invalid storage-driver %q: use %s, or leave it unset to pick one", c.StorageDriver, strings.Join(StorageDrivers, ", "))
	}
	if err := c.Registry.validate(); err != nil {
		return err
	}
	for _, h := range c.Hosts {
		if !strings.HasPrefix(h, "unix://") && !strings.HasPrefix(h, "fd://") {
			return fmt.Errorf("invalid host %q: only unix:// (and fd:// under systemd) listeners are supported; tcp:// needs TLS, which is not implemented yet", h)
		}
	}
	switch c.SeccompProfile {
	case "", "builtin", "unconfined":
	default:
		// Read here, before anything starts, so that a typo fails at once.
		b, err := os.ReadFile(c.SeccompProfile)
		if err != nil {
			return fmt.Errorf("opening seccomp profile (%s) failed: %w", c.SeccompProfile, err)
		}
		if !json.Valid(b) {
			return fmt.Errorf("seccomp profile (%s) is not valid JSON", c.SeccompProfile)
		}
	}
	switch c.DefaultIpcMode {
	case "", "private", "shareable":
	default:
		return fmt.Errorf("invalid default-ipc-mode %q: use private or shareable", c.DefaultIpcMode)
	}
	if c.DefaultShmSize != "" {
		if n, err := units.RAMInBytes(c.DefaultShmSize); err != nil || n <= 0 {
			return fmt.Errorf("invalid default-shm-size %q: use a size such as 64M", c.DefaultShmSize)
		}
	}
	if _, err := c.IdleDuration(); err != nil {
		return err
	}
	if c.InitPath != "" && !filepath.IsAbs(c.InitPath) {
		return fmt.Errorf("invalid init-path %q: it must be an absolute path", c.InitPath)
	}
	return nil
}

// IdleDuration is IdleTimeout parsed; 0 means roostd never exits idle.
func (c *Config) IdleDuration() (time.Duration, error) {
	if c.IdleTimeout == "" || c.IdleTimeout == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.IdleTimeout)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid idle-timeout %q: use a duration such as 10m or 90s, or 0 to never exit", c.IdleTimeout)
	}
	return d, nil
}

// LoadFile merges the daemon.json at path into c. A missing file is fine.
// flagsSet names the keys already given as flags: giving one in both places
// is an error. Unknown keys are errors, so a typo is not silently ignored.
func (c *Config) LoadFile(path string, flagsSet map[string]bool) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	known := knownKeys()
	var unknown, conflicts []string
	for k := range keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
		if flagsSet[k] {
			conflicts = append(conflicts, k)
		}
	}
	sort.Strings(unknown)
	sort.Strings(conflicts)
	if len(unknown) > 0 {
		return fmt.Errorf("%s: the following directives don't match any configuration option: %s", path, strings.Join(unknown, ", "))
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("%s: the following directives are specified both as a flag and in the configuration file: %s", path, strings.Join(conflicts, ", "))
	}
	saved := *c
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(c); err != nil {
		*c = saved
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// knownKeys are the json keys of Config's fields, those of embedded
// structs included.
func knownKeys() map[string]bool {
	keys := map[string]bool{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				add(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys[name] = true
			}
		}
	}
	add(reflect.TypeFor[Config]())
	return keys
}
