package containers

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/sys/signal"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// defaultPathEnv is dockerd's PATH for Linux containers whose image sets none.
const defaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// validateConfig is dockerd's validateContainerConfig: it cleans
// WorkingDir and checks StopSignal and Env. Errors are bad parameters.
func validateConfig(cfg *container.Config) error {
	if cfg.WorkingDir != "" {
		if !path.IsAbs(cfg.WorkingDir) {
			return fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", cfg.WorkingDir)
		}
		cfg.WorkingDir = path.Clean(cfg.WorkingDir)
	}
	if cfg.StopSignal != "" {
		if _, err := signal.ParseSignal(cfg.StopSignal); err != nil {
			return err
		}
	}
	for _, e := range cfg.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return fmt.Errorf("invalid environment variable: %s", e)
		}
	}
	if err := checkExecSize(cfg); err != nil {
		return err
	}
	return validateHealthcheck(cfg.Healthcheck)
}

// The kernel's limits on what one execve may carry (with the default 8 MiB
// stack): past them the container's first exec fails with E2BIG, which
// only shows as exit status 255 after a start that looked fine.
const (
	execArgMax    = 2 << 20   // arguments and environment together
	execStringMax = 128 << 10 // one argument or variable (MAX_ARG_STRLEN)
)

// checkExecSize refuses, at create, an environment and command the kernel
// would refuse to exec.
func checkExecSize(cfg *container.Config) error {
	total := 0
	for _, list := range [][]string{cfg.Env, cfg.Entrypoint, cfg.Cmd} {
		for _, s := range list {
			if len(s) >= execStringMax {
				return fmt.Errorf("argument list too long: one argument or environment variable is %d bytes, the kernel's limit is %d", len(s), execStringMax)
			}
			total += len(s) + 1 + 8 // the string, its NUL and its pointer
		}
	}
	if total > execArgMax {
		return fmt.Errorf("argument list too long: the environment and command take %d bytes, more than the %d the kernel lets one exec carry", total, execArgMax)
	}
	return nil
}

// validateHostConfig is the part of dockerd's validateHostConfig that
// applies here.
func validateHostConfig(hc *container.HostConfig) error {
	if hc.AutoRemove && !hc.RestartPolicy.IsNone() {
		return errors.New("can't create 'AutoRemove' container with restart policy")
	}
	if err := container.ValidateRestartPolicy(hc.RestartPolicy); err != nil {
		return err
	}
	for k := range hc.Annotations {
		if k == "" {
			return errors.New("invalid Annotations: the empty string is not permitted as an annotation key")
		}
	}
	return validateLogConfig(hc.LogConfig)
}

// mergeImageConfig fills what the user left out of cfg from the image, as
// dockerd's merge does: user, env (the user's variables win), labels,
// exposed ports, volumes, working dir, stop signal, and the command: the
// image's Cmd only when the user gave neither Entrypoint nor Cmd, its
// Entrypoint only when the user gave none (an explicit empty Entrypoint
// resets it).
func mergeImageConfig(cfg *container.Config, img ocispec.ImageConfig, health *container.HealthConfig) error {
	if cfg.User == "" {
		cfg.User = img.User
	}
	for p := range img.ExposedPorts {
		port, err := network.ParsePort(p)
		if err != nil {
			continue // an image with a bad port is not the user's fault
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
		}
		cfg.ExposedPorts[port] = struct{}{}
	}
	cfg.Env = mergeEnv(img.Env, cfg.Env)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range img.Labels {
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = img.Cmd
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = img.Entrypoint
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = img.WorkingDir
	}
	if len(img.Volumes) > 0 && cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for v := range img.Volumes {
		cfg.Volumes[v] = struct{}{}
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = img.StopSignal
	}
	mergeHealthcheck(cfg, health)
	// An Entrypoint of [""] means "no entrypoint".
	if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
		cfg.Entrypoint = nil
	}
	if len(cfg.Entrypoint) == 0 && len(cfg.Cmd) == 0 {
		return errors.New("no command specified")
	}
	return nil
}

// mergeHealthcheck fills the user's healthcheck from the image's, field
// by field, as dockerd's merge.
func mergeHealthcheck(cfg *container.Config, img *container.HealthConfig) {
	if img == nil {
		return
	}
	if cfg.Healthcheck == nil {
		h := *img
		cfg.Healthcheck = &h
		return
	}
	h := cfg.Healthcheck
	if len(h.Test) == 0 {
		h.Test = img.Test
	}
	if h.Interval == 0 {
		h.Interval = img.Interval
	}
	if h.Timeout == 0 {
		h.Timeout = img.Timeout
	}
	if h.StartPeriod == 0 {
		h.StartPeriod = img.StartPeriod
	}
	if h.StartInterval == 0 {
		h.StartInterval = img.StartInterval
	}
	if h.Retries == 0 {
		h.Retries = img.Retries
	}
}

// mergeEnv returns the user's variables followed by the image's ones the
// user did not set.
func mergeEnv(image, user []string) []string {
	if len(user) == 0 {
		return append([]string(nil), image...)
	}
	out := append([]string(nil), user...)
	seen := map[string]bool{}
	for _, e := range user {
		k, _, _ := strings.Cut(e, "=")
		seen[k] = true
	}
	for _, e := range image {
		if k, _, _ := strings.Cut(e, "="); !seen[k] {
			out = append(out, e)
		}
	}
	return out
}

// entrypointAndArgs splits the command into Path and Args as dockerd does.
func entrypointAndArgs(entrypoint, cmd []string) (string, []string) {
	if len(entrypoint) == 0 {
		return cmd[0], append([]string{}, cmd[1:]...)
	}
	return entrypoint[0], append(append([]string{}, entrypoint[1:]...), cmd...)
}

// processEnv is the environment the process gets: dockerd's
// CreateDaemonEnvironment, PATH and HOSTNAME (and TERM with a TTY) that the
// container's own variables override.
func processEnv(cfg *container.Config) []string {
	env := []string{"PATH=" + defaultPathEnv, "HOSTNAME=" + cfg.Hostname}
	if cfg.Tty {
		env = append(env, "TERM=xterm")
	}
	return replaceOrAppendEnv(env, cfg.Env)
}

// replaceOrAppendEnv overrides defaults with overrides by key; a bare key
// in overrides (no '=') removes the variable.
func replaceOrAppendEnv(defaults, overrides []string) []string {
	idx := map[string]int{}
	for i, e := range defaults {
		k, _, _ := strings.Cut(e, "=")
		idx[k] = i
	}
	for _, e := range overrides {
		k, _, hasValue := strings.Cut(e, "=")
		if i, ok := idx[k]; ok {
			if hasValue {
				defaults[i] = e
			} else {
				defaults[i] = ""
			}
			continue
		}
		if hasValue {
			idx[k] = len(defaults)
			defaults = append(defaults, e)
		}
	}
	out := defaults[:0]
	for _, e := range defaults {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}
