package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// boolValue reads a boolean query parameter the way dockerd does: "", "0",
// "no", "false" and "none" (any case) are false, anything else is true.
func boolValue(q url.Values, key string) bool {
	switch strings.ToLower(strings.TrimSpace(q.Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// boolValueOr is boolValue with a default for a missing parameter.
func boolValueOr(q url.Values, key string, def bool) bool {
	if _, ok := q[key]; !ok {
		return def
	}
	return boolValue(q, key)
}

// intValue reads an integer query parameter; missing or empty gives def,
// garbage is an InvalidArgument error with strconv's message (as dockerd).
func intValue(q url.Values, key string, def int) (int, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidParameter{err}
	}
	return n, nil
}

// uint32Value reads a required unsigned 32-bit query parameter (resize).
func uint32Value(q url.Values, key, what string) (uint32, error) {
	v := q.Get(key)
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, invalidParameter{fmt.Errorf("invalid %s %q: %w", what, v, err)}
	}
	return uint32(n), nil
}

// filtersValue decodes the `filters` parameter. Both the form clients send,
// {"key":{"v1":true}}, and the old list form {"key":["v1","v2"]} are
// accepted, as in dockerd; anything else is dockerd's "invalid filter".
func filtersValue(q url.Values) (Filters, error) {
	raw := q.Get("filters")
	if raw == "" {
		return Filters{}, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &sets); err == nil {
		f := make(Filters, len(sets))
		for k, vs := range sets {
			values := make([]string, 0, len(vs))
			for v := range vs {
				values = append(values, v)
			}
			slices.Sort(values)
			f[k] = values
		}
		return f, nil
	}
	var lists map[string][]string
	if err := json.Unmarshal([]byte(raw), &lists); err != nil {
		return nil, invalidParameter{errors.New("invalid filter")}
	}
	f := make(Filters, len(lists))
	for k, vs := range lists {
		f[k] = vs
	}
	return f, nil
}

// parseUnixTimestamp parses "seconds" or "seconds.nanoseconds" (the
// fraction right-padded to 9 digits, truncated past 9) like dockerd; "" is
// the zero time.
func parseUnixTimestamp(value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	s, frac, _ := strings.Cut(value, ".")
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %q: invalid seconds", value)
	}
	if len(frac) > 20 || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("invalid timestamp %q: invalid nanoseconds", value)
	}
	frac = (frac + "000000000")[:9]
	nsec, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(sec, nsec).UTC(), nil
}
