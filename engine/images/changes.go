package images

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// changeCommands are the Dockerfile instructions dockerd accepts in the
// changes of import and commit.
var changeCommands = map[string]func(*changeState, string) error{
	"cmd":         (*changeState).cmd,
	"entrypoint":  (*changeState).entrypoint,
	"env":         (*changeState).env,
	"expose":      (*changeState).expose,
	"healthcheck": (*changeState).healthcheck,
	"label":       (*changeState).label,
	"onbuild":     (*changeState).onbuild,
	"stopsignal":  (*changeState).stopsignal,
	"user":        (*changeState).user,
	"volume":      (*changeState).volume,
	"workdir":     (*changeState).workdir,
}

type changeState struct {
	cfg    dockerspec.DockerOCIImageConfig
	cmdSet bool
}

// applyChanges applies Dockerfile instructions (`docker import --change`)
// to cfg. Errors are errdefs.ErrInvalidArgument with dockerd's wording.
func applyChanges(cfg dockerspec.DockerOCIImageConfig, changes []string) (dockerspec.DockerOCIImageConfig, error) {
	st := &changeState{cfg: cfg}
	for _, line := range logicalLines(strings.Join(changes, "\n")) {
		keyword, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			keyword, rest = line[:i], line[i+1:]
		}
		rest = strings.TrimSpace(rest)
		apply, ok := changeCommands[strings.ToLower(keyword)]
		if !ok {
			return cfg, errdefs.ErrInvalidArgument.WithMessage(strings.ToLower(keyword) + " is not a valid change command")
		}
		if err := apply(st, rest); err != nil {
			return cfg, errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
	}
	return st.cfg, nil
}

