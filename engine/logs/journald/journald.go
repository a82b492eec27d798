// Package journald is the journald log driver: each line a container
// writes becomes a journal entry with the fields dockerd's driver sets
// (CONTAINER_ID, CONTAINER_NAME, CONTAINER_TAG, SYSLOG_IDENTIFIER, …),
// sent through go-systemd's journal package over journald's native socket.
package journald

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/roostd/roost/engine/logs"
)

// Options are the --log-opt keys the driver accepts, as dockerd's.
var Options = []string{"tag", "labels", "labels-regex", "env", "env-regex"}

// ErrNotEnabled is returned where no journald listens on
// /run/systemd/journal/socket; dockerd's wording.
var ErrNotEnabled = errors.New("journald is not enabled on this host")

// Enabled tells whether a journald listens on its native socket.
func Enabled() bool { return journal.Enabled() }

// Info is what the driver knows of the container when it starts.
type Info struct {
	ID        string // 64 hex digits
	Name      string // without the leading '/'
	ImageID   string // sha256:…
	ImageName string // as the user gave it
	Labels    map[string]string
	Env       []string
}

// Writer sends a container's log lines to the journal.
type Writer struct {
	fields map[string]string
	send   func(message string, priority journal.Priority, fields map[string]string) error
}

// New checks opts and returns a writer for the container; ErrNotEnabled
// where there is no journal.
func New(info Info, opts map[string]string) (*Writer, error) {
	fields, err := Fields(info, opts)
	if err != nil {
		return nil, err
	}
	if !Enabled() {
		return nil, ErrNotEnabled
	}
	return &Writer{fields: fields, send: journal.Send}, nil
}

// Fields are the fields every entry of the container carries: the
// container's, its tag (default: the short ID) as CONTAINER_TAG and
// SYSLOG_IDENTIFIER, and the labels and environment variables the options
// name, under journal-safe keys.
func Fields(info Info, opts map[string]string) (map[string]string, error) {
	tag, err := Tag(info, opts["tag"])
	if err != nil {
		return nil, err
	}
	f := map[string]string{
		"CONTAINER_ID":      shortID(info.ID),
		"CONTAINER_ID_FULL": info.ID,
		"CONTAINER_NAME":    info.Name,
		"CONTAINER_TAG":     tag,
		"IMAGE_NAME":        info.ImageName,
		"SYSLOG_IDENTIFIER": tag,
	}
	extra, err := extraAttributes(info, opts)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		if k = fieldName(k); k != "" {
			if _, ok := f[k]; !ok {
				f[k] = v
			}
		}
	}
	return f, nil
}

// Tag expands the tag option, a Go template over the container (dockerd's
// {{.ID}}, {{.FullID}}, {{.Name}}, {{.ImageID}}, {{.ImageFullID}},
// {{.ImageName}}, {{.DaemonName}}); "" is the short ID.
func Tag(info Info, tmpl string) (string, error) {
	if tmpl == "" {
		tmpl = "{{.ID}}"
	}
	t, err := template.New("tag").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("invalid value for tag: %w", err)
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct {
		ID, FullID, Name, ImageID, ImageFullID, ImageName, DaemonName string
	}{
		ID: shortID(info.ID), FullID: info.ID, Name: info.Name,
		ImageID: shortID(strings.TrimPrefix(info.ImageID, "sha256:")), ImageFullID: info.ImageID,
		ImageName: info.ImageName, DaemonName: "docker",
	})
	if err != nil {
		return "", fmt.Errorf("invalid value for tag: %w", err)
	}
	return b.String(), nil
}

// Write sends one line: stdout at priority info, stderr at err, as
// dockerd does. A line cut short (no newline) is marked partial.
func (w *Writer) Write(m *logs.Message) error {
	line := m.Line
	vars := w.fields
	if bytes.HasSuffix(line, []byte("\n")) {
		line = line[:len(line)-1]
	} else {
		vars = make(map[string]string, len(w.fields)+1)
		for k, v := range w.fields {
			vars[k] = v
		}
		vars["CONTAINER_PARTIAL_MESSAGE"] = "true"
	}
	pri := journal.PriInfo
	if m.Stream == "stderr" {
		pri = journal.PriErr
	}
	return w.send(string(line), pri, vars)
}

// Close does nothing: entries are sent as they come.
func (w *Writer) Close() error { return nil }

var _ logs.Writer = (*Writer)(nil)

// extraAttributes are the labels and environment variables named by the
// labels, labels-regex, env and env-regex options.
func extraAttributes(info Info, opts map[string]string) (map[string]string, error) {
	out := map[string]string{}
	env := map[string]string{}
	for _, kv := range info.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, src := range []struct {
		names, regex string
		values       map[string]string
	}{
		{opts["labels"], opts["labels-regex"], info.Labels},
		{opts["env"], opts["env-regex"], env},
	} {
		for _, k := range strings.Split(src.names, ",") {
			if v, ok := src.values[strings.TrimSpace(k)]; ok && k != "" {
				out[strings.TrimSpace(k)] = v
			}
		}
		if src.regex == "" {
			continue
		}
		re, err := regexp.Compile(src.regex)
		if err != nil {
			return nil, fmt.Errorf("invalid regex %q: %w", src.regex, err)
		}
		for k, v := range src.values {
			if re.MatchString(k) {
				out[k] = v
			}
		}
	}
	return out, nil
}

// fieldName makes a label or variable name a journal field name:
// upper case, [A-Z0-9_] only, not starting with '_' (journald reserves
// those for trusted fields).
func fieldName(k string) string {
	k = strings.ToUpper(k)
	k = strings.Map(func(r rune) rune {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' {
			return r
		}
		return '_'
	}, k)
	return strings.TrimLeft(k, "_")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
