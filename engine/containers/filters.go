package containers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// psFilters are the filter keys `docker ps` accepts (dockerd's
// acceptedPsFilterTags).
var psFilters = map[string]bool{
	"ancestor": true, "before": true, "exited": true, "id": true, "isolation": true,
	"label": true, "name": true, "status": true, "health": true, "since": true,
	"volume": true, "network": true, "is-task": true, "publish": true, "expose": true,
}

// filterSet is the decoded `filters` of a list request, with dockerd's
// matching rules: values of one key are alternatives, keys must all match.
type filterSet map[string][]string

// validate rejects unknown keys, as dockerd's Args.Validate.
func (f filterSet) validate(accepted map[string]bool) error {
	for k := range f {
		if !accepted[k] {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	return nil
}

func (f filterSet) contains(key string) bool { return len(f[key]) > 0 }

// match is dockerd's Args.Match: true without values for key, else when
// source equals a value or a value, as a regexp, matches it.
func (f filterSet) match(key, source string) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if v == source {
			return true
		}
	}
	for _, v := range vals {
		if ok, err := regexp.MatchString(v, source); err == nil && ok {
			return true
		}
	}
	return false
}

// exactMatch is dockerd's Args.ExactMatch.
func (f filterSet) exactMatch(key, source string) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if v == source {
			return true
		}
	}
	return false
}

// matchKVList is dockerd's Args.MatchKVList: every "k" or "k=v" value must
// be in labels.
func (f filterSet) matchKVList(key string, labels map[string]string) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	if len(labels) == 0 {
		return false
	}
	for _, v := range vals {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

// boolValue is dockerd's Args.GetBoolOrDefault.
func (f filterSet) boolValue(key string) (value, set bool, err error) {
	vals := f[key]
	if len(vals) == 0 {
		return false, false, nil
	}
	if len(vals) > 1 {
		return false, true, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", key))
	}
	switch strings.ToLower(vals[0]) {
	case "true", "1":
		return true, true, nil
	case "false", "0":
		return false, true, nil
	}
	return false, true, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s=%s'", key, vals[0]))
}

// exitCodes parses the exited filter.
func (f filterSet) exitCodes() ([]int, error) {
	var out []int
	for _, v := range f["exited"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'exited=%s': %v", v, err))
		}
		out = append(out, n)
	}
	return out, nil
}

// checkStatus validates the status filter values.
func (f filterSet) checkStatus() error {
	for _, v := range f["status"] {
		if err := container.ValidateContainerState(container.ContainerState(v)); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'status=%s': %v", v, err))
		}
	}
	return nil
}

// checkHealth validates the health filter values.
func (f filterSet) checkHealth() error {
	for _, v := range f["health"] {
		if err := container.ValidateHealthStatus(container.HealthStatus(v)); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'health=%s': %v", v, err))
		}
	}
	return nil
}
