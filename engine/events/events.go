// Package events is the engine's event bus: every state change of a
// container or image is published here and streamed by GET /events.
package events

import (
	"time"

	"github.com/moby/moby/api/types/events"
)

// Bus keeps a bounded history of events and fans them out to subscribers.
type Bus struct{}

// New returns an empty bus.
func New() *Bus { panic("TODO(helper C)") }

// Publish records an event of type typ (container, image, …) now.
func (b *Bus) Publish(typ events.Type, action events.Action, actor events.Actor) {
	panic("TODO(helper C)")
}

// Subscribe returns the recorded events matching filters between since and
// until and, taken under the same lock, a live channel of later matching
// events. Filter keys are dockerd's (type, event, container, image, label,
// …); an unknown key is an errdefs.ErrInvalidArgument. cancel releases the
// subscription.
func (b *Bus) Subscribe(since, until time.Time, filters map[string][]string) ([]events.Message, <-chan events.Message, func(), error) {
	panic("TODO(helper C)")
}
