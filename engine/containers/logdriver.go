package containers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/logs"
	"github.com/roostd/roost/engine/logs/journald"
	"github.com/roostd/roost/engine/store"
)

// Log drivers. "local" is stored in the json-file format (only roost
// reads it back) under dockerd's local defaults and path, which dockerd
// keeps out of inspect's LogPath.
const (
	logDriverJSONFile = "json-file"
	logDriverLocal    = "local"
	logDriverNone     = "none"
	logDriverJournald = "journald"
)

// dockerd's local driver defaults: 20 MB files, five of them.
const (
	localMaxSize  = 20 << 20
	localMaxFiles = 5
)

// logOptKeys are the options each driver accepts, as dockerd's
// validators. labels, env, tag and their regexps (json-file) only add
// attributes that `docker logs --details` shows; roost accepts and
// ignores them, as it does compress (rotated files stay uncompressed).
var logOptKeys = map[string]map[string]bool{
	logDriverJSONFile: {"max-file": true, "max-size": true, "compress": true, "labels": true, "labels-regex": true, "env": true, "env-regex": true, "tag": true},
	logDriverLocal:    {"max-file": true, "max-size": true, "compress": true},
	logDriverNone:     {},
	logDriverJournald: keySet(journald.Options),
}

func keySet(keys []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// validateLogConfig refuses, at create as dockerd does, a driver that
// does not exist and options that would only fail at start.
func validateLogConfig(lc container.LogConfig) error {
	t := lc.Type
	if t == "" {
		t = logDriverJSONFile
	}
	keys, ok := logOptKeys[t]
	if !ok {
		return fmt.Errorf("logger: no log driver named '%s' is registered", t)
	}
	for k := range lc.Config {
		if keys[k] {
			continue
		}
		switch t {
		case logDriverJSONFile:
			return fmt.Errorf("unknown log opt '%s' for json-file log driver", k)
		case logDriverNone:
			return errors.New("logging driver none does not take options")
		default:
			return fmt.Errorf("unknown log opt '%s' for log driver %s", k, t)
		}
	}
	if t == logDriverJournald {
		return checkJournald(lc)
	}
	_, err := logFileOptions(lc)
	return err
}

// checkJournald refuses the journald driver at create where no journal
// listens, rather than at every start as dockerd does: on a machine
// without systemd the container could never start.
func checkJournald(lc container.LogConfig) error {
	if _, err := journald.Fields(journald.Info{}, lc.Config); err != nil {
		return err
	}
	if !journald.Enabled() {
		return fmt.Errorf("logger: %w: nothing listens on /run/systemd/journal/socket; use --log-driver json-file or local", journald.ErrNotEnabled)
	}
	return nil
}

// logFileOptions reads max-size, max-file and compress over the
// driver's defaults.
func logFileOptions(lc container.LogConfig) (logs.JSONFileOptions, error) {
	opts := logs.JSONFileOptions{MaxFiles: 1}
	if lc.Type == logDriverLocal {
		opts = logs.JSONFileOptions{MaxSize: localMaxSize, MaxFiles: localMaxFiles}
	}
	cfg := lc.Config
	if v := cfg["max-size"]; v != "" {
		n, err := units.RAMInBytes(v)
		if err != nil {
			return opts, fmt.Errorf("invalid value for max-size: %w", err)
		}
		opts.MaxSize = n
	}
	if v := cfg["max-file"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return opts, fmt.Errorf("invalid value for max-file: %s", v)
		}
		opts.MaxFiles = n
	}
	if v := cfg["compress"]; v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return opts, fmt.Errorf("error reading compress log option: %w", err)
		}
	}
	return opts, nil
}

// logFile is where the container's log is written and read; "" for the
// none driver.
func (s *Service) logFile(id string, lc container.LogConfig) string {
	switch lc.Type {
	case logDriverJSONFile, "":
		return filepath.Join(s.logDir(id), id+"-json.log")
	case logDriverLocal:
		return filepath.Join(s.logDir(id), "local-logs", "container.log")
	}
	return ""
}

// openLog opens the log of a run (nil for --log-driver=none).
func (s *Service) openLog(id string, rec *store.Container) (logs.Writer, error) {
	lc := rec.HostConfig.LogConfig
	if lc.Type == logDriverJournald {
		info := journald.Info{ID: id, Name: rec.Name, ImageID: rec.ImageID, ImageName: rec.Image}
		if rec.Config != nil {
			info.Labels, info.Env = rec.Config.Labels, rec.Config.Env
		}
		w, err := journald.New(info, lc.Config)
		if err != nil {
			return nil, err
		}
		return w, nil
	}
	path := s.logFile(id, lc)
	if path == "" {
		return nil, nil
	}
	opts, err := logFileOptions(lc)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := logs.OpenJSONFile(path, opts)
	if err != nil {
		// Not a typed nil in the interface: callers test for nil.
		return nil, err
	}
	return f, nil
}

// CheckLogConfig checks daemon.json's log-driver and log-opts as a
// container's, before the engine starts.
func CheckLogConfig(lc container.LogConfig) error {
	if err := validateLogConfig(lc); err != nil {
		return fmt.Errorf("failed to set log opts: %w", err)
	}
	return nil
}

// mergeLogConfig gives a container that names no driver the daemon's, and
// the daemon's options for its driver where the container sets none, as
// dockerd's mergeAndVerifyLogConfig.
func (s *Service) mergeLogConfig(lc *container.LogConfig) {
	def := s.opts.LogConfig
	if def.Type == "" {
		def.Type = logDriverJSONFile
	}
	if lc.Type == "" {
		lc.Type = def.Type
	}
	if lc.Type != def.Type || len(def.Config) == 0 {
		return
	}
	if lc.Config == nil {
		lc.Config = map[string]string{}
	}
	for k, v := range def.Config {
		if _, ok := lc.Config[k]; !ok {
			lc.Config[k] = v
		}
	}
}
