// Package filtermatch holds the matching rules the list filters of the
// engine's services share, as dockerd applies them: any of a key's values,
// labels as "key" or "key=value", booleans, and until as a time or a
// duration before now.
package filtermatch

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Any tells whether ok holds for one of want, or want is empty.
func Any(want []string, ok func(string) bool) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if ok(w) {
			return true
		}
	}
	return false
}

// Labels tells whether labels has every "key" or "key=value" of want.
func Labels(want []string, labels map[string]string) bool {
	for _, w := range want {
		if !hasLabel(w, labels) {
			return false
		}
	}
	return true
}

// LabelsAny tells whether labels has one of want.
func LabelsAny(want []string, labels map[string]string) bool {
	for _, w := range want {
		if hasLabel(w, labels) {
			return true
		}
	}
	return false
}

func hasLabel(w string, labels map[string]string) bool {
	k, v, hasValue := strings.Cut(w, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == v)
}

// ParseBool reads a filter's boolean: true, 1, false or 0.
func ParseBool(v string) (value, ok bool) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// ParseUntil reads the until filter: a Unix timestamp, an RFC 3339 time
// or a duration before now, as dockerd accepts.
func ParseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(int64(f), 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", v)
}