// logicalLines joins lines continued with a trailing backslash and drops
// blank lines and comments.
func logicalLines(s string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			cur.WriteString(strings.TrimSuffix(t, `\`))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(t)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// execOrShell parses the argument of CMD, ENTRYPOINT and RUN-like
// instructions: a JSON array of strings (exec form) or a command line run
// by the image's shell.
func (st *changeState) execOrShell(rest string) []string {
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			return args
		}
	}
	shell := st.cfg.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), rest)
}

func (st *changeState) cmd(rest string) error {
	if rest == "" {
		return fmt.Errorf("CMD requires at least one argument")
	}
	st.cfg.Cmd = st.execOrShell(rest)
	st.cmdSet = true
	return nil
}

func (st *changeState) entrypoint(rest string) error {
	if rest == "" {
		return fmt.Errorf("ENTRYPOINT requires at least one argument")
	}
	st.cfg.Entrypoint = st.execOrShell(rest)
	// As in a Dockerfile, a new ENTRYPOINT drops an inherited CMD.
	if !st.cmdSet {
		st.cfg.Cmd = nil
	}
	return nil
}

func (st *changeState) envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range st.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// nameValues parses the arguments of ENV and LABEL: key=value pairs, or
// the legacy "key value with spaces" form.
func (st *changeState) nameValues(instr, rest string) ([][2]string, error) {
	if rest == "" {
		return nil, fmt.Errorf("%s requires at least one argument", instr)
	}
	env := st.envMap()
	first := rest
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		first = rest[:i]
	}
	if !strings.Contains(first, "=") {
		key, value := first, strings.TrimSpace(strings.TrimPrefix(rest, first))
		if value == "" {
			return nil, fmt.Errorf("%s names can not be blank", instr)
		}
		v, err := expand(value, env, false)
		if err != nil {
			return nil, err
		}
		return [][2]string{{key, v[0]}}, nil
	}
	words, err := expand(rest, env, true)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func (st *changeState) env(rest string) error {
	pairs, err := st.nameValues("ENV", rest)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		kv := p[0] + "=" + p[1]
		replaced := false
		for i, e := range st.cfg.Env {
			if k, _, _ := strings.Cut(e, "="); k == p[0] {
				st.cfg.Env[i], replaced = kv, true
			}
		}
		if !replaced {
			st.cfg.Env = append(st.cfg.Env, kv)
		}
	}
	return nil
}

func (st *changeState) label(rest string) error {
	pairs, err := st.nameValues("LABEL", rest)
	if err != nil {
		return err
	}
	if st.cfg.Labels == nil {
		st.cfg.Labels = map[string]string{}
	}
	for _, p := range pairs {
		st.cfg.Labels[p[0]] = p[1]
	}
	return nil
}

func (st *changeState) expose(rest string) error {
	words, err := expand(rest, st.envMap(), true)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return fmt.Errorf("EXPOSE requires at least one argument")
	}
	for _, w := range words {
		ports, err := parsePortSpec(w)
		if err != nil {
			return err
		}
		if st.cfg.ExposedPorts == nil {
			st.cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			st.cfg.ExposedPorts[p] = struct{}{}
		}
	}
	return nil
}

// parsePortSpec reads "80", "80/udp" or "8000-8002/tcp" into "port/proto" keys.
func parsePortSpec(spec string) ([]string, error) {
	ports, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || start == 0 {
		return nil, fmt.Errorf("invalid containerPort: %s", ports)
	}
	end := start
	if isRange {
		end, err = strconv.ParseUint(hi, 10, 16)
		if err != nil || end < start {
			return nil, fmt.Errorf("invalid containerPort: %s", ports)
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}

func (st *changeState) oneWord(instr, rest string) (string, error) {
	words, err := expand(rest, st.envMap(), true)
	if err != nil {
		return "", err
	}
	if len(words) != 1 {
		return "", fmt.Errorf("%s requires exactly one argument", instr)
	}
	return words[0], nil
}

func (st *changeState) user(rest string) error {
	u, err := st.oneWord("USER", rest)
	st.cfg.User = u
	return err
}

func (st *changeState) stopsignal(rest string) error {
	sig, err := st.oneWord("STOPSIGNAL", rest)
	st.cfg.StopSignal = sig
	return err
}

func (st *changeState) workdir(rest string) error {
	if rest == "" {
		return fmt.Errorf("WORKDIR requires exactly one argument")
	}
	w, err := expand(rest, st.envMap(), false)
	if err != nil {
		return err
	}
	dir := w[0]
	if !path.IsAbs(dir) {
		base := st.cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		dir = path.Join(base, dir)
	}
	st.cfg.WorkingDir = path.Clean(dir)
	return nil
}

func (st *changeState) volume(rest string) error {
	var vols []string
	isJSON := strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &vols) == nil
	if !isJSON {
		words, err := expand(rest, st.envMap(), true)
		if err != nil {
			return err
		}
		vols = words
	}
	if len(vols) == 0 {
		return fmt.Errorf("VOLUME requires at least one argument")
	}
	if st.cfg.Volumes == nil {
		st.cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range vols {
		if v = strings.TrimSpace(v); v == "" {
			return fmt.Errorf("VOLUME specified can not be an empty string")
		}
		st.cfg.Volumes[v] = struct{}{}
	}
	return nil
}

func (st *changeState) onbuild(rest string) error {
	keyword, _, _ := strings.Cut(rest, " ")
	switch strings.ToUpper(keyword) {
	case "":
		return fmt.Errorf("ONBUILD requires at least one argument")
	case "ONBUILD":
		return fmt.Errorf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "FROM", "MAINTAINER":
		return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(keyword))
	}
	st.cfg.OnBuild = append(st.cfg.OnBuild, strings.ToUpper(keyword)+strings.TrimPrefix(rest, keyword))
	return nil
}

func (st *changeState) healthcheck(rest string) error {
	hc := &dockerspec.HealthcheckConfig{}
	for strings.HasPrefix(rest, "--") {
		flag, tail, _ := strings.Cut(rest, " ")
		rest = strings.TrimSpace(tail)
		name, value, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if !ok {
			return fmt.Errorf("flag '%s' requires a value", flag)
		}
		var d time.Duration
		var err error
		switch name {
		case "interval", "timeout", "start-period", "start-interval":
			d, err = time.ParseDuration(value)
			if err == nil && d != 0 && d < time.Millisecond {
				err = fmt.Errorf("Interval %q cannot be less than 1ms", name)
			}
		case "retries":
			hc.Retries, err = strconv.Atoi(value)
			if err == nil && hc.Retries < 0 {
				err = fmt.Errorf("--retries cannot be negative (%d)", hc.Retries)
			}
		default:
			return fmt.Errorf("Unknown flag: %s", name)
		}
		if err != nil {
			return err
		}
		switch name {
		case "interval":
			hc.Interval = d
		case "timeout":
			hc.Timeout = d
		case "start-period":
			hc.StartPeriod = d
		case "start-interval":
			hc.StartInterval = d
		}
	}
	typ, args, _ := strings.Cut(rest, " ")
	args = strings.TrimSpace(args)
	switch strings.ToUpper(typ) {
	case "NONE":
		if args != "" {
			return fmt.Errorf("HEALTHCHECK NONE takes no arguments")
		}
		st.cfg.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"NONE"}}
		return nil
	case "CMD":
		if args == "" {
			return fmt.Errorf("Missing command after HEALTHCHECK CMD")
		}
		var exec []string
		if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &exec) == nil {
			hc.Test = append([]string{"CMD"}, exec...)
		} else {
			hc.Test = []string{"CMD-SHELL", args}
		}
		st.cfg.Healthcheck = hc
		return nil
	case "":
		return fmt.Errorf("HEALTHCHECK requires at least one argument")
	}
	return fmt.Errorf("Unknown type %q in HEALTHCHECK (try CMD)", typ)
}
