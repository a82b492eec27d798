package images

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// listFilters are the decoded filters of GET /images/json.
type listFilters struct {
	dangling      *bool
	labels        []labelCheck
	references    []string // glob patterns
	before, since []string // image references
	until         *time.Time
}

type labelCheck struct {
	key, value string
	hasValue   bool
	negate     bool
}

// acceptedFilters are the keys dockerd accepts for images.
var acceptedFilters = map[string]bool{
	"dangling": true, "label": true, "label!": true, "before": true,
	"since": true, "reference": true, "until": true,
}

func invalidFilter(key string, values []string) error {
	msg := "invalid filter '" + key
	if values != nil {
		msg = fmt.Sprintf("%s=%s", msg, values)
	}
	return errdefs.ErrInvalidArgument.WithMessage(msg + "'")
}

// parseFilters checks and decodes filters; now anchors relative "until"
// durations.
func parseFilters(f map[string][]string, now time.Time) (*listFilters, error) {
	lf := &listFilters{}
	for key, values := range f {
		if !acceptedFilters[key] {
			return nil, invalidFilter(key, nil)
		}
		switch key {
		case "dangling":
			b, err := boolFilter(key, values)
			if err != nil {
				return nil, err
			}
			lf.dangling = b
		case "label", "label!":
			for _, v := range values {
				k, val, found := strings.Cut(v, "=")
				c := labelCheck{key: k, value: val, hasValue: found, negate: key == "label!"}
				// label=key!=value means "not equal" too.
				if strings.HasSuffix(c.key, "!") && found {
					c.key = strings.TrimSuffix(c.key, "!")
					c.negate = !c.negate
				}
				lf.labels = append(lf.labels, c)
			}
		case "reference":
			for _, v := range values {
				if _, err := path.Match(v, ""); err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference filter %q: %v", v, err))
				}
			}
			lf.references = append(lf.references, values...)
		case "before":
			lf.before = append(lf.before, values...)
		case "since":
			lf.since = append(lf.since, values...)
		case "until":
			if len(values) != 1 {
				return nil, errdefs.ErrInvalidArgument.WithMessage("more than one until filter specified")
			}
			t, err := parseTimestamp(values[0], now)
			if err != nil {
				return nil, err
			}
			lf.until = &t
		}
	}
	return lf, nil
}

// boolFilter reads a filter that takes true/false (or 1/0), as dockerd's
// GetBoolOrDefault does; no value leaves it unset.
func boolFilter(key string, values []string) (*bool, error) {
	if len(values) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for _, v := range values {
		set[strings.ToLower(v)] = true
	}
	var b bool
	switch {
	case set["true"] || set["1"]:
		b = true
	case set["false"] || set["0"]:
		b = false
	default:
		return nil, invalidFilter(key, values)
	}
	return &b, nil
}

// parseTimestamp reads an "until" value: a Go duration before now, Unix
// seconds (with an optional fraction), or an RFC 3339 date or time.
func parseTimestamp(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	sec, frac, hasFrac := strings.Cut(v, ".")
	if s, err := strconv.ParseInt(sec, 10, 64); err == nil {
		var ns int64
		if hasFrac {
			n, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if err != nil || n < 0 {
				return time.Time{}, badTimestamp(v)
			}
			ns = n
		}
		return time.Unix(s, ns), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badTimestamp(v)
}

func badTimestamp(v string) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("failed to parse value as time or duration: %q", v))
}

// matchLabels tells whether labels pass every label check.
func (lf *listFilters) matchLabels(labels map[string]string) bool {
	for _, c := range lf.labels {
		v, ok := labels[c.key]
		match := ok && (!c.hasValue || v == c.value)
		if match == c.negate {
			return false
		}
	}
	return true
}

// matchReference tells whether a familiar reference matches one of the
// reference patterns: the whole reference (busybox:lat*) or the name alone
// (busy*), as reference.FamiliarMatch does.
func (lf *listFilters) matchReference(ref reference.Named) bool {
	for _, p := range lf.references {
		if ok, _ := reference.FamiliarMatch(p, ref); ok {
			return true
		}
	}
	return false
}
