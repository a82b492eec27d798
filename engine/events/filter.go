package events

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
)

// acceptedFilters are the filter keys GET /events accepts, as in dockerd.
var acceptedFilters = map[string]bool{
	"config":    true,
	"container": true,
	"daemon":    true,
	"event":     true,
	"image":     true,
	"label":     true,
	"network":   true,
	"node":      true,
	"plugin":    true,
	"scope":     true,
	"secret":    true,
	"service":   true,
	"type":      true,
	"volume":    true,
}

// nameFilters are the keys matched, by prefix, against the actor's ID or
// name, whatever the event's type (dockerd's fuzzyMatchName).
var nameFilters = []string{"config", "container", "daemon", "network", "node", "plugin", "secret", "service", "volume"}

// fuzzyActions are the actions carrying a suffix ("exec_start: sh -c …");
// filtering on one of them matches by prefix (moby#25798).
var fuzzyActions = []string{string(events.ActionHealthStatus), string(events.ActionExecCreate), string(events.ActionExecStart)}

// filter is a validated `filters` query: key → accepted values. Values of
// one key are alternatives; different keys must all match.
type filter map[string][]string

func newFilter(f map[string][]string) (filter, error) {
	for key := range f {
		if !acceptedFilters[key] {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", key))
		}
	}
	return filter(f), nil
}

// include tells whether m passes the filter, with dockerd's semantics.
func (f filter) include(m events.Message) bool {
	if len(f) == 0 {
		return true
	}
	if !f.exact("type", string(m.Type)) || !f.exact("scope", m.Scope) ||
		!f.matchAction(string(m.Action)) || !f.matchImage(m) || !f.matchLabels(m.Actor.Attributes) {
		return false
	}
	name := m.Actor.Attributes["name"]
	for _, key := range nameFilters {
		if !f.prefix(key, m.Actor.ID) && !f.prefix(key, name) {
			return false
		}
	}
	return true
}

// exact: no value for key, or one equal to s.
func (f filter) exact(key, s string) bool {
	return len(f[key]) == 0 || slices.Contains(f[key], s)
}

// prefix: no value for key, or one that s starts with.
func (f filter) prefix(key, s string) bool {
	if len(f[key]) == 0 {
		return true
	}
	for _, v := range f[key] {
		if strings.HasPrefix(s, v) {
			return true
		}
	}
	return false
}

func (f filter) matchAction(action string) bool {
	for _, v := range f["event"] {
		if slices.Contains(fuzzyActions, v) {
			return f.prefix("event", action)
		}
	}
	return f.exact("event", action)
}

// matchImage matches the image of a container event (its "image"
// attribute) or an image event (its ID or "name"), with or without tag:
// image=busybox matches busybox:latest.
func (f filter) matchImage(m events.Message) bool {
	if len(f["image"]) == 0 {
		return true
	}
	attr := "image"
	if m.Type == events.ImageEventType {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	return f.exact("image", m.Actor.ID) || f.exact("image", name) ||
		f.exact("image", stripTag(m.Actor.ID)) || f.exact("image", stripTag(name))
}

// stripTag returns the familiar name of an image reference without its
// tag or digest ("docker.io/library/busybox:1" → "busybox"), or image
// itself if it is not a reference (an ID).
func stripTag(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.FamiliarName(ref)
}

// matchLabels: every label filter ("key" or "key=value") must match an
// attribute.
func (f filter) matchLabels(attrs map[string]string) bool {
	for _, l := range f["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := attrs[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}
