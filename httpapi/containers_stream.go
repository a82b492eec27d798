package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/moby/moby/api/types"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/logs"
)

// postContainersWait checks the request with the engine first, so a missing
// container is an ordinary JSON error, then sends the 200 header at once
// (clients such as `docker run` start attaching only after it) and the
// WaitResponse when the condition is met.
func (s *server) postContainersWait(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	// Before API 1.30 there was no condition, and the header was only sent
	// with the result.
	legacy := !versionAtLeast(ctx, "1.30")
	condition := container.WaitConditionNotRunning
	if v := r.URL.Query().Get("condition"); v != "" && !legacy {
		switch c := container.WaitCondition(v); c {
		case container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
			condition = c
		default:
			return invalidParameter{fmt.Errorf("invalid condition: %q", v)}
		}
	}
	waitC, err := s.containers.Wait(ctx, containerRef(r), condition)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if !legacy {
		w.WriteHeader(http.StatusOK)
		if err := http.NewResponseController(w).Flush(); err != nil {
			return err
		}
	}
	select {
	case resp, ok := <-waitC:
		if !ok {
			return errors.New("wait ended without a result")
		}
		return json.NewEncoder(w).Encode(resp)
	case <-ctx.Done():
		return nil
	}
}

// logsOptions reads the query of GET /containers/{id}/logs.
func logsOptions(r *http.Request) (LogsOptions, bool, error) {
	q := r.URL.Query()
	opts := LogsOptions{Stdout: boolValue(q, "stdout"), Stderr: boolValue(q, "stderr"), Follow: boolValue(q, "follow"), Tail: -1}
	if !opts.Stdout && !opts.Stderr {
		// dockerd's wording since API 1.54 (it was "Bad parameters: you
		// must choose at least one stream" before).
		return opts, false, invalidParameter{errors.New("must specify at least one of 'stdout' or 'stderr'")}
	}
	// Like dockerd, a tail that is not a number means all lines.
	if n, err := strconv.Atoi(q.Get("tail")); err == nil && n >= 0 {
		opts.Tail = n
	}
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"since", &opts.Since}, {"until", &opts.Until}} {
		v := q.Get(p.key)
		if v == "" || v == "0" {
			continue
		}
		t, err := parseUnixTimestamp(v)
		if err != nil {
			return opts, false, invalidParameter{fmt.Errorf("invalid value for %q: %w", p.key, err)}
		}
		*p.t = t
	}
	return opts, boolValue(q, "timestamps"), nil
}

// getContainersLogs streams a container's log. Everything is checked before
// the header is sent; after that the log goes out as stdcopy frames (or raw
// for a TTY container) and errors can only end the stream.
func (s *server) getContainersLogs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	opts, timestamps, err := logsOptions(r)
	if err != nil {
		return err
	}
	lines, tty, err := s.containers.Logs(ctx, containerRef(r), opts)
	if err != nil {
		return err
	}
	contentType := types.MediaTypeRawStream
	if !tty && versionAtLeast(ctx, "1.42") {
		contentType = types.MediaTypeMultiplexedStream
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil
	}

	var stdout, stderr io.Writer = w, w
	if !tty {
		stdout, stderr = newMuxWriters(w)
	}
	for {
		var msg *logs.Message
		var ok bool
		select {
		case msg, ok = <-lines:
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return nil
		}
		out := stdout
		if msg.Stream == "stderr" {
			out = stderr
		}
		line := msg.Line
		if timestamps {
			line = append([]byte(msg.Time.UTC().Format(rfc3339NanoFixed)+" "), line...)
		}
		if _, err := out.Write(line); err != nil {
			return nil // the client went away
		}
		// Flush once the engine has nothing more queued: followers see
		// each line at once, a long history goes out in big writes.
		if len(lines) == 0 {
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}

// rfc3339NanoFixed is RFC 3339 with always nine fractional digits, the
// timestamp format of dockerd's `logs --timestamps`, so columns line up.
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"
